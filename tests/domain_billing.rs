//! Billing: payment methods, buying and removing licenses, cancelling, and the subscription
//! lifecycle played out with a set clock, on both databases.

mod common;

use allot::domain::billing::{self, NewCard, TestGateway};
use allot::domain::schema::{bills, outbox, subscriptions};
use allot::domain::subscriptions::{self as subs, Cancelled, SubscriptionState};
use allot::domain::{Actor, DomainError, SubscriptionId, TenantId};
use allot::jobs;
use chrono::{Duration, TimeZone, Utc};
use common::*;
use diesel::prelude::*;

/// Contoso's 5-license Business Premium subscription, paid by the card that expires soon.
fn card_sub(db: &TestDb) -> SubscriptionId {
    SubscriptionId(
        subscriptions::table
            .filter(subscriptions::quantity.eq(5))
            .filter(subscriptions::purchase_channel.eq("credit_card"))
            .order(subscriptions::id)
            .select(subscriptions::id)
            .first(&mut db.conn())
            .unwrap(),
    )
}

fn state_of(db: &TestDb, sub: SubscriptionId) -> String {
    subscriptions::table
        .find(sub.0)
        .select(subscriptions::state)
        .first(&mut db.conn())
        .unwrap()
}

fn bill_totals(db: &TestDb, tenant: TenantId) -> Vec<(String, String, i64)> {
    bills::table
        .filter(bills::tenant_id.eq(tenant.0))
        .order(bills::id)
        .select((bills::kind, bills::state, bills::total_cents))
        .load(&mut db.conn())
        .unwrap()
}

fn tick(db: &TestDb, at: chrono::DateTime<Utc>) -> jobs::TickReport {
    jobs::tick(&mut db.conn(), &TestGateway, at).unwrap()
}

#[test]
fn prorating_rounds_half_up_in_whole_cents() {
    assert_eq!(billing::prorate(2200, 1, 3), 733);
    assert_eq!(billing::prorate(2200, 2, 3), 1467);
    assert_eq!(billing::prorate(100, 1, 8), 13);
    assert_eq!(billing::prorate(-2200, 1, 2), -1100);
    assert_eq!(billing::prorate(2200, 30, 30), 2200);
    assert_eq!(billing::format_money(123456), "$1,234.56");
    assert_eq!(billing::format_money(-5), "-$0.05");
}

#[test]
fn the_seeds_story_card_expires_renewal_fails_disabled_conflict_then_a_card_update_brings_it_back()
{
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let sub = card_sub(&db);
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));

    // The renewal on December 1st: the card expired at the end of November.
    let renewal = Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
    let first = tick(&db, renewal);
    assert_eq!(first.lifecycle.payment_failed, 1);
    assert_eq!(state_of(&db, sub), "past_due");
    assert_eq!(
        pool_counts(&db, contoso, "Business Premium"),
        (13, 10, 3),
        "past due still counts"
    );
    let again = tick(&db, renewal);
    assert_eq!(
        again.lifecycle,
        Default::default(),
        "a second tick changes nothing"
    );

    // Grace ends: disabled, its licenses leave the pool, two users are beyond the count.
    let after_grace = renewal + subs::GRACE + Duration::minutes(1);
    assert_eq!(tick(&db, after_grace).lifecycle.disabled, 1);
    assert_eq!(state_of(&db, sub), "disabled");
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (8, 10, 0));
    let user10 = Actor::EndUser {
        user: user_id(&db, "user10@contoso.example"),
        tenant: contoso,
        email: "user10@contoso.example".into(),
    };
    assert!(
        !allot::domain::portal::view(&mut db.conn(), &user10)
            .unwrap()
            .has_access()
    );
    assert_eq!(tick(&db, after_grace).lifecycle, Default::default());

    // The failed renewal and the disabling were mailed to the Billing and Global admins.
    let subjects: Vec<(String, String)> = outbox::table
        .select((outbox::to_email, outbox::subject))
        .load(&mut db.conn())
        .unwrap();
    for to in ["admin@contoso.example", "billing@contoso.example"] {
        assert!(
            subjects.contains(&(
                to.into(),
                "Contoso: Payment failed for Business Premium".into()
            )),
            "{subjects:?}"
        );
        assert!(subjects.contains(&(
            to.into(),
            "Contoso: Your Business Premium subscription is disabled".into()
        )));
    }
    // The License admin gets no money mail, only the conflict (Settings > Notifications'
    // default for license conflicts).
    let lees: Vec<&str> = subjects
        .iter()
        .filter(|(to, _)| to == "licenses@contoso.example")
        .map(|(_, subject)| subject.as_str())
        .collect();
    assert_eq!(lees, ["Contoso: License conflict: Business Premium"]);

    // The admin updates the card's expiry: the charge is retried at once.
    let admin = actor(&db, "billing@contoso.example");
    let card = billing::payment_methods(&mut db.conn(), &admin, contoso).unwrap()[0].id;
    let fixed_at = after_grace + Duration::hours(1);
    billing::update_expiry(
        &mut db.conn(),
        &admin,
        fixed_at,
        contoso,
        card,
        "12",
        "2029",
    )
    .unwrap();
    let back =
        subs::retry_after_card_update(&mut db.conn(), &TestGateway, &admin, fixed_at, contoso)
            .unwrap();
    assert_eq!(back, 1);
    assert_eq!(state_of(&db, sub), "active");
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
    assert!(
        allot::domain::portal::view(&mut db.conn(), &user10)
            .unwrap()
            .has_access()
    );
    // Card renewal bills (the invoice ones are due, not charged): the failed one and the paid
    // one, each 5 × $22.00.
    let renewals: Vec<(String, i64)> = bill_totals(&db, contoso)
        .into_iter()
        .filter(|(kind, state, _)| kind == "renewal" && state != "due")
        .map(|(_, state, total)| (state, total))
        .collect();
    assert_eq!(
        renewals,
        vec![("failed".into(), 11000), ("paid".into(), 11000)]
    );
}

