//! Sessions end on the server: a copied cookie stops working after sign-out, and a password
//! reset, block, role change or "Sign out everywhere" ends every session of the account, at
//! both doors. Also the idle time and the absolute lifetime.

mod common;

use actix_web::http::StatusCode;
use allot::domain::Clock;
use chrono::Duration;
use common::*;

fn signed_out_of_the_admin_center(page: &Page) -> bool {
    page.status == StatusCode::SEE_OTHER && page.location.as_deref() == Some("/signin")
}

fn signed_out_of_the_portal(page: &Page) -> bool {
    page.status == StatusCode::SEE_OTHER && page.location.as_deref() == Some("/portal/signin")
}

#[actix_web::test]
async fn a_copied_admin_cookie_stops_working_after_sign_out_for_get_and_post() {
    let db = TestDb::with_demo();
    let app_state = state(&db, Clock::fixed(test_now()));
    let target = user_id(&db, "user04@contoso.example").0;
    let page = format!("/users/{target}");
    let mut admin = browser(app_state.clone()).await;
    admin.sign_in("admin@contoso.example", PASSWORD).await;
    let copy = admin.cookie_jar();
    let mut thief = browser(app_state).await;
    thief.set_cookie_jar(copy.clone());
    let form = thief.get(&page).await;
    assert_eq!(
        form.status,
        StatusCode::OK,
        "the copy works while signed in"
    );
    let token = form.csrf();

    admin.submit("/", "/signout", &[]).await;
    assert!(signed_out_of_the_admin_center(
        &thief.get("/licenses").await
    ));
    // The answer dropped the cookie; the thief sends the copy again.
    thief.set_cookie_jar(copy);
    let post = thief
        .post_raw(
            &format!("{page}/block"),
            &[("csrf_token", &token), ("blocked", "yes")],
        )
        .await;
    assert!(
        signed_out_of_the_admin_center(&post),
        "the POST is sent to sign in: {post:?}"
    );
    let mut check = signed_in(&db, "admin@contoso.example").await;
    assert!(
        check.get(&page).await.contains("Block sign-in"),
        "the user was not blocked"
    );
}

#[actix_web::test]
async fn a_copied_portal_cookie_stops_working_after_sign_out_for_get_and_post() {
    let db = TestDb::with_demo();
    let app_state = state(&db, Clock::fixed(test_now()));
    let mut user = browser(app_state.clone()).await;
    user.portal_sign_in("user01@contoso.example", PASSWORD)
        .await;
    let copy = user.cookie_jar();
    let mut thief = browser(app_state).await;
    thief.set_cookie_jar(copy.clone());
    let home = thief.get("/portal").await;
    assert_eq!(
        home.status,
        StatusCode::OK,
        "the copy works while signed in"
    );
    let token = home.csrf();

    user.submit("/portal", "/portal/signout", &[]).await;
    assert!(signed_out_of_the_portal(&thief.get("/portal").await));
    thief.set_cookie_jar(copy);
    let post = thief
        .post_raw(
            "/portal/purchases/1/unassign",
            &[("csrf_token", &token), ("users", "1")],
        )
        .await;
    assert!(
        signed_out_of_the_portal(&post),
        "the POST is sent to sign in: {post:?}"
    );
}

#[actix_web::test]
async fn a_password_reset_ends_the_users_sessions_in_the_admin_center_and_the_portal() {
    let db = TestDb::with_demo();
    let app_state = state(&db, Clock::fixed(test_now()));
    let target = user_id(&db, "billing@contoso.example").0;
    let mut billing = browser(app_state.clone()).await;
    billing.sign_in("billing@contoso.example", PASSWORD).await;
    billing
        .portal_sign_in("billing@contoso.example", PASSWORD)
        .await;
    assert_eq!(billing.get("/").await.status, StatusCode::OK);
    assert!(!signed_out_of_the_portal(&billing.get("/portal").await));

    let mut admin = browser(app_state).await;
    admin.sign_in("admin@contoso.example", PASSWORD).await;
    let page = format!("/users/{target}");
    let reset = admin
        .submit(
            &page,
            &format!("{page}/reset-password"),
            &[("password_choice", "own"), ("password", "another password")],
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK);

    assert!(signed_out_of_the_admin_center(&billing.get("/").await));
    assert!(signed_out_of_the_portal(&billing.get("/portal").await));
    assert_eq!(
        admin.get("/").await.status,
        StatusCode::OK,
        "the admin's own session goes on"
    );
}

