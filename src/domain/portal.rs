//! The service portal: what an end user may use, and the self-service purchases they manage.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::accounts::{Principal, UserState};
use super::authz::{Role, Target};
use super::licenses::{self, PoolRef, PoolSummary};
use super::schema::{tenants, user_roles, users};
use super::{Action, Actor, DbConnection, DomainError, SubscriptionId, TenantId, UserId, authz};

/// What the portal shows a signed-in end user.
#[derive(Debug, Clone)]
pub struct PortalView {
    pub display_name: String,
    pub email: String,
    pub tenant_name: String,
    /// Products the service admits them to now: usable, with at least one app on.
    pub usable: Vec<String>,
    /// The same products, each with the apps they have (those turned on).
    pub products: Vec<PortalProduct>,
    /// Products they hold with every app turned off: no service from them.
    pub no_apps: Vec<String>,
    /// Products they hold but may not use: beyond the count in a license conflict.
    pub beyond_the_count: Vec<String>,
    /// Whom to ask for a license: the tenant's admins who may assign licenses.
    pub ask: Vec<String>,
    /// Self-service purchases they bought and still manage.
    pub purchases: Vec<PoolSummary>,
}

/// A product the portal offers, with the apps the user has in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalProduct {
    pub name: String,
    pub apps: Vec<String>,
}

impl PortalView {
    /// The service admits a user who holds at least one usable license.
    pub fn has_access(&self) -> bool {
        !self.usable.is_empty()
    }
}

/// The portal actor of a session, loaded fresh on each request; `None` when the account is
/// gone or blocked, which ends the portal session.
pub fn actor(conn: &mut DbConnection, principal: Principal) -> Result<Option<Actor>, DomainError> {
    let Principal::User(id) = principal else {
        return Ok(None);
    };
    let found: Option<(i64, String, UserState)> = users::table
        .find(id.0)
        .select((users::tenant_id, users::email, users::state))
        .first(conn)
        .optional()?;
    Ok(found.and_then(|(tenant, email, state)| {
        state.is_active().then_some(Actor::EndUser {
            user: id,
            tenant: TenantId(tenant),
            email,
        })
    }))
}

/// The portal's home for `actor`.
pub fn view(conn: &mut DbConnection, actor: &Actor) -> Result<PortalView, DomainError> {
    let home = actor.tenant().map_or(Target::Provider, Target::Tenant);
    authz::may(actor, Action::UseService, &home)?;
    let Actor::EndUser { user, tenant, .. } = actor else {
        return Err(DomainError::NotFound);
    };
    let (display_name, email): (String, String) = users::table
        .find(user.0)
        .select((users::display_name, users::email))
        .first(conn)?;
    let tenant_name: String = tenants::table
        .find(tenant.0)
        .select(tenants::name)
        .first(conn)?;
    let held = licenses::effective_apps(conn, *tenant, *user)?;
    let (usable, beyond): (Vec<_>, Vec<_>) = held.into_iter().partition(|l| l.usable);
    let (no_apps, usable): (Vec<_>, Vec<_>) = usable.into_iter().partition(|l| l.every_app_off());
    let ask = users::table
        .inner_join(user_roles::table)
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.eq(UserState::Active))
        .filter(user_roles::role.eq_any([Role::Global, Role::License, Role::User]))
        .select(users::email)
        .distinct()
        .order(users::email)
        .load(conn)?;
    let purchases = licenses::load_pools(conn, *tenant)?
        .into_iter()
        .filter(|p| {
            p.self_service
                .as_ref()
                .is_some_and(|(_, buyer)| *buyer == email)
        })
        .collect();
    Ok(PortalView {
        display_name,
        email,
        tenant_name,
        usable: usable.iter().map(|l| l.product_name.clone()).collect(),
        products: usable
            .iter()
            .map(|l| PortalProduct {
                name: l.product_name.clone(),
                apps: l.apps_on(),
            })
            .collect(),
        no_apps: no_apps.into_iter().map(|l| l.product_name).collect(),
        beyond_the_count: beyond.into_iter().map(|l| l.product_name).collect(),
        ask,
        purchases,
    })
}

/// The buyer's own self-service purchase, with its assigned users.
pub fn purchase(
    conn: &mut DbConnection,
    actor: &Actor,
    subscription: SubscriptionId,
) -> Result<licenses::PoolDetail, DomainError> {
    let tenant = purchase_tenant(conn, actor, subscription)?;
    // The buyer may see their own purchase (checked just above), not the tenant's Licenses.
    let system = Actor::System("service portal");
    licenses::pool_detail(
        conn,
        &system,
        tenant,
        PoolRef::SelfService(subscription),
        "",
        None,
    )
}

/// Assigns the buyer's purchase to users of their organization named by sign-in name.
pub fn assign_purchase(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    subscription: SubscriptionId,
    emails: &[String],
) -> Result<licenses::Assigned, DomainError> {
    let tenant = purchase_tenant(conn, actor, subscription)?;
    // No sign-in name holds a control character; PostgreSQL would refuse a NUL in the query.
    let wanted: Vec<String> = emails
        .iter()
        .map(|e| super::text::search("emails", e).map(|e| e.to_lowercase()))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|e| !e.is_empty())
        .collect();
    if wanted.is_empty() {
        return Err(DomainError::invalid(
            "emails",
            "Enter at least one sign-in name.",
        ));
    }
    let ids: Vec<(i64, String)> = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.ne(UserState::Deleted))
        .filter(users::email.eq_any(&wanted))
        .select((users::id, users::email))
        .load(conn)?;
    if let Some(missing) = wanted.iter().find(|e| !ids.iter().any(|(_, f)| f == *e)) {
        return Err(DomainError::invalid(
            "emails",
            format!("There is no user {missing} in your organization."),
        ));
    }
    let users: Vec<UserId> = ids.into_iter().map(|(id, _)| UserId(id)).collect();
    licenses::assign(
        conn,
        actor,
        now,
        tenant,
        PoolRef::SelfService(subscription),
        &users,
    )
}

/// Unassigns the buyer's purchase from `users`.
pub fn unassign_purchase(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    subscription: SubscriptionId,
    users: &[UserId],
) -> Result<licenses::Unassigned, DomainError> {
    let tenant = purchase_tenant(conn, actor, subscription)?;
    licenses::unassign(
        conn,
        actor,
        now,
        tenant,
        PoolRef::SelfService(subscription),
        users,
    )
}

/// The tenant of a self-service purchase the actor bought and manages; another's purchase is
/// not found, as a missing one.
fn purchase_tenant(
    conn: &mut DbConnection,
    actor: &Actor,
    subscription: SubscriptionId,
) -> Result<TenantId, DomainError> {
    let tenant = actor.tenant().ok_or(DomainError::NotFound)?;
    let target = licenses::pool_target(conn, tenant, PoolRef::SelfService(subscription))?;
    authz::may(actor, Action::AssignLicenses, &target).map_err(|_| DomainError::NotFound)?;
    Ok(tenant)
}
