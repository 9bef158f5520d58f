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
/// The columns of a `HolderRow`, for both ways a page is read.
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

/// Up to this many holders, a page of them is read by joining them to their users and sorting;
/// beyond it `walk_holders` walks the tenant's users in the page's order instead, as a sort of
/// every holder (100,000 at 1M users) took 200 ms (issue 17).
const JOIN_AT_MOST: i64 = 2000;

/// `query` after the key `(key, id)` in `sort`'s order (`users` columns; the id breaks ties),
/// with the bound on the key alone that lets an index seek to it (see `users::after_key`).
macro_rules! after_key {
    ($query:expr, $sort:expr, $key:expr, $id:expr) => {{
        let (key, id) = ($key, $id);
        match $sort {
            UserSort::Name => $query.filter(users::name_key.ge(key.clone())).filter(
                users::name_key
                    .gt(key.clone())
                    .or(users::name_key.eq(key).and(users::id.gt(id))),
            ),
            UserSort::NameDesc => $query.filter(users::name_key.le(key.clone())).filter(
                users::name_key
                    .lt(key.clone())
                    .or(users::name_key.eq(key).and(users::id.lt(id))),
            ),
            UserSort::Email => $query.filter(users::email.ge(key.clone())).filter(
                users::email
                    .gt(key.clone())
                    .or(users::email.eq(key).and(users::id.gt(id))),
            ),
            UserSort::EmailDesc => $query.filter(users::email.le(key.clone())).filter(
                users::email
                    .lt(key.clone())
                    .or(users::email.eq(key).and(users::id.lt(id))),
            ),
        }
    }};
}

/// `query` in `sort`'s order.
macro_rules! order_by {
    ($query:expr, $sort:expr) => {
        match $sort {
            UserSort::Name => $query.order((users::name_key.asc(), users::id.asc())),
            UserSort::NameDesc => $query.order((users::name_key.desc(), users::id.desc())),
            UserSort::Email => $query.order((users::email.asc(), users::id.asc())),
            UserSort::EmailDesc => $query.order((users::email.desc(), users::id.desc())),
        }
    };
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
    let everyone = matches!(plan, crate::domain::users::matching::Plan::Everyone);
    let rows: Vec<HolderRow> = if everyone && summary.assigned > JOIN_AT_MOST {
        walk_holders(conn, tenant, pool, product, sort, after)?
    } else {
        let mut query = holding();
        if let Some((key, id)) = after {
            query = after_key!(query, sort, key, id);
        }
        order_by!(query, sort)
            .limit(HOLDERS_PAGE + 1)
            .select(HOLDER_COLUMNS)
            .load(conn)?
    };
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

/// One page (and one row more) of a big pool's holders in `sort`'s order: the tenant's users
/// read in that order from its index, each looked up among the product's assignments by their
/// unique key (user, product), until a page is found. The assignments' tenant is left unsaid
/// (a user's assignments are their tenant's), so no index of them leads to the product and the
/// planner starts from the users; starting from the product's assignments would sort them all.
fn walk_holders(
    conn: &mut DbConnection,
    tenant: TenantId,
    pool: PoolRef,
    product: ProductId,
    sort: UserSort,
    after: Option<(String, i64)>,
) -> Result<Vec<HolderRow>, DomainError> {
    let mut query = users::table
        .inner_join(license_assignments::table.on(license_assignments::user_id.eq(users::id)))
        .filter(users::tenant_id.eq(tenant.0))
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
    if let Some((key, id)) = after {
        query = after_key!(query, sort, key, id);
    }
    Ok(order_by!(query, sort)
        .limit(HOLDERS_PAGE + 1)
        .select(HOLDER_COLUMNS)
        .load(conn)?)
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
