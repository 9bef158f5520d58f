//! The users of a tenant, as admins manage them: a user's page, the admins and their roles,
//! the export; Active users in `search`, Add a user, block, delete and restore in `lifecycle`,
//! Add multiple users (a CSV import) in `import`.

mod bulk;
mod directory;
pub mod import;
mod lifecycle;
pub(crate) mod matching;
mod roles;
mod search;

pub use bulk::*;
pub use directory::*;
pub use lifecycle::*;
pub use matching::{count, matching};
pub use roles::*;
pub use search::*;

use chrono::{DateTime, Duration, Utc};
use diesel::dsl::exists;
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use super::accounts::{self, EmailAddress, UserState};
use super::authz::Target;
use super::licenses::{self, HeldLicense, PoolRef};
use super::schema::{
    data_holds, deleted_user_licenses, group_members, license_assignments, product_services,
    products, tenants, user_roles, users,
};
use super::{
    Action, Actor, DbConnection, DomainError, GroupId, ProductId, Role, TenantId, UserId, audit,
    authz, naive, passwords, utc,
};

/// A deleted user can be restored this long; then `tick` purges them (DESIGN.md).
pub const RESTORE_DAYS: i64 = 30;
pub const RESTORE_WINDOW: Duration = Duration::days(RESTORE_DAYS);
/// Rows per page of Active users.
pub const PAGE_SIZE: i64 = 50;

// ---------------------------------------------------------------- reading

/// A user's page: details, roles, licenses and data held.
#[derive(Debug, Clone)]
pub struct UserDetail {
    pub id: UserId,
    pub display_name: String,
    pub email: String,
    pub state: UserState,
    pub roles: Vec<Role>,
    pub licenses: Vec<HeldLicense>,
    /// What is held after unassigning (a product) or turning an app off ("Product: App"),
    /// and until when.
    pub data_held: Vec<(String, DateTime<Utc>)>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl UserDetail {
    pub fn holds(&self, product: &ProductId) -> bool {
        self.licenses.iter().any(|l| l.product == *product)
    }

    /// The groups giving `product`, by name, when only groups give it: its box is shown
    /// checked and disabled, as it is changed through the group.
    pub fn inherited_only(&self, product: &ProductId) -> Option<String> {
        self.licenses
            .iter()
            .find(|l| l.product == *product && l.only_inherited())
            .map(|l| l.inherited_from.join(", "))
    }

    /// The groups that give `product` as well as a direct assignment.
    pub fn also_inherited(&self, product: &ProductId) -> Option<String> {
        self.licenses
            .iter()
            .find(|l| l.product == *product && l.direct && !l.inherited_from.is_empty())
            .map(|l| l.inherited_from.join(", "))
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
    authz::may(actor, Action::ViewUsers, &authz::Target::Tenant(tenant))?;
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
    authz::may(actor, Action::ViewUsers, &authz::Target::Tenant(tenant))?;
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

pub(crate) fn load_detail(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<UserDetail, DomainError> {
    let (id, display_name, email, state, deleted_at): (
        i64,
        String,
        String,
        UserState,
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
    let mut holds = data_holds::table
        .inner_join(products::table)
        .left_join(
            product_services::table.on(data_holds::service_id.eq(product_services::id.nullable())),
        )
        .filter(data_holds::user_id.eq(id))
        .select((
            products::name,
            product_services::name.nullable(),
            data_holds::held_until,
        ))
        .load::<(String, Option<String>, chrono::NaiveDateTime)>(conn)?;
    // By product, a license's hold before its apps' (the backends order NULLs differently).
    holds.sort();
    let data_held = holds
        .into_iter()
        .map(|(name, app, until)| (licenses::held_name(&name, app.as_deref()), utc(until)))
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

// ---------------------------------------------------------------- changing

/// `user` as `authz::may` sees a change to them: their tenant and the admin roles they hold.
pub(crate) fn target(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Target, DomainError> {
    Ok(Target::user(tenant, user, roles_of(conn, user)?))
}

/// What a user's page may offer the actor to do to `user`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserOffer {
    /// Block sign-in, Reset password, Delete user.
    pub change: bool,
    /// Name and sign-in name.
    pub rename: bool,
    /// Licenses and apps.
    pub assign: bool,
    /// Sign out everywhere.
    pub end_sessions: bool,
}

pub fn offer(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    user: UserId,
) -> Result<UserOffer, DomainError> {
    let target = target(conn, tenant, user)?;
    Ok(UserOffer {
        change: [Action::BlockUser, Action::ResetPassword, Action::DeleteUser]
            .into_iter()
            .all(|action| authz::can(actor, action, &target)),
        rename: authz::can(actor, Action::RenameUser, &target),
        assign: authz::can(actor, Action::AssignLicenses, &Target::Tenant(tenant)),
        end_sessions: authz::can(actor, Action::EndSessions, &target),
    })
}

pub(crate) fn user_email(
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
        query.filter(users::state.eq(UserState::Deleted))
    } else {
        query.filter(users::state.ne(UserState::Deleted))
    };
    Ok(query.select(users::email).first(conn)?)
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
    authz::may(actor, Action::ManageRoles, &authz::Target::Tenant(tenant))?;
    let rows: Vec<(i64, String, String, String)> = users::table
        .inner_join(user_roles::table)
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.ne(UserState::Deleted))
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
    /// The account state as stored: "active" or "blocked".
    pub state: String,
    pub licenses: Vec<String>,
}

/// When the tenant last exported its data, for the pages that offer Export data; asking
/// records nothing (only the export itself does).
pub fn last_export(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Option<DateTime<Utc>>, DomainError> {
    authz::may(actor, Action::ViewBilling, &authz::Target::Tenant(tenant))?;
    let at: Option<chrono::NaiveDateTime> = tenants::table
        .find(tenant.0)
        .select(tenants::data_exported_at)
        .first(conn)?;
    Ok(at.map(utc))
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
    authz::may(actor, Action::ViewBilling, &authz::Target::Tenant(tenant))?;
    super::db::transaction(conn, |conn| {
        diesel::update(tenants::table.find(tenant.0))
            .set(tenants::data_exported_at.eq(Some(naive(now))))
            .execute(conn)?;
        audit::record(conn, actor, now, Some(tenant), "Exported data", "", "")?;
        Ok(())
    })?;
    let people: Vec<(i64, String, String, UserState)> = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.ne(UserState::Deleted))
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
            state: state.as_str().to_owned(),
            licenses: held.remove(&id).unwrap_or_default(),
        })
        .collect())
}
