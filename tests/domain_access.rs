//! Who may do what: the permission table, and every domain read checked for every role,
//! in the actor's own tenant and in another one.

mod common;

use allot::domain::api_tokens::{self, Authentication};
use allot::domain::authz::{self, Action, Role, Scope, StaffRole, Target};
use allot::domain::{
    Actor, ApiTokenId, DomainError, StaffId, TenantId, UserId, licenses, tenants, users,
};
use common::*;
use strum::IntoEnumIterator;

/// The README's permission table, written out: ([Global, Billing, License, User],
/// [Billing support, Partner]) for each action in the actor's own tenant or console. A match
/// without a catch-all: a new `Action` does not compile until it has its row.
fn row(action: Action) -> ([bool; 4], [bool; 2]) {
    const ALL: [bool; 4] = [true, true, true, true];
    const NONE: [bool; 4] = [false, false, false, false];
    const USERS: [bool; 4] = [true, false, false, true];
    const BILLING: [bool; 4] = [true, true, false, false];
    match action {
        Action::ViewAdminCenter | Action::ViewLicenses => (ALL, [false, false]),
        Action::AssignLicenses | Action::ViewUsers => ([true, false, true, true], [false, false]),
        Action::ManageUsers
        | Action::BlockUser
        | Action::RenameUser
        | Action::ResetPassword
        | Action::DeleteUser
        | Action::EndSessions
        | Action::ManageGroups
        // An admin's session never reaches SCIM; the role says what a `scim` token stands for.
        | Action::Provision => (USERS, [false, false]),
        Action::ViewGroups | Action::AssignGroupLicenses => {
            ([true, false, true, true], [false, false])
        }
        Action::ViewBilling | Action::ManageBilling | Action::ActivateAgreement => {
            (BILLING, [false, false])
        }
        Action::ViewAgreement | Action::ReserveLicenses => (BILLING, [false, true]),
        Action::FileServiceRequests => (ALL, [false, false]),
        Action::FileBillingRequests => (BILLING, [false, false]),
        Action::ViewServiceRequest => (ALL, [true, true]),
        Action::ViewAuditLog | Action::ManageRoles | Action::ManageApiTokens => {
            ([true, false, false, false], [false, false])
        }
        // Those who buy licenses or hand them out; a User admin's work is the users.
        Action::SetLicenseAlerts => ([true, true, true, false], [false, false]),
        Action::ViewNotificationRecipients => ([true, false, false, false], [false, false]),
        Action::ViewSupportQueue | Action::WorkServiceRequest => (NONE, [true, true]),
        Action::CarryOutServiceRequest | Action::ViewOutbox => (NONE, [true, false]),
        Action::ManageAgreements => (NONE, [false, true]),
        Action::UseService | Action::Operate => (NONE, [false, false]),
    }
}

/// Every action, and the row it has.
fn table() -> Vec<(Action, [bool; 4], [bool; 2])> {
    Action::iter()
        .map(|action| {
            let (admins, staff) = row(action);
            (action, admins, staff)
        })
        .collect()
}

fn admin(role: Role, tenant: TenantId) -> Actor {
    Actor::Admin {
        user: UserId(1),
        tenant,
        email: "a@x.example".into(),
        roles: vec![role],
    }
}

fn staff(role: StaffRole) -> Actor {
    Actor::Staff {
        staff: StaffId(1),
        email: "s@x.example".into(),
        role,
    }
}

#[test]
fn the_table_has_a_row_for_every_action() {
    // `row` is an exhaustive match, so this counts what the compiler already checked.
    assert_eq!(table().len(), Action::iter().count());
    assert!(table().len() >= 25);
}

#[test]
fn each_admin_role_may_do_exactly_its_actions_in_its_own_tenant_and_nothing_in_another() {
    let own = TenantId(1);
    let other = TenantId(2);
    for (action, admins, _) in table() {
        for (role, expected) in Role::ALL.into_iter().zip(admins) {
            let actor = admin(role, own);
            assert_eq!(
                authz::can(&actor, action, &Target::Tenant(own)),
                expected,
                "{role:?} {action:?} own tenant"
            );
            assert_eq!(
                authz::may(&actor, action, &Target::Tenant(other)),
                Err(DomainError::Forbidden),
                "{role:?} {action:?} other tenant"
            );
            assert!(
                !authz::can(&actor, action, &Target::Provider),
                "{role:?} {action:?} across tenants"
            );
        }
    }
}

