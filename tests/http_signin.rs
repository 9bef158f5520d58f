//! Signing in and out through HTTP, as a browser does: cookies, CSRF tokens, redirects.

mod common;

use actix_web::http::StatusCode;
use allot::domain::Clock;
use chrono::Duration;
use common::*;

#[actix_web::test]
async fn an_admin_signs_in_sees_the_licenses_and_signs_out_closing_the_admin_center() {
    let db = TestDb::with_demo();
    let mut browser = browser(state(&db, Clock::fixed(test_now()))).await;
    let signed_in = browser.sign_in("admin@contoso.example", PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in.location.as_deref(), Some("/"));

    let home = browser.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.contains("<h1>Home</h1>"));
    assert!(home.contains("Adele Vance") && home.contains("Contoso"));

    let licenses = browser.get("/licenses").await;
    assert_eq!(licenses.status, StatusCode::OK);
    let row = licenses
        .body
        .split("<tr>")
        .find(|r| r.contains("Business Premium"))
        .unwrap();
    let cells: Vec<&str> = row
        .split("<td class=\"num\" data-label=\"")
        .skip(1)
        .map(|c| c.split_once("\">").unwrap().1.split('<').next().unwrap())
        .collect();
    assert_eq!(cells, vec!["13", "10", "3"]);

    let signed_out = browser.submit("/", "/signout", &[]).await;
    assert_eq!(signed_out.location.as_deref(), Some("/signin"));
    assert!(
        browser
            .get("/signin")
            .await
            .contains("You have signed out.")
    );
    let closed = browser.get("/licenses").await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    assert_eq!(closed.location.as_deref(), Some("/signin"));
}

#[actix_web::test]
async fn a_wrong_password_shows_the_form_again_with_a_message_and_a_401() {
    let db = TestDb::with_demo();
    let mut browser = browser(state(&db, Clock::fixed(test_now()))).await;
    let page = browser
        .sign_in("admin@contoso.example", "wrong password")
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("Wrong email or password."));
    assert!(
        page.contains("value=\"admin@contoso.example\""),
        "the email stays filled in"
    );
    assert_eq!(browser.get("/").await.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn five_failures_lock_the_account_with_a_429_and_a_clear_message() {
    let db = TestDb::with_demo();
    let mut browser = browser(state(&db, Clock::fixed(test_now()))).await;
    let mut last = None;
    for _ in 0..5 {
        last = Some(browser.sign_in("billing@contoso.example", "guess").await);
    }
    let locked = last.unwrap();
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.contains("Too many failed sign-ins. Try again in 15 minutes."));
    let still = browser.sign_in("billing@contoso.example", PASSWORD).await;
    assert_eq!(still.status, StatusCode::TOO_MANY_REQUESTS);
}

#[actix_web::test]
async fn a_post_without_or_with_a_wrong_csrf_token_is_refused_with_a_403_page() {
    let db = TestDb::with_demo();
    let mut browser = browser(state(&db, Clock::fixed(test_now()))).await;
    browser.get("/signin").await;
    let missing = browser
        .post_raw(
            "/signin",
            &[("email", "admin@contoso.example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.contains("This form has expired or was not sent by allot."));
    assert!(
        missing.contains("<link rel=\"stylesheet\" href=\"/static/app.css\">"),
        "the error page has the layout"
    );
    let wrong = browser
        .post_raw(
            "/signin",
            &[
                ("csrf_token", "0000"),
                ("email", "admin@contoso.example"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // Nobody got signed in.
    assert_eq!(browser.get("/").await.status, StatusCode::SEE_OTHER);

    // Signed in, a sign-out without the token does not sign out.
    browser.sign_in("admin@contoso.example", PASSWORD).await;
    assert_eq!(
        browser.post_raw("/signout", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(browser.get("/").await.status, StatusCode::OK);
}

#[actix_web::test]
async fn the_csrf_token_of_one_session_does_not_work_in_another() {
    let db = TestDb::with_demo();
    let app_state = state(&db, Clock::fixed(test_now()));
    let mut attacker = browser(app_state.clone()).await;
    let token = attacker.get("/signin").await.csrf();
    let mut victim = browser(app_state).await;
    victim.get("/signin").await;
    let forged = victim
        .post_raw(
            "/signin",
            &[
                ("csrf_token", &token),
                ("email", "admin@contoso.example"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn the_session_cookie_is_http_only_same_site_and_renewed_at_sign_in() {
    let db = TestDb::with_demo();
    let mut browser = browser(state(&db, Clock::fixed(test_now()))).await;
    let before = browser.get("/signin").await.csrf();
    browser.sign_in("admin@contoso.example", PASSWORD).await;
    let after = browser.get("/").await.csrf();
    assert_ne!(before, after, "signing in gives a new CSRF token");
    assert!(!browser.set_cookie_headers.is_empty());
    for cookie in &browser.set_cookie_headers {
        assert!(cookie.starts_with("allot_admin="), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(
            !cookie.contains("Secure"),
            "not Secure unless configured: {cookie}"
        );
    }
}

#[actix_web::test]
async fn the_cookie_is_secure_when_configured() {
    let db = TestDb::with_demo();
    let mut config = test_config(&db);
    config.cookie_secure = true;
    let app_state = allot::startup::state(
        &config,
        db.pool.clone(),
        &allot::startup::Dependencies::offline(Clock::fixed(test_now())),
    );
    let mut browser = browser(app_state).await;
    browser.get("/signin").await;
    assert!(
        browser
            .set_cookie_headers
            .iter()
            .all(|c| c.contains("; Secure"))
    );
}

#[actix_web::test]
async fn a_session_idle_longer_than_the_limit_must_sign_in_again() {
    let db = TestDb::with_demo();
    let clock = Clock::fixed(test_now());
    let mut browser = browser(state(&db, clock.clone())).await;
    browser.sign_in("admin@contoso.example", PASSWORD).await;
    clock.advance(Duration::hours(7));
    assert_eq!(
        browser.get("/").await.status,
        StatusCode::OK,
        "7 hours idle is within the 8"
    );
    clock.advance(Duration::hours(7));
    assert_eq!(
        browser.get("/").await.status,
        StatusCode::OK,
        "the last visit renewed the idle time"
    );
    clock.advance(Duration::hours(8) + Duration::minutes(1));
    let expired = browser.get("/").await;
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    assert_eq!(expired.location.as_deref(), Some("/signin"));
}

#[actix_web::test]
async fn staff_land_in_the_support_console_and_end_users_are_sent_to_the_portal() {
    let db = TestDb::with_demo();
    let app_state = state(&db, Clock::fixed(test_now()));
    let mut support = browser(app_state.clone()).await;
    let signed_in = support.sign_in("support@allot.example", PASSWORD).await;
    assert_eq!(signed_in.location.as_deref(), Some("/support"));
    let queue = support.get("/support").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.contains("<h1>Service requests</h1>") && queue.contains("Support console"));
    assert_eq!(support.get("/").await.location.as_deref(), Some("/support"));

    let mut user = browser(app_state).await;
    let refused = user.sign_in("user01@contoso.example", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.contains("Your account has no admin role."));
}

#[actix_web::test]
async fn a_signed_in_admin_opening_the_sign_in_page_goes_home() {
    let db = TestDb::with_demo();
    let mut browser = browser(state(&db, Clock::fixed(test_now()))).await;
    browser.sign_in("admin@contoso.example", PASSWORD).await;
    assert_eq!(browser.get("/signin").await.location.as_deref(), Some("/"));
}
