//! Active users, a user's page, Manage product licenses, delete and restore, through HTTP.

mod common;

use actix_web::http::StatusCode;
use allot::domain::Clock;
use common::*;

#[actix_web::test]
async fn active_users_searches_filters_and_pages() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let all = admin.get("/users").await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(
        all.contains("Aaron Park") && !all.contains("Next page"),
        "44 users fit on one page of 50"
    );
    // Ten more make two pages; the second holds the last four by name.
    let (contoso, _) = tenants(&db);
    for i in 0..10 {
        let new = allot::domain::users::NewUser {
            display_name: format!("Zz Extra {i}"),
            email: format!("zz{i}@contoso.example"),
            password: Some("long enough pw".into()),
            products: vec![],
        };
        allot::domain::users::create(
            &mut db.conn(),
            &actor(&db, "admin@contoso.example"),
            test_now(),
            contoso,
            &new,
        )
        .unwrap();
    }
    let first = admin.get("/users").await;
    assert!(first.contains("Zz Extra 5") && !first.contains("Zz Extra 6"));
    // The column headers link to /users too: the Next page link is the one before its label.
    let label = first.body.find(">Next page<").expect("a Next page link");
    let start = first.body[..label].rfind("href=\"/users?").unwrap() + 6;
    let next: String = first.body[start..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    let second = admin
        .get(&next.replace("&#38;", "&").replace("&amp;", "&"))
        .await;
    assert!(
        second.contains("Zz Extra 6")
            && second.contains("Zz Extra 9")
            && !second.contains("Zz Extra 5"),
        "{next}: {}",
        second.body
    );
    let by_name = admin.get("/users?q=deb").await;
    assert!(by_name.contains("Debra Berger") && !by_name.contains("Alex Wilber"));
    let by_email = admin.get("/users?q=user1").await;
    assert!(
        by_email.contains("user10@contoso.example") && by_email.contains("user19@contoso.example")
    );
    assert!(!by_email.contains("user20@contoso.example"));
    let licensed = admin.get("/users?filter=licensed").await;
    assert!(licensed.contains("Alex Wilber") && !licensed.contains("Aaron Park"));
    let unlicensed = admin.get("/users?filter=unlicensed").await;
    assert!(unlicensed.contains("Aaron Park") && !unlicensed.contains("Alex Wilber"));
    let sales = product_id(&db, "Sales Professional").0;
    let has = admin.get(&format!("/users?filter=product-{sales}")).await;
    assert!(has.contains("Brian Johnson") && !has.contains("Cameron White"));
    let bad = admin.get("/users?after_id=abc").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn licenses_and_apps_saves_the_checked_products() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let user = user_id(&db, "user01@contoso.example").0;
    let premium = product_id(&db, "Business Premium").0.to_string();
    let page = format!("/users/{user}");
    let mut admin = signed_in(&db, "licenses@contoso.example").await;
    let shown = admin.get(&page).await;
    assert!(shown.contains("Licenses and apps") && shown.contains("Save changes"));
    // Keep Business Premium, clear Sales Professional: first the confirmation, then saved.
    let asked = admin
        .submit(
            &page,
            &format!("{page}/licenses"),
            &[("products", &premium)],
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.contains("<h1>Unassign licenses</h1>"));
    assert_eq!(pool_counts(&db, contoso, "Sales Professional"), (15, 9, 6));
    let saved = admin
        .submit(
            &page,
            &format!("{page}/licenses"),
            &[("products", &premium), ("confirm", "yes")],
        )
        .await;
    assert_eq!(saved.location.as_deref(), Some(page.as_str()));
    assert!(
        admin
            .get(&page)
            .await
            .contains("Saved changes: 0 assigned, 1 unassigned.")
    );
    assert_eq!(pool_counts(&db, contoso, "Sales Professional"), (15, 8, 7));
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
}

#[actix_web::test]
async fn manage_product_licenses_unassigns_all_then_says_who_got_what() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let ids: Vec<String> = contoso_users(&db, 1, 2)
        .iter()
        .map(|u| u.0.to_string())
        .collect();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let form = admin
        .get(&format!("/users/manage?users={}&users={}", ids[0], ids[1]))
        .await;
    assert!(form.contains("Manage product licenses") && form.contains("Unassign all"));
    let asked = admin
        .submit(
            &format!("/users/manage?users={}", ids[0]),
            "/users/manage",
            &[("users", &ids[0]), ("users", &ids[1]), ("mode", "unassign")],
        )
        .await;
    assert!(asked.contains("<h1>Unassign licenses</h1>"));
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
    let result = admin
        .submit(
            &format!("/users/manage?users={}", ids[0]),
            "/users/manage",
            &[
                ("users", &ids[0]),
                ("users", &ids[1]),
                ("mode", "unassign"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(result.status, StatusCode::OK);
    assert!(
        result.contains("Alex Wilber")
            && result.contains("Business Premium, Sales Professional")
            && result.contains("Done")
    );
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 8, 5));
    assert_eq!(pool_counts(&db, contoso, "Sales Professional"), (15, 7, 8));
}

