//! Home: its parts per role, the cards that run out before a renewal, open requests, and the
//! license usage the jobs take once a day for the 90-day trend.

mod common;

use allot::domain::billing::{self, CardChange};
use allot::domain::home::{self, Home};
use allot::domain::licenses::{self, PoolRef, TREND_DAYS};
use allot::domain::schema::license_usage_days;
use allot::domain::service_requests::{self, Kind, NewRequest};
use allot::domain::{DomainError, TenantId};
use allot::jobs;
use chrono::{DateTime, Datelike, Duration, Utc};
use common::*;
use diesel::prelude::*;

fn home_of(db: &TestDb, email: &str, at: DateTime<Utc>) -> Home {
    let (contoso, _) = tenants(db);
    home::home(&mut db.conn(), &actor(db, email), contoso, at).unwrap()
}

fn tick(db: &TestDb, at: DateTime<Utc>) -> jobs::TickReport {
    jobs::tick(&mut db.conn(), &allot::domain::billing::TestGateway, at).unwrap()
}

fn days_kept(db: &TestDb, tenant: TenantId) -> i64 {
    license_usage_days::table
        .filter(license_usage_days::tenant_id.eq(tenant.0))
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

#[test]
fn each_part_of_home_shows_only_to_the_roles_that_may_see_it() {
    let db = TestDb::with_demo();
    let now = test_now();
    for email in ["admin@contoso.example", "billing@contoso.example"] {
        let home = home_of(&db, email, now);
        assert!(home.pools.is_some() && home.trend.is_some(), "{email}");
        assert!(home.renewals.is_some(), "{email} sees renewals");
        assert!(
            home.unpaid.is_some() && home.expiring_cards.is_some(),
            "{email}"
        );
        assert!(!home.buy_into.is_empty(), "{email} is offered Buy licenses");
        assert!(home.open_requests.is_some(), "{email}");
    }
    for email in ["licenses@contoso.example", "users@contoso.example"] {
        let home = home_of(&db, email, now);
        assert!(home.pools.is_some() && home.trend.is_some(), "{email}");
        assert_eq!(home.renewals, None, "{email} sees no money");
        assert_eq!(home.unpaid, None, "{email}");
        assert_eq!(home.expiring_cards, None, "{email}");
        assert!(home.buy_into.is_empty(), "{email} can't buy");
        assert!(home.open_requests.is_some(), "{email} files requests");
    }
    // Another tenant's Home is not there to see.
    let (_, fabrikam) = tenants(&db);
    let refused = home::home(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        fabrikam,
        now,
    );
    assert!(
        matches!(refused, Err(DomainError::Forbidden)),
        "{refused:?}"
    );
}

#[test]
fn renewals_are_the_soonest_with_what_each_will_charge() {
    let db = TestDb::with_demo();
    let home = home_of(&db, "admin@contoso.example", test_now());
    let renewals = home.renewals.unwrap();
    assert!(!renewals.is_empty());
    assert!(renewals.len() <= home::RENEWALS_SHOWN);
    assert!(renewals.windows(2).all(|w| w[0].term_end <= w[1].term_end));
    for s in &renewals {
        let months = if s.billing_period.is_yearly() { 12 } else { 1 };
        assert_eq!(
            s.next_renewal_cents(),
            Some(s.monthly_price_cents * months * i64::from(s.quantity))
        );
        assert!(s.recurring_billing);
    }
    // A subscription with recurring billing off doesn't renew, so Home doesn't list it.
    let all = allot::domain::subscriptions::list(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        tenants(&db).0,
    )
    .unwrap();
    for s in all.iter().filter(|s| !s.recurring_billing) {
        assert!(renewals.iter().all(|r| r.id != s.id), "{s:?}");
    }
}

#[test]
fn a_card_that_expires_before_the_renewal_it_pays_is_named_until_its_expiry_is_updated() {
    let db = TestDb::with_demo();
    let now = test_now();
    let admin = actor(&db, "admin@contoso.example");
    let (contoso, _) = tenants(&db);
    let expiring = home_of(&db, "admin@contoso.example", now)
        .expiring_cards
        .unwrap();
    assert!(!expiring.is_empty(), "the demo's Visa runs out first");
    for e in &expiring {
        let renews = (
            e.subscription.term_end.year(),
            e.subscription.term_end.month() as i32,
        );
        assert!((e.card.exp_year, e.card.exp_month) < renews, "{e:?}");
    }
    let card = expiring[0].card.id;
    let year = (now.year() + 4).to_string();
    billing::change_card(
        &mut db.conn(),
        &admin,
        &billing::TestGateway,
        now,
        contoso,
        CardChange::Expiry {
            method: card,
            month: "12".into(),
            year,
        },
    )
    .unwrap();
    let after = home_of(&db, "admin@contoso.example", now)
        .expiring_cards
        .unwrap();
    assert!(after.iter().all(|e| e.card.id != card), "{after:?}");
}

#[test]
fn open_service_requests_are_counted_and_the_latest_named() {
    let db = TestDb::with_demo();
    let now = test_now();
    let before = home_of(&db, "licenses@contoso.example", now)
        .open_requests
        .unwrap()
        .count;
    let (contoso, _) = tenants(&db);
    let id = service_requests::file(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        now,
        contoso,
        &NewRequest {
            kind: Kind::Other.as_str().into(),
            description: "Our sign-in page shows the wrong logo.".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let open = home_of(&db, "licenses@contoso.example", now)
        .open_requests
        .unwrap();
    assert_eq!(open.count, before + 1);
    assert_eq!(open.latest.first().map(|r| r.id), Some(id));
}

#[test]
fn usage_is_kept_as_each_day_ended_and_the_trend_ends_with_today_as_it_is() {
    let db = TestDb::with_demo();
    let now = test_now();
    let (contoso, fabrikam) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium_of = |at: DateTime<Utc>| {
        licenses::usage_trend(&mut db.conn(), &admin, contoso, at)
            .unwrap()
            .into_iter()
            .find(|t| t.product_name == "Business Premium")
            .unwrap()
    };
    // The demo brings the 89 days before today; yesterday is kept, so the jobs take nothing.
    assert_eq!(tick(&db, now).usage_recorded, 0);
    let premium = premium_of(now);
    assert_eq!(premium.days.len() as i64, TREND_DAYS);
    let (total, assigned, _) = pool_counts(&db, contoso, "Business Premium");
    let today = premium.days.last().unwrap();
    assert_eq!(
        (today.day, today.licenses, today.assigned),
        (now.date_naive(), total, assigned)
    );
    // Self-service purchases are their buyers', not the tenant's trend.
    let trend = licenses::usage_trend(&mut db.conn(), &admin, contoso, now).unwrap();
    assert!(trend.iter().all(|t| t.product_name != "Project Plan 3"));

    // One more user gets Business Premium: today's point says so at once.
    let product = product_id(&db, "Business Premium");
    licenses::assign(
        &mut db.conn(),
        &admin,
        now,
        contoso,
        PoolRef::Tenant(product),
        &contoso_users(&db, 35, 35),
    )
    .unwrap();
    assert_eq!(premium_of(now).days.last().unwrap().assigned, assigned + 1);

    // Tomorrow's first run keeps today as it ended, once.
    let tomorrow = now + Duration::days(1);
    assert_eq!(
        tick(&db, tomorrow).usage_recorded,
        2,
        "Contoso and Fabrikam"
    );
    assert_eq!(tick(&db, tomorrow + Duration::hours(3)).usage_recorded, 0);
    let premium = premium_of(tomorrow);
    assert_eq!(premium.days.len() as i64, TREND_DAYS, "the oldest day left");
    let kept = premium.days[premium.days.len() - 2];
    assert_eq!((kept.day, kept.assigned), (now.date_naive(), assigned + 1));
    assert_eq!(premium.days.last().unwrap().day, tomorrow.date_naive());

    // Another tenant's trend is not there to see; a License admin sees their own.
    let refused = licenses::usage_trend(&mut db.conn(), &admin, fabrikam, now);
    assert!(
        matches!(refused, Err(DomainError::Forbidden)),
        "{refused:?}"
    );
    let lee = actor(&db, "licenses@contoso.example");
    assert!(licenses::usage_trend(&mut db.conn(), &lee, contoso, now).is_ok());

    // Days older than the year and a bit kept are forgotten.
    assert!(days_kept(&db, contoso) > 0);
    let later = now + Duration::days(licenses::USAGE_DAYS_KEPT + TREND_DAYS + 2);
    tick(&db, later);
    let oldest: Option<chrono::NaiveDate> = license_usage_days::table
        .select(diesel::dsl::min(license_usage_days::day))
        .first(&mut db.conn())
        .unwrap();
    assert!(
        oldest.is_some_and(
            |d| d >= later.date_naive() - Duration::days(licenses::USAGE_DAYS_KEPT + 1)
        ),
        "{oldest:?}"
    );
}