#[test]
fn each_staff_role_may_do_exactly_its_actions() {
    for (action, _, staff_roles) in table() {
        for (role, expected) in StaffRole::ALL.into_iter().zip(staff_roles) {
            assert_eq!(
                authz::can(&staff(role), action, &Target::Provider),
                expected,
                "{role:?} {action:?}"
            );
        }
    }
}

#[test]
fn several_roles_grant_the_union_of_their_actions() {
    let tenant = TenantId(1);
    let both = Actor::Admin {
        user: UserId(1),
        tenant,
        email: "a@x.example".into(),
        roles: vec![Role::Billing, Role::License],
    };
    assert!(authz::can(
        &both,
        Action::ManageBilling,
        &Target::Tenant(tenant)
    ));
    assert!(authz::can(
        &both,
        Action::AssignLicenses,
        &Target::Tenant(tenant)
    ));
    assert!(!authz::can(
        &both,
        Action::ManageUsers,
        &Target::Tenant(tenant)
    ));
}

#[test]
fn an_end_user_may_only_use_the_service_of_their_own_tenant() {
    let user = Actor::EndUser {
        user: UserId(1),
        tenant: TenantId(1),
        email: "u@x.example".into(),
    };
    for action in Action::iter() {
        assert_eq!(
            authz::can(&user, action, &Target::Tenant(TenantId(1))),
            action == Action::UseService,
            "{action:?}"
        );
        assert!(!authz::can(&user, action, &Target::Tenant(TenantId(2))));
    }
}

/// Calls every domain read of this slice as `actor` on `tenant`; Ok(()) or the error.
fn reads(
    db: &TestDb,
    actor: &Actor,
    tenant: TenantId,
    user: UserId,
) -> Vec<(&'static str, Result<(), DomainError>)> {
    let mut conn = db.conn();
    vec![
        (
            "tenants::get",
            tenants::get(&mut conn, actor, tenant).map(|_| ()),
        ),
        (
            "licenses::pools",
            licenses::pools(&mut conn, actor, tenant).map(|_| ()),
        ),
        (
            "licenses::counts",
            licenses::counts(&mut conn, actor, tenant).map(|_| ()),
        ),
        (
            "users::get",
            users::get(&mut conn, actor, tenant, user).map(|_| ()),
        ),
        (
            "users::admins",
            users::admins(&mut conn, actor, tenant).map(|_| ()),
        ),
    ]
}

#[test]
fn domain_reads_follow_the_roles_for_every_demo_account_and_tenant() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let contoso_user = users_of(&db, "admin@contoso.example", contoso);
    let fabrikam_user = users_of(&db, "admin@fabrikam.example", fabrikam);
    // (account, allowed in Contoso: [tenants::get, pools, counts, users::get, admins])
    let cases: [(&str, [bool; 5]); 6] = [
        ("admin@contoso.example", [true, true, true, true, true]),
        ("billing@contoso.example", [true, true, true, false, false]),
        ("licenses@contoso.example", [true, true, true, true, false]),
        ("users@contoso.example", [true, true, true, true, false]),
        ("support@allot.example", [false, false, false, false, false]),
        ("partner@allot.example", [false, false, false, false, false]),
    ];
    for (email, expected) in cases {
        let actor = actor(&db, email);
        for ((name, result), allowed) in reads(&db, &actor, contoso, contoso_user)
            .into_iter()
            .zip(expected)
        {
            assert_eq!(
                result.is_ok(),
                allowed,
                "{email} {name} in Contoso: {result:?}"
            );
            if !allowed {
                assert_eq!(result, Err(DomainError::Forbidden), "{email} {name}");
            }
        }
        for (name, result) in reads(&db, &actor, fabrikam, fabrikam_user) {
            assert_eq!(
                result,
                Err(DomainError::Forbidden),
                "{email} {name} in Fabrikam"
            );
        }
    }
}

