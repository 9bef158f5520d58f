//! License pools: assigning, unassigning, data holds, conflicts, self-service purchases,
//! and seat accounting under concurrency.

mod common;

use allot::domain::licenses::{self, DATA_HOLD, PoolRef, SELF_SERVICE_REFUSAL};
use allot::domain::schema::subscriptions;
use allot::domain::{Actor, DomainError, SubscriptionId, portal};
use allot::jobs;
use chrono::Duration;
use common::*;
use diesel::prelude::*;

#[test]
fn assigning_within_the_pool_adds_the_users_and_audits_each_one() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "licenses@contoso.example");
    let premium = product_id(&db, "Business Premium");
    let users = contoso_users(&db, 11, 13);
    let done = licenses::assign(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        PoolRef::Tenant(premium),
        &users,
    )
    .unwrap();
    assert_eq!(done.assigned, users);
    assert_eq!(done.available_after, 0);
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 13, 0));
    assert_eq!(audit_count(&db, contoso, "Assigned license"), 3);
}

#[test]
fn assigning_more_users_than_available_changes_nothing() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium = product_id(&db, "Business Premium");
    let users = contoso_users(&db, 11, 14);
    let refused = licenses::assign(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        PoolRef::Tenant(premium),
        &users,
    );
    assert_eq!(refused, Err(DomainError::NoLicensesLeft { available: 3 }));
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
    assert_eq!(audit_count(&db, contoso, "Assigned license"), 0);
}

#[test]
fn users_who_already_hold_the_license_take_no_extra_seat() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium = product_id(&db, "Business Premium");
    let mut users = contoso_users(&db, 1, 10);
    users.extend(contoso_users(&db, 11, 12));
    let done = licenses::assign(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        PoolRef::Tenant(premium),
        &users,
    )
    .unwrap();
    assert_eq!(done.assigned.len(), 2);
    assert_eq!(done.already.len(), 10);
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 12, 1));
}

#[test]
fn unassigning_frees_the_licenses_and_holds_the_data_for_30_days_then_tick_deletes_it() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium = product_id(&db, "Business Premium");
    let users = contoso_users(&db, 1, 2);
    let done = licenses::unassign(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        PoolRef::Tenant(premium),
        &users,
    )
    .unwrap();
    assert_eq!(done.data_held_until, Some(test_now() + DATA_HOLD));
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 8, 5));
    let detail = allot::domain::users::get(&mut db.conn(), &admin, contoso, users[0]).unwrap();
    assert_eq!(
        detail.data_held,
        vec![("Business Premium".to_owned(), test_now() + DATA_HOLD)]
    );
    assert!(
        !detail
            .licenses
            .iter()
            .any(|l| l.product_name == "Business Premium")
    );
    assert_eq!(audit_count(&db, contoso, "Unassigned license"), 2);

    let mut conn = db.conn();
    let early = jobs::tick(
        &mut conn,
        &allot::domain::billing::TestGateway,
        test_now() + Duration::days(29),
    )
    .unwrap();
    assert_eq!(early.held_data_deleted, 0);
    let due = jobs::tick(
        &mut conn,
        &allot::domain::billing::TestGateway,
        test_now() + Duration::days(30),
    )
    .unwrap();
    assert_eq!(due.held_data_deleted, 2);
    let again = jobs::tick(
        &mut conn,
        &allot::domain::billing::TestGateway,
        test_now() + Duration::days(30),
    )
    .unwrap();
    assert_eq!(again.held_data_deleted, 0);
    drop(conn);
    assert!(
        allot::domain::users::get(&mut db.conn(), &admin, contoso, users[0])
            .unwrap()
            .data_held
            .is_empty()
    );
}

#[test]
fn assigning_again_within_the_hold_brings_the_data_back() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let pool = PoolRef::Tenant(product_id(&db, "Business Premium"));
    let user = contoso_users(&db, 1, 1);
    licenses::unassign(&mut db.conn(), &admin, test_now(), contoso, pool, &user).unwrap();
    licenses::assign(
        &mut db.conn(),
        &admin,
        test_now() + Duration::days(3),
        contoso,
        pool,
        &user,
    )
    .unwrap();
    assert!(
        allot::domain::users::get(&mut db.conn(), &admin, contoso, user[0])
            .unwrap()
            .data_held
            .is_empty()
    );
}

