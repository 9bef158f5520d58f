//! The users of a tenant, as admins manage them: Active users, a user's page, Add a user,
//! Licenses and apps, Manage product licenses, block, delete, restore, reset password.

use chrono::{DateTime, Duration, Utc};
use diesel::dsl::exists;
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use super::accounts::{self, EmailAddress};
use super::licenses::{self, HeldLicense, PoolRef};
use super::schema::{
    data_holds, deleted_user_licenses, license_assignments, products, tenants, user_roles, users,
};
use super::{
    Action, Actor, DbConnection, DomainError, ProductId, Role, TenantId, UserId, audit, authz,
    naive, passwords, utc,
};

/// A deleted user can be restored this long; then `tick` purges them (DESIGN.md).
pub const RESTORE_WINDOW: Duration = Duration::days(30);
/// Rows per page of Active users.
pub const PAGE_SIZE: i64 = 50;

// ---------------------------------------------------------------- reading

/// A user's page: details, roles, licenses and data held.
#[derive(Debug, Clone)]
pub struct UserDetail {
    pub id: UserId,
    pub display_name: String,
    pub email: String,
    pub state: String,
    pub roles: Vec<Role>,
    pub licenses: Vec<HeldLicense>,
    /// Product names whose data is held after unassigning, and until when.
    pub data_held: Vec<(String, DateTime<Utc>)>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl UserDetail {
    pub fn holds(&self, product: &ProductId) -> bool {
        self.licenses.iter().any(|l| l.product == *product)
    }
}

/// One user of `tenant`. A user of another tenant is not found, so ids of other tenants
/// reveal nothing.
pub fn get(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    user: UserId,
) -> Result<UserDetail, DomainError> {
    authz::may(actor, Action::ViewUsers, Some(tenant))?;
    load_detail(conn, tenant, user)
}

/// Names and sign-in names of the chosen users, in the order given, for a confirmation page:
/// one query per thousand, so a bulk choice of 10,000 costs milliseconds. A user who is not
/// in the tenant is "not found".
pub fn names(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    ids: &[UserId],
) -> Result<Vec<(UserId, String, String)>, DomainError> {
    authz::may(actor, Action::ViewUsers, Some(tenant))?;
    let mut found: BTreeMap<i64, (String, String)> = BTreeMap::new();
    for chunk in ids.chunks(1000) {
        let keys: Vec<i64> = chunk.iter().map(|u| u.0).collect();
        for (id, name, email) in users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::purged_at.is_null())
            .filter(users::id.eq_any(&keys))
            .select((users::id, users::display_name, users::email))
            .load::<(i64, String, String)>(conn)?
        {
            found.insert(id, (name, email));
        }
    }
    ids.iter()
        .map(|id| {
            found
                .get(&id.0)
                .map(|(name, email)| (*id, name.clone(), email.clone()))
                .ok_or(DomainError::NotFound)
        })
        .collect()
}

fn load_detail(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<UserDetail, DomainError> {
    let (id, display_name, email, state, deleted_at): (
        i64,
        String,
        String,
        String,
        Option<chrono::NaiveDateTime>,
    ) = users::table
        .filter(users::id.eq(user.0))
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::purged_at.is_null())
        .select((
            users::id,
            users::display_name,
            users::email,
            users::state,
            users::deleted_at,
        ))
        .first(conn)?;
    let roles = roles_of(conn, user)?;
    let held = licenses::held_by(conn, tenant, user)?;
    let data_held = data_holds::table
        .inner_join(products::table)
        .filter(data_holds::user_id.eq(id))
        .order(products::name)
        .select((products::name, data_holds::held_until))
        .load::<(String, chrono::NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(name, until)| (name, utc(until)))
        .collect();
    Ok(UserDetail {
        id: UserId(id),
        display_name,
        email,
        state,
        roles,
        licenses: held,
        data_held,
        deleted_at: deleted_at.map(utc),
    })
}

