//! Tenants: the customer organizations.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::tenants;
use super::{Action, Actor, DbConnection, DomainError, TenantId, audit, authz, naive};

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    pub id: i64,
    pub name: String,
    pub domain: String,
}

impl Tenant {
    pub fn tenant_id(&self) -> TenantId {
        TenantId(self.id)
    }
}

/// The tenant an admin works in.
pub fn get(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Tenant, DomainError> {
    authz::may(
        actor,
        Action::ViewAdminCenter,
        &authz::Target::Tenant(tenant),
    )?;
    Ok(tenants::table
        .find(tenant.0)
        .select(Tenant::as_select())
        .first(conn)?)
}

/// Finds a tenant by name, or creates it with `domain`. For the command line and the demo.
pub fn find_or_create(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    name: &str,
    domain: &str,
) -> Result<Tenant, DomainError> {
    let name = super::text::line(
        "name",
        name,
        1..=120,
        "A tenant name has 1 to 120 characters.",
    )?;
    let name = name.as_str();
    if name.is_empty() {
        return Err(DomainError::invalid(
            "tenant",
            "A tenant name has 1 to 120 characters.",
        ));
    }
    if let Some(found) = tenants::table
        .filter(tenants::name.eq(name))
        .select(Tenant::as_select())
        .first(conn)
        .optional()?
    {
        return Ok(found);
    }
    // Tenants are created by the operator (command line, demo), never from a page.
    authz::may(actor, Action::Operate, &authz::Target::Operator)?;
    let tenant = diesel::insert_into(tenants::table)
        .values((
            tenants::name.eq(name),
            tenants::domain.eq(domain),
            tenants::created_at.eq(naive(now)),
        ))
        .returning((tenants::id, tenants::name, tenants::domain))
        .get_result::<(i64, String, String)>(conn)
        .map(|(id, name, domain)| Tenant { id, name, domain })?;
    audit::record(
        conn,
        actor,
        now,
        Some(tenant.tenant_id()),
        "Created tenant",
        name,
        "",
    )?;
    Ok(tenant)
}
