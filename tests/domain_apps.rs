//! Apps (service plans) in a license: turning them off and on, the 30-day hold of an app's
//! data, what the portal gives, and what unassigning and deleting do to them.

mod common;

use allot::domain::licenses::{self, DATA_HOLD, LicenseApps, PoolRef};
use allot::domain::schema::apps_turned_off;
use allot::domain::{Actor, DomainError, ProductId, ServiceId, TenantId, UserId, portal, users};
use allot::jobs;
use chrono::Duration;
use common::*;
use diesel::prelude::*;

fn rows_off(db: &TestDb, user: UserId) -> i64 {
    apps_turned_off::table
        .filter(apps_turned_off::user_id.eq(user.0))
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

fn license<'a>(apps: &'a [LicenseApps], product: &str) -> &'a LicenseApps {
    apps.iter()
        .find(|l| l.product_name == product)
        .unwrap_or_else(|| panic!("no license {product}"))
}

fn portal_view(db: &TestDb, tenant: TenantId, email: &str) -> portal::PortalView {
    let a = Actor::EndUser {
        user: user_id(db, email),
        tenant,
        email: email.into(),
    };
    portal::view(&mut db.conn(), &a).unwrap()
}

/// Business Premium's apps but the mailbox, as Save apps sends them to turn the mailbox off.
fn all_but_mailbox(db: &TestDb) -> Vec<ServiceId> {
    vec![
        app_id(db, "Business Premium", "OneDrive files"),
        app_id(db, "Business Premium", "Office apps"),
    ]
}

#[test]
fn turning_off_a_data_holding_app_keeps_the_license_and_holds_the_data_for_30_days() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "licenses@contoso.example");
    let premium = product_id(&db, "Business Premium");
    let user = user_id(&db, "user05@contoso.example");
    let done = licenses::set_apps(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        user,
        premium,
        &all_but_mailbox(&db),
    )
    .unwrap();
    assert_eq!(done.product_name, "Business Premium");
    assert_eq!(done.turned_off.len(), 1);
    assert_eq!(done.turned_off[0].name, "Exchange Online mailbox");
    assert_eq!(done.turned_off[0].held_until, Some(test_now() + DATA_HOLD));
    assert!(done.turned_on.is_empty());
    // The license stays: the pool's counts don't move.
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));

    let apps = licenses::apps_of(&mut db.conn(), &admin, contoso, user).unwrap();
    let premium_apps = license(&apps, "Business Premium");
    let mailbox = premium_apps
        .apps
        .iter()
        .find(|a| a.name == "Exchange Online mailbox")
        .unwrap();
    assert!(!mailbox.on && mailbox.holds_data);
    assert_eq!(mailbox.held_until, Some(test_now() + DATA_HOLD));
    assert_eq!(
        premium_apps.apps_on(),
        vec!["OneDrive files", "Office apps"]
    );
    let detail = users::get(&mut db.conn(), &admin, contoso, user).unwrap();
    assert_eq!(
        detail.data_held,
        vec![(
            "Business Premium: Exchange Online mailbox".to_owned(),
            test_now() + DATA_HOLD
        )]
    );
    assert_eq!(audit_count(&db, contoso, "Turned off app"), 1);

    // Saving the same again changes nothing.
    let again = licenses::set_apps(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        user,
        premium,
        &all_but_mailbox(&db),
    )
    .unwrap();
    assert!(again.turned_off.is_empty() && again.turned_on.is_empty());
    assert_eq!(audit_count(&db, contoso, "Turned off app"), 1);
}

#[test]
fn turning_an_app_back_on_within_the_hold_keeps_its_data() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium = product_id(&db, "Business Premium");
    let user = user_id(&db, "user05@contoso.example");
    let mut conn = db.conn();
    licenses::set_apps(
        &mut conn,
        &admin,
        test_now(),
        contoso,
        user,
        premium,
        &all_but_mailbox(&db),
    )
    .unwrap();
    let mut every = all_but_mailbox(&db);
    every.push(app_id(&db, "Business Premium", "Exchange Online mailbox"));
    let back = licenses::set_apps(
        &mut conn,
        &admin,
        test_now() + Duration::days(29),
        contoso,
        user,
        premium,
        &every,
    )
    .unwrap();
    assert!(back.turned_off.is_empty());
    assert_eq!(back.turned_on.len(), 1);
    assert!(back.turned_on[0].data_kept);
    drop(conn);
    assert!(
        users::get(&mut db.conn(), &admin, contoso, user)
            .unwrap()
            .data_held
            .is_empty()
    );
    assert_eq!(rows_off(&db, user), 0);
    // Nothing is left for the purge to delete.
    let tick = jobs::tick(
        &mut db.conn(),
        &allot::domain::billing::TestGateway,
        test_now() + Duration::days(31),
    )
    .unwrap();
    assert_eq!(tick.held_data_deleted, 0);
    assert_eq!(audit_count(&db, contoso, "Turned on app"), 1);
}