#[test]
fn unassigning_a_user_who_does_not_hold_the_license_changes_nothing() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let pool = PoolRef::Tenant(product_id(&db, "Business Premium"));
    let mut users = contoso_users(&db, 1, 1);
    users.extend(contoso_users(&db, 20, 20));
    let refused = licenses::unassign(&mut db.conn(), &admin, test_now(), contoso, pool, &users);
    assert!(
        matches!(refused, Err(DomainError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
}

#[test]
fn users_of_another_tenant_cannot_be_assigned_or_unassigned() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let pool = PoolRef::Tenant(product_id(&db, "Business Premium"));
    let fabrikam_user = user_id(&db, "user04@fabrikam.example");
    assert_eq!(
        licenses::assign(
            &mut db.conn(),
            &admin,
            test_now(),
            contoso,
            pool,
            &[fabrikam_user]
        ),
        Err(DomainError::NotFound)
    );
    let fabrikam_holder = user_id(&db, "user01@fabrikam.example");
    assert_eq!(
        licenses::unassign(
            &mut db.conn(),
            &admin,
            test_now(),
            contoso,
            pool,
            &[fabrikam_holder]
        )
        .err(),
        Some(DomainError::NotFound)
    );
}

#[test]
fn assigning_and_unassigning_follow_the_roles_in_every_tenant() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let pool = PoolRef::Tenant(product_id(&db, "Business Premium"));
    let user = contoso_users(&db, 15, 15);
    for (email, allowed) in [
        ("admin@contoso.example", true),
        ("licenses@contoso.example", true),
        ("users@contoso.example", true),
        ("billing@contoso.example", false),
        ("support@allot.example", false),
        ("partner@allot.example", false),
        ("admin@fabrikam.example", false),
    ] {
        let a = actor(&db, email);
        let assigned = licenses::assign(&mut db.conn(), &a, test_now(), contoso, pool, &user);
        assert_eq!(assigned.is_ok(), allowed, "{email} assign: {assigned:?}");
        if allowed {
            licenses::unassign(&mut db.conn(), &a, test_now(), contoso, pool, &user).unwrap();
        } else {
            assert_eq!(assigned, Err(DomainError::Forbidden), "{email}");
            let unassigned = licenses::unassign(
                &mut db.conn(),
                &a,
                test_now(),
                contoso,
                pool,
                &contoso_users(&db, 1, 1),
            );
            assert_eq!(
                unassigned.err(),
                Some(DomainError::Forbidden),
                "{email} unassign"
            );
        }
    }
    // An end user is no admin.
    let end_user = Actor::EndUser {
        user: user[0],
        tenant: contoso,
        email: "user15@contoso.example".into(),
    };
    assert_eq!(
        licenses::assign(&mut db.conn(), &end_user, test_now(), contoso, pool, &user),
        Err(DomainError::Forbidden)
    );
    // Contoso's admin acting on Fabrikam's pool.
    let contoso_admin = actor(&db, "admin@contoso.example");
    let fabrikam_user = user_id(&db, "user05@fabrikam.example");
    assert_eq!(
        licenses::assign(
            &mut db.conn(),
            &contoso_admin,
            test_now(),
            fabrikam,
            pool,
            &[fabrikam_user]
        ),
        Err(DomainError::Forbidden)
    );
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
}

fn self_service_sub(db: &TestDb) -> SubscriptionId {
    SubscriptionId(
        subscriptions::table
            .filter(subscriptions::self_service_buyer_id.is_not_null())
            .select(subscriptions::id)
            .first(&mut db.conn())
            .unwrap(),
    )
}

#[test]
fn admins_cannot_manage_a_self_service_pool_until_they_take_it_over() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let sub = self_service_sub(&db);
    let user = contoso_users(&db, 20, 20);
    let refused = licenses::assign(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        PoolRef::SelfService(sub),
        &user,
    );
    assert_eq!(
        refused,
        Err(DomainError::Conflict(SELF_SERVICE_REFUSAL.into()))
    );

    // License and User admins may not take over; Billing and Global admins may.
    for email in ["licenses@contoso.example", "users@contoso.example"] {
        assert_eq!(
            licenses::take_over(&mut db.conn(), &actor(&db, email), test_now(), contoso, sub),
            Err(DomainError::Forbidden)
        );
    }
    let billing = actor(&db, "billing@contoso.example");
    assert_eq!(
        licenses::take_over(&mut db.conn(), &billing, test_now(), contoso, sub).unwrap(),
        "Project Plan 3"
    );
    assert!(matches!(
        licenses::take_over(&mut db.conn(), &billing, test_now(), contoso, sub),
        Err(DomainError::Conflict(_))
    ));

    // Now it pools like any other: user07's license is in the tenant's pool.
    assert_eq!(pool_counts(&db, contoso, "Project Plan 3"), (2, 1, 1));
    let project = product_id(&db, "Project Plan 3");
    licenses::assign(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        PoolRef::Tenant(project),
        &user,
    )
    .unwrap();
    assert_eq!(pool_counts(&db, contoso, "Project Plan 3"), (2, 2, 0));
}