#[actix_web::test]
async fn block_then_unblock_does_not_revive_an_old_cookie() {
    let db = TestDb::with_demo();
    let app_state = state(&db, Clock::fixed(test_now()));
    let target = user_id(&db, "billing@contoso.example").0;
    let mut billing = browser(app_state.clone()).await;
    billing.sign_in("billing@contoso.example", PASSWORD).await;
    billing
        .portal_sign_in("billing@contoso.example", PASSWORD)
        .await;
    let old = billing.cookie_jar();

    let mut admin = browser(app_state.clone()).await;
    admin.sign_in("admin@contoso.example", PASSWORD).await;
    let page = format!("/users/{target}");
    admin
        .submit(&page, &format!("{page}/block"), &[("blocked", "yes")])
        .await;
    admin
        .submit(&page, &format!("{page}/block"), &[("blocked", "no")])
        .await;

    // The cookie was not used while blocked: unblocking still doesn't bring it back.
    let mut later = browser(app_state).await;
    later.set_cookie_jar(old);
    assert!(signed_out_of_the_admin_center(&later.get("/").await));
    assert!(signed_out_of_the_portal(&later.get("/portal").await));
    let again = later.sign_in("billing@contoso.example", PASSWORD).await;
    assert_eq!(again.location.as_deref(), Some("/"), "a new sign-in works");
}

#[actix_web::test]
async fn deleting_a_user_ends_their_sessions_and_a_restore_does_not_revive_them() {
    let db = TestDb::with_demo();
    let app_state = state(&db, Clock::fixed(test_now()));
    let target = user_id(&db, "user05@contoso.example").0;
    let mut user = browser(app_state.clone()).await;
    user.portal_sign_in("user05@contoso.example", PASSWORD)
        .await;
    assert_eq!(user.get("/portal").await.status, StatusCode::OK);

    let mut admin = browser(app_state).await;
    admin.sign_in("admin@contoso.example", PASSWORD).await;
    let page = format!("/users/{target}");
    admin
        .submit(&format!("{page}/delete"), &format!("{page}/delete"), &[])
        .await;
    admin
        .submit("/users/deleted", &format!("{page}/restore"), &[])
        .await;
    assert!(signed_out_of_the_portal(&user.get("/portal").await));
}

#[actix_web::test]
async fn removing_a_role_ends_the_sessions_at_both_doors() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let app_state = state(&db, Clock::fixed(test_now()));
    let target = user_id(&db, "billing@contoso.example").0;
    let page = format!("/users/{target}");
    let mut admin = browser(app_state.clone()).await;
    admin.sign_in("admin@contoso.example", PASSWORD).await;
    let given = admin
        .submit(
            &page,
            &format!("{page}/roles"),
            &[("roles", "billing"), ("roles", "license")],
        )
        .await;
    assert_eq!(given.location.as_deref(), Some(page.as_str()));

    let mut billing = browser(app_state).await;
    billing.sign_in("billing@contoso.example", PASSWORD).await;
    billing
        .portal_sign_in("billing@contoso.example", PASSWORD)
        .await;
    assert!(
        billing
            .get("/")
            .await
            .contains("Billing admin, License admin")
    );

    // Billing admin is taken away; License admin stays, so the account may still come in.
    let taken = admin
        .submit(&page, &format!("{page}/roles"), &[("roles", "license")])
        .await;
    assert_eq!(taken.location.as_deref(), Some(page.as_str()));
    assert!(signed_out_of_the_admin_center(&billing.get("/").await));
    assert!(signed_out_of_the_portal(&billing.get("/portal").await));
    assert_eq!(audit_count(&db, contoso, "Removed admin role"), 1);

    billing.sign_in("billing@contoso.example", PASSWORD).await;
    let home = billing.get("/").await;
    assert!(home.contains("License admin") && !home.contains("Billing admin"));
}

