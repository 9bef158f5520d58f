//! Active users' Licensed, Unlicensed and Sign-in blocked filters and their totals (issue 17):
//! read from what triggers keep (a user's `licensed`, the counts per tenant and state), so
//! they must say what the assignments say after every kind of change, through the few-users
//! path (a small tenant) and the walk in name order (a tenant where both are many).

mod common;

use allot::domain::licenses::{self, ManageMode, PoolRef};
use allot::domain::schema::{license_assignments, users};
use allot::domain::users::{self as directory, UserFilter, UserSort};
use allot::domain::{Actor, TenantId, UserId, groups};
use chrono::Duration;
use common::*;
use diesel::dsl::{exists, not};
use diesel::prelude::*;

const FILTERS: [UserFilter; 4] = [
    UserFilter::All,
    UserFilter::Licensed,
    UserFilter::Unlicensed,
    UserFilter::Blocked,
];

/// The users a filter and a search should show, from the assignments themselves and a plain
/// `LIKE` (the terms here have no wildcard).
fn truth(db: &TestDb, tenant: TenantId, filter: UserFilter, term: &str) -> Vec<i64> {
    let holds =
        exists(license_assignments::table.filter(license_assignments::user_id.eq(users::id)));
    let pattern = format!("%{term}%");
    let shown = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.ne("deleted"))
        .filter(
            users::name_key
                .like(pattern.clone())
                .or(users::email.like(pattern)),
        )
        .into_boxed();
    let shown = match filter {
        UserFilter::Licensed => shown.filter(holds),
        UserFilter::Unlicensed => shown.filter(not(holds)),
        UserFilter::Blocked => shown.filter(users::state.eq("blocked")),
        _ => shown,
    };
    shown
        .order(users::id)
        .select(users::id)
        .load(&mut db.conn())
        .unwrap()
}

/// Every filter's total and its users, page by page by key, against the assignments.
fn check(db: &TestDb, admin: &Actor, tenant: TenantId, when: &str) {
    check_searched(db, admin, tenant, "", when)
}

/// `check` of the users a search finds.
fn check_searched(db: &TestDb, admin: &Actor, tenant: TenantId, term: &str, when: &str) {
    let mut conn = db.conn();
    for filter in FILTERS {
        let expected = truth(db, tenant, filter, term);
        let total = directory::count(&mut conn, admin, tenant, term, filter).unwrap();
        assert_eq!(
            total,
            expected.len() as i64,
            "{when}: the total of {filter:?} searched for {term:?}"
        );
        let mut listed = Vec::new();
        let mut after = None;
        loop {
            let page = directory::list(
                &mut conn,
                admin,
                tenant,
                term,
                filter,
                UserSort::Name,
                after,
            )
            .unwrap();
            listed.extend(page.rows.iter().map(|r| r.id.0));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        listed.sort();
        assert_eq!(
            listed, expected,
            "{when}: the users of {filter:?} searched for {term:?}"
        );
    }
}

fn holds_any(db: &TestDb, user: UserId) -> bool {
    diesel::select(exists(
        license_assignments::table.filter(license_assignments::user_id.eq(user.0)),
    ))
    .get_result(&mut db.conn())
    .unwrap()
}

#[test]
fn the_filters_and_their_totals_follow_every_kind_of_license_change() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium = product_id(&db, "Business Premium");
    check(&db, &admin, contoso, "the demo");
    let unlicensed: Vec<UserId> = truth(&db, contoso, UserFilter::Unlicensed, "")
        .into_iter()
        .map(UserId)
        .collect();
    assert!(unlicensed.len() >= 3, "the demo has unlicensed users");
    let mut conn = db.conn();

    // Everything Business Premium's holders have, removed: some hold nothing more.
    let holders: Vec<UserId> = truth(&db, contoso, UserFilter::Licensed, "")
        .into_iter()
        .take(3)
        .map(UserId)
        .collect();
    unassign_all(&db, &admin, contoso, &holders);
    assert!(holders.iter().all(|u| !holds_any(&db, *u)));
    check(&db, &admin, contoso, "after Unassign all");

    licenses::assign(
        &mut conn,
        &admin,
        test_now(),
        contoso,
        PoolRef::Tenant(premium),
        &unlicensed[..2],
    )
    .unwrap();
    check(&db, &admin, contoso, "after assigning two unlicensed users");
    licenses::unassign(
        &mut conn,
        &admin,
        test_now(),
        contoso,
        PoolRef::Tenant(premium),
        &unlicensed[..1],
    )
    .unwrap();
    check(&db, &admin, contoso, "after unassigning one of them");

    let blocked = unlicensed[1];
    directory::set_blocked(&mut conn, &admin, test_now(), contoso, blocked, true).unwrap();
    check(&db, &admin, contoso, "after blocking a licensed user");
    directory::delete(&mut conn, &admin, test_now(), contoso, blocked).unwrap();
    check(&db, &admin, contoso, "after deleting them (licenses freed)");
    directory::restore(&mut conn, &admin, test_now(), contoso, blocked).unwrap();
    check(&db, &admin, contoso, "after restoring them");

    // Inherited from a group: the member is licensed, and not once the member leaves.
    let group = groups::create(&mut conn, &admin, test_now(), contoso, "Filters", "").unwrap();
    groups::assign_product(&mut conn, &admin, test_now(), contoso, group, premium).unwrap();
    let member = unlicensed[2];
    groups::add_members(&mut conn, &admin, test_now(), contoso, group, &[member]).unwrap();
    groups::drain(&mut conn, test_now(), &mut 0).unwrap();
    assert!(holds_any(&db, member), "the member inherits the product");
    check(&db, &admin, contoso, "after a member inherits a license");
    groups::remove_members(&mut conn, &admin, test_now(), contoso, group, &[member]).unwrap();
    groups::drain(&mut conn, test_now(), &mut 0).unwrap();
    check(&db, &admin, contoso, "after the member leaves the group");

    let gone = holders[0];
    directory::delete(&mut conn, &admin, test_now(), contoso, gone).unwrap();
    directory::purge_deleted(&mut conn, test_now() + Duration::days(31), &mut 0).unwrap();
    check(&db, &admin, contoso, "after a purge");
    // The other tenant's filters saw none of it.
    let other = actor(&db, "admin@fabrikam.example");
    check(&db, &other, fabrikam, "Fabrikam");
}

