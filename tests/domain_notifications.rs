//! Settings > Notifications: a pool's license alert is said once per crossing below its
//! threshold, and a posted message is emailed to the admins whose roles may read it and who
//! want it; one tenant's alerts and emails never reach another.

mod common;

use allot::domain::billing::TestGateway;
use allot::domain::licenses::{self, PoolRef};
use allot::domain::messages::{self, Kind, Message};
use allot::domain::notifications;
use allot::domain::schema::{notification_choices, outbox};
use allot::domain::{DomainError, TenantId};
use allot::jobs;
use chrono::{Duration, TimeZone, Utc};
use common::*;
use diesel::prelude::*;

fn low_licenses(db: &TestDb, email: &str, tenant: TenantId) -> Vec<Message> {
    messages::list(&mut db.conn(), &actor(db, email), tenant)
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == Kind::LowLicenses)
        .collect()
}

/// The emails queued to `to` whose subject contains `about`.
fn emails_to(db: &TestDb, to: &str, about: &str) -> usize {
    outbox::table
        .filter(outbox::to_email.eq(to))
        .select(outbox::subject)
        .load::<String>(&mut db.conn())
        .unwrap()
        .iter()
        .filter(|s| s.contains(about))
        .count()
}

fn assign(db: &TestDb, tenant: TenantId, product: &str, users: &[allot::domain::UserId]) {
    let lee = actor(db, "licenses@contoso.example");
    let pool = PoolRef::Tenant(product_id(db, product));
    licenses::assign(&mut db.conn(), &lee, test_now(), tenant, pool, users).unwrap();
}

fn unassign(db: &TestDb, tenant: TenantId, product: &str, users: &[allot::domain::UserId]) {
    let lee = actor(db, "licenses@contoso.example");
    let pool = PoolRef::Tenant(product_id(db, product));
    licenses::unassign(&mut db.conn(), &lee, test_now(), tenant, pool, users).unwrap();
}

#[test]
fn a_pool_falling_below_its_alert_is_said_once_then_again_only_after_it_recovers() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let lee = actor(&db, "licenses@contoso.example");
    let premium = product_id(&db, "Business Premium");
    // 13 licenses, 10 assigned: 3 available, not below 3.
    licenses::set_alert(&mut db.conn(), &lee, test_now(), contoso, premium, Some(3)).unwrap();
    assert!(low_licenses(&db, "admin@contoso.example", contoso).is_empty());

    assign(
        &db,
        contoso,
        "Business Premium",
        &contoso_users(&db, 11, 11),
    );
    let said = low_licenses(&db, "admin@contoso.example", contoso);
    assert_eq!(said.len(), 1, "{said:?}");
    assert_eq!(said[0].subject, "Licenses running low: Business Premium");
    assert!(
        said[0]
            .body
            .starts_with("2 of 13 Business Premium licenses are available")
    );
    assert!(said[0].link.contains("#buy-licenses"), "{}", said[0].link);

    // Falling further, and the scheduled job, say nothing new.
    assign(
        &db,
        contoso,
        "Business Premium",
        &contoso_users(&db, 12, 12),
    );
    jobs::tick(&mut db.conn(), &TestGateway, test_now()).unwrap();
    assert_eq!(low_licenses(&db, "admin@contoso.example", contoso).len(), 1);

    // Back at 3 available, then below again: said a second time.
    unassign(
        &db,
        contoso,
        "Business Premium",
        &contoso_users(&db, 11, 12),
    );
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
    assert_eq!(low_licenses(&db, "admin@contoso.example", contoso).len(), 1);
    assign(
        &db,
        contoso,
        "Business Premium",
        &contoso_users(&db, 13, 13),
    );
    let said = low_licenses(&db, "admin@contoso.example", contoso);
    assert_eq!(said.len(), 2, "{said:?}");

    // Turned off: nothing more, however low.
    licenses::set_alert(&mut db.conn(), &lee, test_now(), contoso, premium, None).unwrap();
    assign(
        &db,
        contoso,
        "Business Premium",
        &contoso_users(&db, 11, 11),
    );
    assert_eq!(low_licenses(&db, "admin@contoso.example", contoso).len(), 2);
    assert_eq!(
        licenses::alert_below(&mut db.conn(), &lee, contoso, premium).unwrap(),
        None
    );
}

