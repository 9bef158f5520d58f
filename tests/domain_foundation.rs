//! The demo data, the operator's commands, and the scheduled jobs.

mod common;

use allot::domain::accounts::{self, AdminCreated, EmailAddress};
use allot::domain::signin::{self, Door};
use allot::domain::{Actor, DomainError, Role, StaffRole, demo, licenses};
use allot::jobs;
use common::*;

#[test]
fn the_demo_shows_business_premium_with_13_licenses_10_assigned_3_available() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let pools = licenses::pools(&mut db.conn(), &admin, contoso).unwrap();
    let rows: Vec<(String, i64, i64, i64, bool)> = pools
        .iter()
        .map(|p| {
            (
                p.product_name.clone(),
                p.licenses,
                p.assigned,
                p.available(),
                p.self_service.is_some(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("Business Premium".into(), 13, 10, 3, false),
            ("Sales Professional".into(), 15, 9, 6, false),
            ("Project Plan 3".into(), 2, 1, 1, true),
        ]
    );
    assert_eq!(
        pools[2].self_service.as_ref().unwrap().1,
        "user07@contoso.example"
    );
    let counts = licenses::counts(&mut db.conn(), &admin, contoso).unwrap();
    assert_eq!(
        (
            counts.users,
            counts.products,
            counts.assigned,
            counts.available
        ),
        (44, 3, 20, 10)
    );
}

#[test]
fn fabrikam_sees_only_its_own_licenses() {
    let db = TestDb::with_demo();
    let (_, fabrikam) = tenants(&db);
    let admin = actor(&db, "admin@fabrikam.example");
    let pools = licenses::pools(&mut db.conn(), &admin, fabrikam).unwrap();
    // Its direct Business Premium, and the Sales Professional licenses of its agreement
    // (30 ordered, 5 reserved this year).
    let summary: Vec<(&str, i64, i64)> = pools
        .iter()
        .map(|p| (p.product_name.as_str(), p.licenses, p.assigned))
        .collect();
    assert_eq!(
        summary,
        vec![("Business Premium", 5, 3), ("Sales Professional", 35, 0)]
    );
    assert_eq!(
        licenses::counts(&mut db.conn(), &admin, fabrikam)
            .unwrap()
            .users,
        6
    );
}

#[test]
fn loading_the_demo_twice_changes_nothing_the_second_time() {
    let db = TestDb::with_demo();
    let before = licenses::counts(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        tenants(&db).0,
    )
    .unwrap();
    assert!(!demo::load(&mut db.conn(), test_now()).unwrap());
    let after = licenses::counts(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        tenants(&db).0,
    )
    .unwrap();
    assert_eq!(before, after);
}

#[test]
fn every_demo_account_signs_in_with_the_demo_password() {
    let db = TestDb::with_demo();
    let mut conn = db.conn();
    for email in [
        "admin@contoso.example",
        "billing@contoso.example",
        "licenses@contoso.example",
        "users@contoso.example",
        "admin@fabrikam.example",
        "support@allot.example",
        "partner@allot.example",
    ] {
        assert!(
            signin::sign_in(
                &mut conn,
                test_now(),
                Door::AdminCenter,
                email,
                PASSWORD,
                email
            )
            .is_ok(),
            "{email}"
        );
    }
    for email in [
        "user01@contoso.example",
        "user40@contoso.example",
        "user05@fabrikam.example",
    ] {
        assert!(
            signin::sign_in(&mut conn, test_now(), Door::Portal, email, PASSWORD, email).is_ok(),
            "{email}"
        );
    }
}

#[test]
fn the_operator_creates_a_tenant_admin_and_then_adds_a_second_role() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let cli = Actor::System("command line");
    let created = accounts::create_admin(
        &mut conn,
        &cli,
        test_now(),
        "Northwind",
        "Boss@Northwind.example",
        Role::Global,
        "long enough pw",
    )
    .unwrap();
    assert!(matches!(created, AdminCreated::NewUser(_)));
    let again = accounts::create_admin(
        &mut conn,
        &cli,
        test_now(),
        "Northwind",
        "boss@northwind.example",
        Role::Billing,
        "ignored password",
    )
    .unwrap();
    assert!(matches!(again, AdminCreated::RoleAdded(_)));
    let principal = signin::sign_in(
        &mut conn,
        test_now(),
        Door::AdminCenter,
        "boss@northwind.example",
        "long enough pw",
        "a",
    )
    .unwrap();
    let signed_in = accounts::admin_center_actor(&mut conn, principal)
        .unwrap()
        .unwrap();
    match signed_in.actor {
        Actor::Admin { roles, .. } => assert_eq!(roles, vec![Role::Global, Role::Billing]),
        other => panic!("expected an admin, got {other:?}"),
    }
    assert_eq!(signed_in.place, "Northwind");
}