fn roles_of(conn: &mut DbConnection, user: UserId) -> Result<Vec<Role>, DomainError> {
    let mut roles: Vec<Role> = user_roles::table
        .filter(user_roles::user_id.eq(user.0))
        .select(user_roles::role)
        .load::<String>(conn)?
        .iter()
        .filter_map(|r| r.parse().ok())
        .collect();
    roles.sort();
    Ok(roles)
}

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
    authz::may(actor, Action::ViewUsers, Some(tenant))?;
    let search = search.trim().to_lowercase();
    let rows = if search.is_empty() {
        ordered(conn, visible(tenant, filter), sort, after)?
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
        let others: Vec<ListRow> = after_key(secondary, sort, after.clone())
            .limit(MERGE_LIMIT + 1)
            .select(LIST_COLUMNS)
            .load(conn)?;
        if others.len() as i64 <= MERGE_LIMIT {
            let mut rows = ordered(conn, primary, sort, after)?;
            let seen: BTreeSet<i64> = rows.iter().map(|r| r.0).collect();
            rows.extend(others.into_iter().filter(|r| !seen.contains(&r.0)));
            rows.sort_by(|a, b| (sort_key(sort, a), a.0).cmp(&(sort_key(sort, b), b.0)));
            rows.truncate(PAGE_SIZE as usize + 1);
            rows
        } else {
            // Many sign-in names match: walking the order finds a page of them quickly.
            let either = visible(tenant, filter).filter(by_name().or(by_email()));
            ordered(conn, either, sort, after)?
        }
    };

    let next = if rows.len() as i64 > PAGE_SIZE {
        rows.get(PAGE_SIZE as usize - 1).map(|r| {
            let key = match sort {
                UserSort::Name => r.2.clone(),
                UserSort::Email => r.3.clone(),
            };
            (key, r.0)
        })
    } else {
        None
    };
    let rows: Vec<_> = rows.into_iter().take(PAGE_SIZE as usize).collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
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
            .map(|(id, display_name, _, email, state)| UserRow {
                id: UserId(id),
                display_name,
                email,
                blocked: state == "blocked",
                licenses: names.remove(&id).unwrap_or_default(),
            })
            .collect(),
        next,
    })
}

/// Users of Active users: (id, display name, name key, sign-in name, state).
type ListRow = (i64, String, String, String, String);
const LIST_COLUMNS: (
    users::id,
    users::display_name,
    users::name_key,
    users::email,
    users::state,
) = (
    users::id,
    users::display_name,
    users::name_key,
    users::email,
    users::state,
);
/// Matches of the second search key merged in memory at most; beyond, one ordered walk.
const MERGE_LIMIT: i64 = 1000;

type UserQuery = users::BoxedQuery<'static, <DbConnection as diesel::Connection>::Backend>;

/// The tenant's users that Active users shows under `filter`.
fn visible(tenant: TenantId, filter: UserFilter) -> UserQuery {
    let query = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.ne("deleted"))
        .into_boxed();
    let holds_any =
        exists(license_assignments::table.filter(license_assignments::user_id.eq(users::id)));
    match filter {
        UserFilter::All => query,
        UserFilter::Licensed => query.filter(holds_any),
        UserFilter::Unlicensed => query.filter(diesel::dsl::not(holds_any)),
        UserFilter::Blocked => query.filter(users::state.eq("blocked")),
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
    }
}

