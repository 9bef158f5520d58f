//! The Licenses pages and Active users through HTTP, as a browser uses them.

mod common;

use actix_web::http::StatusCode;
use common::*;

#[actix_web::test]
async fn unassigning_from_the_product_page_asks_first_then_frees_the_licenses() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let premium = product_id(&db, "Business Premium").0;
    let ids = contoso_users(&db, 1, 2);
    let (a, b) = (ids[0].0.to_string(), ids[1].0.to_string());
    let mut browser = signed_in(&db, "admin@contoso.example").await;
    let page = format!("/licenses/{premium}");
    let product = browser.get(&page).await;
    assert!(product.contains("Unassign licenses") && product.contains("Alex Wilber"));

    let confirm = browser
        .submit(
            &page,
            &format!("{page}/unassign"),
            &[("users", &a), ("users", &b)],
        )
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.contains("Alex Wilber") && confirm.contains("Allan Deyoung"));
    assert!(
        confirm.contains("is kept for 30 days, until December 5, 2026"),
        "{}",
        confirm.body
    );
    assert_eq!(
        pool_counts(&db, contoso, "Business Premium"),
        (13, 10, 3),
        "nothing changes before Unassign"
    );

    let done = browser
        .submit(
            &page,
            &format!("{page}/unassign"),
            &[("users", &a), ("users", &b), ("confirm", "yes")],
        )
        .await;
    assert_eq!(done.location.as_deref(), Some(page.as_str()));
    let after = browser.get(&page).await;
    assert!(after.contains("Unassigned licenses from 2 users."));
    assert!(!after.contains("Alex Wilber"));
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 8, 5));
}

#[actix_web::test]
async fn assigning_more_than_available_is_refused_with_the_count_and_the_ways_out() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let premium = product_id(&db, "Business Premium").0;
    let ids: Vec<String> = contoso_users(&db, 11, 14)
        .iter()
        .map(|u| u.0.to_string())
        .collect();
    let mut browser = signed_in(&db, "licenses@contoso.example").await;
    let form = format!("/licenses/{premium}/assign");
    let fields: Vec<(&str, &str)> = ids.iter().map(|id| ("users", id.as_str())).collect();
    let refused = browser.submit(&form, &form, &fields).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.contains("You selected 4 users, but only 3 Business Premium licenses are available. Nothing was assigned."));
    assert!(
        refused.contains("buy more licenses, remove licenses from other users, or delete users")
    );
    let mut confirmed = fields.clone();
    confirmed.push(("confirm", "yes"));
    let still = browser.submit(&form, &form, &confirmed).await;
    assert_eq!(still.status, StatusCode::CONFLICT);
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
}

#[actix_web::test]
async fn assigning_within_available_shows_what_remains_then_assigns() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let premium = product_id(&db, "Business Premium").0;
    let ids: Vec<String> = contoso_users(&db, 11, 12)
        .iter()
        .map(|u| u.0.to_string())
        .collect();
    let mut browser = signed_in(&db, "users@contoso.example").await;
    let form = format!("/licenses/{premium}/assign");
    let candidates = browser.get(&form).await;
    assert!(
        candidates.contains("Gerhart Moller") && !candidates.contains("Alex Wilber"),
        "only users without the product"
    );
    let confirm = browser
        .submit(&form, &form, &[("users", &ids[0]), ("users", &ids[1])])
        .await;
    assert!(
        confirm.contains("3 licenses are available; 1 will remain after this."),
        "{}",
        confirm.body
    );
    let done = browser
        .submit(
            &form,
            &form,
            &[("users", &ids[0]), ("users", &ids[1]), ("confirm", "yes")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 12, 1));
    let licenses = browser.get("/licenses").await;
    let row = licenses
        .body
        .split("<tr>")
        .skip(1)
        .find(|r| r.contains("Business Premium"))
        .unwrap();
    assert!(row.contains(">12<") && row.contains(">1<"), "{row}");
}