#[test]
fn when_the_hold_runs_out_tick_deletes_the_apps_data_and_the_app_stays_off() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium = product_id(&db, "Business Premium");
    let user = user_id(&db, "user05@contoso.example");
    licenses::set_apps(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        user,
        premium,
        &all_but_mailbox(&db),
    )
    .unwrap();
    let gateway = allot::domain::billing::TestGateway;
    let early = jobs::tick(&mut db.conn(), &gateway, test_now() + Duration::days(29)).unwrap();
    assert_eq!(early.held_data_deleted, 0);
    let due = jobs::tick(&mut db.conn(), &gateway, test_now() + Duration::days(30)).unwrap();
    assert_eq!(due.held_data_deleted, 1);
    let apps = licenses::apps_of(&mut db.conn(), &admin, contoso, user).unwrap();
    let premium_apps = license(&apps, "Business Premium");
    assert_eq!(
        premium_apps.apps_on(),
        vec!["OneDrive files", "Office apps"]
    );
    assert!(premium_apps.apps.iter().all(|a| a.held_until.is_none()));
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
    // Turned on after the hold: a fresh mailbox, nothing kept.
    let mut every = all_but_mailbox(&db);
    every.push(app_id(&db, "Business Premium", "Exchange Online mailbox"));
    let back = licenses::set_apps(
        &mut db.conn(),
        &admin,
        test_now() + Duration::days(31),
        contoso,
        user,
        premium,
        &every,
    )
    .unwrap();
    assert!(!back.turned_on[0].data_kept);
}

#[test]
fn another_tenants_user_is_not_found_and_nothing_changes() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let premium = product_id(&db, "Business Premium");
    let contoso_user = user_id(&db, "user05@contoso.example");
    let fabrikam_admin = actor(&db, "admin@fabrikam.example");
    assert_eq!(
        licenses::apps_of(&mut db.conn(), &fabrikam_admin, fabrikam, contoso_user),
        Err(DomainError::NotFound)
    );
    assert_eq!(
        licenses::set_apps(
            &mut db.conn(),
            &fabrikam_admin,
            test_now(),
            fabrikam,
            contoso_user,
            premium,
            &[],
        ),
        Err(DomainError::NotFound)
    );
    // Naming the other tenant outright is refused by the one decision.
    assert_eq!(
        licenses::set_apps(
            &mut db.conn(),
            &fabrikam_admin,
            test_now(),
            contoso,
            contoso_user,
            premium,
            &[],
        ),
        Err(DomainError::Forbidden)
    );
    assert_eq!(rows_off(&db, contoso_user), 0);
    assert_eq!(audit_count(&db, contoso, "Turned off app"), 0);
    assert_eq!(audit_count(&db, fabrikam, "Turned off app"), 0);
}

#[test]
fn an_app_of_another_product_or_a_license_not_held_changes_nothing() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium = product_id(&db, "Business Premium");
    let sales = product_id(&db, "Sales Professional");
    let user = user_id(&db, "user05@contoso.example");
    // Sales Professional's app, sent for Business Premium: the mailbox would go off too.
    let refused = licenses::set_apps(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        user,
        premium,
        &[app_id(&db, "Sales Professional", "Sales data")],
    );
    assert!(
        matches!(refused, Err(DomainError::Invalid { field: "apps", .. })),
        "{refused:?}"
    );
    // user05 holds no Sales Professional license.
    assert_eq!(
        licenses::set_apps(
            &mut db.conn(),
            &admin,
            test_now(),
            contoso,
            user,
            sales,
            &[]
        ),
        Err(DomainError::NotFound)
    );
    // No such product, no such user.
    assert_eq!(
        licenses::set_apps(
            &mut db.conn(),
            &admin,
            test_now(),
            contoso,
            user,
            ProductId(9_999_999),
            &[],
        ),
        Err(DomainError::NotFound)
    );
    assert_eq!(
        licenses::set_apps(
            &mut db.conn(),
            &admin,
            test_now(),
            contoso,
            UserId(9_999_999),
            premium,
            &[],
        ),
        Err(DomainError::NotFound)
    );
    assert_eq!(rows_off(&db, user), 0);
    assert!(
        users::get(&mut db.conn(), &admin, contoso, user)
            .unwrap()
            .data_held
            .is_empty()
    );
    assert_eq!(audit_count(&db, contoso, "Turned off app"), 0);
}

