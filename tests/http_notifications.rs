//! Settings > Notifications through HTTP: the page for each role, email choices kept, license
//! alerts set and refused beside their field, CSRF.

mod common;

use actix_web::http::StatusCode;
use common::*;

const HERE: &str = "/settings/notifications";

#[actix_web::test]
async fn every_admin_has_the_page_with_what_their_roles_allow() {
    let db = TestDb::with_demo();
    let premium = product_id(&db, "Business Premium").0;
    let alert_form = format!("action=\"/settings/notifications/alerts/{premium}\"");
    for (email, alerts, who_gets_what, money) in [
        ("admin@contoso.example", true, true, true),
        ("billing@contoso.example", true, false, true),
        ("licenses@contoso.example", true, false, false),
        ("users@contoso.example", false, false, false),
    ] {
        let mut b = signed_in(&db, email).await;
        let page = b.get(HERE).await;
        assert_eq!(page.status, StatusCode::OK, "{email}");
        assert!(page.contains("<h1>Notifications</h1>"), "{email}");
        assert!(
            page.contains("href=\"/settings/notifications\""),
            "{email}: in the navigation"
        );
        assert!(page.contains("value=\"low_licenses\""), "{email}");
        assert_eq!(page.contains("value=\"payment_failed\""), money, "{email}");
        assert_eq!(page.contains(&alert_form), alerts, "{email}");
        assert_eq!(page.contains("Who gets what"), who_gets_what, "{email}");
    }
    // Staff and end users have no admin center.
    let mut support = signed_in(&db, "support@allot.example").await;
    assert_eq!(support.get(HERE).await.status, StatusCode::FORBIDDEN);
    // A User admin may not set an alert, whatever they post.
    let mut uma = signed_in(&db, "users@contoso.example").await;
    let refused = uma
        .submit(
            HERE,
            &format!("/settings/notifications/alerts/{premium}"),
            &[("below", "5")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = uma
        .submit(
            HERE,
            &format!("/settings/notifications/alerts/{premium}"),
            &[("below", "-5")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "not a field error");
}

#[actix_web::test]
async fn email_choices_are_kept_and_a_kind_one_may_not_read_is_refused_on_the_page() {
    let db = TestDb::with_demo();
    let mut bill = signed_in(&db, "billing@contoso.example").await;
    let saved = bill
        .submit(
            HERE,
            HERE,
            &[("email", "renewal_soon"), ("email", "payment_failed")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = bill.get(HERE).await;
    assert!(page.contains("Saved. 2 kinds of messages will also be emailed to you."));
    assert!(page.contains("value=\"renewal_soon\" id=\"email-renewal_soon\" checked"));
    assert!(page.contains("value=\"low_licenses\" id=\"email-low_licenses\" aria-describedby"));
    // Nothing checked: nothing emailed.
    let none = bill.submit(HERE, HERE, &[]).await;
    assert_eq!(none.status, StatusCode::SEE_OTHER);
    let page = bill.get(HERE).await;
    assert!(page.contains("Saved. No messages will be emailed to you."));
    assert!(!page.contains(" checked"));

    let mut lee = signed_in(&db, "licenses@contoso.example").await;
    let refused = lee.submit(HERE, HERE, &[("email", "payment_failed")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.contains("let you read Payment failed messages."));
    let unknown = lee.submit(HERE, HERE, &[("email", "gossip")]).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.contains("Unknown kind of message"));
}

#[actix_web::test]
async fn a_license_alert_is_saved_and_bad_numbers_are_refused_beside_the_field() {
    let db = TestDb::with_demo();
    let premium = product_id(&db, "Business Premium").0;
    let action = format!("/settings/notifications/alerts/{premium}");
    let mut lee = signed_in(&db, "licenses@contoso.example").await;
    for bad in ["-3", "three", "0", "2.5"] {
        let refused = lee.submit(HERE, &action, &[("below", bad)]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(
            refused.contains(&format!(
                "id=\"below-{premium}\" name=\"below\" type=\"number\" min=\"1\" max=\"1000000\" step=\"1\" inputmode=\"numeric\" class=\"input-small\" value=\"{bad}\" aria-invalid=\"true\" aria-describedby=\"below-{premium}-error\""
            )),
            "{bad}: {}",
            refused.body
        );
        assert!(refused.contains(&format!("<span id=\"below-{premium}-error\" class=\"field-error\">Enter a whole number from 1 to 1000000")));
    }
    // 3 available of 13: an alert below 5 is said at once, in the Message center.
    let saved = lee.submit(HERE, &action, &[("below", "5")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = lee.get(HERE).await;
    assert!(page.contains("be told when fewer than 5 are available."));
    assert!(page.contains("value=\"5\""));
    let product = lee.get(&format!("/licenses/{premium}")).await;
    assert!(product.contains("Alert when available licenses fall below 5."));
    assert!(product.contains(&format!(
        "href=\"/settings/notifications#alert-{premium}\">Change the alert</a>"
    )));
    let mut uma = signed_in(&db, "users@contoso.example").await;
    assert!(
        !uma.get(&format!("/licenses/{premium}"))
            .await
            .contains("license alert")
    );
    let center = lee.get("/messages").await;
    assert!(
        center.contains("Licenses running low: Business Premium"),
        "{}",
        center.body
    );
    // Emptied: off.
    let off = lee.submit(HERE, &action, &[("below", "")]).await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    assert!(
        lee.get(HERE)
            .await
            .contains("There is no alert for this product.")
    );
    // An unknown product is not found.
    let missing = lee
        .submit(
            HERE,
            "/settings/notifications/alerts/999999",
            &[("below", "4")],
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn changes_without_the_forms_csrf_token_are_refused() {
    let db = TestDb::with_demo();
    let premium = product_id(&db, "Business Premium").0;
    let mut adele = signed_in(&db, "admin@contoso.example").await;
    let refused = adele.post_raw(HERE, &[("email", "renewal_soon")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = adele
        .post_raw(
            &format!("/settings/notifications/alerts/{premium}"),
            &[("csrf_token", "forged"), ("below", "5")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let page = adele.get(HERE).await;
    assert!(!page.contains("value=\"5\""));
    assert!(page.contains("value=\"renewal_soon\" id=\"email-renewal_soon\" aria-describedby"));
}
