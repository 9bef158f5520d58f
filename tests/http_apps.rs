//! Licenses and apps > Apps on a user's page, and the apps the portal gives, through HTTP.

mod common;

use actix_web::http::StatusCode;
use allot::domain::schema::{apps_turned_off, product_services};
use allot::domain::{Clock, UserId};
use common::*;
use diesel::prelude::*;

fn app_id(db: &TestDb, product: &str, app: &str) -> String {
    let product = product_id(db, product);
    product_services::table
        .filter(product_services::product_id.eq(product.0))
        .filter(product_services::name.eq(app))
        .select(product_services::id)
        .first::<i64>(&mut db.conn())
        .unwrap_or_else(|_| panic!("no app {app}"))
        .to_string()
}

fn rows_off(db: &TestDb, user: UserId) -> i64 {
    apps_turned_off::table
        .filter(apps_turned_off::user_id.eq(user.0))
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

#[actix_web::test]
async fn turning_off_the_mailbox_keeps_the_license_and_says_until_when_its_data_is_kept() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let user = user_id(&db, "user05@contoso.example");
    let premium = product_id(&db, "Business Premium").0;
    let page = format!("/users/{}", user.0);
    let mut admin = signed_in(&db, "licenses@contoso.example").await;
    let shown = admin.get(&page).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(
        shown.contains("<h3 id=\"apps-heading\">Apps</h3>")
            && shown.contains("Exchange Online mailbox")
            && shown.contains("holds data")
            && shown.contains("Save apps")
            && shown.contains(&format!("action=\"/users/{}/apps/{premium}\"", user.0))
    );

    let onedrive = app_id(&db, "Business Premium", "OneDrive files");
    let office = app_id(&db, "Business Premium", "Office apps");
    let saved = admin
        .submit(
            &page,
            &format!("/users/{}/apps/{premium}", user.0),
            &[("apps", &onedrive), ("apps", &office)],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(saved.location.as_deref(), Some(page.as_str()));
    let after = admin.get(&page).await;
    assert!(
        after.contains("Turned off Exchange Online mailbox (Business Premium).")
            && after.contains("Its data is kept until December 5, 2026"),
        "{}",
        after.body
    );
    assert!(after.contains("off, data kept until December 5, 2026"));
    assert_eq!(rows_off(&db, user), 1);
    // The license stays.
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
    assert_eq!(audit_count(&db, contoso, "Turned off app"), 1);

    // Turned back on within the hold, the data is kept.
    let mailbox = app_id(&db, "Business Premium", "Exchange Online mailbox");
    admin
        .submit(
            &page,
            &format!("/users/{}/apps/{premium}", user.0),
            &[("apps", &mailbox), ("apps", &onedrive), ("apps", &office)],
        )
        .await;
    let back = admin.get(&page).await;
    assert!(
        back.contains("Turned on Exchange Online mailbox (Business Premium).")
            && back.contains("Its data was still held and is kept.")
    );
    assert_eq!(rows_off(&db, user), 0);
}

#[actix_web::test]
async fn bad_input_is_refused_and_nothing_is_stored() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let user = user_id(&db, "user05@contoso.example");
    let premium = product_id(&db, "Business Premium").0;
    let sales = product_id(&db, "Sales Professional").0;
    let page = format!("/users/{}", user.0);
    let action = format!("/users/{}/apps/{premium}", user.0);
    let mut admin = signed_in(&db, "admin@contoso.example").await;

    // An app of another product.
    let sales_data = app_id(&db, "Sales Professional", "Sales data");
    let other = admin.submit(&page, &action, &[("apps", &sales_data)]).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Not a number.
    let garbled = admin.submit(&page, &action, &[("apps", "mailbox")]).await;
    assert_eq!(garbled.status, StatusCode::BAD_REQUEST);
    // A license the user doesn't hold, a product that doesn't exist.
    let not_held = admin
        .submit(&page, &format!("/users/{}/apps/{sales}", user.0), &[])
        .await;
    assert_eq!(not_held.status, StatusCode::NOT_FOUND);
    let no_product = admin
        .submit(&page, &format!("/users/{}/apps/987654", user.0), &[])
        .await;
    assert_eq!(no_product.status, StatusCode::NOT_FOUND);
    // Another tenant's user, and no user at all.
    let fabrikam_user = user_id(&db, "user01@fabrikam.example");
    let theirs = admin
        .submit(
            &page,
            &format!("/users/{}/apps/{premium}", fabrikam_user.0),
            &[],
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(
        admin
            .get(&format!("/users/{}", fabrikam_user.0))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let nobody = admin
        .submit(&page, &format!("/users/987654/apps/{premium}"), &[])
        .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    // No CSRF token.
    let forged = admin.post_raw(&action, &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    assert_eq!(rows_off(&db, user), 0);
    assert_eq!(rows_off(&db, fabrikam_user), 0);
    assert_eq!(audit_count(&db, contoso, "Turned off app"), 0);
    assert!(
        !admin
            .get(&page)
            .await
            .contains("Data kept after licenses or apps were removed")
    );
}

#[actix_web::test]
async fn a_billing_admin_cannot_turn_apps_off() {
    let db = TestDb::with_demo();
    let user = user_id(&db, "user05@contoso.example");
    let premium = product_id(&db, "Business Premium").0;
    let mut billing = signed_in(&db, "billing@contoso.example").await;
    let refused = billing
        .submit(
            "/billing/products",
            &format!("/users/{}/apps/{premium}", user.0),
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(rows_off(&db, user), 0);
}

#[actix_web::test]
async fn the_portal_lists_only_the_apps_on_and_says_so_when_every_app_is_off() {
    let db = TestDb::with_demo();
    let user = user_id(&db, "user05@contoso.example");
    let premium = product_id(&db, "Business Premium").0;
    let page = format!("/users/{}", user.0);
    let action = format!("/users/{}/apps/{premium}", user.0);
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let onedrive = app_id(&db, "Business Premium", "OneDrive files");
    admin.submit(&page, &action, &[("apps", &onedrive)]).await;

    let mut portal = browser(state(&db, Clock::fixed(test_now()))).await;
    portal
        .portal_sign_in("user05@contoso.example", PASSWORD)
        .await;
    let home = portal.get("/portal").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.contains("Business Premium") && home.contains("OneDrive files"));
    assert!(!home.contains("Exchange Online mailbox") && !home.contains("Office apps"));

    // Every app off: no service from that license, and the portal says why.
    admin.submit(&page, &action, &[]).await;
    let none = portal.get("/portal").await;
    assert_eq!(none.status, StatusCode::FORBIDDEN);
    assert!(
        none.contains("Your license for Business Premium has no apps turned on. Ask your admin.")
    );
    assert!(none.contains("admin@contoso.example"));
    assert!(!none.contains("OneDrive files"));
}

#[actix_web::test]
async fn the_demo_user02_has_office_apps_turned_off() {
    let db = TestDb::with_demo();
    let mut portal = browser(state(&db, Clock::fixed(test_now()))).await;
    portal
        .portal_sign_in("user02@contoso.example", PASSWORD)
        .await;
    let home = portal.get("/portal").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.contains("Exchange Online mailbox") && !home.contains("Office apps"));
    let user = user_id(&db, "user02@contoso.example");
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let shown = admin.get(&format!("/users/{}", user.0)).await;
    let office = app_id(&db, "Business Premium", "Office apps");
    let premium = product_id(&db, "Business Premium").0;
    // The box of Office apps is there, unchecked.
    let id = format!("id=\"app-{premium}-{office}\"");
    let at = shown.body.find(&id).expect("the Office apps box");
    let tag_start = shown.body[..at].rfind('<').unwrap();
    let tag_end = at + shown.body[at..].find('>').unwrap();
    assert!(!shown.body[tag_start..tag_end].contains("checked"));
}
