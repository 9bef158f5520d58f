//! The one place that decides who may do what. Handlers never decide; pages only hide
//! what `may` would refuse anyway. A little over 500 lines on purpose: the actions, the
//! targets, the role tables and the decision read together, and a reader checking a
//! permission should find all of it in one file.

use super::text_enum::text_sql;
use super::{Actor, DomainError, TenantId, UserId};
use diesel::deserialize::FromSqlRow;
use diesel::expression::AsExpression;
use std::fmt;
use std::str::FromStr;
use strum::IntoEnumIterator;

/// A tenant admin role (DESIGN.md, "Who uses it"). Stored as its `as_str` text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Role {
    Global,
    Billing,
    License,
    User,
}

/// A provider staff role. Stored as its `as_str` text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum StaffRole {
    Support,
    Partner,
}

/// What an API token may be granted (Settings > API access). A token may do an action only
/// with one of the scopes `Action::for_tokens` names, and then no more than the admin role it
/// names would. Stored as `as_str`, space-separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, strum::EnumIter)]
pub enum Scope {
    UsersRead,
    UsersWrite,
    LicensesRead,
    LicensesWrite,
    GroupsWrite,
    BillingRead,
    ServiceRequestsWrite,
    Scim,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::UsersRead => "users.read",
            Scope::UsersWrite => "users.write",
            Scope::LicensesRead => "licenses.read",
            Scope::LicensesWrite => "licenses.write",
            Scope::GroupsWrite => "groups.write",
            Scope::BillingRead => "billing.read",
            Scope::ServiceRequestsWrite => "serviceRequests.write",
            Scope::Scim => "scim",
        }
    }

    /// What the scope lets a token do, as Add a token explains it.
    pub fn description(self) -> &'static str {
        match self {
            Scope::UsersRead => "Read users and groups",
            Scope::UsersWrite => "Add, change, block and delete users (not admins)",
            Scope::LicensesRead => "Read license pools and counts",
            Scope::LicensesWrite => "Assign and unassign licenses, also to groups",
            Scope::GroupsWrite => "Add, change and delete groups and their members",
            Scope::BillingRead => "Read subscriptions, bills and service requests",
            Scope::ServiceRequestsWrite => "File service requests",
            Scope::Scim => "SCIM provisioning of users and groups",
        }
    }

    /// Scopes from their stored or sent names, sorted, each once; an unknown name is refused.
    pub fn parse_list<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<Scope>, DomainError> {
        let mut scopes = names
            .into_iter()
            .map(str::parse)
            .collect::<Result<Vec<Scope>, _>>()?;
        scopes.sort();
        scopes.dedup();
        Ok(scopes)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| DomainError::invalid("scopes", format!("Unknown scope '{s}'.")))
    }
}