#[actix_web::test]
async fn manage_product_licenses_assigns_what_fits_and_says_why_not_for_the_rest() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let premium = product_id(&db, "Business Premium").0.to_string();
    let sales = product_id(&db, "Sales Professional").0.to_string();
    // user16–19: outside the Sales team, so none holds Sales Professional yet.
    let ids: Vec<String> = contoso_users(&db, 16, 19)
        .iter()
        .map(|u| u.0.to_string())
        .collect();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let mut fields: Vec<(&str, &str)> = ids.iter().map(|id| ("users", id.as_str())).collect();
    fields.extend([
        ("mode", "assign"),
        ("products", premium.as_str()),
        ("products", sales.as_str()),
    ]);
    let result = admin.submit("/users", "/users/manage", &fields).await;
    assert_eq!(result.status, StatusCode::OK);
    assert!(
        result.contains("Business Premium (not enough licenses: 3 available for 4 users)"),
        "{}",
        result.body
    );
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
    assert_eq!(pool_counts(&db, contoso, "Sales Professional"), (15, 13, 2));
    let no_mode = admin
        .submit("/users", "/users/manage", &[("users", ids[0].as_str())])
        .await;
    assert_eq!(no_mode.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[actix_web::test]
async fn add_a_user_shows_the_password_once_and_bad_input_stays_on_the_form() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let premium = product_id(&db, "Business Premium").0.to_string();
    let mut admin = signed_in(&db, "users@contoso.example").await;
    let created = admin
        .submit(
            "/users/new",
            "/users/new",
            &[
                ("display_name", "Nora Ng"),
                ("email", "nora@contoso.example"),
                ("password_choice", "auto"),
                ("products", &premium),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    assert!(created.contains("This password is shown only once."));
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 11, 2));
    let start = created.body.find("class=\"secret\">").unwrap() + 15;
    let password: String = created.body[start..]
        .chars()
        .take_while(|c| *c != '<')
        .collect();
    assert_eq!(password.len(), 16);
    let mut portal = browser(state(&db, Clock::fixed(test_now()))).await;
    let signed = portal
        .submit(
            "/portal/signin",
            "/portal/signin",
            &[("email", "nora@contoso.example"), ("password", &password)],
        )
        .await;
    assert_eq!(signed.location.as_deref(), Some("/portal"));

    let wrong_domain = admin
        .submit(
            "/users/new",
            "/users/new",
            &[
                ("display_name", "X"),
                ("email", "x@fabrikam.example"),
                ("password_choice", "auto"),
            ],
        )
        .await;
    assert_eq!(wrong_domain.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong_domain.contains("The sign-in name must end with @contoso.example."));
    let taken = admin
        .submit(
            "/users/new",
            "/users/new",
            &[
                ("display_name", "X"),
                ("email", "user01@contoso.example"),
                ("password_choice", "auto"),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.contains("already in use"));
    let short = admin
        .submit(
            "/users/new",
            "/users/new",
            &[
                ("display_name", "Y"),
                ("email", "y@contoso.example"),
                ("password_choice", "own"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        short.contains("at least 8 characters") && short.contains("value=\"y@contoso.example\"")
    );
    let mut license_admin = signed_in(&db, "licenses@contoso.example").await;
    assert_eq!(
        license_admin.get("/users/new").await.status,
        StatusCode::FORBIDDEN
    );
}

#[actix_web::test]
async fn delete_frees_the_licenses_and_restore_gives_back_what_is_still_available() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let user01 = user_id(&db, "user01@contoso.example").0;
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let confirm = admin.get(&format!("/users/{user01}/delete")).await;
    assert!(
        confirm.contains("Delete user")
            && confirm.contains("available to assign to someone else at once")
    );
    let deleted = admin
        .submit(
            &format!("/users/{user01}/delete"),
            &format!("/users/{user01}/delete"),
            &[],
        )
        .await;
    assert_eq!(deleted.location.as_deref(), Some("/users"));
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 9, 4));
    assert_eq!(pool_counts(&db, contoso, "Sales Professional"), (15, 8, 7));
    assert!(admin.get("/users/deleted").await.contains("Alex Wilber"));
    assert_eq!(
        admin.get(&format!("/users/{user01}")).await.status,
        StatusCode::NOT_FOUND
    );

    // Meanwhile the freed Sales Professional license goes to seven others (outside the Sales
    // team, who have it), filling the pool.
    let sales = product_id(&db, "Sales Professional");
    let others = contoso_users(&db, 16, 22);
    allot::domain::licenses::assign(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        test_now(),
        contoso,
        allot::domain::licenses::PoolRef::Tenant(sales),
        &others,
    )
    .unwrap();

    let restored = admin
        .submit("/users/deleted", &format!("/users/{user01}/restore"), &[])
        .await;
    assert_eq!(restored.status, StatusCode::OK);
    assert!(
        restored.contains("Licenses given back: Business Premium."),
        "{}",
        restored.body
    );
    assert!(restored.contains("Restored without Sales Professional"));
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
    assert!(!admin.get("/users/deleted").await.contains("Alex Wilber"));
}