#[actix_web::test]
async fn roles_are_given_and_taken_only_by_a_global_admin_and_one_global_admin_stays() {
    let db = TestDb::with_demo();
    let target = user_id(&db, "billing@contoso.example").0;
    let mut users_admin = signed_in(&db, "users@contoso.example").await;
    let token = users_admin.get("/users").await.csrf();
    let refused = users_admin
        .post_raw(
            &format!("/users/{target}/roles"),
            &[("csrf_token", &token), ("roles", "global")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let me = user_id(&db, "admin@contoso.example").0;
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let me_page = format!("/users/{me}");
    let last = admin
        .submit(&me_page, &format!("{me_page}/roles"), &[("roles", "user")])
        .await;
    assert_eq!(last.status, StatusCode::CONFLICT);
    assert!(last.contains("at least one Global admin"));
    let bad = admin
        .submit(&me_page, &format!("{me_page}/roles"), &[("roles", "owner")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        admin.get("/").await.status,
        StatusCode::OK,
        "nothing changed"
    );
}

#[actix_web::test]
async fn sign_out_everywhere_ends_the_accounts_other_browsers_and_its_portal_session() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let app_state = state(&db, Clock::fixed(test_now()));
    let mut laptop = browser(app_state.clone()).await;
    laptop.sign_in("licenses@contoso.example", PASSWORD).await;
    let mut phone = browser(app_state.clone()).await;
    phone.sign_in("licenses@contoso.example", PASSWORD).await;
    phone
        .portal_sign_in("licenses@contoso.example", PASSWORD)
        .await;
    let mut someone_else = browser(app_state).await;
    someone_else
        .sign_in("admin@contoso.example", PASSWORD)
        .await;

    let account = laptop.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.contains("Sign out everywhere"));
    assert!(account.contains("<dd>3, in the admin center and the service portal</dd>"));
    let done = laptop
        .submit("/account", "/account/sign-out-everywhere", &[])
        .await;
    assert_eq!(done.location.as_deref(), Some("/signin"));
    assert!(
        laptop
            .get("/signin")
            .await
            .contains("You have signed out everywhere")
    );
    assert!(signed_out_of_the_admin_center(&laptop.get("/").await));
    assert!(signed_out_of_the_admin_center(&phone.get("/").await));
    assert!(signed_out_of_the_portal(&phone.get("/portal").await));
    assert_eq!(someone_else.get("/").await.status, StatusCode::OK);
    assert_eq!(audit_count(&db, contoso, "Signed out everywhere"), 1);
}

#[actix_web::test]
async fn sign_out_everywhere_from_the_portal_ends_the_admin_center_session_too() {
    let db = TestDb::with_demo();
    let mut b = browser(state(&db, Clock::fixed(test_now()))).await;
    b.sign_in("licenses@contoso.example", PASSWORD).await;
    b.portal_sign_in("licenses@contoso.example", PASSWORD).await;
    let account = b.get("/portal/account").await;
    assert_eq!(account.status, StatusCode::OK);
    let done = b
        .submit("/portal/account", "/portal/sign-out-everywhere", &[])
        .await;
    assert_eq!(done.location.as_deref(), Some("/portal/signin"));
    assert!(signed_out_of_the_portal(&b.get("/portal").await));
    assert!(signed_out_of_the_admin_center(&b.get("/").await));
}

#[actix_web::test]
async fn an_admin_signs_a_user_out_everywhere_from_the_users_page() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let app_state = state(&db, Clock::fixed(test_now()));
    let target = user_id(&db, "licenses@contoso.example").0;
    let page = format!("/users/{target}");
    let mut lee = browser(app_state.clone()).await;
    lee.sign_in("licenses@contoso.example", PASSWORD).await;
    lee.portal_sign_in("licenses@contoso.example", PASSWORD)
        .await;

    let mut admin = browser(app_state).await;
    admin.sign_in("admin@contoso.example", PASSWORD).await;
    assert!(admin.get(&page).await.contains("Sign out everywhere"));
    let done = admin
        .submit(&page, &format!("{page}/sign-out-everywhere"), &[])
        .await;
    assert_eq!(done.location.as_deref(), Some(page.as_str()));
    assert!(
        admin
            .get(&page)
            .await
            .contains("Signed out everywhere: 2 sessions ended.")
    );
    assert!(signed_out_of_the_admin_center(&lee.get("/").await));
    assert!(signed_out_of_the_portal(&lee.get("/portal").await));
    assert_eq!(audit_count(&db, contoso, "Signed out everywhere"), 1);
}

