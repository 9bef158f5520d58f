//! Pages refuse what the roles refuse, never show another tenant, and fail with our pages.

mod common;

use actix_web::http::StatusCode;
use allot::domain::Clock;
use allot::domain::users;
use common::*;

#[actix_web::test]
async fn a_license_admin_opening_a_page_for_global_admins_gets_a_403_page() {
    let db = TestDb::with_demo();
    let mut b = signed_in(&db, "licenses@contoso.example").await;
    let page = b.get("/settings/roles").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.contains("You don&#39;t have permission to do this."),
        "{}",
        page.body
    );
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let roles = admin.get("/settings/roles").await;
    assert_eq!(roles.status, StatusCode::OK);
    assert!(roles.contains("Lee Gu") && roles.contains("License admin"));
}

#[actix_web::test]
async fn each_role_sees_the_pages_it_may_and_a_403_for_the_others() {
    let db = TestDb::with_demo();
    let user = {
        let admin = actor(&db, "admin@contoso.example");
        users::admins(&mut db.conn(), &admin, tenants(&db).0).unwrap()[0].id
    };
    let user_page = format!("/users/{}", user.0);
    // (account, [/, /licenses, /users/N, /settings/roles, /support])
    let cases: [(&str, [u16; 5]); 6] = [
        ("admin@contoso.example", [200, 200, 200, 200, 403]),
        ("billing@contoso.example", [200, 200, 403, 403, 403]),
        ("licenses@contoso.example", [200, 200, 200, 403, 403]),
        ("users@contoso.example", [200, 200, 200, 403, 403]),
        ("support@allot.example", [303, 403, 403, 403, 200]),
        ("partner@allot.example", [303, 403, 403, 403, 200]),
    ];
    for (email, expected) in cases {
        let mut b = signed_in(&db, email).await;
        for (path, status) in [
            "/",
            "/licenses",
            user_page.as_str(),
            "/settings/roles",
            "/support",
        ]
        .iter()
        .zip(expected)
        {
            assert_eq!(
                b.get(path).await.status.as_u16(),
                status,
                "{email} GET {path}"
            );
        }
    }
}

#[actix_web::test]
async fn the_navigation_shows_only_what_the_role_may_open() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let home = admin.get("/").await;
    assert!(home.contains("href=\"/settings/roles\""));
    let mut billing = signed_in(&db, "billing@contoso.example").await;
    let home = billing.get("/").await;
    assert!(home.contains("href=\"/licenses\""));
    assert!(!home.contains("href=\"/settings/roles\""));
}

#[actix_web::test]
async fn a_contoso_admin_asking_for_a_fabrikam_user_gets_a_404() {
    let db = TestDb::with_demo();
    let fabrikam_user = {
        let admin = actor(&db, "admin@fabrikam.example");
        users::admins(&mut db.conn(), &admin, tenants(&db).1).unwrap()[0].id
    };
    let mut b = signed_in(&db, "admin@contoso.example").await;
    let page = b.get(&format!("/users/{}", fabrikam_user.0)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(
        !page.contains("Farah Khan"),
        "nothing of the Fabrikam user shows"
    );
    assert!(page.contains("Page not found"));
}

#[actix_web::test]
async fn bad_input_gets_a_4xx_page_never_a_500() {
    let db = TestDb::with_demo();
    let mut b = signed_in(&db, "admin@contoso.example").await;
    let not_a_number = b.get("/users/abc").await;
    assert_eq!(not_a_number.status, StatusCode::NOT_FOUND);
    let huge = b.get("/users/99999999999999999999999").await;
    assert_eq!(huge.status, StatusCode::NOT_FOUND);
    let unknown = b.get("/no/such/page").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.contains("There is no page at this address."));
    // A sign-in form with a field missing: the form can't be read.
    let token = b.get("/").await.csrf();
    let missing_field = b
        .post_raw(
            "/signin",
            &[("csrf_token", &token), ("email", "x@y.example")],
        )
        .await;
    assert_eq!(missing_field.status, StatusCode::BAD_REQUEST);
    assert!(missing_field.contains("The form could not be read."));
    // A GET-only page posted to.
    let token = b.get("/").await.csrf();
    let wrong_method = b.post_raw("/licenses", &[("csrf_token", &token)]).await;
    assert!(
        wrong_method.status.is_client_error(),
        "{}",
        wrong_method.status
    );
}

#[actix_web::test]
async fn every_response_carries_the_security_headers() {
    let db = TestDb::with_demo();
    let mut b = browser(state(&db, Clock::fixed(test_now()))).await;
    for path in ["/signin", "/healthz", "/no/such/page", "/static/app.css"] {
        let page = b.get(path).await;
        let csp = page
            .headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(
            page.headers.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert_eq!(
            page.headers.get("referrer-policy").unwrap(),
            "same-origin",
            "{path}"
        );
    }
}

#[actix_web::test]
async fn healthz_answers_ok_with_the_database_reachable() {
    let db = TestDb::new();
    let mut b = browser(state(&db, Clock::fixed(test_now()))).await;
    let page = b.get("/healthz").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body, "ok");
}

#[actix_web::test]
async fn error_pages_keep_the_navigation_when_signed_in() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let missing = admin.get("/users/999999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.contains("<h1>Page not found</h1>"),
        "{}",
        missing.body
    );
    assert!(
        missing.contains("href=\"/users\""),
        "the navigation: {}",
        missing.body
    );
    assert!(
        missing.contains("action=\"/signout\""),
        "the sign-out button"
    );
    // The License admin's 403 has their own navigation: Licenses, no billing pages.
    let mut lee = signed_in(&db, "licenses@contoso.example").await;
    let refused = lee.get("/billing/products").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.contains("<h1>You can&#39;t do this</h1>"),
        "{}",
        refused.body
    );
    assert!(refused.contains("href=\"/licenses\""));
    assert!(!refused.contains("href=\"/billing/products\""));
    // A bad value (422) too.
    let bad = admin.get("/users?q=%07").await;
    assert!(bad.status.is_client_error());
    assert!(bad.contains("href=\"/licenses\""), "{}", bad.body);
    // Signed out, the same error page has no navigation.
    let mut anonymous = browser(state(&db, Clock::fixed(test_now()))).await;
    let page = anonymous.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.contains("href=\"/licenses\""));
}