/// Only the users after `after` in the sort order (keyset paging).
fn after_key(query: UserQuery, sort: UserSort, after: Option<(String, i64)>) -> UserQuery {
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

/// A page (and one row more, to know whether another follows) in the sort order.
fn ordered(
    conn: &mut DbConnection,
    query: UserQuery,
    sort: UserSort,
    after: Option<(String, i64)>,
) -> Result<Vec<ListRow>, DomainError> {
    let query = after_key(query, sort, after);
    let query = match sort {
        UserSort::Name => query.order((users::name_key, users::id)),
        UserSort::Email => query.order((users::email, users::id)),
    };
    Ok(query.limit(PAGE_SIZE + 1).select(LIST_COLUMNS).load(conn)?)
}

fn sort_key(sort: UserSort, row: &ListRow) -> &str {
    match sort {
        UserSort::Name => &row.2,
        UserSort::Email => &row.3,
    }
}

/// The products a tenant can assign from its own pools (for check boxes), by name.
pub fn assignable_products(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<licenses::PoolSummary>, DomainError> {
    authz::may(actor, Action::ViewUsers, Some(tenant))?;
    licenses::load_pools(conn, tenant)
}

// ---------------------------------------------------------------- changing

/// Refuses changes to an account the actor may not change: a User admin may not change a
/// Global admin (DESIGN.md).
pub fn may_change(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    user: UserId,
) -> Result<(), DomainError> {
    authz::may(actor, Action::ManageUsers, Some(tenant))?;
    let target_is_global = roles_of(conn, user)?.contains(&Role::Global);
    let actor_is_global = matches!(actor, Actor::Admin { roles, .. } if roles.contains(&Role::Global))
        || matches!(actor, Actor::System(_));
    if target_is_global && !actor_is_global {
        return Err(DomainError::Refused(
            "Only a Global admin can change another Global admin.".into(),
        ));
    }
    Ok(())
}

/// Whether `actor` may block, delete or reset the password of `user` (for what a page offers).
pub fn can_change(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    user: UserId,
) -> Result<bool, DomainError> {
    match may_change(conn, actor, tenant, user) {
        Ok(()) => Ok(!matches!(actor, Actor::Admin { user: me, .. } if *me == user)),
        Err(DomainError::Forbidden | DomainError::Refused(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

fn not_self(actor: &Actor, user: UserId, what: &str) -> Result<(), DomainError> {
    if matches!(actor, Actor::Admin { user: me, .. } if *me == user) {
        return Err(DomainError::Conflict(format!(
            "You can't {what} your own account."
        )));
    }
    Ok(())
}

fn user_email(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
    deleted: bool,
) -> Result<String, DomainError> {
    let mut query = users::table
        .filter(users::id.eq(user.0))
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::purged_at.is_null())
        .into_boxed();
    query = if deleted {
        query.filter(users::state.eq("deleted"))
    } else {
        query.filter(users::state.ne("deleted"))
    };
    Ok(query.select(users::email).first(conn)?)
}

/// A new user's details, as the Add a user form gives them.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub display_name: String,
    pub email: String,
    /// `None`: generate one, to be shown once.
    pub password: Option<String>,
    pub products: Vec<ProductId>,
}

/// What `create` made.
#[derive(Debug, Clone)]
pub struct Created {
    pub user: UserId,
    pub email: String,
    /// The generated password, shown once; `None` when the admin typed one.
    pub generated_password: Option<String>,
}

/// Add a user, with licenses from the tenant's pools: all in one transaction, so a pool with no
/// license left refuses the whole thing.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    new: &NewUser,
) -> Result<Created, DomainError> {
    authz::may(actor, Action::ManageUsers, Some(tenant))?;
    if !new.products.is_empty() {
        authz::may(actor, Action::AssignLicenses, Some(tenant))?;
    }
    let email = EmailAddress::parse(&new.email)?;
    let tenant_domain: String = tenants::table
        .find(tenant.0)
        .select(tenants::domain)
        .first(conn)?;
    if email.domain() != tenant_domain {
        return Err(DomainError::invalid(
            "email",
            format!("The sign-in name must end with @{tenant_domain}."),
        ));
    }
    let (password, generated) = match &new.password {
        Some(p) => (p.clone(), None),
        None => {
            let p = passwords::generate();
            (p.clone(), Some(p))
        }
    };
    let hash = passwords::hash_new(&password)?;
    super::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let user = accounts::insert_user(conn, now, tenant, &new.display_name, &email, &hash)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Added user",
            email.as_str(),
            new.display_name.trim(),
        )?;
        for product in &new.products {
            licenses::assign_locked(conn, actor, now, tenant, PoolRef::Tenant(*product), &[user])
                .map_err(|e| name_pool_error(conn, *product, e))?;
        }
        Ok(Created {
            user,
            email: email.as_str().to_owned(),
            generated_password: generated.clone(),
        })
    })
}

/// Says which product ran out, for forms that assign several at once.
fn name_pool_error(conn: &mut DbConnection, product: ProductId, e: DomainError) -> DomainError {
    match e {
        DomainError::NoLicensesLeft { available } => {
            let name: String = products::table
                .find(product.0)
                .select(products::name)
                .first(conn)
                .unwrap_or_else(|_| "this product".into());
            DomainError::Conflict(format!(
                "There are not enough {name} licenses: {available} available. {}",
                MORE_LICENSES
            ))
        }
        other => other,
    }
}