#[test]
fn a_user_of_another_tenant_is_not_found_even_by_an_admin_who_may_view_users() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let fabrikam_user = users_of(&db, "admin@fabrikam.example", fabrikam);
    let admin = actor(&db, "admin@contoso.example");
    let mut conn = db.conn();
    assert_eq!(
        users::get(&mut conn, &admin, contoso, fabrikam_user).err(),
        Some(DomainError::NotFound)
    );
}

fn users_of(db: &TestDb, admin_email: &str, tenant: TenantId) -> UserId {
    let admin = actor(db, admin_email);
    let mut conn = db.conn();
    users::admins(&mut conn, &admin, tenant).unwrap()[0].id
}

/// The actions that change another person's account, where the containment rule applies.
const ACCOUNT_CHANGES: [Action; 5] = [
    Action::BlockUser,
    Action::RenameUser,
    Action::ResetPassword,
    Action::DeleteUser,
    Action::EndSessions,
];

fn admin_as(user: i64, roles: &[Role], tenant: TenantId) -> Actor {
    Actor::Admin {
        user: UserId(user),
        tenant,
        email: format!("u{user}@x.example"),
        roles: roles.to_vec(),
    }
}

#[test]
fn account_changes_follow_the_containment_rule_for_every_role_and_target() {
    let own = TenantId(1);
    // (actor's roles, target's roles, allowed): a User admin changes only users without admin
    // roles and other User admins; a Global admin changes anyone; others change nobody.
    let cases: &[(&[Role], &[Role], bool)] = &[
        (&[Role::Global], &[], true),
        (&[Role::Global], &[Role::Global], true),
        (&[Role::Global], &[Role::Billing, Role::License], true),
        (&[Role::User], &[], true),
        (&[Role::User], &[Role::User], true),
        (&[Role::User], &[Role::Global], false),
        (&[Role::User], &[Role::Billing], false),
        (&[Role::User], &[Role::License], false),
        (&[Role::User], &[Role::User, Role::Billing], false),
        (&[Role::User, Role::Billing], &[Role::Billing], false),
        (&[Role::Billing], &[], false),
        (&[Role::License], &[], false),
    ];
    for (mine, theirs, allowed) in cases {
        let actor = admin_as(1, mine, own);
        let target = Target::user(own, UserId(2), theirs.to_vec());
        for action in ACCOUNT_CHANGES {
            let result = authz::may(&actor, action, &target);
            assert_eq!(
                result.is_ok(),
                *allowed,
                "{mine:?} {action:?} {theirs:?}: {result:?}"
            );
            if !allowed && mine.contains(&Role::User) {
                assert!(
                    matches!(result, Err(DomainError::Refused(ref m)) if m.starts_with("Only a Global admin can change")),
                    "{mine:?} {action:?} {theirs:?}: {result:?}"
                );
            }
            // The same user in another tenant is not theirs to change.
            let elsewhere = Target::user(TenantId(2), UserId(2), theirs.to_vec());
            assert_eq!(
                authz::may(&actor, action, &elsewhere),
                Err(DomainError::Forbidden)
            );
        }
    }
}

#[test]
fn nobody_changes_their_own_account_but_anyone_may_sign_themselves_out_everywhere() {
    let own = TenantId(1);
    for role in Role::ALL {
        let me = admin_as(7, &[role], own);
        let myself = Target::user(own, UserId(7), vec![role]);
        for action in [
            Action::BlockUser,
            Action::RenameUser,
            Action::ResetPassword,
            Action::DeleteUser,
        ] {
            let result = authz::may(&me, action, &myself);
            if row(action).0[Role::ALL.iter().position(|r| *r == role).unwrap()] {
                assert!(
                    matches!(result, Err(DomainError::Conflict(ref m)) if m.contains("your own account")),
                    "{role:?} {action:?}: {result:?}"
                );
            } else {
                assert_eq!(result, Err(DomainError::Forbidden), "{role:?} {action:?}");
            }
        }
        assert_eq!(
            authz::may(&me, Action::EndSessions, &myself),
            Ok(()),
            "{role:?}"
        );
    }
}

