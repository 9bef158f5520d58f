//! Delete for several users at once (the checked boxes or Select all N matching).

use super::*;

/// Whom a bulk Delete would delete: those the actor may delete, and those it may not (their
/// own account, an admin above them), who are left as they are.
#[derive(Debug, Clone, Default)]
pub struct BulkDelete {
    pub deletable: Vec<UserId>,
    pub refused: Vec<UserId>,
}

/// Sorts `chosen` into those the actor may delete and those it may not.
pub fn to_delete_many(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    chosen: &[UserId],
) -> Result<BulkDelete, DomainError> {
    authz::may(actor, Action::ManageUsers, &authz::Target::Tenant(tenant))?;
    let mut plan = BulkDelete::default();
    for &user in chosen {
        if authz::can(actor, Action::DeleteUser, &target(conn, tenant, user)?) {
            plan.deletable.push(user);
        } else {
            plan.refused.push(user);
        }
    }
    Ok(plan)
}

/// Deletes every user of `chosen` the actor may delete, in one transaction (all or none);
/// how many.
pub fn delete_many(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    chosen: &[UserId],
) -> Result<usize, DomainError> {
    crate::domain::db::transaction(conn, |conn| {
        let plan = to_delete_many(conn, actor, tenant, chosen)?;
        for &user in &plan.deletable {
            delete(conn, actor, now, tenant, user)?;
        }
        Ok(plan.deletable.len())
    })
}