#[test]
fn a_disabled_subscription_is_deleted_after_90_days_and_recurring_off_ends_with_the_term() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let sub = card_sub(&db);
    let renewal = Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
    tick(&db, renewal);
    tick(&db, renewal + subs::GRACE);
    assert_eq!(state_of(&db, sub), "disabled");
    assert_eq!(
        tick(&db, renewal + subs::GRACE + Duration::days(89))
            .lifecycle
            .deleted,
        0
    );
    assert_eq!(
        tick(&db, renewal + subs::GRACE + Duration::days(90))
            .lifecycle
            .deleted,
        1
    );
    assert_eq!(state_of(&db, sub), "deleted");
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (8, 10, 0));
}

#[test]
fn with_recurring_billing_off_a_subscription_ends_with_its_term_unbilled() {
    let db = TestDb::with_demo();
    let (_, fabrikam) = tenants(&db);
    let admin = actor(&db, "admin@fabrikam.example");
    let fab_sub = subs::list(&mut db.conn(), &admin, fabrikam).unwrap()[0].id;
    subs::set_recurring_billing(&mut db.conn(), &admin, test_now(), fabrikam, fab_sub, false)
        .unwrap();
    let before = bill_totals(&db, fabrikam).len();
    let report = tick(&db, Utc.with_ymd_and_hms(2026, 12, 27, 0, 0, 0).unwrap());
    assert_eq!(report.lifecycle.ended, 1);
    assert_eq!(state_of(&db, fab_sub), "cancelled");
    assert_eq!(bill_totals(&db, fabrikam).len(), before);
    assert_eq!(pool_counts(&db, fabrikam, "Business Premium"), (0, 3, 0));
}

#[test]
fn a_card_that_pays_renews_the_term_and_bills_it() {
    let db = TestDb::with_demo();
    let (_, fabrikam) = tenants(&db);
    let admin = actor(&db, "admin@fabrikam.example");
    let sub = subs::list(&mut db.conn(), &admin, fabrikam).unwrap()[0].clone();
    let report = tick(&db, sub.term_end + Duration::minutes(5));
    assert!(report.lifecycle.renewed >= 1, "{report:?}");
    let renewed = subs::get(&mut db.conn(), &admin, fabrikam, sub.id).unwrap();
    assert_eq!(renewed.term_start, sub.term_end);
    assert_eq!(renewed.state, SubscriptionState::Active);
    assert_eq!(
        bill_totals(&db, fabrikam),
        vec![("renewal".into(), "paid".into(), 5 * 2200)]
    );
}

