//! The Message center: what the jobs and the changes post (once each), who may read which
//! kind, and unread counts per admin.

mod common;

use allot::domain::billing::TestGateway;
use allot::domain::messages::{self, Kind, Message};
use allot::domain::service_requests::{self as requests, NewRequest};
use allot::domain::subscriptions as subs;
use allot::jobs;
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::*;

fn tick(db: &TestDb, at: DateTime<Utc>) -> jobs::TickReport {
    jobs::tick(&mut db.conn(), &TestGateway, at).unwrap()
}

fn messages_of(db: &TestDb, email: &str) -> Vec<Message> {
    let (contoso, _) = tenants(db);
    messages::list(&mut db.conn(), &actor(db, email), contoso).unwrap()
}

fn of_kind(list: &[Message], kind: Kind) -> Vec<&Message> {
    list.iter().filter(|m| m.kind == kind).collect()
}

#[test]
fn renewals_cards_failed_payments_and_conflicts_are_posted_once_each() {
    let db = TestDb::with_demo();
    // The demo's card subscription of Business Premium renews on December 1st; its card runs
    // out at the end of November.
    let renewal = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    tick(&db, test_now());
    let first = messages_of(&db, "billing@contoso.example");
    let cards = of_kind(&first, Kind::CardExpiring);
    assert_eq!(cards.len(), 1, "{first:?}");
    assert!(
        cards[0]
            .subject
            .contains("expires before it pays Business Premium")
    );
    assert!(
        of_kind(&first, Kind::RenewalSoon).is_empty(),
        "26 days away"
    );

    // 11 days before: the 14-day notice, with what it will charge; once however often it runs.
    tick(&db, renewal - Duration::days(11));
    tick(&db, renewal - Duration::days(11) + Duration::hours(2));
    let soon = messages_of(&db, "billing@contoso.example");
    let renewals = of_kind(&soon, Kind::RenewalSoon);
    let premium: Vec<_> = renewals
        .iter()
        .filter(|m| m.subject == "Business Premium renews on December 1, 2026")
        .collect();
    assert_eq!(premium.len(), 1, "{renewals:?}");
    assert!(
        premium[0].body.contains("for $110.00"),
        "{}",
        premium[0].body
    );

    // 2 days before: the 3-day notice.
    tick(&db, renewal - Duration::days(2));
    let renewals = messages_of(&db, "billing@contoso.example");
    let premium = of_kind(&renewals, Kind::RenewalSoon)
        .into_iter()
        .filter(|m| m.subject == "Business Premium renews on December 1, 2026")
        .count();
    assert_eq!(premium, 2);

    // The renewal fails on the expired card; after the grace it is disabled, a conflict.
    tick(&db, renewal + Duration::hours(1));
    let failed = messages_of(&db, "billing@contoso.example");
    assert_eq!(of_kind(&failed, Kind::PaymentFailed).len(), 1);
    tick(&db, renewal + subs::GRACE + Duration::hours(2));
    tick(&db, renewal + subs::GRACE + Duration::hours(3));
    let lee = messages_of(&db, "licenses@contoso.example");
    let conflicts = of_kind(&lee, Kind::LicenseConflict);
    assert_eq!(conflicts.len(), 1, "once a day: {conflicts:?}");
    assert_eq!(conflicts[0].subject, "License conflict: Business Premium");
    // A License admin reads no money.
    assert!(
        lee.iter()
            .all(|m| matches!(m.kind, Kind::LicenseConflict | Kind::RequestReply))
    );
    // The next day, while it lasts, it is said again.
    tick(
        &db,
        renewal + subs::GRACE + Duration::days(1) + Duration::hours(3),
    );
    let lee = messages_of(&db, "licenses@contoso.example");
    assert_eq!(of_kind(&lee, Kind::LicenseConflict).len(), 2);
}

#[test]
fn unread_counts_are_per_admin_and_mark_all_as_read_clears_only_ones_own() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    tick(&db, test_now());
    let adele = actor(&db, "admin@contoso.example");
    let bill = actor(&db, "billing@contoso.example");
    let unread = |a| messages::unread_count(&mut db.conn(), a, contoso).unwrap();
    let before = unread(&adele);
    assert!(before > 0);
    assert_eq!(unread(&bill), before);
    let marked = messages::mark_all_read(&mut db.conn(), &adele, contoso, test_now()).unwrap();
    assert_eq!(marked as i64, before);
    assert_eq!(unread(&adele), 0);
    assert_eq!(unread(&bill), before, "Bill hasn't read them");
    assert!(
        messages_of(&db, "admin@contoso.example")
            .iter()
            .all(|m| !m.unread)
    );
    // Marking again finds nothing to mark.
    assert_eq!(
        messages::mark_all_read(&mut db.conn(), &adele, contoso, test_now()).unwrap(),
        0
    );
    // Another tenant's messages are not there to read.
    assert!(messages::list(&mut db.conn(), &adele, fabrikam).is_err());
    let farah = actor(&db, "admin@fabrikam.example");
    let theirs = messages::list(&mut db.conn(), &farah, fabrikam).unwrap();
    assert!(theirs.iter().all(|m| !m.subject.contains("Visa •••• 4242")));
}

#[test]
fn a_reply_from_billing_support_is_posted_for_the_tenants_admins() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let id = requests::file(
        &mut db.conn(),
        &actor(&db, "users@contoso.example"),
        test_now(),
        contoso,
        &NewRequest {
            kind: requests::Kind::Other.as_str().into(),
            description: "Our sign-in page shows the wrong logo.".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let staff = actor(&db, "support@allot.example");
    requests::comment(&mut db.conn(), &staff, test_now(), id, "A note", true).unwrap();
    assert!(
        of_kind(
            &messages_of(&db, "licenses@contoso.example"),
            Kind::RequestReply
        )
        .is_empty(),
        "an internal note is not a reply"
    );
    requests::comment(
        &mut db.conn(),
        &staff,
        test_now(),
        id,
        "We fixed it.",
        false,
    )
    .unwrap();
    for email in ["licenses@contoso.example", "users@contoso.example"] {
        let replies = messages_of(&db, email);
        let replies = of_kind(&replies, Kind::RequestReply);
        assert_eq!(replies.len(), 1, "{email}");
        assert_eq!(replies[0].body, "We fixed it.");
        assert_eq!(replies[0].link, format!("/support/requests/{}", id.0));
    }
}
