//! Active users: search, filters, sort and keyset pages.

use super::matching::{Plan, narrow};
use super::*;

/// Which users Active users shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserFilter {
    #[default]
    All,
    Licensed,
    Unlicensed,
    Blocked,
    HasProduct(ProductId),
    /// Users who don't hold the product: the candidates for assigning it.
    LacksProduct(ProductId),
    /// The members of a group.
    InGroup(GroupId),
    /// Users not in the group: the candidates for Add members.
    NotInGroup(GroupId),
}

/// How Active users is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSort {
    #[default]
    Name,
    Email,
    NameDesc,
    EmailDesc,
}

impl UserSort {
    pub fn by_email(self) -> bool {
        matches!(self, UserSort::Email | UserSort::EmailDesc)
    }

    pub fn descending(self) -> bool {
        matches!(self, UserSort::NameDesc | UserSort::EmailDesc)
    }
}

/// One row of Active users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: UserId,
    pub display_name: String,
    pub email: String,
    pub blocked: bool,
    /// Product names, sorted.
    pub licenses: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct UserPage {
    pub rows: Vec<UserRow>,
    /// Pass as `after` for the next page.
    pub next: Option<(String, i64)>,
}

/// One page of the tenant's users (not deleted) that `search` finds (see `matching`), in
/// keyset order so that every page costs the same at any depth.
pub fn list(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    search: &str,
    filter: UserFilter,
    sort: UserSort,
    after: Option<(String, i64)>,
) -> Result<UserPage, DomainError> {
    list_sized(conn, actor, tenant, search, filter, sort, after, PAGE_SIZE)
}

/// Pages of Export users, bigger than the page's: the same users, in the same order.
pub const EXPORT_PAGE_SIZE: i64 = 1000;

/// `list` with pages of `size` users (1 to `EXPORT_PAGE_SIZE`).
#[allow(clippy::too_many_arguments)]
pub fn list_sized(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    search: &str,
    filter: UserFilter,
    sort: UserSort,
    after: Option<(String, i64)>,
    size: i64,
) -> Result<UserPage, DomainError> {
    let size = size.clamp(1, EXPORT_PAGE_SIZE);
    authz::may(actor, Action::ViewUsers, &authz::Target::Tenant(tenant))?;
    let search = crate::domain::text::search("q", search)?.to_lowercase();
    let after = after
        .map(|(key, id)| {
            Ok::<_, DomainError>((crate::domain::text::search("after_key", &key)?, id))
        })
        .transpose()?;
    let mut plan = super::matching::plan(conn, &search)?;
    // A filter that few users pass is read by its own index, with the search (if any) on
    // them: a walk in name order for a page of them would read the whole tenant.
    let mut searched = None;
    if !matches!(plan, Plan::Few(_))
        && let Some(rare) = super::matching::rare(conn, tenant, filter)?
    {
        searched = Some(std::mem::replace(&mut plan, rare));
    }
    let rows = match &plan {
        Plan::Everyone | Plan::Walk(_) => ordered(
            conn,
            narrow(visible(tenant, filter), &plan),
            sort,
            after,
            size,
        )?,
        // At most FEW users, fetched by id and ordered and paged here.
        Plan::Few(_) => {
            let mut rows = few(conn, tenant, filter, &plan, searched.as_ref())?;
            in_order(sort, &mut rows);
            if let Some((key, id)) = &after {
                let past = |r: &ListedUser| {
                    let at = (sort_key(sort, r), r.id);
                    if sort.descending() {
                        at < (key.as_str(), *id)
                    } else {
                        at > (key.as_str(), *id)
                    }
                };
                rows.retain(past);
            }
            rows.truncate(size as usize + 1);
            rows
        }
        Plan::Prefix(prefix) => prefix_page(conn, tenant, filter, prefix, sort, after, size)?,
    };

    let next = if rows.len() as i64 > size {
        rows.get(size as usize - 1)
            .map(|r| (sort_key(sort, r).to_owned(), r.id))
    } else {
        None
    };
    let rows: Vec<_> = rows.into_iter().take(size as usize).collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut names: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (user, product) in license_assignments::table
        .inner_join(products::table)
        .filter(license_assignments::user_id.eq_any(&ids))
        .order(products::name)
        .select((license_assignments::user_id, products::name))
        .load::<(i64, String)>(conn)?
    {
        names.entry(user).or_default().push(product);
    }
    Ok(UserPage {
        rows: rows
            .into_iter()
            .map(|r| UserRow {
                id: UserId(r.id),
                licenses: names.remove(&r.id).unwrap_or_default(),
                display_name: r.display_name,
                email: r.email,
                blocked: r.state.is_blocked(),
            })
            .collect(),
        next,
    })
}

