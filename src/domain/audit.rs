//! The audit log: who did what to whom, when, in which tenant. Written in the same
//! transaction as the change it records.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::audit_log;
use super::{Actor, DbConnection, DomainError, TenantId, naive};

/// Records one change. `target` names what was changed ("user01@contoso.example",
/// "Business Premium"); `detail` holds before/after counts and the like.
pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: Option<TenantId>,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), DomainError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(naive(now)),
            audit_log::tenant_id.eq(tenant.map(|t| t.0)),
            audit_log::actor.eq(actor.label()),
            audit_log::action.eq(action),
            audit_log::target.eq(target),
            audit_log::detail.eq(detail),
        ))
        .execute(conn)?;
    Ok(())
}
