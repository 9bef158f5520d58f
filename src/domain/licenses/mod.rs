//! License pools: the licenses of one product in one tenant, pooled over its usable
//! subscriptions, and the users they are assigned to. Assigning and unassigning happen here.

mod alerts;
mod app_sources;
mod apps;
mod assign;
mod assign_license;
mod bulk;
mod holders;
mod holds;
mod inherited;
mod removals;
mod skus;
mod take_over;
mod usage;

pub use alerts::*;
pub(crate) use app_sources::*;
pub use apps::*;
pub use assign::*;
pub use assign_license::*;
pub use bulk::*;
pub use holders::*;
pub use holds::*;
pub use inherited::*;
pub use removals::*;
pub use skus::*;
pub use take_over::*;
pub use usage::*;

use chrono::{DateTime, Duration, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use super::accounts::UserState;
use super::authz::Target;
use super::schema::{
    apps_turned_off, data_holds, license_assignments, license_counts, product_services, products,
    subscriptions, tenants, users,
};
use super::subscriptions::SubscriptionState;
use super::{
    Action, Actor, DbConnection, DomainError, ProductId, SubscriptionId, TenantId, UserId, audit,
    authz, naive, utc,
};

/// Subscription states whose licenses count in a pool (DESIGN.md, License pool).
pub const USABLE_STATES: [SubscriptionState; 2] =
    [SubscriptionState::Active, SubscriptionState::PastDue];
/// Subscription states that still show on the Licenses page, usable or not.
pub const LISTED_STATES: [SubscriptionState; 4] = [
    SubscriptionState::Pending,
    SubscriptionState::Active,
    SubscriptionState::PastDue,
    SubscriptionState::Disabled,
];
/// How long a user's data is kept after a license is removed (the seeds' 30 days).
pub const DATA_HOLD_DAYS: i64 = 30;
pub const DATA_HOLD: Duration = Duration::days(DATA_HOLD_DAYS);

/// Which pool: the tenant's pool of a product, or one self-service purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PoolRef {
    Tenant(ProductId),
    SelfService(SubscriptionId),
}

/// One row of the Licenses page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSummary {
    pub product: ProductId,
    pub product_name: String,
    pub licenses: i64,
    pub assigned: i64,
    /// The self-service subscription this pool is, with its buyer's sign-in name; `None` for
    /// the tenant's own pool of the product.
    pub self_service: Option<(SubscriptionId, String)>,
}

impl PoolSummary {
    /// The pools in a license conflict, for the banner with its four ways out.
    pub fn conflicts(pools: &[PoolSummary]) -> Vec<PoolSummary> {
        pools.iter().filter(|p| p.beyond() > 0).cloned().collect()
    }

    pub fn available(&self) -> i64 {
        (self.licenses - self.assigned).max(0)
    }

    /// How full the pool is, 0 to 100 (a pool in conflict is full).
    pub fn percent_assigned(&self) -> i64 {
        match (self.assigned, self.licenses) {
            (0, _) => 0,
            (_, 0) => 100,
            (assigned, licenses) => (assigned * 100 / licenses).min(100),
        }
    }

    /// Users beyond the count: a license conflict when above zero.
    pub fn beyond(&self) -> i64 {
        (self.assigned - self.licenses).max(0)
    }

    pub fn pool(&self) -> PoolRef {
        match &self.self_service {
            Some((sub, _)) => PoolRef::SelfService(*sub),
            None => PoolRef::Tenant(self.product),
        }
    }
}

type PoolKey = (i64, Option<i64>);