#[test]
fn the_operator_is_told_what_is_wrong_and_nothing_is_created() {
    let db = TestDb::with_demo();
    let mut conn = db.conn();
    let cli = Actor::System("command line");
    let short = accounts::create_admin(
        &mut conn,
        &cli,
        test_now(),
        "Northwind",
        "a@northwind.example",
        Role::Global,
        "short",
    );
    assert_eq!(
        short.unwrap_err().to_string(),
        "The password must have at least 8 characters."
    );
    let bad_email = accounts::create_staff(
        &mut conn,
        &cli,
        test_now(),
        "not an email",
        StaffRole::Support,
        "long enough pw",
    );
    assert!(matches!(
        bad_email,
        Err(DomainError::Invalid { field: "email", .. })
    ));
    let taken = accounts::create_staff(
        &mut conn,
        &cli,
        test_now(),
        "admin@contoso.example",
        StaffRole::Support,
        "long enough pw",
    );
    assert_eq!(
        taken.unwrap_err().to_string(),
        "The sign-in name admin@contoso.example is already in use."
    );
    let other_tenant = accounts::create_admin(
        &mut conn,
        &cli,
        test_now(),
        "Fabrikam",
        "user01@contoso.example",
        Role::Global,
        "long enough pw",
    );
    assert_eq!(
        other_tenant.unwrap_err().to_string(),
        "user01@contoso.example belongs to another tenant."
    );
    // The failed create_admin calls left no tenant behind.
    assert!(
        signin::sign_in(
            &mut conn,
            test_now(),
            Door::AdminCenter,
            "a@northwind.example",
            "short",
            "a"
        )
        .is_err()
    );
}

#[test]
fn only_the_operator_creates_admins_and_staff() {
    let db = TestDb::with_demo();
    let admin = actor(&db, "admin@contoso.example");
    let mut conn = db.conn();
    assert_eq!(
        accounts::create_admin(
            &mut conn,
            &admin,
            test_now(),
            "Contoso",
            "new@contoso.example",
            Role::Global,
            "long enough pw"
        ),
        Err(DomainError::Forbidden)
    );
    assert_eq!(
        accounts::create_staff(
            &mut conn,
            &admin,
            test_now(),
            "new@allot.example",
            StaffRole::Support,
            "long enough pw"
        ),
        Err(DomainError::Forbidden)
    );
}

#[test]
fn email_addresses_are_checked_and_normalised() {
    assert_eq!(
        EmailAddress::parse(" Ann@Example.COM ").unwrap().as_str(),
        "ann@example.com"
    );
    for bad in [
        "",
        "ann",
        "ann@",
        "@example.com",
        "ann@example",
        "a b@example.com",
        "ann@@example.com",
        "ann@.com",
    ] {
        assert!(
            EmailAddress::parse(bad).is_err(),
            "{bad:?} should be refused"
        );
    }
}

#[test]
fn a_tick_forgets_old_sign_in_failures_and_a_second_tick_changes_nothing() {
    let db = TestDb::with_demo();
    let mut conn = db.conn();
    let _ = signin::sign_in(
        &mut conn,
        test_now(),
        Door::AdminCenter,
        "admin@contoso.example",
        "guess",
        "a",
    );
    let later = test_now() + chrono::Duration::days(2);
    let first = jobs::tick(&mut conn, &allot::domain::billing::TestGateway, later).unwrap();
    assert!(first.ran);
    assert_eq!(
        first.forgotten_signin_failures, 2,
        "the account's and the address's counts"
    );
    let second = jobs::tick(&mut conn, &allot::domain::billing::TestGateway, later).unwrap();
    assert_eq!(second.forgotten_signin_failures, 0);
}