/// Manage product licenses → Unassign all, for `chosen`.
fn unassign_all(db: &TestDb, admin: &Actor, tenant: TenantId, chosen: &[UserId]) {
    licenses::manage_licenses(
        &mut db.conn(),
        admin,
        test_now(),
        tenant,
        chosen,
        ManageMode::UnassignAll,
        &[],
    )
    .unwrap();
}

#[test]
fn many_licensed_and_unlicensed_users_page_by_key_with_exact_totals() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium = product_id(&db, "Business Premium");
    // 3,600 more users, every other one holding Business Premium: both filters find more
    // users than the few-users path reads (1,000), so their pages walk the name order. Every
    // third is a Zorvak, for the searches below.
    let n = 3600;
    let rows: Vec<_> = (0..n)
        .map(|i| {
            let surname = if i % 3 == 0 { " Zorvak" } else { "" };
            let name = format!("Filtered {:04}{surname}", (i * 7919) % n);
            (
                users::tenant_id.eq(contoso.0),
                users::display_name.eq(name.clone()),
                users::name_key.eq(name.to_lowercase()),
                users::email.eq(format!("f{i:04}@contoso.example")),
                users::password_hash.eq("!"),
                users::state.eq("active"),
                users::created_at.eq(test_now().naive_utc()),
                users::guid.eq(format!("00000000-0000-4000-9000-{i:012}")),
            )
        })
        .collect();
    let mut conn = db.conn();
    // One statement a row: batch inserts are not for both backends at once.
    for row in rows {
        diesel::insert_into(users::table)
            .values(row)
            .execute(&mut conn)
            .unwrap();
    }
    let added: Vec<i64> = users::table
        .filter(users::email.like("f____@contoso.example"))
        .order(users::id)
        .select(users::id)
        .load(&mut conn)
        .unwrap();
    assert_eq!(added.len(), n);
    let assignments: Vec<_> = added
        .iter()
        .step_by(2)
        .map(|user| {
            (
                license_assignments::tenant_id.eq(contoso.0),
                license_assignments::user_id.eq(*user),
                license_assignments::product_id.eq(premium.0),
                license_assignments::assigned_at.eq(test_now().naive_utc()),
            )
        })
        .collect();
    for row in assignments {
        diesel::insert_into(license_assignments::table)
            .values(row)
            .execute(&mut conn)
            .unwrap();
    }
    assert!(truth(&db, contoso, UserFilter::Licensed, "").len() > 1000);
    assert!(truth(&db, contoso, UserFilter::Unlicensed, "").len() > 1000);
    check(&db, &admin, contoso, "3,600 more users");

    // Rows deleted outside the domain's functions (as a restore or a loader might) too.
    let leaving: Vec<i64> = added.iter().step_by(2).take(500).copied().collect();
    diesel::delete(
        license_assignments::table.filter(license_assignments::user_id.eq_any(&leaving)),
    )
    .execute(&mut conn)
    .unwrap();
    check(&db, &admin, contoso, "500 of them unassigned");

    // Searches under each filter, some of those found (and some not) blocked or deleted.
    // "zorvak" is in a third of the new names, more than the trigram index hands over (on
    // SQLite counted from its matches); "filtered" is in every one (counted by the walk);
    // "ed 00" in few. The blocked are few, so their filter reads them first, then searches.
    let new_users = |zorvak: bool| -> Vec<UserId> {
        let zorvaks = users::name_key.like("%zorvak%");
        let chosen = users::table
            .filter(users::name_key.like("filtered%"))
            .into_boxed();
        let chosen = if zorvak {
            chosen.filter(zorvaks)
        } else {
            chosen.filter(not(zorvaks))
        };
        chosen
            .order(users::id)
            .select(users::id)
            .load::<i64>(&mut db.conn())
            .unwrap()
            .into_iter()
            .map(UserId)
            .collect()
    };
    let (zorvaks, others) = (new_users(true), new_users(false));
    assert_eq!(zorvaks.len(), 1200);
    for user in zorvaks[..20].iter().chain(&others[..20]) {
        directory::set_blocked(&mut conn, &admin, test_now(), contoso, *user, true).unwrap();
    }
    directory::delete_many(&mut conn, &admin, test_now(), contoso, &zorvaks[40..60]).unwrap();
    for term in ["zorvak", "filtered", "ed 00", "contoso"] {
        check_searched(&db, &admin, contoso, term, "some found blocked or deleted");
    }
}