#[test]
fn buying_licenses_charges_the_rest_of_the_term_and_grows_the_pool() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let sub = card_sub(&db);
    let admin = actor(&db, "billing@contoso.example");
    // Term November 1 – December 1 (30 days); on November 5 at 09:00, 25.625 days are left.
    let bill = subs::buy_licenses(
        &mut db.conn(),
        &admin,
        &TestGateway,
        test_now(),
        contoso,
        sub,
        3,
    )
    .unwrap();
    assert!(bill.starts_with("B202611-"));
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (16, 10, 6));
    let expected = billing::prorate(3 * 2200, 25 * 86400 + 15 * 3600, 30 * 86400);
    assert_eq!(expected, 5638);
    assert_eq!(
        bill_totals(&db, contoso),
        vec![("change".into(), "paid".into(), expected)]
    );
    let detail = billing::bills(&mut db.conn(), &admin, contoso).unwrap();
    let lines = billing::bill(&mut db.conn(), &admin, contoso, detail[0].id)
        .unwrap()
        .lines;
    assert_eq!(
        lines.iter().map(|l| l.amount_cents).sum::<i64>(),
        expected,
        "lines add up to the total"
    );
}

#[test]
fn a_declined_card_changes_nothing() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "billing@contoso.example");
    let card = NewCard {
        holder: "Bill Hughes".into(),
        number: "4000 0000 0000 0002".into(),
        exp_month: "12".into(),
        exp_year: "2030".into(),
        security_code: "123".into(),
    };
    billing::add_card(
        &mut db.conn(),
        &admin,
        &TestGateway,
        test_now(),
        contoso,
        &card,
        true,
    )
    .unwrap();
    let refused = subs::buy_licenses(
        &mut db.conn(),
        &admin,
        &TestGateway,
        test_now(),
        contoso,
        card_sub(&db),
        2,
    );
    // The subscription follows the default card: declined.
    assert!(
        matches!(&refused, Err(DomainError::Conflict(m)) if m.contains("the card was declined")),
        "{refused:?}"
    );
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
    assert!(bill_totals(&db, contoso).is_empty());
}

#[test]
fn cards_are_checked_and_only_brand_last_four_and_expiry_are_kept() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let good = NewCard {
        holder: "Adele Vance".into(),
        number: "5555555555554444".into(),
        exp_month: "1".into(),
        exp_year: "28".into(),
        security_code: "123".into(),
    };
    for (change, field) in [
        (
            NewCard {
                number: "4242424242424241".into(),
                ..good.clone()
            },
            "number",
        ),
        (
            NewCard {
                exp_month: "13".into(),
                ..good.clone()
            },
            "exp_month",
        ),
        (
            NewCard {
                exp_month: "10".into(),
                exp_year: "2026".into(),
                ..good.clone()
            },
            "exp_month",
        ),
        (
            NewCard {
                security_code: "12a".into(),
                ..good.clone()
            },
            "security_code",
        ),
        (
            NewCard {
                holder: " ".into(),
                ..good.clone()
            },
            "holder",
        ),
    ] {
        let refused = billing::add_card(
            &mut db.conn(),
            &admin,
            &TestGateway,
            test_now(),
            contoso,
            &change,
            false,
        );
        assert!(
            matches!(refused, Err(DomainError::Invalid { field: f, .. }) if f == field),
            "{field}: {refused:?}"
        );
    }
    billing::add_card(
        &mut db.conn(),
        &admin,
        &TestGateway,
        test_now(),
        contoso,
        &good,
        false,
    )
    .unwrap();
    let methods = billing::payment_methods(&mut db.conn(), &admin, contoso).unwrap();
    let added = methods.iter().find(|m| m.last4 == "4444").unwrap();
    assert_eq!(
        (added.brand.as_str(), added.expiry(), added.is_default),
        ("Mastercard", "01/2028".to_owned(), false)
    );
    assert_eq!(added.gateway_token, "test:approve");
    // The card that pays for a subscription can't be removed; the other can.
    let paying = methods.iter().find(|m| m.is_default).unwrap().id;
    assert!(matches!(
        billing::remove_card(&mut db.conn(), &admin, test_now(), contoso, paying),
        Err(DomainError::Conflict(_))
    ));
    billing::remove_card(&mut db.conn(), &admin, test_now(), contoso, added.id).unwrap();
    assert_eq!(
        billing::payment_methods(&mut db.conn(), &admin, contoso)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn removing_licenses_below_the_assigned_count_needs_a_confirmation_that_names_the_users() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let sub = card_sub(&db);
    let preview = subs::preview_removal(&mut db.conn(), &admin, contoso, sub, 5).unwrap();
    let names: Vec<&str> = preview.beyond.iter().map(|(_, e)| e.as_str()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"user09@contoso.example") && names.contains(&"user10@contoso.example"));
    let refused = subs::remove_licenses(&mut db.conn(), &admin, test_now(), contoso, sub, 5, false);
    assert!(matches!(refused, Err(DomainError::Conflict(_))));
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
    // Three fit without a conflict; then the rest only with the confirmation.
    subs::remove_licenses(&mut db.conn(), &admin, test_now(), contoso, sub, 3, false).unwrap();
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (10, 10, 0));
    subs::remove_licenses(&mut db.conn(), &admin, test_now(), contoso, sub, 2, true).unwrap();
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (8, 10, 0));
    // Credits for the removed licenses, prorated.
    let credits: i64 = bill_totals(&db, contoso).iter().map(|(_, _, t)| t).sum();
    assert_eq!(
        credits,
        -billing::prorate(3 * 2200, 2214000, 2592000)
            - billing::prorate(2 * 2200, 2214000, 2592000)
    );
}