/// Every license pool of `tenant`, by product name; self-service pools after the tenant's own.
pub fn pools(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<PoolSummary>, DomainError> {
    authz::may(actor, Action::ViewLicenses, &authz::Target::Tenant(tenant))?;
    load_pools(conn, tenant)
}

pub(crate) fn load_pools(
    conn: &mut DbConnection,
    tenant: TenantId,
) -> Result<Vec<PoolSummary>, DomainError> {
    type Listed = (i64, i64, String, i32, SubscriptionState, Option<String>);
    let subs: Vec<Listed> = subscriptions::table
        .inner_join(products::table)
        .left_join(users::table.on(subscriptions::self_service_buyer_id.eq(users::id.nullable())))
        .filter(subscriptions::tenant_id.eq(tenant.0))
        // LISTED_STATES, said as the two states it leaves out: diesel prepares an IN list
        // afresh on every run, and the Licenses and Active users pages run this on each request.
        .filter(subscriptions::state.ne(SubscriptionState::Deleted))
        .filter(subscriptions::state.ne(SubscriptionState::Cancelled))
        .select((
            subscriptions::id,
            products::id,
            products::name,
            subscriptions::quantity,
            subscriptions::state,
            users::email.nullable(),
        ))
        .load(conn)?;

    let assigned: Vec<(i64, Option<i64>, i64)> = license_counts::table
        .filter(license_counts::tenant_id.eq(tenant.0))
        .filter(license_counts::assigned.gt(0))
        .select((
            license_counts::product_id,
            license_counts::pool,
            license_counts::assigned,
        ))
        .load::<(i64, i64, i64)>(conn)?
        .into_iter()
        .map(|(product, pool, n)| (product, (pool != 0).then_some(pool), n))
        .collect();

    let mut pools: BTreeMap<PoolKey, PoolSummary> = BTreeMap::new();
    for (sub, product, name, quantity, state, buyer) in subs {
        let key = (product, buyer.as_ref().map(|_| sub));
        let pool = pools.entry(key).or_insert_with(|| PoolSummary {
            product: ProductId(product),
            product_name: name,
            licenses: 0,
            assigned: 0,
            self_service: buyer.map(|b| (SubscriptionId(sub), b)),
        });
        if USABLE_STATES.contains(&state) {
            pool.licenses += i64::from(quantity);
        }
    }
    for (product, self_service, count) in assigned {
        match pools.get_mut(&(product, self_service)) {
            Some(pool) => pool.assigned += count,
            None => {
                // Users still hold licenses of a product whose subscriptions are all gone:
                // the pool shows with no licenses, so the conflict is visible.
                let name: String = products::table
                    .find(product)
                    .select(products::name)
                    .first(conn)?;
                pools.insert(
                    (product, self_service),
                    PoolSummary {
                        product: ProductId(product),
                        product_name: name,
                        licenses: 0,
                        assigned: count,
                        self_service: self_service.map(|s| (SubscriptionId(s), String::new())),
                    },
                );
            }
        }
    }
    let mut rows: Vec<PoolSummary> = pools.into_values().collect();
    rows.sort_by(|a, b| {
        (a.self_service.is_some(), &a.product_name)
            .cmp(&(b.self_service.is_some(), &b.product_name))
    });
    Ok(rows)
}

/// The Home page's numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCounts {
    pub users: i64,
    pub products: i64,
    pub assigned: i64,
    pub available: i64,
}

/// Counts of users, products and licenses for the Home page.
pub fn counts(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<TenantCounts, DomainError> {
    authz::may(
        actor,
        Action::ViewAdminCenter,
        &authz::Target::Tenant(tenant),
    )?;
    let pools = load_pools(conn, tenant)?;
    counts_of(conn, tenant, &pools)
}

/// The Home page's numbers from pools already loaded.
pub(crate) fn counts_of(
    conn: &mut DbConnection,
    tenant: TenantId,
    pools: &[PoolSummary],
) -> Result<TenantCounts, DomainError> {
    let users_count = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.ne(UserState::Deleted))
        .count()
        .get_result(conn)?;
    let products_seen: BTreeSet<ProductId> = pools.iter().map(|p| p.product).collect();
    Ok(TenantCounts {
        users: users_count,
        products: products_seen.len() as i64,
        assigned: pools.iter().map(|p| p.assigned).sum(),
        available: pools.iter().map(|p| p.available()).sum(),
    })
}

/// Takes the tenant's license lock for the rest of the transaction. Every change to licenses
/// or assignments starts with it: on PostgreSQL it is a row lock, on SQLite the write lock, so
/// the counts read after it cannot change underneath.
pub(crate) fn lock(conn: &mut DbConnection, tenant: TenantId) -> Result<(), DomainError> {
    let updated = diesel::update(tenants::table.find(tenant.0))
        .set(tenants::license_version.eq(tenants::license_version + 1))
        .execute(conn)?;
    if updated == 0 {
        return Err(DomainError::NotFound);
    }
    Ok(())
}

