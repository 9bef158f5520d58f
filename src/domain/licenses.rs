//! License pools: the licenses of one product in one tenant, pooled over its usable
//! subscriptions, and the users they are assigned to. Assigning and unassigning happen here.

use chrono::{DateTime, Duration, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use super::schema::{
    data_holds, license_assignments, license_counts, product_services, products, subscriptions,
    tenants, users,
};
use super::{
    Action, Actor, DbConnection, DomainError, ProductId, SubscriptionId, TenantId, UserId, audit,
    authz, naive, utc,
};

/// Subscription states whose licenses count in a pool (DESIGN.md, License pool).
pub const USABLE_STATES: [&str; 2] = ["active", "past_due"];
/// Subscription states that still show on the Licenses page, usable or not.
pub const LISTED_STATES: [&str; 4] = ["pending", "active", "past_due", "disabled"];
/// How long a user's data is kept after a license is removed (the seeds' 30 days).
pub const DATA_HOLD: Duration = Duration::days(30);

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
    pub fn available(&self) -> i64 {
        (self.licenses - self.assigned).max(0)
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
    authz::may(actor, Action::ViewLicenses, Some(tenant))?;
    load_pools(conn, tenant)
}

pub(crate) fn load_pools(
    conn: &mut DbConnection,
    tenant: TenantId,
) -> Result<Vec<PoolSummary>, DomainError> {
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
        if USABLE_STATES.contains(&state.as_str()) {
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
    authz::may(actor, Action::ViewAdminCenter, Some(tenant))?;
    let users_count = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.ne("deleted"))
        .count()
        .get_result(conn)?;
    let pools = load_pools(conn, tenant)?;
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
fn refuse_self_service_for_admins(actor: &Actor, pool: PoolRef) -> Result<(), DomainError> {
    if matches!(pool, PoolRef::SelfService(_)) && !matches!(actor, Actor::EndUser { .. }) {
        return Err(DomainError::Conflict(SELF_SERVICE_REFUSAL.into()));
    }
    Ok(())
}

/// The seeds' note, as admins read it when they try.
pub const SELF_SERVICE_REFUSAL: &str = "As an admin, you can't assign or unassign licenses for a \
     self-service purchase subscription bought by a user in your organization. Take over the \
     subscription first, then assign or unassign licenses.";

/// What an assignment did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assigned {
    /// Users who got the license now.
    pub assigned: Vec<UserId>,
    /// Users who already had it (nothing changed for them).
    pub already: Vec<UserId>,
    pub available_after: i64,
}

/// The active, non-deleted users among `ids` in `tenant`, with their sign-in names; any id
/// that is not such a user makes the whole request NotFound.
fn tenant_users(
    conn: &mut DbConnection,
    tenant: TenantId,
    ids: &[UserId],
) -> Result<Vec<(UserId, String)>, DomainError> {
    let wanted: BTreeSet<i64> = ids.iter().map(|u| u.0).collect();
    let mut found: Vec<(i64, String)> = Vec::with_capacity(wanted.len());
    let all: Vec<i64> = wanted.iter().copied().collect();
    for chunk in all.chunks(5000) {
        found.extend(
            users::table
                .filter(users::tenant_id.eq(tenant.0))
                .filter(users::id.eq_any(chunk))
                .filter(users::state.ne("deleted"))
                .select((users::id, users::email))
                .load::<(i64, String)>(conn)?,
        );
    }
    if found.len() != wanted.len() {
        return Err(DomainError::NotFound);
    }
    Ok(found.into_iter().map(|(id, e)| (UserId(id), e)).collect())
}

fn holders_among(
    conn: &mut DbConnection,
    product: ProductId,
    ids: &[UserId],
) -> Result<BTreeSet<i64>, DomainError> {
    let mut held = BTreeSet::new();
    let all: Vec<i64> = ids.iter().map(|u| u.0).collect();
    for chunk in all.chunks(5000) {
        held.extend(
            license_assignments::table
                .filter(license_assignments::product_id.eq(product.0))
                .filter(license_assignments::user_id.eq_any(chunk))
                .select(license_assignments::user_id)
                .load::<i64>(conn)?,
        );
    }
    Ok(held)
}

/// Assigns the pool's product to `users`: all of them or none. Refused as a whole with
/// `NoLicensesLeft` when the pool has fewer available licenses than users who need one.
pub fn assign(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    pool: PoolRef,
    users: &[UserId],
) -> Result<Assigned, DomainError> {
    may_manage_pool(conn, actor, tenant, pool)?;
    if users.is_empty() {
        return Err(DomainError::invalid("users", "Select at least one user."));
    }
    super::db::transaction(conn, |conn| {
        lock(conn, tenant)?;
        assign_locked(conn, actor, now, tenant, pool, users)
    })
}

/// `assign` inside a transaction that already holds the tenant's license lock.
pub(crate) fn assign_locked(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    pool: PoolRef,
    users: &[UserId],
) -> Result<Assigned, DomainError> {
    let (product, product_name) = pool_product(conn, tenant, pool)?;
    let targets = tenant_users(conn, tenant, users)?;
    let held = holders_among(conn, product, users)?;
    let (licenses, assigned_before) = pool_counts(conn, tenant, pool)?;
    let available = (licenses - assigned_before).max(0);
    let (already, new): (Vec<_>, Vec<_>) =
        targets.into_iter().partition(|(u, _)| held.contains(&u.0));
    if new.len() as i64 > available {
        return Err(DomainError::NoLicensesLeft { available });
    }
    let self_service = match pool {
        PoolRef::SelfService(sub) => Some(sub.0),
        PoolRef::Tenant(_) => None,
    };
    let rows: Vec<_> = new
        .iter()
        .map(|(user, _)| {
            (
                license_assignments::tenant_id.eq(tenant.0),
                license_assignments::user_id.eq(user.0),
                license_assignments::product_id.eq(product.0),
                license_assignments::self_service_subscription_id.eq(self_service),
                license_assignments::assigned_at.eq(naive(now)),
            )
        })
        .collect();
    for chunk in rows.chunks(1000) {
        super::db::insert_batch!(conn, license_assignments::table, chunk)?;
    }
    adjust_count(conn, tenant, product, self_service, new.len() as i64)?;
    // A license given back brings back the data still held for it.
    let new_ids: Vec<i64> = new.iter().map(|(u, _)| u.0).collect();
    for chunk in new_ids.chunks(5000) {
        diesel::delete(
            data_holds::table
                .filter(data_holds::product_id.eq(product.0))
                .filter(data_holds::user_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    let mut count = assigned_before;
    let entries: Vec<(String, String)> = new
        .iter()
        .map(|(_, email)| {
            count += 1;
            (
                email.clone(),
                format!("{product_name}: {} of {licenses} assigned", count),
            )
        })
        .collect();
    audit::record_many(conn, actor, now, Some(tenant), "Assigned license", &entries)?;
    Ok(Assigned {
        assigned: new.into_iter().map(|(u, _)| u).collect(),
        already: already.into_iter().map(|(u, _)| u).collect(),
        available_after: available - (count - assigned_before),
    })
}

/// What an unassignment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unassigned {
    pub unassigned: Vec<UserId>,
    /// Until when the users' data for this product is kept; `None` when the product holds none.
    pub data_held_until: Option<DateTime<Utc>>,
}

/// Removes the pool's product from `users`, all or nothing. Their data for the product's
/// data-holding services is kept for 30 days (the seeds' rule), then deleted by `tick`.
pub fn unassign(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    pool: PoolRef,
    users: &[UserId],
) -> Result<Unassigned, DomainError> {
    may_manage_pool(conn, actor, tenant, pool)?;
    if users.is_empty() {
        return Err(DomainError::invalid("users", "Select at least one user."));
    }
    super::db::transaction(conn, |conn| {
        lock(conn, tenant)?;
        unassign_locked(conn, actor, now, tenant, pool, users)
    })
}

/// `unassign` inside a transaction that already holds the tenant's license lock. Every user
/// must hold the license from this pool.
pub(crate) fn unassign_locked(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    pool: PoolRef,
    users: &[UserId],
) -> Result<Unassigned, DomainError> {
    let (product, product_name) = pool_product(conn, tenant, pool)?;
    let targets = tenant_users(conn, tenant, users)?;
    let (licenses, assigned_before) = pool_counts(conn, tenant, pool)?;
    let ids: Vec<i64> = targets.iter().map(|(u, _)| u.0).collect();
    let mut removed = 0;
    for chunk in ids.chunks(5000) {
        let in_pool = license_assignments::table
            .filter(license_assignments::tenant_id.eq(tenant.0))
            .filter(license_assignments::product_id.eq(product.0))
            .filter(license_assignments::user_id.eq_any(chunk));
        removed += match pool {
            PoolRef::Tenant(_) => diesel::delete(
                in_pool.filter(license_assignments::self_service_subscription_id.is_null()),
            )
            .execute(conn)?,
            PoolRef::SelfService(sub) => diesel::delete(
                in_pool.filter(license_assignments::self_service_subscription_id.eq(sub.0)),
            )
            .execute(conn)?,
        };
    }
    let pool_key = match pool {
        PoolRef::SelfService(sub) => Some(sub.0),
        PoolRef::Tenant(_) => None,
    };
    adjust_count(conn, tenant, product, pool_key, -(removed as i64))?;
    if removed != ids.len() {
        // Rolls the transaction back: someone in the list did not hold this license.
        return Err(DomainError::Conflict(format!(
            "Some of the selected users don't have a {product_name} license any more. Reload the page and try again."
        )));
    }
    let held_until = hold_data(conn, now, tenant, product, &ids)?;
    let mut count = assigned_before;
    let entries: Vec<(String, String)> = targets
        .iter()
        .map(|(_, email)| {
            count -= 1;
            let hold = held_until
                .map(|d| format!("; data kept until {}", d.format("%Y-%m-%d")))
                .unwrap_or_default();
            (
                email.clone(),
                format!("{product_name}: {count} of {licenses} assigned{hold}"),
            )
        })
        .collect();
    audit::record_many(
        conn,
        actor,
        now,
        Some(tenant),
        "Unassigned license",
        &entries,
    )?;
    Ok(Unassigned {
        unassigned: targets.into_iter().map(|(u, _)| u).collect(),
        data_held_until: held_until,
    })
}

/// Starts the 30-day data hold for `users` and `product` when the product holds data.
fn hold_data(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    tenant: TenantId,
    product: ProductId,
    users: &[i64],
) -> Result<Option<DateTime<Utc>>, DomainError> {
    let holds_data: i64 = product_services::table
        .filter(product_services::product_id.eq(product.0))
        .filter(product_services::holds_data.eq(true))
        .count()
        .get_result(conn)?;
    if holds_data == 0 {
        return Ok(None);
    }
    let until = now + DATA_HOLD;
    for chunk in users.chunks(5000) {
        diesel::delete(
            data_holds::table
                .filter(data_holds::product_id.eq(product.0))
                .filter(data_holds::user_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    let rows: Vec<_> = users
        .iter()
        .map(|user| {
            (
                data_holds::tenant_id.eq(tenant.0),
                data_holds::user_id.eq(*user),
                data_holds::product_id.eq(product.0),
                data_holds::held_until.eq(naive(until)),
                data_holds::created_at.eq(naive(now)),
            )
        })
        .collect();
    for chunk in rows.chunks(1000) {
        super::db::insert_batch!(conn, data_holds::table, chunk)?;
    }
    Ok(Some(until))
}

/// Whether `actor` may assign and unassign in `pool`: admins with the right role in the
/// tenant's pools; in a self-service pool, only its buyer.
fn may_manage_pool(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    pool: PoolRef,
) -> Result<(), DomainError> {
    match (actor, pool) {
        (
            Actor::EndUser {
                user, tenant: own, ..
            },
            PoolRef::SelfService(sub),
        ) if *own == tenant => {
            let buyer: Option<Option<i64>> = subscriptions::table
                .filter(subscriptions::id.eq(sub.0))
                .filter(subscriptions::tenant_id.eq(tenant.0))
                .select(subscriptions::self_service_buyer_id)
                .first(conn)
                .optional()?;
            match buyer {
                Some(Some(buyer)) if buyer == user.0 => Ok(()),
                Some(_) => Err(DomainError::Forbidden),
                None => Err(DomainError::NotFound),
            }
        }
        _ => {
            authz::may(actor, Action::AssignLicenses, Some(tenant))?;
            refuse_self_service_for_admins(actor, pool)
        }
    }
}

/// An assigned user as the product's page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub user: UserId,
    pub display_name: String,
    pub email: String,
    pub assigned_at: DateTime<Utc>,
    /// Beyond the count: one of the latest assigned in a pool with more users than licenses.
    pub beyond: bool,
}

/// A product's page: the pool and one page of its assigned users.
#[derive(Debug, Clone)]
pub struct PoolDetail {
    pub summary: PoolSummary,
    pub holders: Vec<Holder>,
    /// The key to pass as `after` for the next page, when there is one.
    pub next: Option<(String, i64)>,
    pub data_holding_services: Vec<String>,
}

/// Assigned users per page on a product's page.
pub const HOLDERS_PAGE: i64 = 50;

/// The pool and its assigned users, by name, `HOLDERS_PAGE` at a time after `after`
/// (a display-name key and id), filtered by a name or sign-in name prefix.
pub fn pool_detail(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    pool: PoolRef,
    search: &str,
    after: Option<(String, i64)>,
) -> Result<PoolDetail, DomainError> {
    authz::may(actor, Action::ViewLicenses, Some(tenant))?;
    let (product, _) = pool_product(conn, tenant, pool)?;
    let summary = load_pools(conn, tenant)?
        .into_iter()
        .find(|p| p.pool() == pool)
        .ok_or(DomainError::NotFound)?;
    let beyond_ids = beyond_the_count(conn, tenant, pool, summary.beyond())?;

    let mut query = license_assignments::table
        .inner_join(users::table)
        .filter(license_assignments::tenant_id.eq(tenant.0))
        .filter(license_assignments::product_id.eq(product.0))
        .into_boxed();
    query = match pool {
        PoolRef::Tenant(_) => {
            query.filter(license_assignments::self_service_subscription_id.is_null())
        }
        PoolRef::SelfService(sub) => {
            query.filter(license_assignments::self_service_subscription_id.eq(sub.0))
        }
    };
    let search = search.trim().to_lowercase();
    if !search.is_empty() {
        let upper = format!("{search}\u{10ffff}");
        query = query.filter(
            users::name_key
                .ge(search.clone())
                .and(users::name_key.lt(upper.clone()))
                .or(users::email.ge(search.clone()).and(users::email.lt(upper))),
        );
    }
    if let Some((key, id)) = after {
        query = query.filter(
            users::name_key
                .gt(key.clone())
                .or(users::name_key.eq(key).and(users::id.gt(id))),
        );
    }
    let rows: Vec<(i64, String, String, String, chrono::NaiveDateTime)> = query
        .order((users::name_key, users::id))
        .limit(HOLDERS_PAGE + 1)
        .select((
            users::id,
            users::display_name,
            users::name_key,
            users::email,
            license_assignments::assigned_at,
        ))
        .load(conn)?;
    let next = (rows.len() as i64 > HOLDERS_PAGE)
        .then(|| {
            rows.get(HOLDERS_PAGE as usize - 1)
                .map(|r| (r.2.clone(), r.0))
        })
        .flatten();
    let holders = rows
        .into_iter()
        .take(HOLDERS_PAGE as usize)
        .map(|(id, display_name, _, email, at)| Holder {
            user: UserId(id),
            display_name,
            email,
            assigned_at: utc(at),
            beyond: beyond_ids.contains(&id),
        })
        .collect();
    let data_holding_services = product_services::table
        .filter(product_services::product_id.eq(product.0))
        .filter(product_services::holds_data.eq(true))
        .order(product_services::name)
        .select(product_services::name)
        .load(conn)?;
    Ok(PoolDetail {
        summary,
        holders,
        next,
        data_holding_services,
    })
}

/// The users beyond the count in a pool: the latest `beyond` assigned.
pub(crate) fn beyond_the_count(
    conn: &mut DbConnection,
    tenant: TenantId,
    pool: PoolRef,
    beyond: i64,
) -> Result<BTreeSet<i64>, DomainError> {
    if beyond <= 0 {
        return Ok(BTreeSet::new());
    }
    let mut query = license_assignments::table
        .filter(license_assignments::tenant_id.eq(tenant.0))
        .into_boxed();
    query = match pool {
        PoolRef::Tenant(product) => query
            .filter(license_assignments::product_id.eq(product.0))
            .filter(license_assignments::self_service_subscription_id.is_null()),
        PoolRef::SelfService(sub) => {
            query.filter(license_assignments::self_service_subscription_id.eq(sub.0))
        }
    };
    Ok(query
        .order((
            license_assignments::assigned_at.desc(),
            license_assignments::id.desc(),
        ))
        .limit(beyond)
        .select(license_assignments::user_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect())
}

/// A product a user holds, and whether the service admits them with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldLicense {
    pub product: ProductId,
    pub product_name: String,
    pub pool: PoolRef,
    pub assigned_at: DateTime<Utc>,
    /// False when the user is beyond the count of a pool in conflict.
    pub usable: bool,
}

/// The licenses `user` holds, each with whether it admits them to the service now.
pub(crate) fn held_by(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<HeldLicense>, DomainError> {
    let rows: Vec<(i64, String, Option<i64>, chrono::NaiveDateTime)> = license_assignments::table
        .inner_join(products::table)
        .filter(license_assignments::user_id.eq(user.0))
        .filter(license_assignments::tenant_id.eq(tenant.0))
        .order(products::name)
        .select((
            products::id,
            products::name,
            license_assignments::self_service_subscription_id,
            license_assignments::assigned_at,
        ))
        .load(conn)?;
    let mut held = Vec::with_capacity(rows.len());
    for (product, name, self_service, at) in rows {
        let pool = match self_service {
            Some(sub) => PoolRef::SelfService(SubscriptionId(sub)),
            None => PoolRef::Tenant(ProductId(product)),
        };
        let (licenses, assigned) = pool_counts(conn, tenant, pool)?;
        let usable = assigned <= licenses
            || !beyond_the_count(conn, tenant, pool, assigned - licenses)?.contains(&user.0);
        held.push(HeldLicense {
            product: ProductId(product),
            product_name: name,
            pool,
            assigned_at: utc(at),
            usable,
        });
    }
    Ok(held)
}

/// Deletes the data whose 30-day hold has run out. Run by `tick`; idempotent.
pub fn purge_held_data(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<usize, DomainError> {
    let due: Vec<(i64, i64, String, String)> = data_holds::table
        .inner_join(users::table)
        .inner_join(products::table)
        .filter(data_holds::held_until.le(naive(now)))
        .select((
            data_holds::id,
            data_holds::tenant_id,
            users::email,
            products::name,
        ))
        .load(conn)?;
    let actor = Actor::System("scheduled purge");
    for (id, tenant, email, product) in &due {
        diesel::delete(data_holds::table.find(id)).execute(conn)?;
        audit::record(
            conn,
            &actor,
            now,
            Some(TenantId(*tenant)),
            "Deleted held data",
            email,
            product,
        )?;
    }
    Ok(due.len())
}

impl HeldLicense {
    /// Held from a self-service purchase, which only its buyer manages.
    pub fn from_self_service(&self) -> bool {
        matches!(self.pool, PoolRef::SelfService(_))
    }
}
