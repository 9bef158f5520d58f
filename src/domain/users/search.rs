//! Active users: search, filters, sort and keyset pages.

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

/// One page of the tenant's users (not deleted), filtered by a prefix of the name or the
/// sign-in name, in keyset order so that every page costs the same at any depth.
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
    let rows = if search.is_empty() {
        ordered(conn, visible(tenant, filter), sort, after, size)?
    } else {
        // A prefix of the name or of the sign-in name. The page is ordered by one of them;
        // an OR of both ranges would walk the whole tenant in that order. So each range is
        // read from its own index: the ordered one a page at a time, the other whole when it
        // is small (it almost always is), and the two merge here.
        let upper = format!("{search}\u{10ffff}");
        let by_name = || {
            users::name_key
                .ge(search.clone())
                .and(users::name_key.lt(upper.clone()))
        };
        let by_email = || {
            users::email
                .ge(search.clone())
                .and(users::email.lt(upper.clone()))
        };
        let (primary, secondary) = match sort {
            UserSort::Name => (
                visible(tenant, filter).filter(by_name()),
                visible(tenant, filter).filter(by_email()),
            ),
            UserSort::Email => (
                visible(tenant, filter).filter(by_email()),
                visible(tenant, filter).filter(by_name()),
            ),
        };
        let others: Vec<ListedUser> = after_key(secondary, sort, after.clone())
            .limit(MERGE_LIMIT + 1)
            .select(ListedUser::as_select())
            .load(conn)?;
        if others.len() as i64 <= MERGE_LIMIT {
            let mut rows = ordered(conn, primary, sort, after, size)?;
            let seen: BTreeSet<i64> = rows.iter().map(|r| r.id).collect();
            rows.extend(others.into_iter().filter(|r| !seen.contains(&r.id)));
            rows.sort_by(|a, b| (sort_key(sort, a), a.id).cmp(&(sort_key(sort, b), b.id)));
            rows.truncate(size as usize + 1);
            rows
        } else {
            // Many sign-in names match: walking the order finds a page of them quickly.
            let either = visible(tenant, filter).filter(by_name().or(by_email()));
            ordered(conn, either, sort, after, size)?
        }
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
    let holds_any =
        exists(license_assignments::table.filter(license_assignments::user_id.eq(users::id)));
    match filter {
        UserFilter::All => query,
        UserFilter::Licensed => query.filter(holds_any),
        UserFilter::Unlicensed => query.filter(diesel::dsl::not(holds_any)),
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

/// Only the users after `after` in the sort order (keyset paging).
pub(crate) fn after_key(
    query: UserQuery,
    sort: UserSort,
    after: Option<(String, i64)>,
) -> UserQuery {
    let Some((key, id)) = after else {
        return query;
    };
    match sort {
        UserSort::Name => query.filter(
            users::name_key
                .gt(key.clone())
                .or(users::name_key.eq(key).and(users::id.gt(id))),
        ),
        UserSort::Email => query.filter(
            users::email
                .gt(key.clone())
                .or(users::email.eq(key).and(users::id.gt(id))),
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
    let query = match sort {
        UserSort::Name => query.order((users::name_key, users::id)),
        UserSort::Email => query.order((users::email, users::id)),
    };
    Ok(query
        .limit(size + 1)
        .select(ListedUser::as_select())
        .load(conn)?)
}

pub(crate) fn sort_key(sort: UserSort, row: &ListedUser) -> &str {
    match sort {
        UserSort::Name => &row.name_key,
        UserSort::Email => &row.email,
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