#[actix_web::test]
async fn a_user_admin_cannot_change_a_global_admin_and_nobody_blocks_themselves() {
    let db = TestDb::with_demo();
    let global = user_id(&db, "admin@contoso.example").0;
    let mut user_admin = signed_in(&db, "users@contoso.example").await;
    let page = format!("/users/{global}");
    let shown = user_admin.get(&page).await;
    assert!(
        !shown.contains("Block sign-in"),
        "the page doesn't offer it: {}",
        shown.body
    );
    let refused = user_admin
        .submit(&page, &format!("{page}/block"), &[("blocked", "yes")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.contains("Only a Global admin can change another Global admin."));
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let own = admin
        .submit(&page, &format!("{page}/block"), &[("blocked", "yes")])
        .await;
    assert_eq!(own.status, StatusCode::CONFLICT);
    assert!(own.contains("You can&#39;t block your own account."));
}

#[actix_web::test]
async fn blocking_keeps_a_user_out_of_the_portal_and_reset_password_gives_a_working_one() {
    let db = TestDb::with_demo();
    let user = user_id(&db, "user03@contoso.example").0;
    let page = format!("/users/{user}");
    let mut admin = signed_in(&db, "users@contoso.example").await;
    admin
        .submit(&page, &format!("{page}/block"), &[("blocked", "yes")])
        .await;
    let mut portal = browser(state(&db, Clock::fixed(test_now()))).await;
    let blocked = portal
        .submit(
            "/portal/signin",
            "/portal/signin",
            &[("email", "user03@contoso.example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(blocked.status, StatusCode::FORBIDDEN);
    assert!(blocked.contains("Your account is blocked from signing in."));
    admin
        .submit(&page, &format!("{page}/block"), &[("blocked", "no")])
        .await;
    let reset = admin
        .submit(
            &page,
            &format!("{page}/reset-password"),
            &[("password_choice", "own"), ("password", "a brand new pw")],
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK);
    let old = portal
        .submit(
            "/portal/signin",
            "/portal/signin",
            &[("email", "user03@contoso.example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = portal
        .submit(
            "/portal/signin",
            "/portal/signin",
            &[
                ("email", "user03@contoso.example"),
                ("password", "a brand new pw"),
            ],
        )
        .await;
    assert_eq!(new.location.as_deref(), Some("/portal"));
}

#[actix_web::test]
async fn the_audit_log_records_changes_and_filters_them() {
    let db = TestDb::with_demo();
    let premium = product_id(&db, "Business Premium").0;
    let user = contoso_users(&db, 11, 11)[0].0.to_string();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let form = format!("/licenses/{premium}/assign");
    admin
        .submit(&form, &form, &[("users", &user), ("confirm", "yes")])
        .await;
    let log = admin.get("/settings/audit-log?user=user11").await;
    assert!(log.contains("Assigned license") && log.contains("user11@contoso.example"));
    assert!(log.contains("Business Premium: 11 of 13 assigned"));
    assert!(
        !log.contains("<th scope=\"row\" data-label=\"Action\">Loaded demo data"),
        "other entries are filtered out"
    );
    let by_action = admin
        .get("/settings/audit-log?action=Loaded+demo+data")
        .await;
    assert!(
        by_action.contains("<th scope=\"row\" data-label=\"Action\">Loaded demo data")
            && !by_action.contains("user11@contoso.example")
    );
    let future = admin.get("/settings/audit-log?from=2027-01-01").await;
    assert!(future.contains("No entries match."));
    let bad_date = admin.get("/settings/audit-log?from=yesterday").await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut license_admin = signed_in(&db, "licenses@contoso.example").await;
    assert_eq!(
        license_admin.get("/settings/audit-log").await.status,
        StatusCode::FORBIDDEN
    );
}

/// The containment rule: a User admin changes only users without admin roles and other User
/// admins, so they can't take over the Billing admin's account or lock out the License admin.
#[actix_web::test]
async fn a_user_admin_cannot_reset_block_or_delete_an_admin_holding_another_role() {
    let db = TestDb::with_demo();
    let mut user_admin = signed_in(&db, "users@contoso.example").await;
    for email in ["billing@contoso.example", "licenses@contoso.example"] {
        let page = format!("/users/{}", user_id(&db, email).0);
        let shown = user_admin.get(&page).await;
        assert_eq!(shown.status, StatusCode::OK, "{email}");
        assert!(!shown.contains("Reset password"), "{email}: {}", shown.body);
        assert!(!shown.contains("Block sign-in"), "{email}");
        for (action, form) in [
            (
                "reset-password",
                vec![("password_choice", "own"), ("password", "taken over!")],
            ),
            ("block", vec![("blocked", "yes")]),
            ("delete", vec![]),
        ] {
            let refused = user_admin
                .submit(&page, &format!("{page}/{action}"), &form)
                .await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{email} {action}");
            assert!(
                refused.contains("Only a Global admin can change a"),
                "{email} {action}: {}",
                refused.body
            );
        }
        // Nothing changed: the admin still signs in with their own password.
        let mut them = browser(state(&db, Clock::fixed(test_now()))).await;
        assert_eq!(
            them.sign_in(email, PASSWORD).await.status,
            StatusCode::SEE_OTHER,
            "{email}"
        );
    }
    // A user without admin roles is still theirs to change.
    let plain = format!("/users/{}", user_id(&db, "user03@contoso.example").0);
    let blocked = user_admin
        .submit(&plain, &format!("{plain}/block"), &[("blocked", "yes")])
        .await;
    assert_eq!(blocked.status, StatusCode::SEE_OTHER);
}

/// Issue 12, finding 8: a display name with a NUL, a CR or LF, or another control character is
/// refused on the form (422) and no user is made.
#[actix_web::test]
async fn a_display_name_with_control_characters_is_refused_and_no_user_is_made() {
    use allot::domain::schema::users;
    use diesel::prelude::*;
    let db = TestDb::with_demo();
    let count = || {
        users::table
            .count()
            .get_result::<i64>(&mut db.conn())
            .unwrap()
    };
    let before = count();
    let mut admin = signed_in(&db, "users@contoso.example").await;
    for (i, name) in [
        "Nora\0Ng",
        "Nora\r\nNg",
        "Nora\nNg",
        "Nora\u{7}Ng",
        "Nora\u{202e}gN",
    ]
    .into_iter()
    .enumerate()
    {
        let email = format!("nora{i}@contoso.example");
        let shown = admin
            .submit(
                "/users/new",
                "/users/new",
                &[
                    ("display_name", name),
                    ("email", &email),
                    ("password_choice", "auto"),
                ],
            )
            .await;
        assert_eq!(shown.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert!(shown.contains("Remove the control characters"), "{name:?}");
    }
    assert_eq!(count(), before);
}

/// Issue 12, finding 14 (found by `http_fuzz`): a NUL in a search, a filter or a page key made
/// PostgreSQL refuse the query, a 500. A control character matches nothing stored, so it is
/// refused with a 422 that says so, on both databases.
#[actix_web::test]
async fn a_search_or_filter_with_a_control_character_is_refused_not_a_failure() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    for address in [
        "/users?q=%00",
        "/users?q=deb%0D%0A",
        "/users?after_key=%00&after_id=1",
        "/settings/audit-log?user=%00",
        "/settings/audit-log?product=%E2%80%AE",
        "/settings/audit-log?action=%00",
    ] {
        let page = admin.get(address).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{address}");
        assert!(page.contains("Remove the control characters"), "{address}");
    }
    let searched = admin.get("/users?q=%20deb%20").await;
    assert!(
        searched.contains("Debra Berger"),
        "spaces around a search still trim"
    );
}

/// Issue 12, finding 14 (found by `http_fuzz`): a date of 4713 BC in the audit log's filter was
/// a 500 on PostgreSQL, whose timestamps start there; dates outside years 1 to 9999 get a 422.
#[actix_web::test]
async fn an_audit_log_date_out_of_range_is_refused_not_a_failure() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    for address in [
        "/settings/audit-log?until=-4713-01-01",
        "/settings/audit-log?from=-4714-11-24",
        "/settings/audit-log?from=0000-01-01",
        "/settings/audit-log?until=%2B10000-01-01",
    ] {
        let page = admin.get(address).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{address}");
        assert!(page.contains("Enter dates as YYYY-MM-DD."), "{address}");
    }
    let within = admin
        .get("/settings/audit-log?from=0001-01-01&until=9999-12-31")
        .await;
    assert_eq!(within.status, StatusCode::OK);
}
