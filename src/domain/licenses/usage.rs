//! License usage over time: each tenant pool's licenses and assigned count as each day ended,
//! kept by the scheduled jobs at the next day's first run, for Home's 90-day trend (whose last
//! point, today, is the live count).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;

use super::load_pools;
use crate::domain::schema::{license_usage_days, products, tenants};
use crate::domain::{Action, Actor, DbConnection, DomainError, ProductId, TenantId, authz, db};

/// How far back Home's trend looks.
pub const TREND_DAYS: i64 = 90;
/// Days kept: the trend's 90, and the rest of a year for a look back at the same season.
pub const USAGE_DAYS_KEPT: i64 = 400;

/// A product and its name.
pub(crate) type NamedProduct = (ProductId, String);

/// One day of one pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageDay {
    pub day: NaiveDate,
    pub licenses: i64,
    pub assigned: i64,
}

/// A product's days, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageTrend {
    pub product: ProductId,
    pub product_name: String,
    pub days: Vec<UsageDay>,
}

/// The tenant's usage over the last 90 days, per product by name: each past day as it ended,
/// and today as it is now. Days the jobs did not run are missing, not guessed.
pub fn usage_trend(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<Vec<UsageTrend>, DomainError> {
    authz::may(actor, Action::ViewLicenses, &authz::Target::Tenant(tenant))?;
    let live = load_pools(conn, tenant)?;
    trend_with(conn, tenant, now, &live)
}

/// `usage_trend` with today's pools already loaded, for a caller that has checked the actor.
pub(crate) fn trend_with(
    conn: &mut DbConnection,
    tenant: TenantId,
    now: DateTime<Utc>,
    live: &[super::PoolSummary],
) -> Result<Vec<UsageTrend>, DomainError> {
    let today = now.date_naive();
    let since = today - Duration::days(TREND_DAYS - 1);
    let rows: Vec<(i64, String, NaiveDate, i64, i64)> = license_usage_days::table
        .inner_join(products::table)
        .filter(license_usage_days::tenant_id.eq(tenant.0))
        .filter(license_usage_days::day.ge(since))
        .filter(license_usage_days::day.lt(today))
        .order((products::name, products::id, license_usage_days::day))
        .select((
            products::id,
            products::name,
            license_usage_days::day,
            license_usage_days::licenses,
            license_usage_days::assigned,
        ))
        .load(conn)?;
    let mut trends: Vec<UsageTrend> = Vec::new();
    for (product, name, day, licenses, assigned) in rows {
        let point = UsageDay {
            day,
            licenses,
            assigned,
        };
        match trends.last_mut() {
            Some(last) if last.product.0 == product => last.days.push(point),
            _ => trends.push(UsageTrend {
                product: ProductId(product),
                product_name: name,
                days: vec![point],
            }),
        }
    }
    for (product, point) in own_pools_on(live, today) {
        match trends.iter_mut().find(|t| t.product == product.0) {
            Some(trend) => trend.days.push(point),
            None => trends.push(UsageTrend {
                product: product.0,
                product_name: product.1,
                days: vec![point],
            }),
        }
    }
    trends.sort_by(|a, b| (&a.product_name, a.product).cmp(&(&b.product_name, b.product)));
    Ok(trends)
}

/// The scheduled job: yesterday's figures as it ended (the counts at today's first run) of
/// every tenant that has none yet, one tenant per transaction, so running again takes nothing
/// twice; then forgets days older than `USAGE_DAYS_KEPT`. Returns how many tenants were taken.
pub fn record_usage(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    failures: &mut usize,
) -> Result<usize, DomainError> {
    let yesterday = now.date_naive() - Duration::days(1);
    diesel::delete(
        license_usage_days::table
            .filter(license_usage_days::day.lt(yesterday - Duration::days(USAGE_DAYS_KEPT))),
    )
    .execute(conn)?;
    let due: Vec<i64> = tenants::table
        .filter(diesel::dsl::not(diesel::dsl::exists(
            license_usage_days::table
                .filter(license_usage_days::day.eq(yesterday))
                .filter(license_usage_days::tenant_id.eq(tenants::id)),
        )))
        .order(tenants::id)
        .select(tenants::id)
        .load(conn)?;
    let mut taken = 0;
    for id in due {
        let done = db::transaction(conn, |conn| record_day(conn, TenantId(id), yesterday));
        if db::keep_going(failures, "record license usage", id, done) == Some(true) {
            taken += 1;
        }
    }
    Ok(taken)
}

/// One tenant's figures for `day`, as its pools count now. False when it has no pool to take.
fn record_day(
    conn: &mut DbConnection,
    tenant: TenantId,
    day: NaiveDate,
) -> Result<bool, DomainError> {
    let days: Vec<(ProductId, UsageDay)> = tenant_pools_on(conn, tenant, day)?
        .into_iter()
        .map(|((product, _), point)| (product, point))
        .collect();
    insert_days(conn, tenant, &days)?;
    Ok(!days.is_empty())
}

/// The tenant's own pools as they count now, dated `day`: a self-service purchase is its
/// buyer's, not the tenant's.
pub(crate) fn tenant_pools_on(
    conn: &mut DbConnection,
    tenant: TenantId,
    day: NaiveDate,
) -> Result<Vec<(NamedProduct, UsageDay)>, DomainError> {
    Ok(own_pools_on(&load_pools(conn, tenant)?, day))
}

fn own_pools_on(pools: &[super::PoolSummary], day: NaiveDate) -> Vec<(NamedProduct, UsageDay)> {
    pools
        .iter()
        .filter(|pool| pool.self_service.is_none())
        .map(|pool| {
            let point = UsageDay {
                day,
                licenses: pool.licenses,
                assigned: pool.assigned,
            };
            ((pool.product, pool.product_name.clone()), point)
        })
        .collect()
}

/// Keeps `days` of `tenant`'s pools; a day already kept stays as it was.
pub(crate) fn insert_days(
    conn: &mut DbConnection,
    tenant: TenantId,
    days: &[(ProductId, UsageDay)],
) -> Result<(), DomainError> {
    let rows: Vec<_> = days
        .iter()
        .map(|(product, d)| {
            (
                license_usage_days::tenant_id.eq(tenant.0),
                license_usage_days::product_id.eq(product.0),
                license_usage_days::day.eq(d.day),
                license_usage_days::licenses.eq(d.licenses),
                license_usage_days::assigned.eq(d.assigned),
            )
        })
        .collect();
    // Bounded batches: SQLite allows so many bound values in one statement.
    for batch in rows.chunks(500) {
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(license_usage_days::table)
                .values(batch)
                .on_conflict_do_nothing()
                .execute(c)?,
            DbConnection::Postgresql(c) => diesel::insert_into(license_usage_days::table)
                .values(batch)
                .on_conflict_do_nothing()
                .execute(c)?,
        };
    }
    Ok(())
}
