//! "Alert when available licenses fall below N": a threshold an admin sets per product pool of
//! the tenant (Settings > Notifications). When the pool's available licenses drop below it, the
//! Message center says "Licenses running low" once; not again until available has been back at
//! N or more and falls again (`alerted` remembers which side the pool was on).
//!
//! Checked where the counts change: after every change of a tenant pool's assigned count (the
//! callers of `adjust_count` that serve a tenant pool call `check` with the product) and after
//! licenses are bought or removed; the scheduled job sweeps the thresholds for the rest
//! (subscriptions disabled, cancelled, renewed, provisioned). A pool without a threshold costs
//! one primary-key read.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{PoolSummary, USABLE_STATES, load_pools};
use crate::domain::authz::{self, Target};
use crate::domain::messages::{self, Kind, NewMessage};
use crate::domain::schema::subscriptions;
use crate::domain::schema::{license_alerts, license_counts, messages as message_rows, products};
use crate::domain::subscriptions::PurchaseChannel;
use crate::domain::{Action, Actor, DbConnection, DomainError, ProductId, TenantId, audit, db};

/// The largest threshold accepted: more than any pool holds, small enough for any column.
pub const MAX_ALERT_BELOW: i32 = 1_000_000;

/// A tenant pool and its threshold, as Settings > Notifications lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolAlert {
    pub pool: PoolSummary,
    pub below: Option<i32>,
}

/// The tenant's own pools (not self-service purchases) with their thresholds.
pub fn alerts(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<PoolAlert>, DomainError> {
    authz::may(actor, Action::SetLicenseAlerts, &Target::Tenant(tenant))?;
    let set: Vec<(i64, i32)> = license_alerts::table
        .filter(license_alerts::tenant_id.eq(tenant.0))
        .select((license_alerts::product_id, license_alerts::below))
        .load(conn)?;
    Ok(load_pools(conn, tenant)?
        .into_iter()
        .filter(|p| p.self_service.is_none())
        .map(|pool| PoolAlert {
            below: set
                .iter()
                .find(|(p, _)| *p == pool.product.0)
                .map(|(_, n)| *n),
            pool,
        })
        .collect())
}

/// The threshold of one product's pool, if set (the product's page shows it).
pub fn alert_below(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    product: ProductId,
) -> Result<Option<i32>, DomainError> {
    authz::may(actor, Action::SetLicenseAlerts, &Target::Tenant(tenant))?;
    Ok(license_alerts::table
        .find((tenant.0, product.0))
        .select(license_alerts::below)
        .first(conn)
        .optional()?)
}

/// Reads what an admin typed in "Alert below": empty turns the alert off; otherwise a whole
/// number from 1 (0 would never alert). Above the pool's total is allowed: it alerts at once,
/// which is what someone who always wants a margin asked for.
pub fn parse_alert_below(text: &str) -> Result<Option<i32>, DomainError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let refuse = || {
        DomainError::invalid(
            "below",
            format!(
                "Enter a whole number from 1 to {MAX_ALERT_BELOW}, or leave it empty for no alert."
            ),
        )
    };
    let n: i64 = text.parse().map_err(|_| refuse())?;
    if !(1..=i64::from(MAX_ALERT_BELOW)).contains(&n) {
        return Err(refuse());
    }
    Ok(Some(n as i32))
}

/// Sets (or with `None` turns off) the alert of `product`'s pool, and checks it at once: a pool
/// already below the new threshold is said now.
pub fn set_alert(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    product: ProductId,
    below: Option<i32>,
) -> Result<(), DomainError> {
    authz::may(actor, Action::SetLicenseAlerts, &Target::Tenant(tenant))?;
    if let Some(n) = below
        && !(1..=MAX_ALERT_BELOW).contains(&n)
    {
        return Err(DomainError::invalid(
            "below",
            format!("Enter a whole number from 1 to {MAX_ALERT_BELOW}."),
        ));
    }
    db::transaction(conn, |conn| {
        super::lock(conn, tenant)?;
        let name: String = products::table
            .find(product.0)
            .select(products::name)
            .first(conn)
            .optional()?
            .ok_or(DomainError::NotFound)?;
        // Only a pool the tenant has: a product it never bought has no pool to watch.
        let subscribed: i64 = subscriptions::table
            .filter(subscriptions::tenant_id.eq(tenant.0))
            .filter(subscriptions::product_id.eq(product.0))
            .filter(subscriptions::self_service_buyer_id.is_null())
            .count()
            .get_result(conn)?;
        if subscribed == 0 && below.is_some() {
            return Err(DomainError::NotFound);
        }
        diesel::delete(license_alerts::table.find((tenant.0, product.0))).execute(conn)?;
        if let Some(n) = below {
            diesel::insert_into(license_alerts::table)
                .values((
                    license_alerts::tenant_id.eq(tenant.0),
                    license_alerts::product_id.eq(product.0),
                    license_alerts::below.eq(n),
                    license_alerts::alerted.eq(false),
                ))
                .execute(conn)?;
        }
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Set license alert",
            &name,
            &match below {
                Some(n) => format!("Alert when available licenses fall below {n}"),
                None => "No alert".to_owned(),
            },
        )?;
        check_alert(conn, now, tenant, product)?;
        Ok(())
    })
}