#[test]
fn a_self_service_pool_is_managed_by_its_buyer_alone() {
    let own = TenantId(1);
    let buyer = UserId(5);
    let pool = Target::Pool {
        tenant: own,
        buyer: Some(buyer),
    };
    let end_user = |user: i64, tenant: TenantId| Actor::EndUser {
        user: UserId(user),
        tenant,
        email: "e@x.example".into(),
    };
    assert_eq!(
        authz::may(&end_user(5, own), Action::AssignLicenses, &pool),
        Ok(())
    );
    assert_eq!(
        authz::may(&end_user(6, own), Action::AssignLicenses, &pool),
        Err(DomainError::Forbidden)
    );
    assert_eq!(
        authz::may(&end_user(5, TenantId(2)), Action::AssignLicenses, &pool),
        Err(DomainError::Forbidden)
    );
    for role in Role::ALL {
        let result = authz::may(&admin(role, own), Action::AssignLicenses, &pool);
        if row(Action::AssignLicenses).0[Role::ALL.iter().position(|r| *r == role).unwrap()] {
            assert_eq!(
                result,
                Err(DomainError::Conflict(licenses::SELF_SERVICE_REFUSAL.into())),
                "{role:?}"
            );
        } else {
            assert_eq!(result, Err(DomainError::Forbidden), "{role:?}");
        }
    }
    // The tenant's own pool: admins by role, end users never.
    let tenant_pool = Target::Pool {
        tenant: own,
        buyer: None,
    };
    assert!(authz::can(
        &admin(Role::License, own),
        Action::AssignLicenses,
        &tenant_pool
    ));
    assert!(!authz::can(
        &end_user(5, own),
        Action::AssignLicenses,
        &tenant_pool
    ));
}

#[test]
fn service_requests_by_kind_and_tenant() {
    let own = TenantId(1);
    let request = |volume_licensing: bool, tenant: TenantId| Target::Request {
        tenant: Some(tenant),
        volume_licensing,
    };
    let support = staff(StaffRole::Support);
    let partner = staff(StaffRole::Partner);
    for vl in [false, true] {
        let target = request(vl, own);
        for action in [Action::ViewServiceRequest, Action::WorkServiceRequest] {
            assert!(
                authz::can(&support, action, &target),
                "support {action:?} vl={vl}"
            );
            assert_eq!(
                authz::can(&partner, action, &target),
                vl,
                "partner {action:?} vl={vl}"
            );
        }
        assert!(authz::can(
            &support,
            Action::CarryOutServiceRequest,
            &target
        ));
        assert!(!authz::can(
            &partner,
            Action::CarryOutServiceRequest,
            &target
        ));
        for role in Role::ALL {
            let actor = admin(role, own);
            assert!(
                authz::can(&actor, Action::ViewServiceRequest, &target),
                "{role:?}"
            );
            assert!(
                !authz::can(&actor, Action::WorkServiceRequest, &target),
                "{role:?}"
            );
            // Another tenant's request answers as a missing one.
            assert_eq!(
                authz::may(
                    &actor,
                    Action::ViewServiceRequest,
                    &request(vl, TenantId(2))
                ),
                Err(DomainError::NotFound),
                "{role:?}"
            );
        }
    }
    // The kinds a staff member works, across tenants.
    assert_eq!(
        authz::staff_roles_who_may(
            Action::WorkServiceRequest,
            &Target::Request {
                tenant: None,
                volume_licensing: true
            }
        ),
        vec![StaffRole::Support, StaffRole::Partner]
    );
    assert_eq!(
        authz::staff_roles_who_may(
            Action::WorkServiceRequest,
            &Target::Request {
                tenant: None,
                volume_licensing: false
            }
        ),
        vec![StaffRole::Support]
    );
}

#[test]
fn agreements_by_the_tenant_they_are_attached_to() {
    let own = TenantId(1);
    let partner = staff(StaffRole::Partner);
    for tenant in [Some(own), Some(TenantId(2)), None] {
        let target = Target::Agreement { tenant };
        assert!(authz::can(&partner, Action::ViewAgreement, &target));
        assert!(authz::can(&partner, Action::ManageAgreements, &target));
        assert!(!authz::can(
            &staff(StaffRole::Support),
            Action::ViewAgreement,
            &target
        ));
        for role in Role::ALL {
            let result = authz::may(&admin(role, own), Action::ViewAgreement, &target);
            let expected = tenant == Some(own) && matches!(role, Role::Global | Role::Billing);
            assert_eq!(result.is_ok(), expected, "{role:?} {tenant:?}");
            if tenant != Some(own) {
                assert_eq!(result, Err(DomainError::NotFound), "{role:?} {tenant:?}");
            }
            assert!(!authz::can(
                &admin(role, own),
                Action::ManageAgreements,
                &target
            ));
        }
    }
}