/// The seeds' ways to get licenses when they run out.
pub const MORE_LICENSES: &str = "To get more, buy more licenses, remove licenses from other users, or delete users who no longer need them.";

/// Licenses and apps: gives `user` exactly `products` among the tenant's pools (self-service
/// licenses are left alone). One transaction: all changes or none.
pub fn set_licenses(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
    products: &[ProductId],
) -> Result<(usize, usize), DomainError> {
    authz::may(actor, Action::AssignLicenses, Some(tenant))?;
    super::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        user_email(conn, tenant, user, false)?;
        let held: BTreeSet<ProductId> = licenses::held_by(conn, tenant, user)?
            .into_iter()
            .filter(|l| matches!(l.pool, PoolRef::Tenant(_)))
            .map(|l| l.product)
            .collect();
        let wanted: BTreeSet<ProductId> = products.iter().copied().collect();
        let mut removed = 0;
        for product in held.difference(&wanted) {
            licenses::unassign_locked(
                conn,
                actor,
                now,
                tenant,
                PoolRef::Tenant(*product),
                &[user],
            )?;
            removed += 1;
        }
        let mut added = 0;
        for product in wanted.difference(&held) {
            licenses::assign_locked(conn, actor, now, tenant, PoolRef::Tenant(*product), &[user])
                .map_err(|e| name_pool_error(conn, *product, e))?;
            added += 1;
        }
        Ok((added, removed))
    })
}

/// Manage product licenses: what to do to several users at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManageMode {
    /// Add the chosen products; keep what they have.
    AssignMore,
    /// Give exactly the chosen products; remove the others.
    Replace,
    /// Remove every license from the tenant's pools.
    UnassignAll,
}

/// What happened to one user in Manage product licenses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManageOutcome {
    pub user: UserId,
    pub display_name: String,
    pub assigned: Vec<String>,
    pub unassigned: Vec<String>,
    /// Products the user did not get, with why.
    pub not_assigned: Vec<(String, String)>,
}

