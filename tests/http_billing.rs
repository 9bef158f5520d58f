//! Billing pages through HTTP: roles, bad input, the conflict banner, export.

mod common;

use actix_web::http::StatusCode;
use common::*;

#[actix_web::test]
async fn license_and_user_admins_are_refused_billing_pages() {
    let db = TestDb::with_demo();
    for email in ["licenses@contoso.example", "users@contoso.example"] {
        let mut b = signed_in(&db, email).await;
        for path in [
            "/billing/products",
            "/billing/payment-methods",
            "/billing/bills",
            "/billing/export.csv",
            "/billing/buy",
        ] {
            assert_eq!(
                b.get(path).await.status,
                StatusCode::FORBIDDEN,
                "{email} {path}"
            );
        }
        assert!(
            !b.get("/")
                .await
                .contains("href=\"/billing/payment-methods\"")
        );
    }
}

#[actix_web::test]
async fn a_bad_card_stays_on_the_form_with_the_reason_and_nothing_is_kept() {
    let db = TestDb::with_demo();
    let mut b = signed_in(&db, "billing@contoso.example").await;
    let page = "/billing/payment-methods";
    let bad = b
        .submit(
            page,
            page,
            &[
                ("holder", "Bill Hughes"),
                ("number", "4242 4242 4242 4241"),
                ("exp_month", "12"),
                ("exp_year", "2030"),
                ("security_code", "123"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("Enter a valid card number.") && bad.contains("value=\"Bill Hughes\""));
    let good = b
        .submit(
            page,
            page,
            &[
                ("holder", "Bill Hughes"),
                ("number", "5555 5555 5555 4444"),
                ("exp_month", "12"),
                ("exp_year", "2030"),
                ("security_code", "123"),
            ],
        )
        .await;
    assert_eq!(good.location.as_deref(), Some(page));
    let shown = b.get(page).await;
    assert!(
        shown.contains("Mastercard •••• 4444")
            && !shown.contains("5555 5555 5555 4444")
            && !shown.contains("5555555555554444")
    );
}

#[actix_web::test]
async fn buying_licenses_shows_the_bill_and_the_licenses_page_agrees() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let mut b = signed_in(&db, "admin@contoso.example").await;
    let products = b.get("/billing/products").await;
    let row = products
        .body
        .split("<tr>")
        .find(|r| r.contains("Credit card") && r.contains("Business Premium"))
        .unwrap();
    let start = row.find("/billing/subscriptions/").unwrap();
    let id: String = row[start + 23..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let page = format!("/billing/subscriptions/{id}");
    let sub = b.get(&page).await;
    assert!(
        sub.contains("Buy licenses")
            && sub.contains("Remove licenses")
            && sub.contains("Cancel subscription")
    );
    // First the review: the prorated charge, the card, the renewal after it; nothing bought.
    let review = b
        .submit(&page, &format!("{page}/buy"), &[("quantity", "2")])
        .await;
    assert_eq!(review.status, StatusCode::OK);
    assert!(review.contains("<h1>Buy licenses</h1>"));
    assert!(
        review.contains("Add 2 licenses to this Business Premium subscription: 5 → 7 licenses.")
    );
    assert!(review.contains("<dt>Paid with</dt><dd>Visa •••• 4242</dd>"));
    // $22.00 a license a month: 7 licenses renew at $154.00.
    assert!(
        review.contains("<strong>$154.00</strong> for 7 licenses every month"),
        "{}",
        review.body
    );
    assert!(review.contains("(prorated)"));
    assert!(review.contains(">Place order</button>"));
    assert_eq!(pool_counts(&db, contoso, "Business Premium").0, 13);
    let bought = b
        .submit(
            &page,
            &format!("{page}/buy"),
            &[("quantity", "2"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(bought.location.as_deref(), Some(page.as_str()));
    assert!(
        b.get(&page)
            .await
            .contains("Bought 2 licenses. The charge is on bill B202611-")
    );
    let (licenses, _, _) = pool_counts(&db, contoso, "Business Premium");
    assert_eq!(licenses, 15);
    let bills = b.get("/billing/bills").await;
    assert!(bills.contains("Paid") && bills.contains("Visa •••• 4242"));
    let zero = b
        .submit(&page, &format!("{page}/buy"), &[("quantity", "0")])
        .await;
    assert_eq!(zero.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(zero.contains("Enter how many licenses to buy"));
    let words = b
        .submit(&page, &format!("{page}/buy"), &[("quantity", "lots")])
        .await;
    assert_eq!(words.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Subscriptions, charges and bills of all tenants: what buying would add to.
fn purchases(db: &TestDb) -> (i64, i64, i64) {
    use allot::domain::schema::{bills, charges, subscriptions};
    use diesel::prelude::*;
    let mut conn = db.conn();
    (
        subscriptions::table.count().get_result(&mut conn).unwrap(),
        charges::table.count().get_result(&mut conn).unwrap(),
        bills::table.count().get_result(&mut conn).unwrap(),
    )
}

#[actix_web::test]
async fn buying_with_an_unknown_billing_period_is_refused_and_buys_nothing() {
    let db = TestDb::with_demo();
    let mut b = signed_in(&db, "billing@contoso.example").await;
    let form = b.get("/billing/buy").await;
    let radio = "name=\"product\" value=\"";
    let start = form.body.find(radio).unwrap() + radio.len();
    let product: String = form.body[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let before = purchases(&db);
    let weekly = b
        .submit(
            "/billing/buy",
            "/billing/buy",
            &[
                ("product", &product),
                ("quantity", "1"),
                ("period", "weekly"),
            ],
        )
        .await;
    assert_eq!(weekly.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weekly.contains("Choose monthly or yearly billing."));
    assert_eq!(purchases(&db), before);

    let yearly = b
        .submit(
            "/billing/buy",
            "/billing/buy",
            &[
                ("product", &product),
                ("quantity", "1"),
                ("period", "yearly"),
            ],
        )
        .await;
    // The review says what a year costs; nothing is bought until it is confirmed.
    assert_eq!(yearly.status, StatusCode::OK);
    assert!(yearly.contains("billed every year"), "{}", yearly.body);
    assert_eq!(purchases(&db), before);
    let confirmed = b
        .submit(
            "/billing/buy",
            "/billing/buy",
            &[
                ("product", &product),
                ("quantity", "1"),
                ("period", "yearly"),
                ("confirm", "yes"),
            ],
        )
        .await;
    let page = confirmed
        .location
        .expect("a purchase goes to its subscription");
    assert!(b.get(&page).await.contains("(yearly)"));
    let after = purchases(&db);
    assert_eq!((after.0, after.2), (before.0 + 1, before.2 + 1));
}

#[actix_web::test]
async fn a_disabled_subscription_shows_the_conflict_banner_with_four_ways_out() {
    let db = TestDb::with_demo();
    let renewal = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 1, 1, 0, 0).unwrap();
    allot::jobs::tick(
        &mut db.conn(),
        &allot::domain::billing::TestGateway,
        renewal,
    )
    .unwrap();
    allot::jobs::tick(
        &mut db.conn(),
        &allot::domain::billing::TestGateway,
        renewal + chrono::Duration::days(8),
    )
    .unwrap();
    let mut b = signed_in(&db, "admin@contoso.example").await;
    for path in ["/", "/licenses", "/billing/products"] {
        let page = b.get(path).await;
        assert!(
            page.contains("License conflict: Business Premium."),
            "{path}"
        );
        assert!(page.contains("2 users are beyond the count"), "{path}");
        for way in [
            "Add licenses",
            "Remove licenses from users",
            "Delete users",
            "Update the payment method",
        ] {
            assert!(page.contains(way), "{path}: {way}");
        }
    }
}

#[actix_web::test]
async fn export_data_gives_every_user_and_their_licenses() {
    let db = TestDb::with_demo();
    let mut b = signed_in(&db, "billing@contoso.example").await;
    let csv = b
        .submit("/billing/products", "/billing/export", &[("format", "csv")])
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("users-and-licenses.csv")
    );
    assert!(
        csv.body
            .starts_with("display_name,sign_in_name,state,licenses\r\n")
    );
    assert!(csv.contains(
        "Alex Wilber,user01@contoso.example,active,Business Premium; Sales Professional\r\n"
    ));
    assert_eq!(csv.body.lines().count(), 45, "a header and 44 users");
    let json = b
        .submit(
            "/billing/products",
            "/billing/export",
            &[("format", "json")],
        )
        .await;
    let parsed: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 44);
    assert_eq!(
        b.get("/billing/export.xml").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.submit("/billing/products", "/billing/export", &[("format", "xml")])
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

/// Issue 12, finding 7: a GET changes nothing. The old export addresses show the Export data
/// button; only its POST (with the form's CSRF token) downloads and records the export.
#[actix_web::test]
async fn exporting_is_a_post_and_the_old_export_address_records_nothing() {
    use allot::domain::schema::tenants as tenant_table;
    use diesel::prelude::*;
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let exported_at = || {
        tenant_table::table
            .find(contoso.0)
            .select(tenant_table::data_exported_at)
            .first::<Option<chrono::NaiveDateTime>>(&mut db.conn())
            .unwrap()
    };
    let mut b = signed_in(&db, "billing@contoso.example").await;
    for path in ["/billing/export.csv", "/billing/export.json"] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.headers.get("content-disposition").is_none(), "{path}");
        assert!(page.contains("<form method=\"post\" action=\"/billing/export\""));
        assert!(page.contains(">Export data</button>"));
    }
    b.get("/billing/products").await;
    assert_eq!(audit_count(&db, contoso, "Exported data"), 0);
    assert_eq!(exported_at(), None);
    // Without the form's token, nothing either.
    let forged = b.post_raw("/billing/export", &[("format", "csv")]).await;
    assert!(forged.status.is_client_error(), "{}", forged.status);
    assert_eq!(audit_count(&db, contoso, "Exported data"), 0);
    let done = b
        .submit(
            "/billing/export.csv",
            "/billing/export",
            &[("format", "csv")],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(
        done.headers
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(audit_count(&db, contoso, "Exported data"), 1);
    assert!(exported_at().is_some());
    // Every page that offers the export offers the button, never a link that records on GET.
    let sub = allot::domain::subscriptions::list(
        &mut db.conn(),
        &actor(&db, "billing@contoso.example"),
        contoso,
    )
    .unwrap()[0]
        .id;
    for path in [
        "/billing/products".to_owned(),
        format!("/billing/subscriptions/{}/cancel", sub.0),
    ] {
        let page = b.get(&path).await;
        assert!(page.contains("action=\"/billing/export\""), "{path}");
        assert!(!page.contains("href=\"/billing/export."), "{path}");
    }
}

#[actix_web::test]
async fn another_tenants_bill_or_subscription_is_not_found() {
    let db = TestDb::with_demo();
    let (_, fabrikam) = tenants(&db);
    let fab_admin = actor(&db, "admin@fabrikam.example");
    let fab_sub =
        allot::domain::subscriptions::list(&mut db.conn(), &fab_admin, fabrikam).unwrap()[0].id;
    let mut b = signed_in(&db, "admin@contoso.example").await;
    assert_eq!(
        b.get(&format!("/billing/subscriptions/{}", fab_sub.0))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let refused = b
        .submit(
            "/billing/products",
            &format!("/billing/subscriptions/{}/cancel", fab_sub.0),
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(
        b.get("/billing/bills/424242").await.status,
        StatusCode::NOT_FOUND
    );
}

/// Issue 12, finding 8: "Make this the default" sent as `no` is no, an odd value is refused;
/// a card holder with a NUL or a line break is refused on the form and nothing is kept.
#[actix_web::test]
async fn make_default_no_is_no_and_a_holder_with_control_characters_is_refused() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let billing = actor(&db, "billing@contoso.example");
    let cards =
        || allot::domain::billing::payment_methods(&mut db.conn(), &billing, contoso).unwrap();
    let default_before = cards().into_iter().find(|m| m.is_default).unwrap().id;
    let count_before = cards().len();
    let mut b = signed_in(&db, "billing@contoso.example").await;
    let page = "/billing/payment-methods";
    let card = |holder: &'static str, make_default: &'static str| {
        vec![
            ("holder", holder),
            ("number", "5555 5555 5555 4444"),
            ("exp_month", "12"),
            ("exp_year", "2030"),
            ("security_code", "123"),
            ("make_default", make_default),
        ]
    };
    for (holder, make_default, message) in [
        ("Bill\0Hughes", "yes", "Remove the control characters"),
        ("Bill\r\nHughes", "yes", "Remove the control characters"),
        ("Bill\u{1b}Hughes", "no", "Remove the control characters"),
        (
            "Bill Hughes",
            "maybe",
            "Check the box, or leave it unchecked.",
        ),
    ] {
        let shown = b.submit(page, page, &card(holder, make_default)).await;
        assert_eq!(shown.status, StatusCode::UNPROCESSABLE_ENTITY, "{holder:?}");
        assert!(shown.contains(message), "{holder:?}: {}", shown.body);
    }
    assert_eq!(cards().len(), count_before, "nothing is kept");
    let added = b.submit(page, page, &card("Bill Hughes", "no")).await;
    assert_eq!(added.location.as_deref(), Some(page));
    let now = cards();
    assert_eq!(now.len(), count_before + 1);
    assert_eq!(
        now.iter().find(|m| m.is_default).unwrap().id,
        default_before,
        "make_default=no leaves the default as it was"
    );
}

#[actix_web::test]
async fn your_products_shows_the_price_per_license_and_what_the_next_renewal_charges() {
    use allot::domain::schema::subscriptions;
    use diesel::prelude::*;
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let mut b = signed_in(&db, "billing@contoso.example").await;
    let products = b.get("/billing/products").await;
    assert!(products.contains("<th scope=\"col\" class=\"num\">Price per license</th>"));
    // A sortable header now: a link to sort by it.
    assert!(products.contains("sort=renewal"));
    assert!(products.contains(">Next renewal</a></th>"));
    // The demo's card-paid Business Premium: monthly, recurring billing on.
    let (quantity, term_end): (i32, chrono::NaiveDateTime) = subscriptions::table
        .filter(subscriptions::tenant_id.eq(contoso.0))
        .filter(subscriptions::product_id.eq(product_id(&db, "Business Premium").0))
        .filter(subscriptions::purchase_channel.eq("credit_card"))
        .select((subscriptions::quantity, subscriptions::term_end))
        .first(&mut db.conn())
        .unwrap();
    let row = products
        .body
        .split("<tr>")
        .find(|r| r.contains("Credit card") && r.contains("Business Premium"))
        .unwrap();
    assert!(
        row.contains(
            "<td class=\"num\" data-label=\"Price per license\">$22.00<br><span class=\"muted nowrap\">a month</span></td>"
        ),
        "{row}"
    );
    let renewal = format!(
        "<td data-label=\"Next renewal\">{}<br><span class=\"muted\">on <time datetime=\"{}\">{}</time></span></td>",
        allot::domain::billing::format_money(2200 * i64::from(quantity)),
        term_end.format("%Y-%m-%d"),
        term_end.format("%Y-%m-%d")
    );
    assert!(row.contains(&renewal), "{renewal} in {row}");
    // Turned off, it doesn't renew, and the page says so.
    let id: String = row[row.find("/billing/subscriptions/").unwrap() + 23..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    diesel::update(subscriptions::table.find(id.parse::<i64>().unwrap()))
        .set(subscriptions::recurring_billing.eq(false))
        .execute(&mut db.conn())
        .unwrap();
    let after = b.get("/billing/products").await;
    let row = after
        .body
        .split("<tr>")
        .find(|r| r.contains(&format!("/billing/subscriptions/{id}\"")))
        .unwrap();
    assert!(row.contains("Doesn't renew"), "{row}");
}