/// A service request names an agreement of the admin's own tenant only: attached to it, or
/// not attached yet with the OSM its own; anything else answers as a missing agreement.
#[test]
fn an_agreement_is_named_only_by_its_own_tenant() {
    let own = TenantId(1);
    let other = TenantId(2);
    for (attached, osm_admin_of, ours) in [
        (Some(own), None, true),
        (None, Some(own), true),
        (Some(own), Some(other), true),
        (Some(other), None, false),
        (Some(other), Some(own), false),
        (None, Some(other), false),
        (None, None, false),
    ] {
        let target = Target::NamedAgreement {
            attached,
            osm_admin_of,
        };
        for role in Role::ALL {
            let result = authz::may(&admin(role, own), Action::ManageBilling, &target);
            let expected = ours && matches!(role, Role::Global | Role::Billing);
            assert_eq!(
                result.is_ok(),
                expected,
                "{role:?} {attached:?} {osm_admin_of:?}"
            );
            if !ours {
                assert_eq!(result, Err(DomainError::NotFound), "{role:?} {attached:?}");
            }
        }
        for role in StaffRole::ALL {
            assert!(!authz::can(&staff(role), Action::ManageBilling, &target));
        }
    }
}

#[test]
fn the_operator_alone_does_the_operators_work_and_may_do_anything() {
    let system = Actor::System("test");
    let targets = [
        Target::Provider,
        Target::Operator,
        Target::Tenant(TenantId(1)),
        Target::user(TenantId(1), UserId(1), vec![Role::Global]),
        Target::Pool {
            tenant: TenantId(1),
            buyer: Some(UserId(3)),
        },
        Target::Request {
            tenant: Some(TenantId(1)),
            volume_licensing: true,
        },
        Target::Agreement { tenant: None },
    ];
    for action in Action::iter() {
        for target in &targets {
            assert_eq!(
                authz::may(&system, action, target),
                Ok(()),
                "{action:?} {target:?}"
            );
        }
    }
    for role in Role::ALL {
        assert!(!authz::can(
            &admin(role, TenantId(1)),
            Action::Operate,
            &Target::Operator
        ));
    }
    for role in StaffRole::ALL {
        assert!(!authz::can(
            &staff(role),
            Action::Operate,
            &Target::Operator
        ));
        assert!(!authz::can(
            &staff(role),
            Action::ViewUsers,
            &Target::Tenant(TenantId(1))
        ));
    }
}

// ---------------------------------------------------------------- API tokens

/// The README's scopes table, written out apart from `Action::for_tokens`: the scopes that let
/// a token do each action (any one of them); none, never for a token. Exhaustive like `row`.
fn token_row(action: Action) -> &'static [Scope] {
    use Scope::*;
    match action {
        Action::ViewLicenses => &[LicensesRead, LicensesWrite],
        Action::AssignLicenses | Action::AssignGroupLicenses => &[LicensesWrite],
        Action::ViewUsers => &[UsersRead, UsersWrite, Scim],
        Action::ManageUsers
        | Action::BlockUser
        | Action::RenameUser
        | Action::DeleteUser
        | Action::EndSessions => &[UsersWrite, Scim],
        Action::ViewGroups => &[UsersRead, UsersWrite, GroupsWrite, Scim],
        Action::ManageGroups => &[GroupsWrite, Scim],
        Action::Provision => &[Scim],
        Action::ViewBilling | Action::ViewAgreement => &[BillingRead],
        Action::ViewServiceRequest => &[BillingRead, ServiceRequestsWrite],
        Action::FileServiceRequests | Action::FileBillingRequests => &[ServiceRequestsWrite],
        Action::ViewAdminCenter
        | Action::ResetPassword
        | Action::ManageBilling
        | Action::ViewAuditLog
        | Action::ManageRoles
        | Action::ManageApiTokens
        | Action::SetLicenseAlerts
        | Action::ViewNotificationRecipients
        | Action::ViewSupportQueue
        | Action::WorkServiceRequest
        | Action::CarryOutServiceRequest
        | Action::ManageAgreements
        | Action::ReserveLicenses
        | Action::ActivateAgreement
        | Action::ViewOutbox
        | Action::UseService
        | Action::Operate => &[],
    }
}