/// A page of users whose name or sign-in name starts with `prefix` (a term too short for
/// trigrams). The page is ordered by one of them; an OR of both ranges would walk the whole
/// tenant in that order. So each range is read from its own index: the ordered one a page at
/// a time, the other whole when it is small (it almost always is), and the two merge here.
fn prefix_page(
    conn: &mut DbConnection,
    tenant: TenantId,
    filter: UserFilter,
    prefix: &str,
    sort: UserSort,
    after: Option<(String, i64)>,
    size: i64,
) -> Result<Vec<ListedUser>, DomainError> {
    let upper = format!("{prefix}\u{10ffff}");
    let by_name = || {
        users::name_key
            .ge(prefix.to_owned())
            .and(users::name_key.lt(upper.clone()))
    };
    let by_email = || {
        users::email
            .ge(prefix.to_owned())
            .and(users::email.lt(upper.clone()))
    };
    let (primary, secondary) = if sort.by_email() {
        (
            visible(tenant, filter).filter(by_email()),
            visible(tenant, filter).filter(by_name()),
        )
    } else {
        (
            visible(tenant, filter).filter(by_name()),
            visible(tenant, filter).filter(by_email()),
        )
    };
    let others: Vec<ListedUser> = after_key(secondary, sort, after.clone())
        .limit(MERGE_LIMIT + 1)
        .select(ListedUser::as_select())
        .load(conn)?;
    Ok(if others.len() as i64 <= MERGE_LIMIT {
        let mut rows = ordered(conn, primary, sort, after, size)?;
        let seen: BTreeSet<i64> = rows.iter().map(|r| r.id).collect();
        rows.extend(others.into_iter().filter(|r| !seen.contains(&r.id)));
        in_order(sort, &mut rows);
        rows.truncate(size as usize + 1);
        rows
    } else {
        // Many sign-in names match: walking the order finds a page of them quickly.
        let either = visible(tenant, filter).filter(by_name().or(by_email()));
        ordered(conn, either, sort, after, size)?
    })
}

/// The few users the trigram index or a rare filter found, of the tenant and the filter, and
/// those of them the `searched` term finds (any order). Neither
/// ordered nor keyed in SQL: with an ORDER BY, a key range or a bare count, SQLite prefers to
/// walk the tenant's index over reading these ids; with the whole row selected and nothing
/// else, it reads each by id.
pub(crate) fn few(
    conn: &mut DbConnection,
    tenant: TenantId,
    filter: UserFilter,
    plan: &Plan,
    searched: Option<&Plan>,
) -> Result<Vec<ListedUser>, DomainError> {
    let query = narrow(visible(tenant, filter), plan);
    let query = match searched {
        Some(search) => narrow(query, search),
        None => query,
    };
    Ok(query.select(ListedUser::as_select()).load(conn)?)
}

/// `rows` in the list's order, as the database would have sorted them.
fn in_order(sort: UserSort, rows: &mut [ListedUser]) {
    rows.sort_by(|a, b| (sort_key(sort, a), a.id).cmp(&(sort_key(sort, b), b.id)));
    if sort.descending() {
        rows.reverse();
    }
}

/// A user of Active users as the query selects it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct ListedUser {
    pub id: i64,
    pub display_name: String,
    pub name_key: String,
    pub email: String,
    pub state: UserState,
}
/// Matches of the second search key merged in memory at most; beyond, one ordered walk.
pub(crate) const MERGE_LIMIT: i64 = 1000;

pub(crate) type UserQuery =
    users::BoxedQuery<'static, <DbConnection as diesel::Connection>::Backend>;