#[test]
fn an_alert_set_above_what_is_available_is_said_at_once_and_once_only() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let bill = actor(&db, "billing@contoso.example");
    let professional = product_id(&db, "Sales Professional");
    let (licenses_now, _, available) = pool_counts(&db, contoso, "Sales Professional");
    let over = i32::try_from(licenses_now + 5).unwrap();
    licenses::set_alert(
        &mut db.conn(),
        &bill,
        test_now(),
        contoso,
        professional,
        Some(over),
    )
    .unwrap();
    let said = low_licenses(&db, "billing@contoso.example", contoso);
    assert_eq!(said.len(), 1);
    assert!(
        said[0]
            .body
            .starts_with(&format!("{available} of {licenses_now} Sales Professional"))
    );
    assert_eq!(audit_count(&db, contoso, "Set license alert"), 1);
    // The job's sweep says nothing twice.
    jobs::tick(&mut db.conn(), &TestGateway, test_now()).unwrap();
    assert_eq!(
        low_licenses(&db, "billing@contoso.example", contoso).len(),
        1
    );
}

#[test]
fn the_choice_decides_who_gets_the_email_and_each_kind_has_its_default() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let bill = actor(&db, "billing@contoso.example");
    let premium = product_id(&db, "Business Premium");
    // Low licenses are emailed by default to every admin who may read pools.
    let choices = notifications::choices(&mut db.conn(), &bill, contoso).unwrap();
    assert!(
        choices
            .iter()
            .any(|c| c.kind == Kind::LowLicenses && c.email)
    );
    assert!(
        choices
            .iter()
            .any(|c| c.kind == Kind::RenewalSoon && !c.email)
    );
    // Bill turns it off, keeping payment failed.
    let saved = notifications::choose(
        &mut db.conn(),
        &bill,
        test_now(),
        contoso,
        &[Kind::PaymentFailed],
    )
    .unwrap();
    assert!(
        saved
            .iter()
            .all(|c| c.email == (c.kind == Kind::PaymentFailed))
    );
    licenses::set_alert(&mut db.conn(), &bill, test_now(), contoso, premium, Some(5)).unwrap();
    let subject = "Licenses running low: Business Premium";
    for admin in [
        "admin@contoso.example",
        "licenses@contoso.example",
        "users@contoso.example",
    ] {
        assert_eq!(emails_to(&db, admin, subject), 1, "{admin}");
    }
    assert_eq!(emails_to(&db, "billing@contoso.example", subject), 0);
    // It is still in Bill's Message center.
    assert_eq!(
        low_licenses(&db, "billing@contoso.example", contoso).len(),
        1
    );
    // Who gets what says the same.
    let adele = actor(&db, "admin@contoso.example");
    let table = notifications::recipients(&mut db.conn(), &adele, contoso).unwrap();
    let low = Kind::ALL
        .iter()
        .position(|k| *k == Kind::LowLicenses)
        .unwrap();
    let of = |email: &str| table.iter().find(|r| r.email == email).unwrap().emailed[low];
    assert_eq!(of("billing@contoso.example"), Some(false));
    assert_eq!(of("licenses@contoso.example"), Some(true));
    // Only a Global admin sees who gets what.
    assert_eq!(
        notifications::recipients(&mut db.conn(), &bill, contoso),
        Err(DomainError::Forbidden)
    );
}

#[test]
fn an_admin_whose_roles_may_not_read_a_kind_never_gets_its_email_whatever_the_choice_says() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let adele = actor(&db, "admin@contoso.example");
    let lee = actor(&db, "licenses@contoso.example");
    // Lee (License admin) may not choose money messages...
    assert!(matches!(
        notifications::choose(
            &mut db.conn(),
            &lee,
            test_now(),
            contoso,
            &[Kind::RenewalSoon]
        ),
        Err(DomainError::Invalid { .. })
    ));
    // ...and a row saying so anyway (left from a role since taken away) is not obeyed.
    diesel::insert_into(notification_choices::table)
        .values((
            notification_choices::tenant_id.eq(contoso.0),
            notification_choices::user_id.eq(user_id(&db, "licenses@contoso.example").0),
            notification_choices::kind.eq("renewal_soon"),
            notification_choices::email.eq(true),
        ))
        .execute(&mut db.conn())
        .unwrap();
    notifications::choose(
        &mut db.conn(),
        &adele,
        test_now(),
        contoso,
        &[Kind::RenewalSoon],
    )
    .unwrap();
    // 11 days before the demo's December 1st renewal: the 14-day notice is posted.
    let renewal = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    jobs::tick(&mut db.conn(), &TestGateway, renewal - Duration::days(11)).unwrap();
    let subject = "Business Premium renews on December 1, 2026";
    assert_eq!(emails_to(&db, "admin@contoso.example", subject), 1);
    assert_eq!(emails_to(&db, "licenses@contoso.example", subject), 0);
    // Bill made no choice: renewals stay in the Message center by default.
    assert_eq!(emails_to(&db, "billing@contoso.example", subject), 0);
    // Posting the same again emails nobody again.
    jobs::tick(
        &mut db.conn(),
        &TestGateway,
        renewal - Duration::days(11) + Duration::hours(1),
    )
    .unwrap();
    assert_eq!(emails_to(&db, "admin@contoso.example", subject), 1);
}