fn token(scopes: &[Scope], tenant: TenantId) -> Actor {
    Actor::ApiToken {
        tenant,
        token: ApiTokenId(1),
        name: "Okta provisioning".into(),
        scopes: scopes.to_vec(),
    }
}

#[test]
fn each_scope_alone_grants_exactly_its_actions_in_its_own_tenant_and_nothing_in_another() {
    let own = TenantId(1);
    let other = TenantId(2);
    for action in Action::iter() {
        for scope in Scope::iter() {
            let actor = token(&[scope], own);
            assert_eq!(
                authz::can(&actor, action, &Target::Tenant(own)),
                token_row(action).contains(&scope),
                "{scope} {action:?} own tenant"
            );
            assert_eq!(
                authz::may(&actor, action, &Target::Tenant(other)),
                Err(DomainError::Forbidden),
                "{scope} {action:?} other tenant"
            );
            assert!(
                !authz::can(&actor, action, &Target::Provider),
                "{scope} {action:?} across tenants"
            );
            assert!(!authz::can(&actor, action, &Target::Operator));
        }
    }
}

#[test]
fn a_token_with_every_scope_does_only_what_some_scope_grants_and_one_without_scopes_nothing() {
    let own = TenantId(1);
    let every: Vec<Scope> = Scope::iter().collect();
    for action in Action::iter() {
        assert_eq!(
            authz::can(&token(&every, own), action, &Target::Tenant(own)),
            !token_row(action).is_empty(),
            "{action:?}"
        );
        assert!(!authz::can(&token(&[], own), action, &Target::Tenant(own)));
        // Never what the token's tenant's admins could not do in it with some role.
        if !token_row(action).is_empty() {
            assert!(row(action).0.contains(&true), "{action:?}");
        }
    }
    // Buying, roles, tokens, the support console and passwords: never, with any scope.
    for action in [
        Action::ManageBilling,
        Action::ReserveLicenses,
        Action::ManageRoles,
        Action::ManageApiTokens,
        Action::ViewAuditLog,
        Action::ResetPassword,
        Action::ViewSupportQueue,
        Action::CarryOutServiceRequest,
        Action::ViewOutbox,
    ] {
        assert!(token_row(action).is_empty(), "{action:?}");
        assert_eq!(
            authz::may(&token(&every, own), action, &Target::Tenant(own)),
            Err(DomainError::Forbidden),
            "{action:?}"
        );
    }
}

#[test]
fn a_licenses_token_never_does_what_a_license_admin_could_not() {
    let own = TenantId(1);
    let license_admin = admin(Role::License, own);
    let license = Role::ALL.iter().position(|r| *r == Role::License).unwrap();
    let targets = [
        Target::Tenant(own),
        Target::Pool {
            tenant: own,
            buyer: None,
        },
        Target::Pool {
            tenant: own,
            buyer: Some(UserId(5)),
        },
    ];
    for action in Action::iter() {
        let licensing = token_row(action)
            .iter()
            .any(|s| matches!(s, Scope::LicensesRead | Scope::LicensesWrite));
        if !licensing {
            continue;
        }
        assert!(row(action).0[license], "{action:?}");
        for target in &targets {
            let by_token = authz::may(
                &token(&[Scope::LicensesRead, Scope::LicensesWrite], own),
                action,
                target,
            );
            let by_admin = authz::may(&license_admin, action, target);
            if by_token.is_ok() {
                assert_eq!(by_admin, Ok(()), "{action:?} {target:?}");
            }
            if by_admin.is_err() && token_row(action).contains(&Scope::LicensesWrite) {
                assert_eq!(by_token, by_admin, "{action:?} {target:?}");
            }
        }
    }
    // A self-service purchase is its buyer's: the token hears what an admin hears.
    assert_eq!(
        authz::may(
            &token(&[Scope::LicensesWrite], own),
            Action::AssignLicenses,
            &targets[2]
        ),
        Err(DomainError::Conflict(licenses::SELF_SERVICE_REFUSAL.into()))
    );
}

