//! License pools: the licenses of one product in one tenant, pooled over its usable
//! subscriptions, and the users they are assigned to.

use diesel::dsl::count_star;
use diesel::prelude::*;
use std::collections::BTreeMap;

use super::schema::{license_assignments, products, subscriptions, users};
use super::{Action, Actor, DbConnection, DomainError, ProductId, SubscriptionId, TenantId, authz};

/// Subscription states whose licenses count in a pool (DESIGN.md, License pool).
pub const USABLE_STATES: [&str; 2] = ["active", "past_due"];
/// Subscription states that still show on the Licenses page, usable or not.
pub const LISTED_STATES: [&str; 4] = ["pending", "active", "past_due", "disabled"];

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
    pub fn available(&self) -> i64 {
        (self.licenses - self.assigned).max(0)
    }

    /// Users beyond the count: a license conflict when above zero.
    pub fn beyond(&self) -> i64 {
        (self.assigned - self.licenses).max(0)
    }
}

type PoolKey = (i64, Option<i64>);

/// Every license pool of `tenant`, by product name; self-service pools after the tenant's own.
pub fn pools(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<PoolSummary>, DomainError> {
    authz::may(actor, Action::ViewLicenses, Some(tenant))?;

    let subs: Vec<(i64, i64, String, i32, String, Option<String>)> = subscriptions::table
        .inner_join(products::table)
        .left_join(users::table.on(subscriptions::self_service_buyer_id.eq(users::id.nullable())))
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .filter(subscriptions::state.eq_any(LISTED_STATES))
        .select((
            subscriptions::id,
            products::id,
            products::name,
            subscriptions::quantity,
            subscriptions::state,
            users::email.nullable(),
        ))
        .load(conn)?;

    let assigned: Vec<(i64, Option<i64>, i64)> = license_assignments::table
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
        if USABLE_STATES.contains(&state.as_str()) {
            pool.licenses += i64::from(quantity);
        }
    }
    let mut names: BTreeMap<i64, String> = BTreeMap::new();
    for (product, self_service, count) in assigned {
        match pools.get_mut(&(product, self_service)) {
            Some(pool) => pool.assigned += count,
            None => {
                // Users still hold licenses of a product whose subscriptions are all gone:
                // the pool shows with no licenses, so the conflict is visible.
                let name = match names.get(&product) {
                    Some(n) => n.clone(),
                    None => {
                        let n: String = products::table
                            .find(product)
                            .select(products::name)
                            .first(conn)?;
                        names.insert(product, n.clone());
                        n
                    }
                };
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
    authz::may(actor, Action::ViewAdminCenter, Some(tenant))?;
    let users_count = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.ne("deleted"))
        .count()
        .get_result(conn)?;
    let pools = pools(conn, actor, tenant)?;
    let products_seen: std::collections::BTreeSet<ProductId> =
        pools.iter().map(|p| p.product).collect();
    Ok(TenantCounts {
        users: users_count,
        products: products_seen.len() as i64,
        assigned: pools.iter().map(|p| p.assigned).sum(),
        available: pools.iter().map(|p| p.available()).sum(),
    })
}
