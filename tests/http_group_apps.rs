//! A group's license > Apps through HTTP: the group's page says which apps its licenses turn
//! off and links to the Apps page, Save apps turns an app off for the members with the
//! data-hold date, and who may see and change it.

mod common;

use actix_web::http::StatusCode;
use common::*;

/// The demo's Sales team and its Sales Professional, as (group page, apps page).
fn sales_team(db: &TestDb) -> (String, String) {
    use allot::domain::schema::user_groups;
    use diesel::prelude::*;
    let id: i64 = user_groups::table
        .filter(user_groups::name.eq("Sales team"))
        .select(user_groups::id)
        .first(&mut db.conn())
        .unwrap();
    let product = product_id(db, "Sales Professional").0;
    (
        format!("/groups/{id}"),
        format!("/groups/{id}/licenses/{product}/apps"),
    )
}

#[actix_web::test]
async fn a_groups_apps_page_turns_an_app_off_for_its_members_with_the_hold_date() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let (page, apps) = sales_team(&db);
    let shown = admin.get(&page).await;
    assert!(shown.contains("All apps on") && shown.contains(&format!("href=\"{apps}\"")));

    let form = admin.get(&apps).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.contains("Sales Professional: apps for Sales team"));
    assert!(form.contains("Sales data") && form.contains(" checked"));
    assert!(
        form.contains("until December 5, 2026"),
        "the hold's date if turned off now"
    );

    // Saved with the box cleared: the five members lose Sales data, their data held.
    let saved = admin.submit(&apps, &apps, &[]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(saved.location.as_deref(), Some(page.as_str()));
    let after = admin.get(&page).await;
    assert!(
        after.contains("Turned off Sales data (Sales Professional) for the group. The apps of 5 members changed. Data of the apps turned off is kept until December 5, 2026"),
        "{}",
        after.body
    );
    assert!(after.contains("Off: Sales data"));
    let member = user_id(&db, "user12@contoso.example").0;
    let user_page = admin.get(&format!("/users/{member}")).await;
    assert!(
        user_page.contains("Sales data: off, data kept until December 5, 2026"),
        "{}",
        user_page.body
    );
    // Seats don't move: turning apps off keeps the licenses.
    let (contoso, _) = tenants(&db);
    assert_eq!(pool_counts(&db, contoso, "Sales Professional"), (15, 9, 6));
    // Saved again unchanged: nothing to say but that.
    admin.submit(&apps, &apps, &[]).await;
    assert!(admin.get(&page).await.contains("No changes to save."));
}

#[actix_web::test]
async fn who_may_see_and_change_a_groups_apps_and_bad_input() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let (_, apps) = sales_team(&db);

    // A License admin sees and saves; a Billing admin has no groups.
    let mut licenses = signed_in(&db, "licenses@contoso.example").await;
    assert!(licenses.get(&apps).await.contains("Save apps"));
    let mut billing = signed_in(&db, "billing@contoso.example").await;
    assert_eq!(billing.get(&apps).await.status, StatusCode::FORBIDDEN);
    let token = licenses.get(&apps).await.csrf();
    let refused = billing.post_raw(&apps, &[("csrf_token", &token)]).await;
    assert!(refused.status.is_client_error(), "{:?}", refused.status);

    // Another tenant's admin finds nothing there.
    let mut fabrikam = signed_in(&db, "admin@fabrikam.example").await;
    assert_eq!(fabrikam.get(&apps).await.status, StatusCode::NOT_FOUND);

    // A product the group doesn't carry, an app that isn't the product's, a form without
    // its CSRF token.
    let premium = product_id(&db, "Business Premium").0;
    let other = apps.replace(
        &format!("/licenses/{}/", product_id(&db, "Sales Professional").0),
        &format!("/licenses/{premium}/"),
    );
    assert_eq!(admin.get(&other).await.status, StatusCode::NOT_FOUND);
    let foreign = app_id(&db, "Business Premium", "Office apps").0.to_string();
    let bad = admin.submit(&apps, &apps, &[("apps", &foreign)]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("Choose among the apps of Sales Professional."));
    let forged = admin.post_raw(&apps, &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let (contoso, _) = tenants(&db);
    assert_eq!(audit_count(&db, contoso, "Changed group apps"), 0);
}