#[test]
fn the_buyer_manages_their_self_service_purchase_from_the_portal_and_nobody_else_does() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let sub = self_service_sub(&db);
    let buyer = Actor::EndUser {
        user: user_id(&db, "user07@contoso.example"),
        tenant: contoso,
        email: "user07@contoso.example".into(),
    };
    let done = portal::assign_purchase(
        &mut db.conn(),
        &buyer,
        test_now(),
        sub,
        &["User08@contoso.example".into()],
    )
    .unwrap();
    assert_eq!(done.assigned, vec![user_id(&db, "user08@contoso.example")]);
    let full = portal::assign_purchase(
        &mut db.conn(),
        &buyer,
        test_now(),
        sub,
        &["user09@contoso.example".into()],
    );
    assert_eq!(
        full.unwrap_err(),
        DomainError::NoLicensesLeft { available: 0 }
    );
    let stranger = portal::assign_purchase(
        &mut db.conn(),
        &buyer,
        test_now(),
        sub,
        &["user01@fabrikam.example".into()],
    );
    assert!(matches!(stranger, Err(DomainError::Invalid { .. })));

    let other = Actor::EndUser {
        user: user_id(&db, "user08@contoso.example"),
        tenant: contoso,
        email: "user08@contoso.example".into(),
    };
    assert_eq!(
        portal::purchase(&mut db.conn(), &other, sub).err(),
        Some(DomainError::NotFound)
    );
    assert_eq!(
        portal::unassign_purchase(
            &mut db.conn(),
            &other,
            test_now(),
            sub,
            &[user_id(&db, "user08@contoso.example")]
        )
        .err(),
        Some(DomainError::NotFound)
    );
    portal::unassign_purchase(
        &mut db.conn(),
        &buyer,
        test_now(),
        sub,
        &[user_id(&db, "user08@contoso.example")],
    )
    .unwrap();
    let detail = portal::purchase(&mut db.conn(), &buyer, sub).unwrap();
    assert_eq!((detail.summary.licenses, detail.summary.assigned), (2, 1));
}

#[test]
fn a_pool_with_more_users_than_licenses_names_the_latest_assigned_as_beyond_the_count() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium = product_id(&db, "Business Premium");
    // The 8-license subscription stops counting: 5 licenses for 10 users.
    diesel::update(subscriptions::table.filter(subscriptions::quantity.eq(8)))
        .set(subscriptions::state.eq("disabled"))
        .execute(&mut db.conn())
        .unwrap();
    let detail = licenses::pool_detail(
        &mut db.conn(),
        &admin,
        contoso,
        PoolRef::Tenant(premium),
        "",
        None,
    )
    .unwrap();
    assert_eq!(
        (
            detail.summary.licenses,
            detail.summary.assigned,
            detail.summary.beyond()
        ),
        (5, 10, 5)
    );
    let beyond: Vec<String> = detail
        .holders
        .iter()
        .filter(|h| h.beyond)
        .map(|h| h.email.clone())
        .collect();
    // The demo assigned user01..user10 a minute apart: user06..user10 came last.
    let mut expected: Vec<String> = (6..=10)
        .map(|i| format!("user{i:02}@contoso.example"))
        .collect();
    expected.sort();
    let mut beyond_sorted = beyond.clone();
    beyond_sorted.sort();
    assert_eq!(beyond_sorted, expected);

    // The service admits user01 but not user10.
    let view = |email: &str| {
        let a = Actor::EndUser {
            user: user_id(&db, email),
            tenant: contoso,
            email: email.into(),
        };
        portal::view(&mut db.conn(), &a).unwrap()
    };
    assert!(
        view("user01@contoso.example")
            .usable
            .contains(&"Business Premium".to_owned())
    );
    let late = view("user10@contoso.example");
    assert_eq!(late.beyond_the_count, vec!["Business Premium".to_owned()]);
    // user10 still has Sales Professional? No: only user01-04 do, so no access at all.
    assert!(!late.has_access());
    // No one can be assigned while the pool is over its count.
    let refused = licenses::assign(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        PoolRef::Tenant(premium),
        &contoso_users(&db, 20, 20),
    );
    assert_eq!(refused, Err(DomainError::NoLicensesLeft { available: 0 }));
}