#[test]
fn a_users_token_changes_only_the_users_a_user_admin_may_change() {
    let own = TenantId(1);
    let cases: &[(&[Role], bool)] = &[
        (&[], true),
        (&[Role::User], true),
        (&[Role::Global], false),
        (&[Role::Billing], false),
        (&[Role::License], false),
        (&[Role::User, Role::Billing], false),
    ];
    for scope in [Scope::UsersWrite, Scope::Scim] {
        let actor = token(&[scope], own);
        for (theirs, allowed) in cases {
            let target = Target::user(own, UserId(2), theirs.to_vec());
            for action in [
                Action::BlockUser,
                Action::RenameUser,
                Action::DeleteUser,
                Action::EndSessions,
            ] {
                let result = authz::may(&actor, action, &target);
                assert_eq!(
                    result.is_ok(),
                    *allowed,
                    "{scope} {action:?} {theirs:?}: {result:?}"
                );
                if !allowed {
                    assert!(
                        matches!(result, Err(DomainError::Refused(ref m)) if m.starts_with("Only a Global admin can change")),
                        "{scope} {action:?} {theirs:?}: {result:?}"
                    );
                }
            }
            assert_eq!(
                authz::may(&actor, Action::ResetPassword, &target),
                Err(DomainError::Forbidden)
            );
        }
    }
}

#[test]
fn another_tenants_request_or_agreement_is_not_found_for_a_billing_token() {
    let actor = token(&[Scope::BillingRead], TenantId(1));
    let request = |tenant| Target::Request {
        tenant: Some(tenant),
        volume_licensing: false,
    };
    assert_eq!(
        authz::may(&actor, Action::ViewServiceRequest, &request(TenantId(1))),
        Ok(())
    );
    assert_eq!(
        authz::may(&actor, Action::ViewServiceRequest, &request(TenantId(2))),
        Err(DomainError::NotFound)
    );
    assert_eq!(
        authz::may(
            &actor,
            Action::ViewAgreement,
            &Target::Agreement {
                tenant: Some(TenantId(2))
            }
        ),
        Err(DomainError::NotFound)
    );
}

/// A token that is expired, revoked or unknown never becomes an actor: it is refused at
/// authentication, before `may` is asked anything.
#[test]
fn an_expired_revoked_or_unknown_token_is_refused_at_authentication() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let global = actor(&db, "admin@contoso.example");
    let mut conn = db.conn();
    let made = api_tokens::create(
        &mut conn,
        &global,
        test_now(),
        contoso,
        "Okta provisioning",
        &[Scope::LicensesRead],
        30,
    )
    .unwrap();
    let Authentication::Valid(as_token) =
        api_tokens::authenticate(&mut conn, test_now(), &made.secret).unwrap()
    else {
        panic!("a new token authenticates");
    };
    assert_eq!(as_token, token_of(contoso, made.id, &[Scope::LicensesRead]));
    assert!(licenses::pools(&mut conn, &as_token, contoso).is_ok());
    assert_eq!(
        users::admins(&mut conn, &as_token, contoso).err(),
        Some(DomainError::Forbidden)
    );
    assert_eq!(
        api_tokens::authenticate(
            &mut conn,
            made.expires_at - chrono::Duration::seconds(1),
            &made.secret
        )
        .unwrap(),
        Authentication::Valid(as_token.clone())
    );
    assert_eq!(
        api_tokens::authenticate(&mut conn, made.expires_at, &made.secret).unwrap(),
        Authentication::Expired
    );
    api_tokens::revoke(&mut conn, &global, test_now(), contoso, made.id).unwrap();
    assert_eq!(
        api_tokens::authenticate(&mut conn, test_now(), &made.secret).unwrap(),
        Authentication::Revoked
    );
    for unknown in [
        "allot_0000000000000000000000000000000000000000000000000000000000000000",
        "not-a-token",
        "",
    ] {
        assert_eq!(
            api_tokens::authenticate(&mut conn, test_now(), unknown).unwrap(),
            Authentication::Unknown,
            "{unknown}"
        );
    }
}

fn token_of(tenant: TenantId, id: ApiTokenId, scopes: &[Scope]) -> Actor {
    Actor::ApiToken {
        tenant,
        token: id,
        name: "Okta provisioning".into(),
        scopes: scopes.to_vec(),
    }
}