/// Manage product licenses on several users, in one transaction. A product with fewer
/// available licenses than users who need it is given to none of them, and each of those
/// users is told why; the rest goes ahead.
pub fn manage_licenses(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    users_chosen: &[UserId],
    mode: ManageMode,
    products_chosen: &[ProductId],
) -> Result<Vec<ManageOutcome>, DomainError> {
    authz::may(actor, Action::AssignLicenses, Some(tenant))?;
    if users_chosen.is_empty() {
        return Err(DomainError::invalid("users", "Select at least one user."));
    }
    if mode != ManageMode::UnassignAll && products_chosen.is_empty() {
        return Err(DomainError::invalid(
            "products",
            "Select at least one product.",
        ));
    }
    super::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let mut outcomes: BTreeMap<i64, ManageOutcome> = BTreeMap::new();
        let mut held: BTreeMap<i64, BTreeSet<ProductId>> = BTreeMap::new();
        for user in users_chosen {
            let detail = load_detail(conn, tenant, *user)?;
            if detail.state == "deleted" {
                return Err(DomainError::NotFound);
            }
            held.insert(
                user.0,
                detail
                    .licenses
                    .iter()
                    .filter(|l| matches!(l.pool, PoolRef::Tenant(_)))
                    .map(|l| l.product)
                    .collect(),
            );
            outcomes.insert(
                user.0,
                ManageOutcome {
                    user: *user,
                    display_name: detail.display_name,
                    assigned: vec![],
                    unassigned: vec![],
                    not_assigned: vec![],
                },
            );
        }
        let names: BTreeMap<i64, String> = products::table
            .select((products::id, products::name))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect();
        let chosen: BTreeSet<ProductId> = products_chosen.iter().copied().collect();

        // Removals first, so Replace can reuse freed licenses.
        let mut to_remove: BTreeMap<ProductId, Vec<UserId>> = BTreeMap::new();
        for (user, products) in &held {
            for product in products {
                let remove = match mode {
                    ManageMode::AssignMore => false,
                    ManageMode::Replace => !chosen.contains(product),
                    ManageMode::UnassignAll => true,
                };
                if remove {
                    to_remove.entry(*product).or_default().push(UserId(*user));
                }
            }
        }
        for (product, who) in &to_remove {
            licenses::unassign_locked(conn, actor, now, tenant, PoolRef::Tenant(*product), who)?;
            for user in who {
                if let Some(o) = outcomes.get_mut(&user.0) {
                    o.unassigned
                        .push(names.get(&product.0).cloned().unwrap_or_default());
                }
            }
        }
        if mode != ManageMode::UnassignAll {
            for product in &chosen {
                let name = names
                    .get(&product.0)
                    .cloned()
                    .ok_or(DomainError::NotFound)?;
                let who: Vec<UserId> = held
                    .iter()
                    .filter(|(_, p)| !p.contains(product))
                    .map(|(u, _)| UserId(*u))
                    .collect();
                if who.is_empty() {
                    continue;
                }
                match licenses::assign_locked(
                    conn,
                    actor,
                    now,
                    tenant,
                    PoolRef::Tenant(*product),
                    &who,
                ) {
                    Ok(done) => {
                        for user in done.assigned {
                            if let Some(o) = outcomes.get_mut(&user.0) {
                                o.assigned.push(name.clone());
                            }
                        }
                    }
                    Err(DomainError::NoLicensesLeft { available }) => {
                        let why = format!(
                            "not enough licenses: {available} available for {} users",
                            who.len()
                        );
                        for user in who {
                            if let Some(o) = outcomes.get_mut(&user.0) {
                                o.not_assigned.push((name.clone(), why.clone()));
                            }
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(users_chosen
            .iter()
            .filter_map(|u| outcomes.remove(&u.0))
            .collect())
    })
}

/// Block sign-in (or allow it again). A blocked user keeps their licenses but cannot sign in.
pub fn set_blocked(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
    blocked: bool,
) -> Result<(), DomainError> {
    may_change(conn, actor, tenant, user)?;
    if blocked {
        not_self(actor, user, "block")?;
    }
    super::db::transaction(conn, |conn| {
        let email = user_email(conn, tenant, user, false)?;
        diesel::update(users::table.find(user.0))
            .set(users::state.eq(if blocked { "blocked" } else { "active" }))
            .execute(conn)?;
        let action = if blocked {
            "Blocked sign-in"
        } else {
            "Allowed sign-in"
        };
        audit::record(conn, actor, now, Some(tenant), action, &email, "")
    })
}

/// Reset password: a new one, typed by the admin or generated (and shown once).
pub fn reset_password(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
    password: Option<&str>,
) -> Result<Option<String>, DomainError> {
    may_change(conn, actor, tenant, user)?;
    let (password, generated) = match password {
        Some(p) => (p.to_owned(), None),
        None => {
            let p = passwords::generate();
            (p.clone(), Some(p))
        }
    };
    let hash = passwords::hash_new(&password)?;
    super::db::transaction(conn, |conn| {
        let email = user_email(conn, tenant, user, false)?;
        diesel::update(users::table.find(user.0))
            .set(users::password_hash.eq(&hash))
            .execute(conn)?;
        audit::record(conn, actor, now, Some(tenant), "Reset password", &email, "")?;
        Ok(generated.clone())
    })
}

/// Delete user: their licenses are free at once (remembered for a restore), their held data
/// ends, and they can be restored for 30 days.
pub fn delete(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
) -> Result<(), DomainError> {
    may_change(conn, actor, tenant, user)?;
    not_self(actor, user, "delete")?;
    super::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let email = user_email(conn, tenant, user, false)?;
        let held: Vec<i64> = license_assignments::table
            .filter(license_assignments::user_id.eq(user.0))
            .filter(license_assignments::self_service_subscription_id.is_null())
            .select(license_assignments::product_id)
            .load(conn)?;
        for product in &held {
            diesel::insert_into(deleted_user_licenses::table)
                .values((
                    deleted_user_licenses::user_id.eq(user.0),
                    deleted_user_licenses::product_id.eq(product),
                ))
                .execute(conn)?;
        }
        let all_held: Vec<(i64, Option<i64>)> = license_assignments::table
            .filter(license_assignments::user_id.eq(user.0))
            .select((
                license_assignments::product_id,
                license_assignments::self_service_subscription_id,
            ))
            .load(conn)?;
        for (product, self_service) in &all_held {
            licenses::adjust_count(conn, tenant, ProductId(*product), *self_service, -1)?;
        }
        let freed = diesel::delete(
            license_assignments::table.filter(license_assignments::user_id.eq(user.0)),
        )
        .execute(conn)?;
        diesel::delete(data_holds::table.filter(data_holds::user_id.eq(user.0))).execute(conn)?;
        diesel::delete(user_roles::table.filter(user_roles::user_id.eq(user.0))).execute(conn)?;
        diesel::update(users::table.find(user.0))
            .set((
                users::state.eq("deleted"),
                users::deleted_at.eq(Some(naive(now))),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Deleted user",
            &email,
            &format!("{freed} licenses freed"),
        )
    })
}

/// A deleted user, as Deleted users lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedUser {
    pub id: UserId,
    pub display_name: String,
    pub email: String,
    pub deleted_at: DateTime<Utc>,
    pub restorable_until: DateTime<Utc>,
}

/// Deleted users who can still be restored, most recently deleted first.
pub fn deleted(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<DeletedUser>, DomainError> {
    authz::may(actor, Action::ViewUsers, Some(tenant))?;
    Ok(users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.eq("deleted"))
        .filter(users::purged_at.is_null())
        .order((users::deleted_at.desc(), users::id.desc()))
        .limit(500)
        .select((
            users::id,
            users::display_name,
            users::email,
            users::deleted_at,
        ))
        .load::<(i64, String, String, Option<chrono::NaiveDateTime>)>(conn)?
        .into_iter()
        .filter_map(|(id, display_name, email, at)| {
            let at = utc(at?);
            Some(DeletedUser {
                id: UserId(id),
                display_name,
                email,
                deleted_at: at,
                restorable_until: at + RESTORE_WINDOW,
            })
        })
        .collect())
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub email: String,
    pub licenses_back: Vec<String>,
    /// Licenses the user had that could not be given back: no license left in the pool.
    pub licenses_not_back: Vec<String>,
}

/// Restore a deleted user within 30 days, giving back the licenses they had where the pool
/// still has one available.
pub fn restore(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
) -> Result<Restored, DomainError> {
    authz::may(actor, Action::ManageUsers, Some(tenant))?;
    super::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let email = user_email(conn, tenant, user, true)?;
        let deleted_at: Option<chrono::NaiveDateTime> = users::table
            .find(user.0)
            .select(users::deleted_at)
            .first(conn)?;
        if deleted_at.is_some_and(|at| utc(at) + RESTORE_WINDOW < now) {
            return Err(DomainError::Conflict(
                "This user was deleted more than 30 days ago and can't be restored.".into(),
            ));
        }
        diesel::update(users::table.find(user.0))
            .set((
                users::state.eq("active"),
                users::deleted_at.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(conn)?;
        let had: Vec<(i64, String)> = deleted_user_licenses::table
            .inner_join(products::table)
            .filter(deleted_user_licenses::user_id.eq(user.0))
            .order(products::name)
            .select((products::id, products::name))
            .load(conn)?;
        diesel::delete(
            deleted_user_licenses::table.filter(deleted_user_licenses::user_id.eq(user.0)),
        )
        .execute(conn)?;
        let mut restored = Restored {
            email: email.clone(),
            licenses_back: vec![],
            licenses_not_back: vec![],
        };
        for (product, name) in had {
            match licenses::assign_locked(
                conn,
                actor,
                now,
                tenant,
                PoolRef::Tenant(ProductId(product)),
                &[user],
            ) {
                Ok(_) => restored.licenses_back.push(name),
                Err(DomainError::NoLicensesLeft { .. } | DomainError::NotFound) => {
                    restored.licenses_not_back.push(name)
                }
                Err(e) => return Err(e),
            }
        }
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Restored user",
            &email,
            &format!(
                "licenses given back: {}; not available: {}",
                restored.licenses_back.len(),
                restored.licenses_not_back.len()
            ),
        )?;
        Ok(restored)
    })
}

