//! The one place that decides who may do what. Handlers never decide; pages only hide
//! what `may` would refuse anyway.

use super::{Actor, DomainError, TenantId};
use std::fmt;
use std::str::FromStr;

/// A tenant admin role (DESIGN.md, "Who uses it").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Global,
    Billing,
    License,
    User,
}

/// A provider staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffRole {
    Support,
    Partner,
}

/// Everything an actor can ask to do. Each is decided by `may`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Open the admin center and its Home page.
    ViewAdminCenter,
    /// See the Licenses page: pools, counts, assigned users.
    ViewLicenses,
    /// Assign, unassign and reassign licenses.
    AssignLicenses,
    /// See Active users and Deleted users.
    ViewUsers,
    /// Create, edit, block, delete and restore users; reset passwords.
    ManageUsers,
    /// See Your products, bills and payment methods.
    ViewBilling,
    /// Buy and remove licenses, cancel, recurring billing, payment methods, take over purchases.
    ManageBilling,
    /// File and follow the tenant's service requests.
    FileServiceRequests,
    /// See the tenant's audit log.
    ViewAuditLog,
    /// Give and take admin roles.
    ManageRoles,
    /// Open the support console's queue (billing support: all requests; partner: volume licensing).
    ViewSupportQueue,
    /// Work the queue of service requests of all tenants (billing support).
    WorkServiceRequests,
    /// Work the volume licensing service requests of all tenants (partner).
    WorkVolumeLicensingRequests,
    /// Volume licensing: agreements, orders, the OSM (partner).
    ManageAgreements,
    /// Read every email the system has sent or will send.
    ViewOutbox,
    /// Use the online service as an end user.
    UseService,
}

impl Action {
    pub const ALL: [Action; 16] = [
        Action::ViewAdminCenter,
        Action::ViewLicenses,
        Action::AssignLicenses,
        Action::ViewUsers,
        Action::ManageUsers,
        Action::ViewBilling,
        Action::ManageBilling,
        Action::FileServiceRequests,
        Action::ViewAuditLog,
        Action::ManageRoles,
        Action::ViewSupportQueue,
        Action::WorkServiceRequests,
        Action::WorkVolumeLicensingRequests,
        Action::ManageAgreements,
        Action::ViewOutbox,
        Action::UseService,
    ];
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Global, Role::Billing, Role::License, Role::User];

    /// The tenant actions this role grants; the README's permission table is this function.
    pub fn grants(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Global => matches!(
                action,
                ViewAdminCenter
                    | ViewLicenses
                    | AssignLicenses
                    | ViewUsers
                    | ManageUsers
                    | ViewBilling
                    | ManageBilling
                    | FileServiceRequests
                    | ViewAuditLog
                    | ManageRoles
            ),
            Role::Billing => matches!(
                action,
                ViewAdminCenter | ViewLicenses | ViewBilling | ManageBilling | FileServiceRequests
            ),
            Role::License => matches!(
                action,
                ViewAdminCenter | ViewLicenses | AssignLicenses | ViewUsers | FileServiceRequests
            ),
            Role::User => matches!(
                action,
                ViewAdminCenter
                    | ViewLicenses
                    | AssignLicenses
                    | ViewUsers
                    | ManageUsers
                    | FileServiceRequests
            ),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Global => "global",
            Role::Billing => "billing",
            Role::License => "license",
            Role::User => "user",
        }
    }

    /// The name the admin center shows.
    pub fn title(self) -> &'static str {
        match self {
            Role::Global => "Global admin",
            Role::Billing => "Billing admin",
            Role::License => "License admin",
            Role::User => "User admin",
        }
    }
}

impl StaffRole {
    pub const ALL: [StaffRole; 2] = [StaffRole::Support, StaffRole::Partner];

    pub fn grants(self, action: Action) -> bool {
        match self {
            StaffRole::Support => {
                matches!(
                    action,
                    Action::ViewSupportQueue | Action::WorkServiceRequests | Action::ViewOutbox
                )
            }
            StaffRole::Partner => {
                matches!(
                    action,
                    Action::ViewSupportQueue
                        | Action::WorkVolumeLicensingRequests
                        | Action::ManageAgreements
                )
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Support => "support",
            StaffRole::Partner => "partner",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            StaffRole::Support => "Billing support",
            StaffRole::Partner => "Partner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

impl FromStr for Role {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| DomainError::invalid("role", format!("Unknown admin role '{s}'.")))
    }
}

impl FromStr for StaffRole {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StaffRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| DomainError::invalid("role", format!("Unknown staff role '{s}'.")))
    }
}

/// May `actor` do `action` in `tenant`? `tenant` is `None` for work across tenants
/// (the support queue, the outbox), which only staff do.
pub fn may(actor: &Actor, action: Action, tenant: Option<TenantId>) -> Result<(), DomainError> {
    let allowed = match actor {
        Actor::Admin {
            tenant: own, roles, ..
        } => tenant == Some(*own) && roles.iter().any(|r| r.grants(action)),
        Actor::Staff { role, .. } => role.grants(action),
        Actor::EndUser { tenant: own, .. } => tenant == Some(*own) && action == Action::UseService,
        // The command line and scheduled jobs run with the operator's authority.
        Actor::System(_) => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(DomainError::Forbidden)
    }
}

/// `may`, as a yes or no for deciding what a page shows.
pub fn can(actor: &Actor, action: Action, tenant: Option<TenantId>) -> bool {
    may(actor, action, tenant).is_ok()
}

/// May staff `actor` see and work a service request? Billing support works every request;
/// partners only the volume licensing ones (the seed: "contact your Licensing Solutions
/// Partner"). Tenant admins never work requests; they file and follow their own.
pub fn may_work_request(actor: &Actor, volume_licensing: bool) -> Result<(), DomainError> {
    if can(actor, Action::WorkServiceRequests, None)
        || (volume_licensing && can(actor, Action::WorkVolumeLicensingRequests, None))
    {
        Ok(())
    } else {
        Err(DomainError::Forbidden)
    }
}