#[test]
fn only_admins_who_assign_licenses_turn_apps_off_and_a_self_service_license_is_its_buyers() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let premium = product_id(&db, "Business Premium");
    let user = user_id(&db, "user05@contoso.example");
    let billing = actor(&db, "billing@contoso.example");
    assert_eq!(
        licenses::set_apps(
            &mut db.conn(),
            &billing,
            test_now(),
            contoso,
            user,
            premium,
            &[]
        ),
        Err(DomainError::Forbidden)
    );
    let users_admin = actor(&db, "users@contoso.example");
    licenses::set_apps(
        &mut db.conn(),
        &users_admin,
        test_now(),
        contoso,
        user,
        premium,
        &all_but_mailbox(&db),
    )
    .unwrap();
    // user07's Project Plan 3 is a self-service purchase: its buyer manages it.
    let admin = actor(&db, "admin@contoso.example");
    let buyer = user_id(&db, "user07@contoso.example");
    let refused = licenses::set_apps(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        buyer,
        product_id(&db, "Project Plan 3"),
        &[],
    );
    assert!(
        matches!(refused, Err(DomainError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(rows_off(&db, buyer), 0);
    let apps = licenses::apps_of(&mut db.conn(), &admin, contoso, buyer).unwrap();
    assert!(license(&apps, "Project Plan 3").self_service);
}

#[test]
fn unassigning_the_product_clears_its_apps_and_reassigning_brings_every_app_back() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium = product_id(&db, "Business Premium");
    let pool = PoolRef::Tenant(premium);
    let user = user_id(&db, "user05@contoso.example");
    licenses::set_apps(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        user,
        premium,
        &all_but_mailbox(&db),
    )
    .unwrap();
    let later = test_now() + Duration::days(5);
    let done = licenses::unassign(&mut db.conn(), &admin, later, contoso, pool, &[user]).unwrap();
    assert_eq!(done.data_held_until, Some(later + DATA_HOLD));
    assert_eq!(rows_off(&db, user), 0);
    // The license's hold starts as for any unassignment; the mailbox keeps its earlier date.
    assert_eq!(
        users::get(&mut db.conn(), &admin, contoso, user)
            .unwrap()
            .data_held,
        vec![
            ("Business Premium".to_owned(), later + DATA_HOLD),
            (
                "Business Premium: Exchange Online mailbox".to_owned(),
                test_now() + DATA_HOLD
            ),
        ]
    );
    assert!(
        licenses::apps_of(&mut db.conn(), &admin, contoso, user)
            .unwrap()
            .is_empty()
    );

    licenses::assign(&mut db.conn(), &admin, later, contoso, pool, &[user]).unwrap();
    let apps = licenses::apps_of(&mut db.conn(), &admin, contoso, user).unwrap();
    assert!(license(&apps, "Business Premium").apps.iter().all(|a| a.on));
    assert!(
        users::get(&mut db.conn(), &admin, contoso, user)
            .unwrap()
            .data_held
            .is_empty()
    );
}

#[test]
fn deleting_the_user_drops_their_apps_and_holds() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium = product_id(&db, "Business Premium");
    let user = user_id(&db, "user05@contoso.example");
    licenses::set_apps(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        user,
        premium,
        &all_but_mailbox(&db),
    )
    .unwrap();
    users::delete(&mut db.conn(), &admin, test_now(), contoso, user).unwrap();
    assert_eq!(rows_off(&db, user), 0);
    assert_eq!(
        licenses::apps_of(&mut db.conn(), &admin, contoso, user),
        Err(DomainError::NotFound)
    );
    // Restored, the license comes back with every app on.
    users::restore(&mut db.conn(), &admin, test_now(), contoso, user).unwrap();
    let apps = licenses::apps_of(&mut db.conn(), &admin, contoso, user).unwrap();
    assert!(license(&apps, "Business Premium").apps.iter().all(|a| a.on));
}

#[test]
fn the_schema_refuses_apps_without_their_license() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    // user30 holds no license: a row of an app turned off can't exist for them.
    let user = user_id(&db, "user30@contoso.example");
    let inserted = diesel::insert_into(apps_turned_off::table)
        .values((
            apps_turned_off::tenant_id.eq(contoso.0),
            apps_turned_off::user_id.eq(user.0),
            apps_turned_off::product_id.eq(product_id(&db, "Business Premium").0),
            apps_turned_off::service_id.eq(app_id(&db, "Business Premium", "Office apps").0),
            apps_turned_off::turned_off_at.eq(test_now().naive_utc()),
        ))
        .execute(&mut db.conn());
    assert!(inserted.is_err());
    // Nor an app of another product in a license the user holds.
    let holder = user_id(&db, "user05@contoso.example");
    let inserted = diesel::insert_into(apps_turned_off::table)
        .values((
            apps_turned_off::tenant_id.eq(contoso.0),
            apps_turned_off::user_id.eq(holder.0),
            apps_turned_off::product_id.eq(product_id(&db, "Business Premium").0),
            apps_turned_off::service_id.eq(app_id(&db, "Sales Professional", "Sales data").0),
            apps_turned_off::turned_off_at.eq(test_now().naive_utc()),
        ))
        .execute(&mut db.conn());
    assert!(inserted.is_err());
}

