//! Every form on every page a role can reach goes to a route that takes its method. The
//! take-over page once posted to an address nothing answered (issue 12); this walks the whole
//! app as each demo role, following links from the landing page, and sends every form empty.

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use allot::domain::Clock;
use common::*;
use std::collections::{BTreeMap, HashSet, VecDeque};

/// Enough for every page of the demo data; a walk that needs more has lost its way.
const PAGE_LIMIT: usize = 400;

/// Where a role signs in and starts.
#[derive(Clone, Copy)]
enum Door {
    /// Nobody signed in: the two sign-in pages.
    SignedOut,
    AdminCenter(&'static str),
    Portal(&'static str),
}

/// A `<form>` as a page shows it.
#[derive(Debug, Clone)]
struct Form {
    /// Signing out goes last, so the session lasts for the others.
    signs_out: bool,
    /// Before it, the forms that end what their page is about (a confirmed delete or cancel
    /// needs nothing more than the token), so the others still find it.
    ends_something: bool,
    method: String,
    action: String,
    /// The CSRF token it carries (the session's).
    token: Option<String>,
    /// The page it was found on.
    page: String,
}

/// Undoes askama's HTML escaping of an attribute value.
fn unescaped(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of attribute `name` in the tag `tag` (our templates always quote with `"`).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = tag[start..].find('"')? + start;
    Some(unescaped(&tag[start..end]))
}

/// The address of this site that `href` names, without its fragment; `None` for anything
/// outside it, our static files, and downloads.
fn same_site(href: &str) -> Option<String> {
    let path = href.split('#').next().unwrap_or_default();
    let ours = path.starts_with('/') && !path.starts_with("//");
    let skipped = path.starts_with("/static/") || path.starts_with("/billing/export.");
    (ours && !skipped).then(|| path.to_owned())
}

/// Every link of `body` into this site.
fn links(body: &str) -> Vec<String> {
    body.split(" href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter_map(|href| same_site(&unescaped(href)))
        .collect()
}

/// Every form of `body`, found on page `page`.
fn forms(body: &str, page: &str) -> Vec<Form> {
    let mut found = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("<form") {
        rest = &rest[start..];
        let tag_end = rest.find('>').expect("a form tag ends");
        let tag = &rest[..tag_end];
        let inner_end = rest.find("</form>").expect("a form is closed");
        let inner = &rest[tag_end..inner_end];
        let method = attribute(tag, "method")
            .unwrap_or_else(|| "get".into())
            .to_ascii_lowercase();
        let action = attribute(tag, "action").unwrap_or_else(|| page.to_owned());
        let last = action.rsplit('/').next().unwrap_or_default();
        found.push(Form {
            signs_out: last == "signout",
            ends_something: ["delete", "cancel", "cancel-subscription"].contains(&last),
            method,
            // A GET form replaces the query with its fields.
            action: action.split('?').next().unwrap_or_default().to_owned(),
            token: token_in(inner),
            page: page.to_owned(),
        });
        rest = &rest[inner_end..];
    }
    found
}

/// The CSRF token in a page or form, if it has one.
fn token_in(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// An answer no form or link may get: no route, or a failure of ours.
fn no_route_or_failure(status: StatusCode) -> bool {
    status == StatusCode::NOT_FOUND
        || status == StatusCode::METHOD_NOT_ALLOWED
        || status.is_server_error()
}

async fn sign_in<S, B>(b: &mut Browser<S>, door: Door)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (form, email) = match door {
        Door::SignedOut => return,
        Door::AdminCenter(email) => ("/signin", email),
        Door::Portal(email) => ("/portal/signin", email),
    };
    let signed_in = b
        .submit(form, form, &[("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{email} signs in");
}

fn starts(door: Door) -> Vec<String> {
    match door {
        Door::SignedOut => vec!["/signin".into(), "/portal/signin".into()],
        Door::AdminCenter(_) => vec!["/".into()],
        Door::Portal(_) => vec!["/portal".into()],
    }
}

/// Follows every link from the landing page, breadth first. Returns the forms seen, one per
/// method and action, in the order to send them; adds to `problems` the links that lead nowhere.
async fn walk<S, B>(b: &mut Browser<S>, door: Door, problems: &mut Vec<String>) -> Vec<Form>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut queue: VecDeque<String> = starts(door).into();
    let mut seen: HashSet<String> = queue.iter().cloned().collect();
    let mut found = BTreeMap::new();
    let mut visited = 0;
    while let Some(path) = queue.pop_front() {
        visited += 1;
        assert!(visited <= PAGE_LIMIT, "more than {PAGE_LIMIT} pages");
        let page = b.get(&path).await;
        if no_route_or_failure(page.status) {
            problems.push(format!("GET {path} answers {}", page.status));
            continue;
        }
        let html = page
            .headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
        let mut next: Vec<String> = page.location.iter().filter_map(|l| same_site(l)).collect();
        if html {
            next.extend(links(&page.body));
            for form in forms(&page.body, &path) {
                let key = (
                    form.signs_out,
                    form.ends_something,
                    form.method.clone(),
                    form.action.clone(),
                );
                found.entry(key).or_insert(form);
            }
        }
        for link in next {
            if !link.ends_with("/signout") && seen.insert(link.clone()) {
                queue.push_back(link);
            }
        }
    }
    found.into_values().collect()
}

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

/// The session's CSRF token as the page `path` carries it now.
async fn token_of<S, B>(b: &mut Browser<S>, path: &str) -> Option<String>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    token_in(&b.get(path).await.body)
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
    let mut problems = Vec::new();
    let found = walk(&mut b, door, &mut problems).await;
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
        let lands_on_sign_in = matches!(
            answer.location.as_deref(),
            Some("/signin") | Some("/portal/signin")
        );
        if lands_on_sign_in && !form.signs_out && !matches!(door, Door::SignedOut) {
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