#[test]
fn cancelling_within_the_window_ends_now_with_a_refund_and_after_it_turns_off_recurring_billing() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "billing@contoso.example");
    // Within the 7 days after November 1: ends now, refund for the rest of the term.
    let sub = card_sub(&db);
    let done = subs::cancel(&mut db.conn(), &admin, test_now(), contoso, sub).unwrap();
    let refund = billing::prorate(5 * 2200, 2214000, 2592000);
    let Cancelled::Now { refund_cents, bill } = done else {
        panic!("cancelled within the window, yet not now: {done:?}")
    };
    assert_eq!(refund_cents, refund);
    assert!(bill.is_some_and(|number| !number.is_empty()));
    assert_eq!(state_of(&db, sub), "cancelled");
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (8, 10, 0));
    assert_eq!(
        bill_totals(&db, contoso),
        vec![("refund".into(), "credited".into(), -refund)]
    );

    // The 8-license subscription started October 26: its window has passed.
    let yearly = SubscriptionId(
        subscriptions::table
            .filter(subscriptions::quantity.eq(8))
            .select(subscriptions::id)
            .first(&mut db.conn())
            .unwrap(),
    );
    let later = subs::cancel(&mut db.conn(), &admin, test_now(), contoso, yearly).unwrap();
    assert!(matches!(later, Cancelled::AtTermEnd { .. }));
    let row = subs::get(&mut db.conn(), &admin, contoso, yearly).unwrap();
    assert_eq!(
        (row.state, row.recurring_billing),
        (SubscriptionState::Active, false)
    );
}

#[test]
fn license_and_user_admins_cannot_buy_remove_cancel_or_see_cards_and_other_tenants_are_refused() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let sub = card_sub(&db);
    for email in [
        "licenses@contoso.example",
        "users@contoso.example",
        "support@allot.example",
        "partner@allot.example",
        "admin@fabrikam.example",
    ] {
        let a = actor(&db, email);
        let mut conn = db.conn();
        assert_eq!(
            subs::buy_licenses(&mut conn, &a, &TestGateway, test_now(), contoso, sub, 1).err(),
            Some(DomainError::Forbidden),
            "{email} buy"
        );
        assert_eq!(
            subs::remove_licenses(&mut conn, &a, test_now(), contoso, sub, 1, true).err(),
            Some(DomainError::Forbidden),
            "{email} remove"
        );
        assert_eq!(
            subs::cancel(&mut conn, &a, test_now(), contoso, sub).err(),
            Some(DomainError::Forbidden),
            "{email} cancel"
        );
        assert_eq!(
            billing::payment_methods(&mut conn, &a, contoso).err(),
            Some(DomainError::Forbidden),
            "{email} cards"
        );
        assert_eq!(
            billing::bills(&mut conn, &a, contoso).err(),
            Some(DomainError::Forbidden),
            "{email} bills"
        );
        assert_eq!(
            subs::set_recurring_billing(&mut conn, &a, test_now(), contoso, sub, false).err(),
            Some(DomainError::Forbidden),
            "{email} recurring"
        );
    }
    // A Contoso admin naming Fabrikam's subscription under Contoso finds nothing.
    let admin = actor(&db, "admin@contoso.example");
    let fab_sub = subs::list(
        &mut db.conn(),
        &actor(&db, "admin@fabrikam.example"),
        fabrikam,
    )
    .unwrap()[0]
        .id;
    assert_eq!(
        subs::buy_licenses(
            &mut db.conn(),
            &admin,
            &TestGateway,
            test_now(),
            contoso,
            fab_sub,
            1
        )
        .err(),
        Some(DomainError::NotFound)
    );
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
}

