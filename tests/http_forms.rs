//! Every form on every page a role can reach goes to a route that takes its method. The
//! take-over page once posted to an address nothing answered (issue 12); this walks the whole
//! app as each demo role, following links from the landing page, and sends every form empty.

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use allot::domain::Clock;
use common::crawl::{Door, Form, lands_on_sign_in, no_route_or_failure, sign_in, token_of, walk};
use common::*;

/// Sends `form` empty, as a browser would with nothing filled in. A POST carries the session's
/// CSRF token, so the answer is the route's, not the CSRF check's.
async fn send<S, B>(b: &mut Browser<S>, form: &Form, token: &str) -> Page
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    match form.method.as_str() {
        "get" => b.get(&form.action).await,
        "post" => b.post_raw(&form.action, &[("csrf_token", token)]).await,
        other => panic!("form with method {other} on {}", form.page),
    }
}

/// Sends `form` on a fresh demo database, to tell a missing route from an object an earlier
/// empty form removed (deleting a user makes its page's other forms "not found").
async fn send_on_fresh_data(door: Door, form: &Form) -> Page {
    let db = TestDb::with_demo();
    let mut b = browser(state(&db, Clock::fixed(test_now()))).await;
    sign_in(&mut b, door).await;
    let token = token_of(&mut b, &form.page).await.unwrap_or_default();
    send(&mut b, form, &token).await
}

async fn every_form_goes_to_a_route(door: Door) {
    let db = TestDb::with_demo();
    let mut b = browser(state(&db, Clock::fixed(test_now()))).await;
    sign_in(&mut b, door).await;
    let walked = walk(&mut b, door).await;
    let mut problems = walked.problems;
    let found = walked.forms;
    assert!(!found.is_empty(), "the walk found no forms");

    // Signing in again (after an empty form ended the session) makes a new token.
    let mut signed_in_again = false;
    for form in &found {
        if form.method == "post" && form.token.is_none() {
            problems.push(format!(
                "POST {} on {} has no CSRF token",
                form.action, form.page
            ));
        }
        let fresh = if signed_in_again {
            token_of(&mut b, &form.page).await
        } else {
            None
        };
        let token = fresh.or(form.token.clone()).unwrap_or_default();
        let mut answer = send(&mut b, form, &token).await;
        if no_route_or_failure(answer.status) && !answer.status.is_server_error() {
            answer = send_on_fresh_data(door, form).await;
        }
        let what = format!(
            "{} {} (on {})",
            form.method.to_uppercase(),
            form.action,
            form.page
        );
        if no_route_or_failure(answer.status) {
            problems.push(format!("{what} answers {}", answer.status));
        }
        if answer.contains("This form has expired or was not sent by allot.") {
            problems.push(format!("{what} was refused by the CSRF check"));
        }
        if lands_on_sign_in(&answer) && !form.signs_out && !matches!(door, Door::SignedOut) {
            // An empty form ended the session; the rest must still be sent signed in.
            sign_in(&mut b, door).await;
            signed_in_again = true;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[actix_web::test]
async fn every_form_a_visitor_who_is_not_signed_in_sees_goes_to_a_route() {
    every_form_goes_to_a_route(Door::SignedOut).await;
}

#[actix_web::test]
async fn every_form_a_global_admin_sees_goes_to_a_route() {
    every_form_goes_to_a_route(Door::AdminCenter("admin@contoso.example")).await;
}

#[actix_web::test]
async fn every_form_a_billing_admin_sees_goes_to_a_route() {
    every_form_goes_to_a_route(Door::AdminCenter("billing@contoso.example")).await;
}

#[actix_web::test]
async fn every_form_a_license_admin_sees_goes_to_a_route() {
    every_form_goes_to_a_route(Door::AdminCenter("licenses@contoso.example")).await;
}

#[actix_web::test]
async fn every_form_a_user_admin_sees_goes_to_a_route() {
    every_form_goes_to_a_route(Door::AdminCenter("users@contoso.example")).await;
}

#[actix_web::test]
async fn every_form_a_global_admin_of_another_tenant_sees_goes_to_a_route() {
    every_form_goes_to_a_route(Door::AdminCenter("admin@fabrikam.example")).await;
}

#[actix_web::test]
async fn every_form_billing_support_sees_goes_to_a_route() {
    every_form_goes_to_a_route(Door::AdminCenter("support@allot.example")).await;
}

#[actix_web::test]
async fn every_form_a_partner_sees_goes_to_a_route() {
    every_form_goes_to_a_route(Door::AdminCenter("partner@allot.example")).await;
}

#[actix_web::test]
async fn every_form_a_buyer_in_the_service_portal_sees_goes_to_a_route() {
    every_form_goes_to_a_route(Door::Portal("user07@contoso.example")).await;
}

#[actix_web::test]
async fn every_form_a_user_in_the_service_portal_sees_goes_to_a_route() {
    every_form_goes_to_a_route(Door::Portal("user01@contoso.example")).await;
}
