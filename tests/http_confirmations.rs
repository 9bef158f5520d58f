//! Destructive actions are consistent (issue 15): every path that takes licenses from users
//! shows one confirmation naming them, what they lose and until when their data is kept, with a
//! danger-styled button, and changes nothing until it is confirmed.

mod common;

use actix_web::http::StatusCode;
use allot::domain::schema::subscriptions;
use allot::domain::service_requests::{self, Kind, NewRequest};
use allot::domain::{SubscriptionId, licenses};
use common::*;
use diesel::prelude::*;

fn holds(db: &TestDb, email: &str, product: &str) -> bool {
    let (contoso, _) = tenants(db);
    let user = user_id(db, email);
    let detail = allot::domain::users::get(
        &mut db.conn(),
        &actor(db, "admin@contoso.example"),
        contoso,
        user,
    )
    .unwrap();
    detail.licenses.iter().any(|l| l.product_name == product)
}

#[actix_web::test]
async fn clearing_a_license_on_a_users_page_asks_first_and_names_the_data_hold() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let user = user_id(&db, "user03@contoso.example").0;
    let page = format!("/users/{user}");
    assert!(holds(&db, "user03@contoso.example", "Sales Professional"));
    let premium = product_id(&db, "Business Premium").0.to_string();
    // Bianca Pisani keeps Business Premium and loses Sales Professional.
    let asked = admin
        .submit(
            &page,
            &format!("{page}/licenses"),
            &[("products", premium.as_str())],
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.contains("<h1>Unassign licenses</h1>"));
    assert!(asked.contains("Bianca Pisani <span class=\"muted\">user03@contoso.example</span>: Sales Professional</li>"), "{}", asked.body);
    let until = (test_now() + licenses::DATA_HOLD)
        .format("%B %-d, %Y")
        .to_string();
    assert!(
        asked.contains(&until) || asked.contains("lose access to Sales Professional at once"),
        "{}",
        asked.body
    );
    assert!(asked.contains("class=\"button button-danger\">Save changes</button>"));
    assert!(
        holds(&db, "user03@contoso.example", "Sales Professional"),
        "nothing changed yet"
    );

    let saved = admin
        .submit(
            &page,
            &format!("{page}/licenses"),
            &[("products", premium.as_str()), ("confirm", "yes")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert!(!holds(&db, "user03@contoso.example", "Sales Professional"));
    assert!(holds(&db, "user03@contoso.example", "Business Premium"));
}

#[actix_web::test]
async fn adding_a_license_on_a_users_page_needs_no_confirmation() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let user = user_id(&db, "user38@contoso.example").0;
    let page = format!("/users/{user}");
    let sales = product_id(&db, "Sales Professional").0.to_string();
    let saved = admin
        .submit(
            &page,
            &format!("{page}/licenses"),
            &[("products", sales.as_str())],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(holds(&db, "user38@contoso.example", "Sales Professional"));
}

#[actix_web::test]
async fn unassign_all_in_manage_product_licenses_asks_first_naming_each_user() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let a = user_id(&db, "user05@contoso.example").0.to_string();
    let b = user_id(&db, "user06@contoso.example").0.to_string();
    let form_page = format!("/users/manage?users={a}&users={b}");
    let fields = [
        ("users", a.as_str()),
        ("users", b.as_str()),
        ("mode", "unassign"),
    ];
    let asked = admin.submit(&form_page, "/users/manage", &fields).await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(
        asked.contains("removes licenses from 2 users"),
        "{}",
        asked.body
    );
    assert!(asked.contains("Cameron White") && asked.contains("Christie Cline"));
    assert!(holds(&db, "user05@contoso.example", "Business Premium"));

    let mut confirmed = fields.to_vec();
    confirmed.push(("confirm", "yes"));
    let done = admin.submit(&form_page, "/users/manage", &confirmed).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.contains("What happened to each user"));
    assert!(!holds(&db, "user05@contoso.example", "Business Premium"));
    assert!(!holds(&db, "user06@contoso.example", "Business Premium"));
}

#[actix_web::test]
async fn the_product_pages_unassign_confirmation_has_a_danger_button() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let premium = product_id(&db, "Business Premium").0;
    let user = user_id(&db, "user05@contoso.example").0.to_string();
    let page = format!("/licenses/{premium}");
    let asked = admin
        .submit(
            &page,
            &format!("{page}/unassign"),
            &[("users", user.as_str())],
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(
        asked.contains("class=\"button button-danger\">Unassign</button>"),
        "{}",
        asked.body
    );
}

#[actix_web::test]
async fn the_support_consoles_cancellation_names_the_users_it_leaves_beyond_the_count() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    // Contoso's 5-license card subscription of Business Premium: 13 licenses for 10 users, so
    // ending it leaves the 2 assigned last beyond the count.
    let sub: i64 = subscriptions::table
        .filter(subscriptions::quantity.eq(5))
        .filter(subscriptions::purchase_channel.eq("credit_card"))
        .order(subscriptions::id)
        .select(subscriptions::id)
        .first(&mut db.conn())
        .unwrap();
    let id = service_requests::file(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        test_now(),
        contoso,
        &NewRequest {
            kind: Kind::CancelSubscription.as_str().into(),
            subscription: Some(SubscriptionId(sub)),
            description: "We are moving to another product, please cancel this one.".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let mut support = signed_in(&db, "support@allot.example").await;
    let page = support.get(&format!("/support/requests/{}", id.0)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.contains("Ending it now leaves 2 users beyond the count of Business Premium"),
        "{}",
        page.body
    );
    assert!(page.contains("Emily Braun (user09@contoso.example)"));
    assert!(page.contains("Enrico Cattaneo (user10@contoso.example)"));
}
