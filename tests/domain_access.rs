//! Who may do what: the permission table, and every domain read checked for every role,
//! in the actor's own tenant and in another one.

mod common;

use allot::domain::authz::{self, Action, Role, StaffRole};
use allot::domain::{Actor, DomainError, StaffId, TenantId, UserId, licenses, tenants, users};
use common::*;

/// The README's permission table, written out: (action, [Global, Billing, License, User],
/// [Billing support, Partner]).
const TABLE: &[(Action, [bool; 4], [bool; 2])] = &[
    (
        Action::ViewAdminCenter,
        [true, true, true, true],
        [false, false],
    ),
    (
        Action::ViewLicenses,
        [true, true, true, true],
        [false, false],
    ),
    (
        Action::AssignLicenses,
        [true, false, true, true],
        [false, false],
    ),
    (Action::ViewUsers, [true, false, true, true], [false, false]),
    (
        Action::ManageUsers,
        [true, false, false, true],
        [false, false],
    ),
    (
        Action::ViewBilling,
        [true, true, false, false],
        [false, false],
    ),
    (
        Action::ManageBilling,
        [true, true, false, false],
        [false, false],
    ),
    (
        Action::FileServiceRequests,
        [true, true, true, true],
        [false, false],
    ),
    (
        Action::ViewAuditLog,
        [true, false, false, false],
        [false, false],
    ),
    (
        Action::ManageRoles,
        [true, false, false, false],
        [false, false],
    ),
    (
        Action::ViewSupportQueue,
        [false, false, false, false],
        [true, true],
    ),
    (
        Action::WorkServiceRequests,
        [false, false, false, false],
        [true, false],
    ),
    (
        Action::WorkVolumeLicensingRequests,
        [false, false, false, false],
        [false, true],
    ),
    (
        Action::ManageAgreements,
        [false, false, false, false],
        [false, true],
    ),
    (
        Action::ViewOutbox,
        [false, false, false, false],
        [true, false],
    ),
    (
        Action::UseService,
        [false, false, false, false],
        [false, false],
    ),
];

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
fn the_table_covers_every_action() {
    for action in Action::ALL {
        assert!(
            TABLE.iter().any(|(a, _, _)| *a == action),
            "{action:?} is missing from the table"
        );
    }
}

#[test]
fn each_admin_role_may_do_exactly_its_actions_in_its_own_tenant_and_nothing_in_another() {
    let own = TenantId(1);
    let other = TenantId(2);
    for (action, admins, _) in TABLE {
        for (role, expected) in Role::ALL.into_iter().zip(admins) {
            let actor = admin(role, own);
            assert_eq!(
                authz::can(&actor, *action, Some(own)),
                *expected,
                "{role:?} {action:?} own tenant"
            );
            assert_eq!(
                authz::may(&actor, *action, Some(other)),
                Err(DomainError::Forbidden),
                "{role:?} {action:?} other tenant"
            );
            assert!(
                !authz::can(&actor, *action, None),
                "{role:?} {action:?} across tenants"
            );
        }
    }
}

#[test]
fn each_staff_role_may_do_exactly_its_actions() {
    for (action, _, staff_roles) in TABLE {
        for (role, expected) in StaffRole::ALL.into_iter().zip(staff_roles) {
            assert_eq!(
                authz::can(&staff(role), *action, None),
                *expected,
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
    assert!(authz::can(&both, Action::ManageBilling, Some(tenant)));
    assert!(authz::can(&both, Action::AssignLicenses, Some(tenant)));
    assert!(!authz::can(&both, Action::ManageUsers, Some(tenant)));
}

#[test]
fn an_end_user_may_only_use_the_service_of_their_own_tenant() {
    let user = Actor::EndUser {
        user: UserId(1),
        tenant: TenantId(1),
        email: "u@x.example".into(),
    };
    for action in Action::ALL {
        assert_eq!(
            authz::can(&user, action, Some(TenantId(1))),
            action == Action::UseService,
            "{action:?}"
        );
        assert!(!authz::can(&user, action, Some(TenantId(2))));
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
