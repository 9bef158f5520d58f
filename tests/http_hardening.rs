//! What an attacker's probe found (issue 12), as a browser or a script would meet it: where
//! sign-in sends you on to, what a failed sign-in gives away, and the headers on every answer.

mod common;

use actix_web::http::StatusCode;
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