#[actix_web::test]
async fn a_user_admin_signs_out_only_users_they_may_change() {
    let db = TestDb::with_demo();
    let app_state = state(&db, Clock::fixed(test_now()));
    let global = user_id(&db, "admin@contoso.example").0;
    let page = format!("/users/{global}");
    let mut adele = browser(app_state.clone()).await;
    adele.sign_in("admin@contoso.example", PASSWORD).await;
    let mut uma = browser(app_state).await;
    uma.sign_in("users@contoso.example", PASSWORD).await;
    let shown = uma.get(&page).await;
    assert!(!shown.contains("Sign out everywhere"), "not offered");
    let token = shown.csrf();
    let refused = uma
        .post_raw(
            &format!("{page}/sign-out-everywhere"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(adele.get("/").await.status, StatusCode::OK);
    let licensed_admin = user_id(&db, "licenses@contoso.example").0;
    let contained = uma
        .post_raw(
            &format!("/users/{licensed_admin}/sign-out-everywhere"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(
        contained.status,
        StatusCode::FORBIDDEN,
        "a User admin doesn't change a License admin"
    );
    let plain = user_id(&db, "user06@contoso.example").0;
    assert!(
        uma.get(&format!("/users/{plain}"))
            .await
            .contains("Sign out everywhere")
    );
    let other_tenant = user_id(&db, "user01@fabrikam.example").0;
    let hidden = uma
        .post_raw(
            &format!("/users/{other_tenant}/sign-out-everywhere"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn staff_sign_out_everywhere_ends_their_other_sessions() {
    let db = TestDb::with_demo();
    let app_state = state(&db, Clock::fixed(test_now()));
    let mut desk = browser(app_state.clone()).await;
    desk.sign_in("support@allot.example", PASSWORD).await;
    let mut home = browser(app_state).await;
    home.sign_in("support@allot.example", PASSWORD).await;
    let done = desk
        .submit("/account", "/account/sign-out-everywhere", &[])
        .await;
    assert_eq!(done.location.as_deref(), Some("/signin"));
    assert!(signed_out_of_the_admin_center(&home.get("/support").await));
}

#[actix_web::test]
async fn a_session_ends_12_hours_after_sign_in_however_active() {
    let db = TestDb::with_demo();
    let clock = Clock::fixed(test_now());
    let mut config = test_config(&db);
    config.session_max_hours = 12; // the default
    let app_state = allot::startup::state(
        &config,
        db.pool.clone(),
        &allot::startup::Dependencies::offline(clock.clone()),
    );
    let mut b = browser(app_state).await;
    b.sign_in("admin@contoso.example", PASSWORD).await;
    b.portal_sign_in("user01@contoso.example", PASSWORD).await;
    let mut elapsed = Duration::zero();
    while elapsed < Duration::hours(12) - Duration::minutes(5) {
        clock.advance(Duration::minutes(5));
        elapsed += Duration::minutes(5);
        assert_eq!(b.get("/").await.status, StatusCode::OK, "after {elapsed}");
        assert_eq!(b.get("/portal").await.status, StatusCode::OK);
    }
    clock.advance(Duration::minutes(5));
    assert!(signed_out_of_the_admin_center(&b.get("/").await));
    assert!(signed_out_of_the_portal(&b.get("/portal").await));
    let again = b.sign_in("admin@contoso.example", PASSWORD).await;
    assert_eq!(again.location.as_deref(), Some("/"));
    assert_eq!(b.get("/").await.status, StatusCode::OK);
}

#[actix_web::test]
async fn an_idle_portal_session_must_sign_in_again() {
    let db = TestDb::with_demo();
    let clock = Clock::fixed(test_now());
    let mut b = browser(state(&db, clock.clone())).await;
    b.portal_sign_in("user01@contoso.example", PASSWORD).await;
    clock.advance(Duration::hours(7) + Duration::minutes(59));
    assert_eq!(b.get("/portal").await.status, StatusCode::OK);
    clock.advance(Duration::hours(8) + Duration::minutes(2));
    assert!(signed_out_of_the_portal(&b.get("/portal").await));
}

#[actix_web::test]
async fn signing_oneself_out_everywhere_from_ones_user_page_lands_on_sign_in() {
    let db = TestDb::with_demo();
    let me = user_id(&db, "admin@contoso.example").0;
    let page = format!("/users/{me}");
    let mut adele = signed_in(&db, "admin@contoso.example").await;
    let done = adele
        .submit(&page, &format!("{page}/sign-out-everywhere"), &[])
        .await;
    assert_eq!(done.location.as_deref(), Some("/signin"));
    assert!(signed_out_of_the_admin_center(&adele.get("/").await));
}

/// A browser whose session was ended elsewhere signs in again at the first try: the sign-in
/// form it is shown carries a token its cookie keeps (both doors).
#[actix_web::test]
async fn a_browser_whose_session_was_ended_elsewhere_signs_in_again_at_once() {
    let db = TestDb::with_demo();
    let app_state = state(&db, Clock::fixed(test_now()));
    let mut laptop = browser(app_state.clone()).await;
    laptop.sign_in("licenses@contoso.example", PASSWORD).await;
    laptop
        .portal_sign_in("licenses@contoso.example", PASSWORD)
        .await;
    let mut phone = browser(app_state).await;
    phone.sign_in("licenses@contoso.example", PASSWORD).await;
    phone
        .submit("/account", "/account/sign-out-everywhere", &[])
        .await;

    // Straight to the sign-in form, as a bookmark would.
    let again = laptop.sign_in("licenses@contoso.example", PASSWORD).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_eq!(laptop.get("/").await.status, StatusCode::OK);

    let again = laptop
        .portal_sign_in("licenses@contoso.example", PASSWORD)
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert!(!signed_out_of_the_portal(&laptop.get("/portal").await));
}

/// Reading pages leaves the session cookie as it is: no new cookie on every answer (the
/// session is encrypted into the cookie, so a changed session is a new cookie). A one-time
/// message is shown once, and the answer that shows it is the one that sends the cookie
/// without it.
#[actix_web::test]
async fn pages_leave_the_session_cookie_alone_and_a_message_is_taken_out_once() {
    let db = TestDb::with_demo();
    let mut b = signed_in(&db, "admin@contoso.example").await;
    let user = user_id(&db, "user04@contoso.example").0;
    let pages = [
        "/".to_owned(),
        "/licenses".to_owned(),
        "/users".to_owned(),
        format!("/users/{user}"),
        "/billing/products".to_owned(),
        "/settings/audit-log".to_owned(),
    ];
    for path in &pages {
        b.set_cookie_headers.clear();
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            b.set_cookie_headers.is_empty(),
            "{path} sent a cookie: {:?}",
            b.set_cookie_headers
        );
    }

    b.submit("/", "/signout", &[]).await;
    b.set_cookie_headers.clear();
    let signed_out = b.get("/signin").await;
    assert!(signed_out.contains("You have signed out."));
    assert!(
        b.set_cookie_headers
            .iter()
            .any(|c| c.starts_with("allot_admin=")),
        "the message leaves the session: {:?}",
        b.set_cookie_headers
    );
    b.set_cookie_headers.clear();
    let again = b.get("/signin").await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(!again.contains("You have signed out."), "shown once");
    assert!(
        b.set_cookie_headers.is_empty(),
        "nothing left to take: {:?}",
        b.set_cookie_headers
    );
}