#[test]
fn alerts_and_their_emails_stay_in_their_tenant_and_only_some_roles_set_them() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let premium = product_id(&db, "Business Premium");
    let fabrikam_admin = actor(&db, "admin@fabrikam.example");
    assert_eq!(
        licenses::set_alert(
            &mut db.conn(),
            &fabrikam_admin,
            test_now(),
            contoso,
            premium,
            Some(5)
        ),
        Err(DomainError::Forbidden)
    );
    assert_eq!(
        licenses::alerts(&mut db.conn(), &fabrikam_admin, contoso),
        Err(DomainError::Forbidden)
    );
    assert_eq!(
        notifications::choices(&mut db.conn(), &fabrikam_admin, contoso),
        Err(DomainError::Forbidden)
    );
    // A User admin doesn't set alerts (they read them).
    let uma = actor(&db, "users@contoso.example");
    assert_eq!(
        licenses::set_alert(&mut db.conn(), &uma, test_now(), contoso, premium, Some(5)),
        Err(DomainError::Forbidden)
    );
    let lee = actor(&db, "licenses@contoso.example");
    licenses::set_alert(&mut db.conn(), &lee, test_now(), contoso, premium, Some(5)).unwrap();
    assert_eq!(low_licenses(&db, "admin@contoso.example", contoso).len(), 1);
    // A product the tenant never bought has no pool to watch.
    let fabrikam_pools = licenses::alerts(&mut db.conn(), &fabrikam_admin, fabrikam).unwrap();
    let bought: Vec<_> = fabrikam_pools.iter().map(|a| a.pool.product).collect();
    // Project Plan 3 is in the catalog (Contoso's is a self-service purchase); Fabrikam has none.
    let contoso_only = product_id(&db, "Project Plan 3");
    assert!(!bought.contains(&contoso_only));
    {
        assert_eq!(
            licenses::set_alert(
                &mut db.conn(),
                &fabrikam_admin,
                test_now(),
                fabrikam,
                contoso_only,
                Some(2)
            ),
            Err(DomainError::NotFound)
        );
    }
    assert!(low_licenses(&db, "admin@fabrikam.example", fabrikam).is_empty());
    assert_eq!(
        emails_to(&db, "admin@fabrikam.example", "Licenses running low"),
        0
    );
    let theirs = licenses::alerts(&mut db.conn(), &fabrikam_admin, fabrikam).unwrap();
    assert!(theirs.iter().all(|a| a.below.is_none()), "{theirs:?}");
    let table = notifications::recipients(&mut db.conn(), &fabrikam_admin, fabrikam).unwrap();
    assert!(table.iter().all(|r| r.email.ends_with("@fabrikam.example")));
}

#[test]
fn what_an_admin_types_as_a_threshold_is_a_whole_number_from_1_or_nothing() {
    for refused in ["-1", "0", "abc", "1.5", "1000001", "9999999999999"] {
        assert!(
            matches!(
                licenses::parse_alert_below(refused),
                Err(DomainError::Invalid { field: "below", .. })
            ),
            "{refused}"
        );
    }
    assert_eq!(licenses::parse_alert_below(" ").unwrap(), None);
    assert_eq!(licenses::parse_alert_below("7").unwrap(), Some(7));
    assert_eq!(
        licenses::parse_alert_below("1000000").unwrap(),
        Some(1_000_000)
    );
}