/// Everything an actor can ask to do. Each is decided by `may`; `Action::iter()` lists them
/// all, so the role matrix test has a row for every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumIter)]
pub enum Action {
    /// Open the admin center and its Home page.
    ViewAdminCenter,
    /// See the Licenses page: pools, counts, assigned users.
    ViewLicenses,
    /// Assign, unassign and reassign licenses (a pool; a self-service pool only by its buyer).
    AssignLicenses,
    /// See Active users and Deleted users.
    ViewUsers,
    /// Add users and restore deleted ones.
    ManageUsers,
    /// Block or allow a user's sign-in.
    BlockUser,
    /// Change a user's display name and sign-in name.
    RenameUser,
    /// Reset a user's password.
    ResetPassword,
    /// Delete a user.
    DeleteUser,
    /// End every session of a user ("Sign out everywhere").
    EndSessions,
    /// See Groups, a group's members, licenses and errors.
    ViewGroups,
    /// Add, edit and delete groups; add and remove members.
    ManageGroups,
    /// Assign a product to a group and unassign it; reprocess a group's errors.
    AssignGroupLicenses,
    /// See Your products, bills and payment methods.
    ViewBilling,
    /// Buy and remove licenses, cancel, recurring billing, payment methods, take over purchases.
    ManageBilling,
    /// File and follow the tenant's service requests.
    FileServiceRequests,
    /// File the requests about billing (cancellations, license changes, volume licensing,
    /// billing questions): the seeds send those to billing support for Global and Billing admins.
    FileBillingRequests,
    /// See one service request and its thread.
    ViewServiceRequest,
    /// See the tenant's audit log.
    ViewAuditLog,
    /// Give and take admin roles.
    ManageRoles,
    /// Add and revoke the tenant's API tokens (Settings > API access).
    ManageApiTokens,
    /// Set a pool's "Alert when available licenses fall below" (Settings > Notifications):
    /// those who buy licenses or hand them out.
    SetLicenseAlerts,
    /// See which admins get which messages by email (Settings > Notifications).
    ViewNotificationRecipients,
    /// Use SCIM provisioning (`/scim/v2`) at all: only a token with the `scim` scope; what
    /// it then does is decided action by action, as for any token.
    Provision,
    /// Open the support console's queue (billing support: all requests; partner: volume licensing).
    ViewSupportQueue,
    /// Take, assign, answer and move a service request (billing support; partners on volume
    /// licensing requests, as the seed sends those to the partner).
    WorkServiceRequest,
    /// Carry out what a request asks for: cancel, change licenses, resend, remap (billing support).
    CarryOutServiceRequest,
    /// Volume licensing: agreements, purchase orders, the OSM (partner).
    ManageAgreements,
    /// See an agreement: the partner any, a tenant's billing admins their own.
    ViewAgreement,
    /// Add a license reservation on an agreement attached to the tenant.
    ReserveLicenses,
    /// Attach an agreement's licenses to the tenant with the OSM's activation link.
    ActivateAgreement,
    /// Read every email the system has sent or will send.
    ViewOutbox,
    /// Use the online service as an end user.
    UseService,
    /// The operator's work: tenants, first admins and staff accounts (command line, demo).
    Operate,
}

/// What an action is done to, with the facts `may` needs; the caller loads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The provider's work across tenants: the support queue, the outbox, agreements.
    Provider,
    /// A tenant's data with no owner beyond the tenant.
    Tenant(TenantId),
    /// A user of a tenant, with the admin roles they hold.
    User {
        tenant: TenantId,
        user: UserId,
        roles: Vec<Role>,
    },
    /// A license pool: the tenant's pool of a product (`buyer: None`) or a self-service
    /// purchase and the user who bought it.
    Pool {
        tenant: TenantId,
        buyer: Option<UserId>,
    },
    /// A tenant's service request (`tenant: None`: any tenant's, of a kind), and whether it is
    /// about volume licensing.
    Request {
        tenant: Option<TenantId>,
        volume_licensing: bool,
    },
    /// A volume licensing agreement and the tenant it is attached to, if any yet.
    Agreement { tenant: Option<TenantId> },
    /// A member of the provider's staff, as the owner of their own account's sessions.
    Staff(super::StaffId),
    /// An agreement a tenant names in a service request: the tenant it is attached to and, for
    /// one not attached yet, the OSM's tenant (one of its admins is the OSM, or the OSM's
    /// address is at its domain). Only that tenant may name it.
    NamedAgreement {
        attached: Option<TenantId>,
        osm_admin_of: Option<TenantId>,
    },
    /// Work only the operator does.
    Operator,
}

impl Target {
    /// The tenant the target belongs to; `None` for the provider's and the operator's work.
    pub fn tenant(&self) -> Option<TenantId> {
        match self {
            Target::Tenant(t) | Target::User { tenant: t, .. } | Target::Pool { tenant: t, .. } => {
                Some(*t)
            }
            Target::Request { tenant, .. } | Target::Agreement { tenant } => *tenant,
            Target::NamedAgreement {
                attached,
                osm_admin_of,
            } => attached.or(*osm_admin_of),
            Target::Provider | Target::Staff(_) | Target::Operator => None,
        }
    }