/// Purges users deleted more than 30 days ago: their row stays for the records, anonymized,
/// and their sign-in name is free again. Run by `tick`; idempotent.
pub fn purge_deleted(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<usize, DomainError> {
    let due: Vec<(i64, i64, String)> = users::table
        .filter(users::state.eq("deleted"))
        .filter(users::purged_at.is_null())
        .filter(users::deleted_at.lt(naive(now - RESTORE_WINDOW)))
        .select((users::id, users::tenant_id, users::email))
        .load(conn)?;
    let actor = Actor::System("scheduled purge");
    for (id, tenant, email) in &due {
        diesel::delete(deleted_user_licenses::table.filter(deleted_user_licenses::user_id.eq(id)))
            .execute(conn)?;
        diesel::update(users::table.find(id))
            .set((
                users::purged_at.eq(Some(naive(now))),
                users::email.eq(format!("purged-{id}@purged.invalid")),
                users::display_name.eq("Purged user"),
                users::name_key.eq("purged user"),
                users::password_hash.eq(""),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            &actor,
            now,
            Some(TenantId(*tenant)),
            "Purged deleted user",
            email,
            "",
        )?;
    }
    Ok(due.len())
}

/// An admin of the tenant and the roles they hold (Settings > Roles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminHolder {
    pub id: UserId,
    pub display_name: String,
    pub email: String,
    pub roles: Vec<Role>,
}

/// The tenant's admins, by name. Global admins only: roles are theirs to give.
pub fn admins(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<AdminHolder>, DomainError> {
    authz::may(actor, Action::ManageRoles, Some(tenant))?;
    let rows: Vec<(i64, String, String, String)> = users::table
        .inner_join(user_roles::table)
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.ne("deleted"))
        .order((users::name_key, users::id))
        .select((
            users::id,
            users::display_name,
            users::email,
            user_roles::role,
        ))
        .load(conn)?;
    let mut holders: Vec<AdminHolder> = Vec::new();
    for (id, display_name, email, role) in rows {
        let Ok(role) = role.parse::<Role>() else {
            continue;
        };
        match holders.last_mut() {
            Some(last) if last.id.0 == id => last.roles.push(role),
            _ => holders.push(AdminHolder {
                id: UserId(id),
                display_name,
                email,
                roles: vec![role],
            }),
        }
    }
    for holder in &mut holders {
        holder.roles.sort();
    }
    Ok(holders)
}

/// One user in Export data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExportedUser {
    pub display_name: String,
    pub email: String,
    pub state: String,
    pub licenses: Vec<String>,
}

