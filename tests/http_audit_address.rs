//! The audit log keeps where each change came from (issue 16): the client's address as allot
//! saw it, through every door; behind a trusted balancer the address it forwarded, and
//! otherwise never a forwarded one; none for the command line and scheduled jobs.

mod common;

use actix_web::http::{StatusCode, header};
use actix_web::test;
use allot::domain::authz::Scope;
use allot::domain::schema::audit_log;
use allot::domain::{Clock, api_tokens};
use common::*;
use diesel::prelude::*;

/// The client addresses of the entries of `action`, oldest first.
fn addresses(db: &TestDb, action: &str) -> Vec<Option<String>> {
    audit_log::table
        .filter(audit_log::action.eq(action))
        .order(audit_log::id)
        .select(audit_log::client_address)
        .load(&mut db.conn())
        .unwrap()
}

#[actix_web::test]
async fn a_change_made_on_a_page_keeps_the_browsers_address_and_shows_it() {
    let db = TestDb::with_demo();
    // The test browser connects from 203.0.113.7 (tests/common), forwarding nothing.
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let premium = product_id(&db, "Business Premium").0;
    let user = user_id(&db, "user05@contoso.example").0.to_string();
    let product_page = format!("/licenses/{premium}");
    let done = admin
        .submit(
            &product_page,
            &format!("{product_page}/unassign"),
            &[("users", &user), ("confirm", "yes")],
        )
        .await;
    assert!(done.status.is_redirection(), "{:?}", done.status);
    assert_eq!(
        addresses(&db, "Unassigned license"),
        vec![Some("203.0.113.7".to_owned())]
    );
    let log = admin
        .get("/settings/audit-log?action=Unassigned+license")
        .await;
    assert!(
        log.contains("<th scope=\"col\">IP address</th>"),
        "{}",
        log.body
    );
    assert!(
        log.contains("<td data-label=\"IP address\">203.0.113.7</td>"),
        "{}",
        log.body
    );
    let export = admin
        .get("/settings/audit-log/export.csv?action=Unassigned+license")
        .await;
    let rows: Vec<&str> = export.body.lines().collect();
    assert!(rows[0].ends_with(",IP address"), "{}", rows[0]);
    assert!(rows[1].ends_with(",203.0.113.7"), "{}", rows[1]);
}

#[actix_web::test]
async fn an_api_call_keeps_the_forwarded_address_only_behind_a_trusted_balancer() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let token = api_tokens::create(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        test_now(),
        contoso,
        "HR sync",
        &[Scope::UsersWrite],
        30,
    )
    .unwrap()
    .secret;
    let mut state = state(&db, Clock::fixed(test_now()));
    state.trusted_proxies = vec!["10.0.0.2".parse().unwrap()].into();
    let app = test::init_service(allot::web::app(state)).await;
    // (peer, X-Forwarded-For): what the log keeps.
    let cases = [
        ("10.0.0.2:5000", "192.0.2.44", "192.0.2.44"),
        // Not the balancer: whatever it forwards could be made up.
        ("198.51.100.9:5000", "192.0.2.44", "198.51.100.9"),
    ];
    for (i, (peer, forwarded, kept)) in cases.into_iter().enumerate() {
        let upn = format!("hire{i}@contoso.example");
        let req = test::TestRequest::post()
            .uri("/api/v1/users")
            .set_json(serde_json::json!({
                "accountEnabled": true,
                "displayName": format!("New Hire {i}"),
                "mailNickname": format!("hire{i}"),
                "userPrincipalName": upn,
                "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"}
            }))
            .peer_addr(peer.parse().unwrap())
            .insert_header(("X-Forwarded-For", forwarded))
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{peer}");
        assert_eq!(
            addresses(&db, "Added user")
                .last()
                .cloned()
                .flatten()
                .as_deref(),
            Some(kept),
            "{peer} forwarding {forwarded}"
        );
    }
}

#[std::prelude::v1::test]
fn changes_of_the_command_line_record_no_address() {
    let db = TestDb::with_demo();
    // The demo's own changes were made by the command line's loader: no address.
    let kept: Vec<Option<String>> = audit_log::table
        .select(audit_log::client_address)
        .load(&mut db.conn())
        .unwrap();
    assert!(!kept.is_empty());
    assert!(kept.iter().all(Option::is_none), "{kept:?}");
}
