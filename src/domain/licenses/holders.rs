//! A product's page: the users a pool is assigned to, and who is beyond the count.

use super::*;
use crate::domain::users::UserSort;

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
    pub offer: PoolOffer,
    /// How many holders the search finds (all of them without one): the list's total.
    pub matches: i64,
}

/// What a product's page may offer the actor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolOffer {
    /// Assign licenses and Unassign licenses.
    pub assign: bool,
    /// Take over a self-service purchase.
    pub take_over: bool,
}

/// Assigned users per page on a product's page.
pub const HOLDERS_PAGE: i64 = 50;

/// A holder as read for a page: id, display name, its key, sign-in name, assigned at.
type HolderRow = (i64, String, String, String, chrono::NaiveDateTime);
/// The columns of a `HolderRow`, as the user's row has them. The page is ordered by the
/// assignment's copies of the keys (kept equal by triggers), which the pool's indexes hold.
const HOLDER_COLUMNS: (
    users::id,
    users::display_name,
    users::name_key,
    users::email,
    license_assignments::assigned_at,
) = (
    users::id,
    users::display_name,
    users::name_key,
    users::email,
    license_assignments::assigned_at,
);

/// `query` after the key `(key, id)` in `sort`'s order (the id breaks ties), with the bound on
/// the key alone that lets an index seek to it (see `users::after_key`).
macro_rules! after_key {
    ($query:expr, $sort:expr, $key:expr, $id:expr) => {{
        use license_assignments::{user_email as email, user_id as id_, user_name_key as name};
        let (key, id) = ($key, $id);
        match $sort {
            UserSort::Name => $query
                .filter(name.ge(key.clone()))
                .filter(name.gt(key.clone()).or(name.eq(key).and(id_.gt(id)))),
            UserSort::NameDesc => $query
                .filter(name.le(key.clone()))
                .filter(name.lt(key.clone()).or(name.eq(key).and(id_.lt(id)))),
            UserSort::Email => $query
                .filter(email.ge(key.clone()))
                .filter(email.gt(key.clone()).or(email.eq(key).and(id_.gt(id)))),
            UserSort::EmailDesc => $query
                .filter(email.le(key.clone()))
                .filter(email.lt(key.clone()).or(email.eq(key).and(id_.lt(id)))),
        }
    }};
}

/// `query` in `sort`'s order: the order of the pool's indexes (`license_assignments_by_name`,
/// `license_assignments_by_email`), so a page of a pool of any size reads a page of rows.
macro_rules! order_by {
    ($query:expr, $sort:expr) => {{
        use license_assignments::{user_email as email, user_id as id_, user_name_key as name};
        match $sort {
            UserSort::Name => $query.order((name.asc(), id_.asc())),
            UserSort::NameDesc => $query.order((name.desc(), id_.desc())),
            UserSort::Email => $query.order((email.asc(), id_.asc())),
            UserSort::EmailDesc => $query.order((email.desc(), id_.desc())),
        }
    }};
}

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
    pool_detail_sorted(conn, actor, tenant, pool, search, UserSort::Name, after)
}

/// [`pool_detail`] in the order asked: by display name or sign-in name, either way round,
/// paged by key in that order. `after` is the last row's key in the sorted column (its
/// lowercased display name, or its sign-in name) and its id, which breaks ties.
pub fn pool_detail_sorted(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    pool: PoolRef,
    search: &str,
    sort: UserSort,
    after: Option<(String, i64)>,
) -> Result<PoolDetail, DomainError> {
    authz::may(actor, Action::ViewLicenses, &authz::Target::Tenant(tenant))?;
    let search = crate::domain::text::search("q", search)?;
    let after = after
        .map(|(key, id)| {
            Ok::<_, DomainError>((crate::domain::text::search("after_key", &key)?, id))
        })
        .transpose()?;
    let (product, _) = pool_product(conn, tenant, pool)?;
    let offer = PoolOffer {
        assign: authz::can(
            actor,
            Action::AssignLicenses,
            &pool_target(conn, tenant, pool)?,
        ),
        take_over: matches!(pool, PoolRef::SelfService(_))
            && authz::can(actor, Action::ManageBilling, &Target::Tenant(tenant)),
    };
    let summary = load_pools(conn, tenant)?
        .into_iter()
        .find(|p| p.pool() == pool)
        .ok_or(DomainError::NotFound)?;
    let beyond_ids = beyond_the_count(conn, tenant, pool, summary.beyond())?;

    let plan = crate::domain::users::matching::plan(conn, &search.to_lowercase())?;
    let holding = || {
        let query = license_assignments::table
            .inner_join(users::table)
            .filter(license_assignments::tenant_id.eq(tenant.0))
            .filter(license_assignments::product_id.eq(product.0))
            .into_boxed();
        let query = match pool {
            PoolRef::Tenant(_) => {
                query.filter(license_assignments::self_service_subscription_id.is_null())
            }
            PoolRef::SelfService(sub) => {
                query.filter(license_assignments::self_service_subscription_id.eq(sub.0))
            }
        };
        // The same search as Active users (a word anywhere; a prefix under three characters).
        use crate::domain::users::matching::Plan;
        match &plan {
            Plan::Everyone => query,
            Plan::Prefix(prefix) => {
                let upper = format!("{prefix}\u{10ffff}");
                query.filter(
                    users::name_key
                        .ge(prefix.clone())
                        .and(users::name_key.lt(upper.clone()))
                        .or(users::email.ge(prefix.clone()).and(users::email.lt(upper))),
                )
            }
            Plan::Few(ids) => query.filter(users::id.eq_any(ids.clone())),
            Plan::Walk(pattern) => query.filter(
                users::name_key
                    .like(pattern.clone())
                    .escape('\\')
                    .or(users::email.like(pattern.clone()).escape('\\')),
            ),
        }
    };
    // The total: the pool's kept count, or the matches of the search.
    let matches = match plan {
        crate::domain::users::matching::Plan::Everyone => summary.assigned,
        _ => holding().count().get_result(conn)?,
    };
    let mut query = holding();
    if let Some((key, id)) = after {
        query = after_key!(query, sort, key, id);
    }
    let rows: Vec<HolderRow> = order_by!(query, sort)
        .limit(HOLDERS_PAGE + 1)
        .select(HOLDER_COLUMNS)
        .load(conn)?;
    let next = (rows.len() as i64 > HOLDERS_PAGE)
        .then(|| {
            rows.get(HOLDERS_PAGE as usize - 1).map(|r| {
                let key = if sort.by_email() { &r.3 } else { &r.2 };
                (key.clone(), r.0)
            })
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
        offer,
        matches,
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