#[actix_web::test]
async fn a_billing_admin_sees_licenses_but_cannot_assign_and_other_tenants_are_out_of_reach() {
    let db = TestDb::with_demo();
    let premium = product_id(&db, "Business Premium").0;
    let mut billing = signed_in(&db, "billing@contoso.example").await;
    let page = billing.get(&format!("/licenses/{premium}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.contains("Assign licenses") && !page.contains("Unassign licenses"));
    let user = contoso_users(&db, 11, 11)[0].0.to_string();
    let refused = billing
        .submit(
            "/licenses",
            &format!("/licenses/{premium}/assign"),
            &[("users", &user), ("confirm", "yes")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let fabrikam_user = user_id(&db, "user01@fabrikam.example").0.to_string();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let cross = admin
        .submit(
            "/licenses",
            &format!("/licenses/{premium}/unassign"),
            &[("users", &fabrikam_user), ("confirm", "yes")],
        )
        .await;
    assert_eq!(cross.status, StatusCode::NOT_FOUND);
    let (_, fabrikam) = tenants(&db);
    assert_eq!(pool_counts(&db, fabrikam, "Business Premium"), (5, 3, 2));
}

#[actix_web::test]
async fn an_empty_selection_or_a_bad_id_gets_a_clear_4xx() {
    let db = TestDb::with_demo();
    let premium = product_id(&db, "Business Premium").0;
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let page = format!("/licenses/{premium}");
    let empty = admin.submit(&page, &format!("{page}/unassign"), &[]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Said on the product's page, next to its table of users, not on an error page.
    assert!(empty.contains(
        "<div class=\"notice notice-error\" role=\"alert\">Select the users whose licenses you want to unassign.</div>"
    ), "{}", empty.body);
    assert!(
        empty.contains(
            "<caption class=\"visually-hidden\">Users assigned Business Premium</caption>"
        )
    );
    assert!(!empty.contains("Error 422"));
    // Assign licenses with nobody picked: the same list again, the message next to it.
    let picker = format!("{page}/assign");
    let none = admin.submit(&picker, &picker, &[]).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(none.contains(
        "<div class=\"notice notice-error\" role=\"alert\">Select the users you want to assign licenses to.</div>"
    ), "{}", none.body);
    assert!(none.contains("<h1>Assign licenses"), "{}", none.body);
    let bad = admin
        .submit(
            &page,
            &format!("{page}/unassign"),
            &[("users", "not-a-number")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        admin.get("/licenses/999999").await.status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn taking_over_a_self_service_purchase_makes_it_a_normal_pool() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let list = admin.get("/licenses").await;
    let link_start = list
        .body
        .find("/licenses/purchases/")
        .expect("a self-service row");
    let sub: String = list.body[link_start + 20..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let page = format!("/licenses/purchases/{sub}");
    let purchase = admin.get(&page).await;
    assert!(
        purchase.contains("can&#39;t assign or unassign licenses for a self-service purchase"),
        "{}",
        purchase.body
    );
    let mut license_admin = signed_in(&db, "licenses@contoso.example").await;
    let refused = license_admin
        .submit(&page, &format!("{page}/take-over"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let done = admin.submit(&page, &format!("{page}/take-over"), &[]).await;
    assert_eq!(done.location.as_deref(), Some("/licenses"));
    assert!(
        admin
            .get("/licenses")
            .await
            .contains("You took over the Project Plan 3 subscription.")
    );
    assert_eq!(pool_counts(&db, contoso, "Project Plan 3"), (2, 1, 1));
}

/// Issue 12, finding 14 (found by `http_fuzz`): a NUL in the search of a product's page or of
/// Assign licenses was a 500 on PostgreSQL; it is refused with a 422 that says why.
#[actix_web::test]
async fn a_search_with_a_control_character_is_refused_not_a_failure() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let product = product_id(&db, "Business Premium").0;
    for address in [
        format!("/licenses/{product}?q=%00"),
        format!("/licenses/{product}?after_key=%00&after_id=1"),
        format!("/licenses/{product}/assign?q=%00"),
    ] {
        let page = admin.get(&address).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{address}");
        assert!(page.contains("Remove the control characters"), "{address}");
    }
}