#[test]
fn the_portal_lists_only_the_apps_turned_on_and_every_app_off_is_no_service() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium = product_id(&db, "Business Premium");
    let user = user_id(&db, "user05@contoso.example");
    let before = portal_view(&db, contoso, "user05@contoso.example");
    assert_eq!(
        before.products[0].apps,
        vec!["Exchange Online mailbox", "OneDrive files", "Office apps"]
    );
    licenses::set_apps(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        user,
        premium,
        &all_but_mailbox(&db),
    )
    .unwrap();
    let view = portal_view(&db, contoso, "user05@contoso.example");
    assert!(view.has_access());
    assert_eq!(view.usable, vec!["Business Premium"]);
    assert_eq!(view.products[0].apps, vec!["OneDrive files", "Office apps"]);

    // Every app off: the license gives no service, and the portal says so.
    licenses::set_apps(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        user,
        premium,
        &[],
    )
    .unwrap();
    let none = portal_view(&db, contoso, "user05@contoso.example");
    assert!(!none.has_access());
    assert!(none.usable.is_empty());
    assert_eq!(none.no_apps, vec!["Business Premium"]);
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
}

#[test]
fn the_demo_has_allan_deyoung_with_office_apps_turned_off() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let view = portal_view(&db, contoso, "user02@contoso.example");
    let premium = view
        .products
        .iter()
        .find(|p| p.name == "Business Premium")
        .unwrap();
    assert_eq!(
        premium.apps,
        vec!["Exchange Online mailbox", "OneDrive files"]
    );
    assert_eq!(rows_off(&db, user_id(&db, "user02@contoso.example")), 1);
    // The README's numbers hold: turning an app off takes no license.
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
}

#[test]
fn a_group_that_gives_the_license_too_with_every_app_on_gives_them_and_keeps_the_apps_data() {
    use allot::domain::groups;
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium = product_id(&db, "Business Premium");
    let user = user_id(&db, "user05@contoso.example");
    licenses::set_apps(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        user,
        premium,
        &all_but_mailbox(&db),
    )
    .unwrap();
    let group = groups::create(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        "Premium team",
        "",
    )
    .unwrap();
    groups::add_members(&mut db.conn(), &admin, test_now(), contoso, group, &[user]).unwrap();
    groups::assign_product(&mut db.conn(), &admin, test_now(), contoso, group, premium).unwrap();

    // The group turns every app on, and its apps are changed through the group.
    let apps = licenses::apps_of(&mut db.conn(), &admin, contoso, user).unwrap();
    let premium_apps = license(&apps, "Business Premium");
    assert!(premium_apps.apps.iter().all(|a| a.on));
    assert_eq!(premium_apps.from_groups, vec!["Premium team"]);
    let refused = licenses::set_apps(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        user,
        premium,
        &[],
    );
    assert!(
        matches!(refused, Err(DomainError::Conflict(_))),
        "{refused:?}"
    );
    // The mailbox is in use again: its hold ends at once, the data kept, and the audit log
    // says so; when the 30 days are up there is nothing to delete.
    let holds: i64 = allot::domain::schema::data_holds::table
        .filter(allot::domain::schema::data_holds::user_id.eq(user.0))
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(holds, 0);
    let said: String = allot::domain::schema::audit_log::table
        .filter(allot::domain::schema::audit_log::action.eq("Changed apps"))
        .select(allot::domain::schema::audit_log::detail)
        .first(&mut db.conn())
        .unwrap();
    assert_eq!(
        said,
        "Business Premium: turned on Exchange Online mailbox (held data kept); inherited from Premium team"
    );
    let tick = jobs::tick(
        &mut db.conn(),
        &allot::domain::billing::TestGateway,
        test_now() + Duration::days(30),
    )
    .unwrap();
    assert_eq!(tick.held_data_deleted, 0);

    // Unassigned directly, the seat stays through the group with every app, and the direct
    // assignment's apps go with it: assigning directly again starts with every app on.
    let pool = PoolRef::Tenant(premium);
    let done =
        licenses::unassign(&mut db.conn(), &admin, test_now(), contoso, pool, &[user]).unwrap();
    assert_eq!(done.kept_through_groups, vec![user]);
    assert_eq!(rows_off(&db, user), 0);
    licenses::assign(&mut db.conn(), &admin, test_now(), contoso, pool, &[user]).unwrap();
    assert_eq!(rows_off(&db, user), 0);
}
