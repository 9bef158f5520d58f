//! What an attacker's probe found (issue 12), as a browser or a script would meet it: where
//! sign-in sends you on to, what a failed sign-in gives away, and the headers on every answer.

mod common;

use actix_web::http::{StatusCode, header};
use allot::domain::Clock;
use common::*;

/// Percent-encodes every byte but letters and digits, as a query value.
fn encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `next` values and whether sign-in may send someone there.
const NEXT_CASES: &[(&str, bool)] = &[
    ("/licenses?x=1", true),
    ("/", true),
    ("/agreements/activate/abc", true),
    // Still a path: the browser does not decode it into a second slash.
    ("/%2F%2Fevil.example", true),
    ("/\t/evil.example", false),
    ("/\r/evil.example", false),
    ("/\n/evil.example", false),
    ("/\0/evil.example", false),
    ("/\x7f/evil.example", false),
    ("/\\evil.example", false),
    ("\\/evil.example", false),
    ("/x\\y", false),
    ("//evil.example", false),
    ("///evil.example", false),
    ("https://evil.example", false),
    ("evil.example", false),
    (" /licenses", false),
    ("", false),
];

#[actix_web::test]
async fn a_signed_in_admin_is_sent_on_only_to_a_path_of_this_site() {
    let db = TestDb::with_demo();
    let mut b = signed_in(&db, "admin@contoso.example").await;
    for (next, kept) in NEXT_CASES {
        let page = b.get(&format!("/signin?next={}", encoded(next))).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "next {next:?}");
        let expected = if *kept { next } else { "/" };
        assert_eq!(page.location.as_deref(), Some(expected), "next {next:?}");
    }
}

#[actix_web::test]
async fn signing_in_sends_on_only_to_a_path_of_this_site() {
    let db = TestDb::with_demo();
    let mut b = browser(state(&db, Clock::fixed(test_now()))).await;
    for (next, kept) in NEXT_CASES {
        b.forget_cookies();
        let page = b
            .submit(
                "/signin",
                "/signin",
                &[
                    ("email", "admin@contoso.example"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "next {next:?}");
        let expected = if *kept { next } else { "/" };
        assert_eq!(page.location.as_deref(), Some(expected), "next {next:?}");
    }
}

#[actix_web::test]
async fn the_sign_in_form_carries_next_only_when_it_is_safe() {
    let db = TestDb::with_demo();
    let mut b = browser(state(&db, Clock::fixed(test_now()))).await;
    for (next, kept) in NEXT_CASES {
        let page = b.get(&format!("/signin?next={}", encoded(next))).await;
        assert_eq!(page.status, StatusCode::OK, "next {next:?}");
        assert_eq!(page.contains("name=\"next\""), *kept && !next.is_empty());
    }
}

/// The answer with what differs between two browsers and two accounts taken out: the status,
/// the headers but the sealed session cookie, and the page.
fn comparable(page: &Page, email: &str) -> (StatusCode, Vec<String>, String) {
    let mut headers: Vec<String> = page
        .headers
        .iter()
        .filter(|(name, _)| *name != header::SET_COOKIE)
        .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
        .collect();
    headers.sort();
    let body = page
        .body
        .replace(&page.csrf(), "TOKEN")
        .replace(email, "EMAIL");
    (page.status, headers, body)
}

/// Blocks `email` through the users page, as its admin would.
async fn block(db: &TestDb, email: &str) {
    let user = user_id(db, email).0;
    let page = format!("/users/{user}");
    let mut admin = signed_in(db, "admin@contoso.example").await;
    let done = admin
        .submit(&page, &format!("{page}/block"), &[("blocked", "yes")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{email} blocked");
}

#[actix_web::test]
async fn a_wrong_password_for_a_blocked_admin_looks_like_any_wrong_password() {
    let db = TestDb::with_demo();
    block(&db, "licenses@contoso.example").await;
    let app_state = state(&db, Clock::fixed(test_now()));

    let mut stranger = browser(app_state.clone()).await;
    let blocked = stranger
        .sign_in("licenses@contoso.example", "not the password")
        .await;
    let mut other = browser(app_state.clone()).await;
    let active = other
        .sign_in("billing@contoso.example", "not the password")
        .await;
    let mut third = browser(app_state.clone()).await;
    let unknown = third
        .sign_in("nobody@contoso.example", "not the password")
        .await;

    assert_eq!(blocked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(blocked.status, active.status);
    assert_eq!(blocked.status, unknown.status);
    let page = comparable(&blocked, "licenses@contoso.example");
    assert_eq!(page, comparable(&active, "billing@contoso.example"));
    assert_eq!(page, comparable(&unknown, "nobody@contoso.example"));
    assert!(!blocked.contains("blocked"), "{}", blocked.body);

    // With the right password, saying why is fine: the person owns the account.
    let mut owner = browser(app_state).await;
    let refused = owner.sign_in("licenses@contoso.example", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.contains("Your account is blocked from signing in."));
}

#[actix_web::test]
async fn a_wrong_password_for_a_blocked_user_at_the_portal_looks_like_any_wrong_password() {
    let db = TestDb::with_demo();
    block(&db, "user03@contoso.example").await;
    let app_state = state(&db, Clock::fixed(test_now()));
    let mut answers = Vec::new();
    for email in ["user03@contoso.example", "user04@contoso.example"] {
        let mut b = browser(app_state.clone()).await;
        let page = b
            .submit(
                "/portal/signin",
                "/portal/signin",
                &[("email", email), ("password", "not the password")],
            )
            .await;
        answers.push(comparable(&page, email));
    }
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED);
    assert_eq!(answers[0], answers[1]);
}