    /// The target of `user`, loaded with the roles they hold.
    pub fn user(tenant: TenantId, user: UserId, roles: Vec<Role>) -> Target {
        Target::User {
            tenant,
            user,
            roles,
        }
    }
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Global, Role::Billing, Role::License, Role::User];

    /// The tenant actions this role grants; the README's permission table is this function.
    pub fn grants(self, action: Action) -> bool {
        use Action::*;
        let everyone = matches!(
            action,
            ViewAdminCenter | ViewLicenses | FileServiceRequests | ViewServiceRequest
        );
        // Provision: what a `scim` token does is a User admin's work (the token door alone
        // reaches SCIM; an admin's session never does).
        let users = matches!(
            action,
            ViewUsers
                | ManageUsers
                | BlockUser
                | RenameUser
                | ResetPassword
                | DeleteUser
                | EndSessions
                | Provision
        );
        let billing = matches!(
            action,
            ViewBilling
                | ManageBilling
                | FileBillingRequests
                | ViewAgreement
                | ReserveLicenses
                | ActivateAgreement
        );
        let groups = matches!(action, ViewGroups | ManageGroups | AssignGroupLicenses);
        everyone
            || match self {
                Role::Global => {
                    users
                        || billing
                        || groups
                        || matches!(
                            action,
                            AssignLicenses
                                | ViewAuditLog
                                | ManageRoles
                                | ManageApiTokens
                                | SetLicenseAlerts
                                | ViewNotificationRecipients
                        )
                }
                Role::Billing => billing || action == SetLicenseAlerts,
                Role::License => {
                    matches!(
                        action,
                        AssignLicenses
                            | ViewUsers
                            | ViewGroups
                            | AssignGroupLicenses
                            | SetLicenseAlerts
                    )
                }
                Role::User => users || groups || action == AssignLicenses,
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

    /// The provider actions this role grants.
    pub fn grants(self, action: Action) -> bool {
        use Action::*;
        match self {
            StaffRole::Support => matches!(
                action,
                ViewSupportQueue
                    | ViewServiceRequest
                    | WorkServiceRequest
                    | CarryOutServiceRequest
                    | ViewOutbox
            ),
            StaffRole::Partner => matches!(
                action,
                ViewSupportQueue
                    | ViewServiceRequest
                    | WorkServiceRequest
                    | ManageAgreements
                    | ViewAgreement
                    | ReserveLicenses
            ),
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

text_sql!(Role);
text_sql!(StaffRole);

/// May `actor` do `action` to `target`? The one decision: every door (pages, API tokens, and
/// later SCIM) asks it, and nothing else in the domain refuses for a role or an owner.
pub fn may(actor: &Actor, action: Action, target: &Target) -> Result<(), DomainError> {
    match actor {
        // The command line and scheduled jobs run with the operator's authority.
        Actor::System(_) => Ok(()),
        Actor::Admin {
            user,
            tenant,
            roles,
            ..
        } => as_admin(Some(*user), *tenant, roles, action, target),
        Actor::ApiToken { tenant, scopes, .. } => {
            in_tenant(*tenant, target)?;
            // Never for a token (buying, roles, the console…), or not with these scopes.
            let Some((needs, role)) = action.for_tokens() else {
                return Err(DomainError::Forbidden);
            };
            if !scopes.iter().any(|scope| needs.contains(scope)) {
                return Err(DomainError::Forbidden);
            }
            // Then as the admin role the scope stands for: a `licenses.*` token does no more
            // than a License admin, a `users.*` one no more than a User admin (who changes no
            // admin but User admins).
            as_admin(None, *tenant, &[role], action, target)
        }
        Actor::Staff { staff, role, .. } => {
            // Anyone may sign themselves out everywhere; staff only themselves.
            if let Target::Staff(who) = target {
                return (action == Action::EndSessions && who == staff)
                    .then_some(())
                    .ok_or(DomainError::Forbidden);
            }
            let allowed = role.grants(action)
                && match target {
                    Target::Provider | Target::Agreement { .. } => true,
                    // Partners work only the volume licensing requests (the seed: "contact your
                    // Licensing Solutions Partner").
                    Target::Request {
                        volume_licensing, ..
                    } => *role == StaffRole::Support || *volume_licensing,
                    // Staff never act on a tenant's own data directly; carrying out a request
                    // goes through the request.
                    _ => false,
                };
            allowed.then_some(()).ok_or(DomainError::Forbidden)
        }
        Actor::EndUser { user, tenant, .. } => {
            let allowed = match (action, target) {
                (Action::UseService, Target::Tenant(t)) => t == tenant,
                // Anyone may sign themselves out everywhere.
                (
                    Action::EndSessions,
                    Target::User {
                        tenant: t,
                        user: who,
                        ..
                    },
                ) => t == tenant && who == user,
                // A self-service purchase is managed by its buyer until an admin takes it over.
                (
                    Action::AssignLicenses,
                    Target::Pool {
                        tenant: t,
                        buyer: Some(b),
                    },
                ) => t == tenant && b == user,
                _ => false,
            };
            allowed.then_some(()).ok_or(DomainError::Forbidden)
        }
    }
}

/// Refuses a target outside `tenant`. Another tenant's request or agreement, asked for by its
/// id or number, answers as a missing one would: its existence is not for this tenant to learn.
fn in_tenant(tenant: TenantId, target: &Target) -> Result<(), DomainError> {
    if target.tenant() == Some(tenant) {
        return Ok(());
    }
    Err(match target {
        Target::Request { .. } | Target::Agreement { .. } | Target::NamedAgreement { .. } => {
            DomainError::NotFound
        }
        _ => DomainError::Forbidden,
    })
}

/// The decision for an admin holding `roles` in `tenant`; `user` is the admin's own account
/// (`None` for a token acting as a role, which has no account).
fn as_admin(
    user: Option<UserId>,
    tenant: TenantId,
    roles: &[Role],
    action: Action,
    target: &Target,
) -> Result<(), DomainError> {
    in_tenant(tenant, target)?;
    if let Target::User { user: who, .. } = target {
        // Anyone may sign themselves out everywhere.
        if action == Action::EndSessions && Some(*who) == user {
            return Ok(());
        }
    }
    if !roles.iter().any(|r| r.grants(action)) {
        return Err(DomainError::Forbidden);
    }
    match target {
        Target::User {
            user: who,
            roles: theirs,
            ..
        } if action.changes_an_account() => contained(user, roles, action, *who, theirs),
        Target::Pool { buyer: Some(_), .. } if action == Action::AssignLicenses => Err(
            DomainError::Conflict(super::licenses::SELF_SERVICE_REFUSAL.into()),
        ),
        _ => Ok(()),
    }
}

/// The containment rule (DESIGN.md, as in Microsoft 365): nobody changes their own account
/// this way; an admin holding a role the actor lacks is changed only by a Global admin, so a
/// User admin changes only users without admin roles and other User admins.
fn contained(
    me: Option<UserId>,
    mine: &[Role],
    action: Action,
    who: UserId,
    theirs: &[Role],
) -> Result<(), DomainError> {
    if Some(who) == me {
        return Err(DomainError::Conflict(format!(
            "You can't {} your own account.",
            action.verb()
        )));
    }
    if mine.contains(&Role::Global) {
        return Ok(());
    }
    if theirs.contains(&Role::Global) {
        return Err(DomainError::Refused(
            "Only a Global admin can change another Global admin.".into(),
        ));
    }
    match theirs.iter().find(|r| **r != Role::User) {
        Some(role) => Err(DomainError::Refused(format!(
            "Only a Global admin can change a {}.",
            role.title()
        ))),
        None => Ok(()),
    }
}

impl Action {
    /// What lets an API token do this action: any one of the scopes, and then only what the
    /// role may (so `licenses.*` never exceeds a License admin). `None`: never for a token:
    /// buying, payment methods, roles, tokens, the audit log, the support console, passwords.
    pub fn for_tokens(self) -> Option<(&'static [Scope], Role)> {
        use Action::*;
        use Scope::*;
        match self {
            ViewLicenses => Some((&[LicensesRead, LicensesWrite], Role::License)),
            AssignLicenses | AssignGroupLicenses => Some((&[LicensesWrite], Role::License)),
            ViewUsers => Some((&[UsersRead, UsersWrite, Scim], Role::User)),
            ManageUsers | BlockUser | RenameUser | DeleteUser | EndSessions => {
                Some((&[UsersWrite, Scim], Role::User))
            }
            ViewGroups => Some((&[UsersRead, UsersWrite, GroupsWrite, Scim], Role::User)),
            ManageGroups => Some((&[GroupsWrite, Scim], Role::User)),
            Provision => Some((&[Scim], Role::User)),
            ViewBilling | ViewAgreement => Some((&[BillingRead], Role::Billing)),
            ViewServiceRequest => Some((&[BillingRead, ServiceRequestsWrite], Role::Billing)),
            // As a Billing admin, who files every kind of request.
            FileServiceRequests | FileBillingRequests => {
                Some((&[ServiceRequestsWrite], Role::Billing))
            }
            ViewAdminCenter
            | ResetPassword
            | ManageBilling
            | ViewAuditLog
            | ManageRoles
            | ManageApiTokens
            | SetLicenseAlerts
            | ViewNotificationRecipients
            | ViewSupportQueue
            | WorkServiceRequest
            | CarryOutServiceRequest
            | ManageAgreements
            | ReserveLicenses
            | ActivateAgreement
            | ViewOutbox
            | UseService
            | Operate => None,
        }
    }

    /// Actions that change another person's account, to which the containment rule applies.
    fn changes_an_account(self) -> bool {
        matches!(
            self,
            Action::BlockUser
                | Action::RenameUser
                | Action::ResetPassword
                | Action::DeleteUser
                | Action::EndSessions
        )
    }

    fn verb(self) -> &'static str {
        match self {
            Action::BlockUser => "block",
            Action::RenameUser => "rename",
            Action::ResetPassword => "reset the password of",
            Action::DeleteUser => "delete",
            Action::EndSessions => "sign out",
            _ => "change",
        }
    }
}

/// The staff roles `may` lets do `action` to `target`: who can be given a request.
pub fn staff_roles_who_may(action: Action, target: &Target) -> Vec<StaffRole> {
    StaffRole::ALL
        .into_iter()
        .filter(|role| {
            let colleague = Actor::Staff {
                staff: super::StaffId(0),
                email: String::new(),
                role: *role,
            };
            can(&colleague, action, target)
        })
        .collect()
}

/// `may`, as a yes or no for deciding what a page offers.
pub fn can(actor: &Actor, action: Action, target: &Target) -> bool {
    may(actor, action, target).is_ok()
}

/// What the signed-in actor may do in their own tenant (or, for staff, the console): the
/// navigation and the buttons of pages that have no other target. Built from `may`, so a page
/// never offers what would be refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Permissions {
    pub view_admin_center: bool,
    pub view_licenses: bool,
    pub assign_licenses: bool,
    pub view_users: bool,
    pub manage_users: bool,
    pub view_groups: bool,
    pub manage_groups: bool,
    pub assign_group_licenses: bool,
    pub view_billing: bool,
    pub manage_billing: bool,
    pub file_service_requests: bool,
    pub view_audit_log: bool,
    pub manage_roles: bool,
    pub manage_api_tokens: bool,
    pub set_license_alerts: bool,
    pub view_agreements: bool,
    pub reserve_licenses: bool,
    pub view_support_queue: bool,
    pub carry_out_requests: bool,
    pub manage_agreements: bool,
    pub view_outbox: bool,
}

impl Permissions {
    pub fn of(actor: &Actor) -> Permissions {
        let home = match actor.tenant() {
            Some(tenant) => Target::Tenant(tenant),
            None => Target::Provider,
        };
        let at = |action| can(actor, action, &home);
        Permissions {
            view_admin_center: at(Action::ViewAdminCenter),
            view_licenses: at(Action::ViewLicenses),
            assign_licenses: at(Action::AssignLicenses),
            view_users: at(Action::ViewUsers),
            manage_users: at(Action::ManageUsers),
            view_groups: at(Action::ViewGroups),
            manage_groups: at(Action::ManageGroups),
            assign_group_licenses: at(Action::AssignGroupLicenses),
            view_billing: at(Action::ViewBilling),
            manage_billing: at(Action::ManageBilling),
            file_service_requests: at(Action::FileServiceRequests),
            view_audit_log: at(Action::ViewAuditLog),
            manage_roles: at(Action::ManageRoles),
            manage_api_tokens: at(Action::ManageApiTokens),
            set_license_alerts: at(Action::SetLicenseAlerts),
            view_agreements: at(Action::ViewAgreement),
            reserve_licenses: at(Action::ReserveLicenses),
            view_support_queue: at(Action::ViewSupportQueue),
            carry_out_requests: at(Action::CarryOutServiceRequest),
            manage_agreements: at(Action::ManageAgreements),
            view_outbox: at(Action::ViewOutbox),
        }
    }
}