/// The tenant's users that Active users shows under `filter`.
pub(crate) fn visible(tenant: TenantId, filter: UserFilter) -> UserQuery {
    let query = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.ne(UserState::Deleted))
        .into_boxed();
    match filter {
        UserFilter::All => query,
        // Kept by triggers on license_assignments: whether the user holds any license.
        UserFilter::Licensed => query.filter(users::licensed),
        UserFilter::Unlicensed => query.filter(diesel::dsl::not(users::licensed)),
        UserFilter::Blocked => query.filter(users::state.eq(UserState::Blocked)),
        UserFilter::HasProduct(product) => query.filter(exists(
            license_assignments::table
                .filter(license_assignments::user_id.eq(users::id))
                .filter(license_assignments::product_id.eq(product.0)),
        )),
        UserFilter::LacksProduct(product) => query.filter(diesel::dsl::not(exists(
            license_assignments::table
                .filter(license_assignments::user_id.eq(users::id))
                .filter(license_assignments::product_id.eq(product.0)),
        ))),
        UserFilter::InGroup(group) => query.filter(exists(
            group_members::table
                .filter(group_members::user_id.eq(users::id))
                .filter(group_members::group_id.eq(group.0)),
        )),
        UserFilter::NotInGroup(group) => query.filter(diesel::dsl::not(exists(
            group_members::table
                .filter(group_members::user_id.eq(users::id))
                .filter(group_members::group_id.eq(group.0)),
        ))),
    }
}

/// Only the users after `after` in the sort order (keyset paging), either way round. The bound
/// on the sort key alone, besides the exact condition, is what lets PostgreSQL's index seek to
/// the key: it doesn't derive one from the OR, and read the tenant from its start on every page
/// (a million users' export took many minutes).
pub(crate) fn after_key(
    query: UserQuery,
    sort: UserSort,
    after: Option<(String, i64)>,
) -> UserQuery {
    let Some((key, id)) = after else {
        return query;
    };
    match sort {
        UserSort::Name => query.filter(users::name_key.ge(key.clone())).filter(
            users::name_key
                .gt(key.clone())
                .or(users::name_key.eq(key).and(users::id.gt(id))),
        ),
        UserSort::NameDesc => query.filter(users::name_key.le(key.clone())).filter(
            users::name_key
                .lt(key.clone())
                .or(users::name_key.eq(key).and(users::id.lt(id))),
        ),
        UserSort::Email => query.filter(users::email.ge(key.clone())).filter(
            users::email
                .gt(key.clone())
                .or(users::email.eq(key).and(users::id.gt(id))),
        ),
        UserSort::EmailDesc => query.filter(users::email.le(key.clone())).filter(
            users::email
                .lt(key.clone())
                .or(users::email.eq(key).and(users::id.lt(id))),
        ),
    }
}

/// A page of `size` (and one row more, to know whether another follows) in the sort order.
pub(crate) fn ordered(
    conn: &mut DbConnection,
    query: UserQuery,
    sort: UserSort,
    after: Option<(String, i64)>,
    size: i64,
) -> Result<Vec<ListedUser>, DomainError> {
    let query = after_key(query, sort, after);
    // The same index read backwards for the descending orders.
    let query = match sort {
        UserSort::Name => query.order((users::name_key, users::id)),
        UserSort::NameDesc => query.order((users::name_key.desc(), users::id.desc())),
        UserSort::Email => query.order((users::email, users::id)),
        UserSort::EmailDesc => query.order((users::email.desc(), users::id.desc())),
    };
    Ok(query
        .limit(size + 1)
        .select(ListedUser::as_select())
        .load(conn)?)
}

pub(crate) fn sort_key(sort: UserSort, row: &ListedUser) -> &str {
    if sort.by_email() {
        &row.email
    } else {
        &row.name_key
    }
}

/// The products a tenant can assign from its own pools (for check boxes), by name.
pub fn assignable_products(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<licenses::PoolSummary>, DomainError> {
    authz::may(actor, Action::ViewUsers, &authz::Target::Tenant(tenant))?;
    licenses::load_pools(conn, tenant)
}
