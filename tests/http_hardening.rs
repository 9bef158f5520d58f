//! What an attacker's probe found (issue 12), as a browser or a script would meet it: where
//! sign-in sends you on to, what a failed sign-in gives away, and the headers on every answer.

mod common;

use actix_web::http::{Method, StatusCode, header};
use actix_web::test;
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
/// the headers but the sealed session cookie and the request's own id (each request has its
/// own, by design: http_operations), and the page.
fn comparable(page: &Page, email: &str) -> (StatusCode, Vec<String>, String) {
    let mut headers: Vec<String> = page
        .headers
        .iter()
        .filter(|(name, _)| *name != header::SET_COOKIE && name.as_str() != "x-request-id")
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

/// The headers every answer must have, whoever made it.
fn assert_protected(page: &Page, what: &str) {
    let h = |name: &str| {
        page.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        h("content-security-policy").contains("frame-ancestors 'none'"),
        "{what}: {:?}",
        page.headers
    );
    assert_eq!(h("x-frame-options"), "DENY", "{what}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(h("referrer-policy"), "same-origin", "{what}");
    assert_eq!(h("cache-control"), "no-store", "{what}");
}

fn assert_error_page(page: &Page, status: StatusCode, what: &str) {
    assert_eq!(page.status, status, "{what}: {}", page.body);
    assert_protected(page, what);
    assert!(
        page.headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html")),
        "{what}: {:?}",
        page.headers
    );
    assert!(
        page.contains(&format!("Error {}", status.as_u16())),
        "{what}: {}",
        page.body
    );
}

#[actix_web::test]
async fn a_form_over_the_size_limit_gets_a_413_page_with_the_headers() {
    let db = TestDb::with_demo();
    let mut b = browser(state(&db, Clock::fixed(test_now()))).await;
    let huge = "x".repeat(300 * 1024);
    for path in ["/signin", "/portal/signin", "/no/such/page"] {
        let page = b
            .post_raw(path, &[("email", huge.as_str()), ("password", "p")])
            .await;
        assert_error_page(&page, StatusCode::PAYLOAD_TOO_LARGE, path);
        assert!(page.contains("What you sent is too large."));
    }
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let token = admin.get("/users/new").await.csrf();
    let page = admin
        .post_raw(
            "/users/new",
            &[("csrf_token", token.as_str()), ("display_name", &huge)],
        )
        .await;
    assert_error_page(&page, StatusCode::PAYLOAD_TOO_LARGE, "a signed-in form");
}

#[actix_web::test]
async fn unknown_addresses_and_wrong_methods_get_our_page_with_the_headers() {
    let db = TestDb::with_demo();
    let app = test::init_service(allot::web::app(state(&db, Clock::fixed(test_now())))).await;
    let cases = [
        (Method::GET, "/no/such/page", StatusCode::NOT_FOUND),
        (Method::GET, "/portal/no/such/page", StatusCode::NOT_FOUND),
        (Method::GET, "/static/none.css", StatusCode::NOT_FOUND),
        (Method::PUT, "/signin", StatusCode::METHOD_NOT_ALLOWED),
        (Method::DELETE, "/licenses", StatusCode::METHOD_NOT_ALLOWED),
        (
            Method::PATCH,
            "/portal/signin",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (method, path, status) in cases {
        let what = format!("{method} {path}");
        let req = test::TestRequest::default()
            .method(method)
            .uri(path)
            .to_request();
        let res = test::call_service(&app, req).await;
        let page = Page {
            status: res.status(),
            location: None,
            headers: res.headers().clone(),
            body: String::from_utf8(test::read_body(res).await.to_vec()).unwrap(),
        };
        if path.starts_with("/static/") {
            assert_eq!(page.status, status, "{what}");
            continue;
        }
        // Routes are registered per method, so a method no route takes is "not found" too.
        let wrong_method =
            status == StatusCode::METHOD_NOT_ALLOWED && page.status == StatusCode::NOT_FOUND;
        let status = if wrong_method { page.status } else { status };
        assert_error_page(&page, status, &what);
    }
}

#[actix_web::test]
async fn pages_of_a_session_and_exports_are_never_stored_but_static_files_may_be() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    for path in [
        "/",
        "/licenses",
        "/users",
        "/billing/export.csv",
        "/billing/export.json",
        "/signin",
    ] {
        let page = admin.get(path).await;
        assert!(page.status.is_success() || page.status.is_redirection());
        assert_protected(&page, path);
    }
    for format in ["csv", "json"] {
        let export = admin
            .submit(
                "/billing/products",
                "/billing/export",
                &[("format", format)],
            )
            .await;
        assert_eq!(export.status, StatusCode::OK, "{format}");
        assert!(export.headers.contains_key("content-disposition"));
        assert_protected(&export, &format!("the {format} export"));
    }
    let mut staff = signed_in(&db, "support@allot.example").await;
    assert_protected(&staff.get("/support").await, "the support console");

    let mut portal = browser(state(&db, Clock::fixed(test_now()))).await;
    portal
        .submit(
            "/portal/signin",
            "/portal/signin",
            &[("email", "user07@contoso.example"), ("password", PASSWORD)],
        )
        .await;
    let home = portal.get("/portal").await;
    assert_eq!(home.status, StatusCode::OK);
    assert_protected(&home, "the portal");

    let css = admin.get("/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(
        css.headers.get(header::CACHE_CONTROL).unwrap(),
        "public, max-age=3600"
    );
}

#[actix_web::test]
async fn hsts_is_sent_when_cookies_are_secure_and_not_otherwise() {
    let db = TestDb::with_demo();
    let mut plain = browser(state(&db, Clock::fixed(test_now()))).await;
    assert!(
        plain
            .get("/signin")
            .await
            .headers
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_none()
    );
    let mut config = test_config(&db);
    config.cookie_secure = true;
    let secure_state = allot::startup::state(
        &config,
        db.pool.clone(),
        &allot::startup::Dependencies::offline(Clock::fixed(test_now())),
    );
    let mut secure = browser(secure_state).await;
    for path in ["/signin", "/no/such/page", "/static/app.css"] {
        let page = secure.get(path).await;
        assert_eq!(
            page.headers.get(header::STRICT_TRANSPORT_SECURITY).unwrap(),
            "max-age=31536000",
            "{path}"
        );
    }
}

#[actix_web::test]
async fn head_answers_as_get_does_without_the_body() {
    let db = TestDb::with_demo();
    let app = test::init_service(allot::web::app(state(&db, Clock::fixed(test_now())))).await;
    for (path, status) in [
        ("/signin", StatusCode::OK),
        ("/portal/signin", StatusCode::OK),
        ("/", StatusCode::SEE_OTHER),
        ("/licenses", StatusCode::SEE_OTHER),
        ("/portal", StatusCode::SEE_OTHER),
        ("/static/app.css", StatusCode::OK),
        ("/healthz", StatusCode::OK),
        ("/no/such/page", StatusCode::NOT_FOUND),
    ] {
        let get = test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        let head = test::call_service(
            &app,
            test::TestRequest::default()
                .method(Method::HEAD)
                .uri(path)
                .to_request(),
        )
        .await;
        assert_eq!(head.status(), status, "HEAD {path}");
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        // The same headers; only the session cookie's sealed value and the request's own id
        // differ between two requests.
        let names = |res: &actix_web::dev::ServiceResponse<_>| {
            let mut names: Vec<(String, String)> = res
                .headers()
                .iter()
                .filter(|(name, _)| *name != header::SET_COOKIE && name.as_str() != "x-request-id")
                .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
                .collect();
            names.sort();
            names
        };
        assert_eq!(names(&head), names(&get), "HEAD {path}");
        let get_body = test::read_body(get).await;
        assert!(
            !get_body.is_empty() || status.is_redirection(),
            "GET {path}"
        );
        assert!(test::read_body(head).await.is_empty(), "HEAD {path}");
    }
}