/// Compares `product`'s tenant pool with its threshold, if it has one: posts "Licenses running
/// low" on crossing below, and re-arms when it is back at the threshold or above. Returns
/// whether a message was posted. Called in the transaction of the change.
pub(crate) fn check_alert(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    tenant: TenantId,
    product: ProductId,
) -> Result<bool, DomainError> {
    let Some((below, alerted)) = license_alerts::table
        .find((tenant.0, product.0))
        .select((license_alerts::below, license_alerts::alerted))
        .first::<(i32, bool)>(conn)
        .optional()?
    else {
        return Ok(false);
    };
    let (licenses, assigned) = counts(conn, tenant, product)?;
    let available = (licenses - assigned).max(0);
    let low = available < i64::from(below);
    if low == alerted {
        return Ok(false);
    }
    diesel::update(license_alerts::table.find((tenant.0, product.0)))
        .set(license_alerts::alerted.eq(low))
        .execute(conn)?;
    if !low {
        return Ok(false);
    }
    let name: String = products::table
        .find(product.0)
        .select(products::name)
        .first(conn)?;
    // Each crossing is its own message: numbered by the ones said before about this pool.
    let prefix = format!("low-licenses:{}:", product.0);
    let before: i64 = message_rows::table
        .filter(message_rows::tenant_id.eq(tenant.0))
        .filter(message_rows::kind.eq(Kind::LowLicenses))
        .filter(message_rows::about.like(format!("{prefix}%")))
        .count()
        .get_result(conn)?;
    let about = format!("{prefix}{}", before + 1);
    let subject = format!("Licenses running low: {name}");
    let body = format!(
        "{available} of {licenses} {name} licenses are available, fewer than the {below} you asked to be told about. Buy licenses before users go without one."
    );
    let link = buy_link(conn, tenant, product)?;
    let message = NewMessage {
        kind: Kind::LowLicenses,
        about: &about,
        subject: &subject,
        body: &body,
        link: &link,
    };
    messages::post(conn, now, tenant, &message)
}

/// The job's sweep: every threshold, against its pool now. Returns how many were posted.
pub(crate) fn check_alerts(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    failures: &mut usize,
) -> Result<usize, DomainError> {
    let set: Vec<(i64, i64)> = license_alerts::table
        .order((license_alerts::tenant_id, license_alerts::product_id))
        .select((license_alerts::tenant_id, license_alerts::product_id))
        .load(conn)?;
    let mut posted = 0;
    for (tenant, product) in set {
        let done = db::transaction(conn, |conn| {
            check_alert(conn, now, TenantId(tenant), ProductId(product))
        });
        posted += usize::from(
            db::keep_going(failures, "check license alerts", tenant, done).unwrap_or(false),
        );
    }
    Ok(posted)
}

/// Licenses in the tenant's pool of `product` (usable subscriptions) and how many are assigned,
/// from the kept count: no scan of the assignments.
fn counts(
    conn: &mut DbConnection,
    tenant: TenantId,
    product: ProductId,
) -> Result<(i64, i64), DomainError> {
    let quantities: Vec<i32> = subscriptions::table
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .filter(subscriptions::product_id.eq(product.0))
        .filter(subscriptions::self_service_buyer_id.is_null())
        .filter(subscriptions::state.eq_any(USABLE_STATES))
        .select(subscriptions::quantity)
        .load(conn)?;
    let assigned: Option<i64> = license_counts::table
        .filter(license_counts::tenant_id.eq(tenant.0))
        .filter(license_counts::product_id.eq(product.0))
        .filter(license_counts::pool.eq(0))
        .select(license_counts::assigned)
        .first(conn)
        .optional()?;
    Ok((
        quantities.iter().map(|q| i64::from(*q)).sum(),
        assigned.unwrap_or(0),
    ))
}

/// Where "Buy licenses" goes for `product`: its active subscription bought directly with the
/// most term left (as Home's), or else Buy a subscription.
fn buy_link(
    conn: &mut DbConnection,
    tenant: TenantId,
    product: ProductId,
) -> Result<String, DomainError> {
    let sub: Option<i64> = subscriptions::table
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .filter(subscriptions::product_id.eq(product.0))
        .filter(subscriptions::state.eq(crate::domain::subscriptions::SubscriptionState::Active))
        .filter(
            subscriptions::purchase_channel
                .eq_any([PurchaseChannel::CreditCard, PurchaseChannel::Invoice]),
        )
        .filter(subscriptions::self_service_buyer_id.is_null())
        .order((subscriptions::term_end.desc(), subscriptions::id))
        .select(subscriptions::id)
        .first(conn)
        .optional()?;
    Ok(match sub {
        Some(id) => format!("/billing/subscriptions/{id}#buy-licenses"),
        None => "/billing/buy".to_owned(),
    })
}