#[test]
fn fifty_concurrent_assignments_to_a_pool_with_five_left_exactly_five_succeed() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let pool = PoolRef::Tenant(product_id(&db, "Sales Professional"));
    let admin = actor(&db, "admin@contoso.example");
    // Sales Professional has 6 available; take one so that 5 are left.
    licenses::assign(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        pool,
        &contoso_users(&db, 5, 5),
    )
    .unwrap();
    // Four users directly and user05 now, the Sales team's five (user11–15) by the group.
    assert_eq!(pool_counts(&db, contoso, "Sales Professional"), (15, 10, 5));
    let audited_before = audit_count(&db, contoso, "Assigned license");

    // 50 different users without the product: user06..user40 but the Sales team, and 20 new.
    let mut requests = contoso_users(&db, 6, 10);
    requests.extend(contoso_users(&db, 16, 40));
    for i in 0..20 {
        let new = allot::domain::users::NewUser {
            display_name: format!("Extra {i}"),
            email: format!("extra{i}@contoso.example"),
            password: Some("long enough pw".into()),
            products: vec![],
        };
        requests.push(
            allot::domain::users::create(&mut db.conn(), &admin, test_now(), contoso, &new)
                .unwrap()
                .user,
        );
    }
    assert_eq!(requests.len(), 50);

    // Each its own request on its own connection, all let go at the same moment.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(requests.len()));
    let handles: Vec<_> = requests
        .into_iter()
        .map(|user| {
            let pool_handle = db.pool.clone();
            let admin = admin.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut conn = pool_handle.get().unwrap();
                licenses::assign(&mut conn, &admin, test_now(), contoso, pool, &[user])
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let granted = results
        .iter()
        .filter(|r| matches!(r, Ok(a) if a.assigned.len() == 1))
        .count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(DomainError::NoLicensesLeft { available: 0 })))
        .count();
    assert_eq!((granted, refused), (5, 45), "answers: {results:?}");
    assert_eq!(pool_counts(&db, contoso, "Sales Professional"), (15, 15, 0));
    assert_eq!(
        audit_count(&db, contoso, "Assigned license") - audited_before,
        5
    );
}

#[test]
fn the_kept_counts_always_match_the_assignments() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium = PoolRef::Tenant(product_id(&db, "Business Premium"));
    let sales = PoolRef::Tenant(product_id(&db, "Sales Professional"));
    let mut conn = db.conn();
    licenses::assign(
        &mut conn,
        &admin,
        test_now(),
        contoso,
        premium,
        &contoso_users(&db, 11, 13),
    )
    .unwrap();
    licenses::unassign(
        &mut conn,
        &admin,
        test_now(),
        contoso,
        premium,
        &contoso_users(&db, 1, 2),
    )
    .unwrap();
    licenses::assign(
        &mut conn,
        &admin,
        test_now(),
        contoso,
        sales,
        &contoso_users(&db, 20, 22),
    )
    .unwrap();
    let deleted = user_id(&db, "user03@contoso.example");
    allot::domain::users::delete(&mut conn, &admin, test_now(), contoso, deleted).unwrap();
    allot::domain::users::restore(&mut conn, &admin, test_now(), contoso, deleted).unwrap();
    licenses::take_over(
        &mut conn,
        &admin,
        test_now(),
        contoso,
        self_service_sub(&db),
    )
    .unwrap();
    allot::domain::licenses::manage_licenses(
        &mut conn,
        &admin,
        test_now(),
        contoso,
        &contoso_users(&db, 4, 5),
        allot::domain::licenses::ManageMode::UnassignAll,
        &[],
    )
    .unwrap();
    let kept = licenses::pools(&mut conn, &admin, contoso).unwrap();
    licenses::recount(&mut conn, contoso).unwrap();
    let counted = licenses::pools(&mut conn, &admin, contoso).unwrap();
    assert_eq!(kept, counted);
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 9, 4));
}