/// Moves a pool's assigned count by `delta`. Called, under the tenant's license lock, by every
/// change to license_assignments, so the counts always match the rows.
pub(crate) fn adjust_count(
    conn: &mut DbConnection,
    tenant: TenantId,
    product: ProductId,
    self_service: Option<i64>,
    delta: i64,
) -> Result<(), DomainError> {
    if delta == 0 {
        return Ok(());
    }
    let pool = self_service.unwrap_or(0);
    let updated = diesel::update(
        license_counts::table
            .filter(license_counts::tenant_id.eq(tenant.0))
            .filter(license_counts::product_id.eq(product.0))
            .filter(license_counts::pool.eq(pool)),
    )
    .set(license_counts::assigned.eq(license_counts::assigned + delta))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(license_counts::table)
            .values((
                license_counts::tenant_id.eq(tenant.0),
                license_counts::product_id.eq(product.0),
                license_counts::pool.eq(pool),
                license_counts::assigned.eq(delta),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Counts the tenant's assignments afresh into license_counts: for data loaded in bulk (the
/// demo, the benchmark's loader).
pub fn recount(conn: &mut DbConnection, tenant: TenantId) -> Result<(), DomainError> {
    let counted: Vec<(i64, Option<i64>, i64)> = license_assignments::table
        .filter(license_assignments::tenant_id.eq(tenant.0))
        .group_by((
            license_assignments::product_id,
            license_assignments::self_service_subscription_id,
        ))
        .select((
            license_assignments::product_id,
            license_assignments::self_service_subscription_id,
            count_star(),
        ))
        .load(conn)?;
    diesel::delete(license_counts::table.filter(license_counts::tenant_id.eq(tenant.0)))
        .execute(conn)?;
    for (product, self_service, n) in counted {
        adjust_count(conn, tenant, ProductId(product), self_service, n)?;
    }
    Ok(())
}

/// Licenses in a pool (usable subscriptions only) and how many are assigned. Read under `lock`
/// when about to change them.
pub(crate) fn pool_counts(
    conn: &mut DbConnection,
    tenant: TenantId,
    pool: PoolRef,
) -> Result<(i64, i64), DomainError> {
    let (licenses, assigned) = match pool {
        PoolRef::Tenant(product) => {
            let quantities: Vec<i32> = subscriptions::table
                .filter(subscriptions::tenant_id.eq(tenant.0))
                .filter(subscriptions::product_id.eq(product.0))
                .filter(subscriptions::self_service_buyer_id.is_null())
                .filter(subscriptions::state.eq_any(USABLE_STATES))
                .select(subscriptions::quantity)
                .load(conn)?;
            let assigned: i64 = license_assignments::table
                .filter(license_assignments::tenant_id.eq(tenant.0))
                .filter(license_assignments::product_id.eq(product.0))
                .filter(license_assignments::self_service_subscription_id.is_null())
                .count()
                .get_result(conn)?;
            (quantities.iter().map(|q| i64::from(*q)).sum(), assigned)
        }
        PoolRef::SelfService(sub) => {
            let quantity: Vec<i32> = subscriptions::table
                .filter(subscriptions::id.eq(sub.0))
                .filter(subscriptions::tenant_id.eq(tenant.0))
                .filter(subscriptions::state.eq_any(USABLE_STATES))
                .select(subscriptions::quantity)
                .load(conn)?;
            let assigned: i64 = license_assignments::table
                .filter(license_assignments::self_service_subscription_id.eq(sub.0))
                .count()
                .get_result(conn)?;
            (quantity.iter().map(|q| i64::from(*q)).sum(), assigned)
        }
    };
    Ok((licenses, assigned))
}

/// The product a pool holds, checking the pool belongs to `tenant`.
fn pool_product(
    conn: &mut DbConnection,
    tenant: TenantId,
    pool: PoolRef,
) -> Result<(ProductId, String), DomainError> {
    match pool {
        PoolRef::Tenant(product) => {
            let name = products::table
                .find(product.0)
                .select(products::name)
                .first(conn)?;
            Ok((product, name))
        }
        PoolRef::SelfService(sub) => {
            let (id, name) = subscriptions::table
                .inner_join(products::table)
                .filter(subscriptions::id.eq(sub.0))
                .filter(subscriptions::tenant_id.eq(tenant.0))
                .filter(subscriptions::self_service_buyer_id.is_not_null())
                .select((products::id, products::name))
                .first::<(i64, String)>(conn)?;
            Ok((ProductId(id), name))
        }
    }
}

/// Refuses admins on a self-service pool: only the buyer manages it until it is taken over.
/// The seeds' note, as admins read it when they try.
pub const SELF_SERVICE_REFUSAL: &str = "As an admin, you can't assign or unassign licenses for a \
     self-service purchase subscription bought by a user in your organization. Take over the \
     subscription first, then assign or unassign licenses.";

#[cfg(test)]
mod listed_states {
    use super::*;

    #[test]
    fn the_listed_states_are_every_state_but_deleted_and_cancelled() {
        let listed: Vec<_> = SubscriptionState::ALL
            .into_iter()
            .filter(|s| !matches!(s, SubscriptionState::Deleted | SubscriptionState::Cancelled))
            .collect();
        assert_eq!(listed, LISTED_STATES);
    }
}
