//! Give and take admin roles (Settings > Roles, and a user's page).

use super::*;
use crate::domain::accounts::Principal;
use crate::domain::sessions::{self, Ended};

/// What `set_roles` changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RolesChanged {
    pub given: Vec<Role>,
    pub taken: Vec<Role>,
    /// The user's sessions ended by the change: they sign in again with their new roles.
    pub sessions_ended: usize,
}

/// Gives `user` exactly `roles`, in one transaction (a user's page: the checked roles). A
/// change ends all of the user's sessions (DESIGN.md); the organization always keeps a Global
/// admin.
pub fn set_roles(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
    roles: &[Role],
) -> Result<RolesChanged, DomainError> {
    let wanted: BTreeSet<Role> = roles.iter().copied().collect();
    change_roles(conn, actor, now, tenant, user, |_| wanted.clone())
}

/// Gives `user` one admin role more, keeping the others (Settings > Roles: Assign).
pub fn give_role(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
    role: Role,
) -> Result<RolesChanged, DomainError> {
    change_roles(conn, actor, now, tenant, user, |held| {
        held.iter().copied().chain([role]).collect()
    })
}

/// Takes one admin role from `user`, keeping the others (Settings > Roles: Remove).
pub fn take_role(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
    role: Role,
) -> Result<RolesChanged, DomainError> {
    change_roles(conn, actor, now, tenant, user, |held| {
        held.iter().copied().filter(|r| *r != role).collect()
    })
}

/// The roles `wanted` makes of those the user holds, read inside the transaction, so two
/// admins changing one user's roles at once each change what the other left.
fn change_roles(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
    wanted: impl Fn(&BTreeSet<Role>) -> BTreeSet<Role>,
) -> Result<RolesChanged, DomainError> {
    authz::may(actor, Action::ManageRoles, &target(conn, tenant, user)?)?;
    crate::domain::db::transaction(conn, |conn| {
        let email = user_email(conn, tenant, user, false)?;
        // The tenant's license lock also serializes role changes: the check that a Global
        // admin remains and the change it allows are one step.
        licenses::lock(conn, tenant)?;
        let held: BTreeSet<Role> = roles_of(conn, user)?.into_iter().collect();
        let wanted = wanted(&held);
        let given: Vec<Role> = wanted.difference(&held).copied().collect();
        let taken: Vec<Role> = held.difference(&wanted).copied().collect();
        if given.is_empty() && taken.is_empty() {
            return Ok(RolesChanged::default());
        }
        if taken.contains(&Role::Global) && other_global_admins(conn, tenant, user)? == 0 {
            return Err(DomainError::Conflict(
                "Your organization needs at least one Global admin. Make someone else a Global admin first.".into(),
            ));
        }
        for role in &taken {
            diesel::delete(
                user_roles::table
                    .filter(user_roles::user_id.eq(user.0))
                    .filter(user_roles::role.eq(role.as_str())),
            )
            .execute(conn)?;
            audit::record(
                conn,
                actor,
                now,
                Some(tenant),
                "Removed admin role",
                &email,
                role.title(),
            )?;
        }
        for role in &given {
            accounts::grant_role(conn, tenant, user, *role)?;
            audit::record(
                conn,
                actor,
                now,
                Some(tenant),
                "Gave admin role",
                &email,
                role.title(),
            )?;
        }
        let sessions_ended =
            sessions::end_all(conn, now, Principal::User(user), Ended::RoleChanged)?;
        Ok(RolesChanged {
            given: given.clone(),
            taken: taken.clone(),
            sessions_ended,
        })
    })
}

fn other_global_admins(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<i64, DomainError> {
    Ok(users::table
        .inner_join(user_roles::table)
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.ne(UserState::Deleted))
        .filter(users::id.ne(user.0))
        .filter(user_roles::role.eq(Role::Global.as_str()))
        .count()
        .get_result(conn)?)
}