/// Issue 12, finding 8: a card holder with a NUL, CR or LF or another control character is
/// refused and no card is kept.
#[test]
fn a_card_holder_with_control_characters_is_refused() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let before = billing::payment_methods(&mut db.conn(), &admin, contoso)
        .unwrap()
        .len();
    for holder in [
        "Adele\0Vance",
        "Adele\r\nVance",
        "Adele\u{85}Vance",
        "Adele\u{202e}",
    ] {
        let refused = billing::add_card(
            &mut db.conn(),
            &admin,
            &TestGateway,
            test_now(),
            contoso,
            &NewCard {
                holder: holder.into(),
                number: "5555555555554444".into(),
                exp_month: "1".into(),
                exp_year: "28".into(),
                security_code: "123".into(),
            },
            false,
        );
        assert!(
            matches!(refused, Err(DomainError::Invalid { field: "holder", ref message }) if message.contains("control characters")),
            "{holder:?}: {refused:?}"
        );
    }
    assert_eq!(
        billing::payment_methods(&mut db.conn(), &admin, contoso)
            .unwrap()
            .len(),
        before
    );
}

#[test]
fn the_review_shows_what_buying_and_removing_then_charge_and_credit() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let sub = card_sub(&db);
    let admin = actor(&db, "billing@contoso.example");
    let now = test_now();
    let review = subs::review_purchase(&mut db.conn(), &admin, now, contoso, sub, 3).unwrap();
    // Reviewing changes nothing.
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
    assert!(bill_totals(&db, contoso).is_empty());
    assert_eq!((review.quantity_before, review.quantity_after), (5, 8));
    assert_eq!(review.paid_with, "Visa •••• 4242");
    assert_eq!(review.renewal_cents, Some(8 * 2200));
    subs::buy_licenses(&mut db.conn(), &admin, &TestGateway, now, contoso, sub, 3).unwrap();
    assert_eq!(
        bill_totals(&db, contoso),
        vec![("change".into(), "paid".into(), review.now_cents)],
        "the charge is the amount reviewed"
    );

    let later = now + Duration::days(10);
    let review = subs::review_removal(&mut db.conn(), &admin, later, contoso, sub, 2).unwrap();
    assert_eq!((review.quantity_before, review.quantity_after), (8, 6));
    assert_eq!(review.renewal_cents, Some(6 * 2200));
    assert!(review.beyond.is_empty());
    subs::remove_licenses(&mut db.conn(), &admin, later, contoso, sub, 2, false).unwrap();
    assert_eq!(
        bill_totals(&db, contoso).last(),
        Some(&("refund".into(), "credited".into(), -review.now_cents)),
        "the credit is the amount reviewed"
    );

    // Below the assigned count, the review names the users who would be beyond it.
    let review = subs::review_removal(&mut db.conn(), &admin, later, contoso, sub, 6).unwrap();
    assert_eq!(review.beyond.len(), 2);

    // Other roles can't review what they can't buy.
    let lee = actor(&db, "licenses@contoso.example");
    assert!(matches!(
        subs::review_purchase(&mut db.conn(), &lee, now, contoso, sub, 1),
        Err(DomainError::Forbidden)
    ));
}

#[test]
fn the_review_of_a_new_subscription_is_what_subscribing_charges() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "billing@contoso.example");
    let product = product_id(&db, "Sales Professional");
    let period = subs::BillingPeriod::Yearly;
    let review = subs::review_subscription(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        product,
        2,
        period,
    )
    .unwrap();
    assert_eq!(review.now_cents, 2 * 12 * 6500);
    assert_eq!(review.renewal_cents, Some(review.now_cents));
    assert!(bill_totals(&db, contoso).is_empty());
    subs::subscribe(
        &mut db.conn(),
        &admin,
        &TestGateway,
        test_now(),
        contoso,
        product,
        2,
        period,
    )
    .unwrap();
    assert_eq!(
        bill_totals(&db, contoso),
        vec![("purchase".into(), "paid".into(), review.now_cents)]
    );
}