/// Export data: every user of the tenant (not deleted) and their licenses, for saving before
/// a cancellation. Global and Billing admins. The export is recorded, so billing support can
/// see whether a customer saved its data before a cancellation.
pub fn export(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
) -> Result<Vec<ExportedUser>, DomainError> {
    authz::may(actor, Action::ViewBilling, Some(tenant))?;
    super::db::transaction(conn, |conn| {
        diesel::update(tenants::table.find(tenant.0))
            .set(tenants::data_exported_at.eq(Some(naive(now))))
            .execute(conn)?;
        audit::record(conn, actor, now, Some(tenant), "Exported data", "", "")?;
        Ok(())
    })?;
    let people: Vec<(i64, String, String, String)> = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.ne("deleted"))
        .order((users::name_key, users::id))
        .select((users::id, users::display_name, users::email, users::state))
        .load(conn)?;
    let mut held: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (user, product) in license_assignments::table
        .inner_join(products::table)
        .filter(license_assignments::tenant_id.eq(tenant.0))
        .order(products::name)
        .select((license_assignments::user_id, products::name))
        .load::<(i64, String)>(conn)?
    {
        held.entry(user).or_default().push(product);
    }
    Ok(people
        .into_iter()
        .map(|(id, display_name, email, state)| ExportedUser {
            display_name,
            email,
            state,
            licenses: held.remove(&id).unwrap_or_default(),
        })
        .collect())
}
