//! Home as a dashboard (issue 15): cards that link where they count, each shown to the roles
//! that may see it, and the 90-day usage trend drawn on the server with its table.

mod common;

use actix_web::http::StatusCode;
use common::*;

#[actix_web::test]
async fn a_global_admin_sees_usage_renewals_cards_requests_and_the_trend() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let home = admin.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    let premium = product_id(&db, "Business Premium").0;
    let (total, assigned, available) = {
        let (contoso, _) = tenants(&db);
        pool_counts(&db, contoso, "Business Premium")
    };
    assert!(home.contains(&format!(
        "<a href=\"/licenses/{premium}\">Business Premium</a>"
    )));
    assert!(
        home.contains(&format!(
            "{assigned} of {total} assigned · {available} available"
        )),
        "{}",
        home.body
    );
    assert!(home.contains("#buy-licenses\">Buy licenses<span class=\"visually-hidden\"> of Business Premium</span></a>"));
    assert!(home.contains("<a href=\"/billing/products\">Upcoming renewals</a>"));
    assert!(home.contains("Cards that expire before they are charged"));
    assert!(home.contains("<a href=\"/support/requests\">Service requests</a>"));
    // The trend: a drawing with a name and a summary, and the same figures as a table.
    assert!(home.contains("<h2 id=\"home-trend\">License usage, last 90 days</h2>"));
    assert!(home.contains(&format!(
        "<title id=\"trend-{premium}-title\">Business Premium: license usage over the last 90 days</title>"
    )));
    assert!(home.contains(&format!(
        "{assigned} of {total} licenses assigned on {}",
        test_now().date_naive()
    )));
    assert!(home.contains("Business Premium: the days its counts changed"));
    assert!(home.contains("<polyline class=\"trend-assigned\" points=\""));
    // The Buy licenses link opens the subscription's form.
    let link = home
        .body
        .split("href=\"/billing/subscriptions/")
        .nth(1)
        .and_then(|rest| rest.split('#').next())
        .unwrap()
        .to_owned();
    let subscription = admin.get(&format!("/billing/subscriptions/{link}")).await;
    assert!(subscription.contains("<h2 id=\"buy-licenses\">Buy licenses</h2>"));
}

#[actix_web::test]
async fn a_license_admin_sees_licenses_and_requests_but_no_money() {
    let db = TestDb::with_demo();
    let mut lee = signed_in(&db, "licenses@contoso.example").await;
    let home = lee.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.contains("<a href=\"/licenses\">Licenses</a>"));
    assert!(home.contains("License usage, last 90 days"));
    assert!(home.contains("Service requests"));
    for hidden in [
        "Upcoming renewals",
        "Cards that expire",
        "Buy licenses",
        "need payment",
        "$",
    ] {
        assert!(!home.contains(hidden), "{hidden} shown to a License admin");
    }
}

#[actix_web::test]
async fn a_billing_admin_sees_the_money_parts() {
    let db = TestDb::with_demo();
    let mut bill = signed_in(&db, "billing@contoso.example").await;
    let home = bill.get("/").await;
    assert!(home.contains("Upcoming renewals"));
    assert!(home.contains("Buy licenses"));
    assert!(home.contains("Cards that expire before they are charged"));
}
