//! The users of a tenant, as admins see them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::{license_assignments, products, user_roles, users};
use super::{Action, Actor, DbConnection, DomainError, Role, TenantId, UserId, authz, utc};

/// A user's page: details, roles and licenses.
#[derive(Debug, Clone)]
pub struct UserDetail {
    pub id: UserId,
    pub display_name: String,
    pub email: String,
    pub state: String,
    pub roles: Vec<Role>,
    /// Product names with the time each was assigned.
    pub licenses: Vec<(String, DateTime<Utc>)>,
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
    let (id, display_name, email, state): (i64, String, String, String) = users::table
        .filter(users::id.eq(user.0))
        .filter(users::tenant_id.eq(tenant.0))
        .select((users::id, users::display_name, users::email, users::state))
        .first(conn)?;
    let mut roles: Vec<Role> = user_roles::table
        .filter(user_roles::user_id.eq(id))
        .select(user_roles::role)
        .load::<String>(conn)?
        .iter()
        .filter_map(|r| r.parse().ok())
        .collect();
    roles.sort();
    let licenses = license_assignments::table
        .inner_join(products::table)
        .filter(license_assignments::user_id.eq(id))
        .order(products::name)
        .select((products::name, license_assignments::assigned_at))
        .load::<(String, chrono::NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(name, at)| (name, utc(at)))
        .collect();
    Ok(UserDetail {
        id: UserId(id),
        display_name,
        email,
        state,
        roles,
        licenses,
    })
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
        .order((users::display_name, users::id))
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
