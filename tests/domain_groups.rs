//! Groups and group-based licensing (issue 13): one seat per user and product however many
//! groups and direct assignments give it, errors when seats run out and Reprocess, joining and
//! leaving, delete and restore, big groups in the background, and joins racing for the last
//! seats. Every scenario ends with the kept counts and the sources checked against the rows.

mod common;

use allot::domain::accounts::UserState;
use allot::domain::billing::TestGateway;
use allot::domain::groups::{self, IN_REQUEST, STEP};
use allot::domain::licenses::{self, DATA_HOLD, Given, ManageMode, PoolRef};
use allot::domain::schema::{
    data_holds, group_jobs, group_license_errors, group_licenses, group_members,
    inherited_licenses, license_assignments, license_counts, subscriptions, users,
};
use allot::domain::{Actor, DomainError, GroupId, ProductId, TenantId, UserId};
use allot::jobs;
use chrono::Duration;
use common::*;
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const PREMIUM: &str = "Business Premium";
const SALES: &str = "Sales Professional";

/// The kept counts equal a recount of the assignments, and the sources agree with the seats:
/// a seat that is not direct comes from a group, a source is a seat of a member of a group
/// carrying the product, a product is held once, and nobody is an error for what they hold.
fn assert_books_balance(db: &TestDb) {
    let mut conn = db.conn();
    let kept: BTreeMap<(i64, i64, i64), i64> = license_counts::table
        .select((
            license_counts::tenant_id,
            license_counts::product_id,
            license_counts::pool,
            license_counts::assigned,
        ))
        .load::<(i64, i64, i64, i64)>(&mut conn)
        .unwrap()
        .into_iter()
        .filter(|(_, _, _, n)| *n != 0)
        .map(|(t, p, pool, n)| ((t, p, pool), n))
        .collect();
    let seats: Vec<(i64, i64, i64, Option<i64>, bool)> = license_assignments::table
        .select((
            license_assignments::tenant_id,
            license_assignments::user_id,
            license_assignments::product_id,
            license_assignments::self_service_subscription_id,
            license_assignments::direct,
        ))
        .load(&mut conn)
        .unwrap();
    let mut counted: BTreeMap<(i64, i64, i64), i64> = BTreeMap::new();
    for (t, _, p, ss, _) in &seats {
        *counted.entry((*t, *p, ss.unwrap_or(0))).or_default() += 1;
    }
    assert_eq!(kept, counted, "license_counts against a recount");

    let mut held: BTreeMap<(i64, i64), bool> = BTreeMap::new();
    for (_, u, p, ss, direct) in &seats {
        if ss.is_none() {
            assert!(
                held.insert((*u, *p), *direct).is_none(),
                "user {u} holds product {p} twice"
            );
        }
    }
    let sources: Vec<(i64, i64, i64)> = inherited_licenses::table
        .select((
            inherited_licenses::user_id,
            inherited_licenses::product_id,
            inherited_licenses::group_id,
        ))
        .load(&mut conn)
        .unwrap();
    let members: BTreeSet<(i64, i64)> = group_members::table
        .select((group_members::group_id, group_members::user_id))
        .load(&mut conn)
        .unwrap()
        .into_iter()
        .collect();
    let carried: BTreeSet<(i64, i64)> = group_licenses::table
        .select((group_licenses::group_id, group_licenses::product_id))
        .load(&mut conn)
        .unwrap()
        .into_iter()
        .collect();
    for (u, p, g) in &sources {
        assert!(
            held.contains_key(&(*u, *p)),
            "group {g} is a source of product {p} for user {u}, who holds no seat"
        );
        assert!(members.contains(&(*g, *u)), "user {u} is not in group {g}");
        assert!(carried.contains(&(*g, *p)), "group {g} doesn't carry {p}");
    }
    let sourced: BTreeSet<(i64, i64)> = sources.iter().map(|(u, p, _)| (*u, *p)).collect();
    for ((u, p), direct) in &held {
        assert!(
            *direct || sourced.contains(&(*u, *p)),
            "user {u}'s seat of product {p} is neither direct nor from a group"
        );
    }
    let errors: Vec<(i64, i64, i64)> = group_license_errors::table
        .select((
            group_license_errors::group_id,
            group_license_errors::product_id,
            group_license_errors::user_id,
        ))
        .load(&mut conn)
        .unwrap();
    for (g, p, u) in &errors {
        assert!(
            !held.contains_key(&(*u, *p)),
            "user {u} is an error of group {g} for product {p}, which they hold"
        );
        assert!(members.contains(&(*g, *u)), "error for non-member {u}");
    }
}

struct Setup {
    db: TestDb,
    contoso: TenantId,
    fabrikam: TenantId,
    admin: Actor,
    premium: ProductId,
    sales: ProductId,
}

fn setup() -> Setup {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium = product_id(&db, PREMIUM);
    let sales = product_id(&db, SALES);
    // Each scenario builds its own groups: the demo's Sales team (user11–15 with Sales
    // Professional) is taken apart first, through the domain, so only direct seats remain.
    let demo_team = groups::list(&mut db.conn(), &admin, contoso)
        .unwrap()
        .into_iter()
        .find(|g| g.name == "Sales team")
        .expect("the demo's Sales team")
        .id;
    let now = test_now();
    groups::unassign_product(&mut db.conn(), &admin, now, contoso, demo_team, sales).unwrap();
    groups::delete(&mut db.conn(), &admin, now, contoso, demo_team).unwrap();
    // And its five licenses with it: the scenarios count on Sales Professional's 10 of old.
    diesel::update(
        subscriptions::table
            .filter(subscriptions::tenant_id.eq(contoso.0))
            .filter(subscriptions::product_id.eq(sales.0))
            .filter(subscriptions::quantity.eq(15)),
    )
    .set(subscriptions::quantity.eq(10))
    .execute(&mut db.conn())
    .unwrap();
    assert_eq!(pool_counts(&db, contoso, SALES), (10, 4, 6));
    Setup {
        db,
        contoso,
        fabrikam,
        admin,
        premium,
        sales,
    }
}

impl Setup {
    fn group(&self, name: &str) -> GroupId {
        groups::create(
            &mut self.db.conn(),
            &self.admin,
            test_now(),
            self.contoso,
            name,
            "",
        )
        .unwrap()
    }

    fn carry(&self, group: GroupId, product: ProductId) -> Option<Given> {
        groups::assign_product(
            &mut self.db.conn(),
            &self.admin,
            test_now(),
            self.contoso,
            group,
            product,
        )
        .unwrap()
    }

    fn join(&self, group: GroupId, users: &[UserId]) -> groups::MembersAdded {
        groups::add_members(
            &mut self.db.conn(),
            &self.admin,
            test_now(),
            self.contoso,
            group,
            users,
        )
        .unwrap()
    }

    fn leave(&self, group: GroupId, users: &[UserId]) -> groups::MembersRemoved {
        groups::remove_members(
            &mut self.db.conn(),
            &self.admin,
            test_now(),
            self.contoso,
            group,
            users,
        )
        .unwrap()
    }

    /// How `user` holds `product`: None, or (direct, the groups it comes from).
    fn holding(&self, user: UserId, product: ProductId) -> Option<(bool, Vec<String>)> {
        allot::domain::users::get(&mut self.db.conn(), &self.admin, self.contoso, user)
            .unwrap()
            .licenses
            .into_iter()
            .find(|l| l.product == product && matches!(l.pool, PoolRef::Tenant(_)))
            .map(|l| (l.direct, l.inherited_from))
    }

    fn detail(&self, group: GroupId) -> groups::GroupDetail {
        groups::detail(&mut self.db.conn(), &self.admin, self.contoso, group).unwrap()
    }

    fn counts(&self, product: &str) -> (i64, i64, i64) {
        pool_counts(&self.db, self.contoso, product)
    }

    /// Sets Contoso's invoiced Business Premium subscription (8 in the demo) to `quantity`.
    fn premium_invoice_quantity(&self, quantity: i32) {
        let updated = diesel::update(
            subscriptions::table
                .filter(subscriptions::tenant_id.eq(self.contoso.0))
                .filter(subscriptions::product_id.eq(self.premium.0))
                .filter(subscriptions::quantity.eq(8)),
        )
        .set(subscriptions::quantity.eq(quantity))
        .execute(&mut self.db.conn())
        .unwrap();
        assert_eq!(updated, 1);
    }

    /// `n` new Contoso users, inserted as a bulk load would, in id order.
    fn extra_users(&self, prefix: &str, n: usize) -> Vec<UserId> {
        let mut conn = self.db.conn();
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            for i in 0..n {
                let name = format!("{prefix} {i:04}");
                diesel::insert_into(users::table)
                    .values((
                        users::tenant_id.eq(self.contoso.0),
                        users::name_key.eq(name.to_lowercase()),
                        users::display_name.eq(&name),
                        users::email.eq(format!("{prefix}{i:04}@contoso.example")),
                        users::password_hash.eq("not a hash"),
                        users::state.eq(UserState::Active),
                        users::created_at.eq(test_now().naive_utc()),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
        .unwrap();
        users::table
            .filter(users::email.like(format!("{prefix}%@contoso.example")))
            .order(users::id)
            .select(users::id)
            .load::<i64>(&mut conn)
            .unwrap()
            .into_iter()
            .map(UserId)
            .collect()
    }
}

fn one(email: &str, db: &TestDb) -> UserId {
    user_id(db, email)
}

// --- Overlap: one seat whatever gives it ---

#[test]
fn two_groups_and_a_direct_assignment_give_one_seat() {
    let s = setup();
    let user01 = one("user01@contoso.example", &s.db);
    let user11 = one("user11@contoso.example", &s.db);
    let a = s.group("Sales team");
    let b = s.group("Managers");
    assert_eq!(s.carry(a, s.premium), Some(Given::default()));
    assert_eq!(s.carry(b, s.premium), Some(Given::default()));

    let joined_a = s.join(a, &[user01, user11]);
    assert_eq!(
        joined_a.licenses,
        Some(Given {
            assigned: 1,
            already: 1,
            failed: 0
        })
    );
    let joined_b = s.join(b, &[user01, user11]);
    assert_eq!(
        joined_b.licenses,
        Some(Given {
            assigned: 0,
            already: 2,
            failed: 0
        })
    );
    assert_eq!(s.counts(PREMIUM), (13, 11, 2));
    assert_eq!(
        s.holding(user01, s.premium),
        Some((true, vec!["Managers".into(), "Sales team".into()]))
    );
    assert_eq!(
        s.holding(user11, s.premium),
        Some((false, vec!["Managers".into(), "Sales team".into()]))
    );
    assert_books_balance(&s.db);
}

#[test]
fn removing_the_direct_assignment_keeps_the_inherited_seat_until_the_last_group_goes() {
    let s = setup();
    let user01 = one("user01@contoso.example", &s.db);
    let a = s.group("Sales team");
    let b = s.group("Managers");
    s.carry(a, s.premium);
    s.carry(b, s.premium);
    s.join(a, &[user01]);
    s.join(b, &[user01]);

    let done = licenses::unassign(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        PoolRef::Tenant(s.premium),
        &[user01],
    )
    .unwrap();
    assert_eq!(done.unassigned, vec![]);
    assert_eq!(done.kept_through_groups, vec![user01]);
    assert_eq!(done.data_held_until, None);
    assert_eq!(s.counts(PREMIUM), (13, 10, 3));
    assert_eq!(
        s.holding(user01, s.premium),
        Some((false, vec!["Managers".into(), "Sales team".into()]))
    );
    assert_books_balance(&s.db);

    let left_a = s.leave(a, &[user01]);
    assert_eq!((left_a.removed, left_a.licenses_freed), (1, 0));
    assert_eq!(
        s.holding(user01, s.premium),
        Some((false, vec!["Managers".into()]))
    );
    let left_b = s.leave(b, &[user01]);
    assert_eq!((left_b.removed, left_b.licenses_freed), (1, 1));
    assert_eq!(left_b.data_held_until, Some(test_now() + DATA_HOLD));
    assert_eq!(s.holding(user01, s.premium), None);
    assert_eq!(s.counts(PREMIUM), (13, 9, 4));
    assert_books_balance(&s.db);
}

#[test]
fn unassigning_the_product_from_the_group_keeps_the_direct_assignment() {
    let s = setup();
    let user01 = one("user01@contoso.example", &s.db);
    let user11 = one("user11@contoso.example", &s.db);
    let g = s.group("Sales team");
    s.carry(g, s.premium);
    s.join(g, &[user01, user11]);
    assert_eq!(s.counts(PREMIUM), (13, 11, 2));

    let done = groups::unassign_product(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        g,
        s.premium,
    )
    .unwrap();
    assert_eq!(done.licenses_freed, 1);
    assert_eq!(done.data_held_until, Some(test_now() + DATA_HOLD));
    assert_eq!(s.holding(user01, s.premium), Some((true, vec![])));
    assert_eq!(s.holding(user11, s.premium), None);
    assert_eq!(s.counts(PREMIUM), (13, 10, 3));
    assert!(s.detail(g).licenses.is_empty());
    assert_books_balance(&s.db);
}

#[test]
fn an_inherited_license_cannot_be_unassigned_directly() {
    let s = setup();
    let user11 = one("user11@contoso.example", &s.db);
    let user01 = one("user01@contoso.example", &s.db);
    let g = s.group("Sales team");
    s.carry(g, s.premium);
    s.join(g, &[user11]);
    let audited = audit_count(&s.db, s.contoso, "Unassigned license");

    // Alone or beside a direct holder: refused whole, nothing changed.
    for chosen in [vec![user11], vec![user01, user11]] {
        let refused = licenses::unassign(
            &mut s.db.conn(),
            &s.admin,
            test_now(),
            s.contoso,
            PoolRef::Tenant(s.premium),
            &chosen,
        );
        match refused {
            Err(DomainError::Conflict(message)) => {
                assert!(message.contains("Sales team"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        s.holding(user11, s.premium),
        Some((false, vec!["Sales team".into()]))
    );
    assert_eq!(s.holding(user01, s.premium), Some((true, vec![])));
    assert_eq!(s.counts(PREMIUM), (13, 11, 2));
    assert_eq!(audit_count(&s.db, s.contoso, "Unassigned license"), audited);
    assert_books_balance(&s.db);
}

#[test]
fn assigning_directly_a_license_a_group_gives_makes_it_direct_and_leaving_keeps_it() {
    let s = setup();
    let user11 = one("user11@contoso.example", &s.db);
    let g = s.group("Sales team");
    s.carry(g, s.premium);
    s.join(g, &[user11]);
    let done = licenses::assign(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        PoolRef::Tenant(s.premium),
        &[user11],
    )
    .unwrap();
    assert_eq!(done.already, vec![user11]);
    assert_eq!(s.counts(PREMIUM), (13, 11, 2));
    assert_eq!(
        s.holding(user11, s.premium),
        Some((true, vec!["Sales team".into()]))
    );

    let left = s.leave(g, &[user11]);
    assert_eq!(left.licenses_freed, 0);
    assert_eq!(left.data_held_until, None);
    assert_eq!(s.holding(user11, s.premium), Some((true, vec![])));
    assert_eq!(s.counts(PREMIUM), (13, 11, 2));
    assert_books_balance(&s.db);
}

#[test]
fn licenses_and_apps_keeps_an_inherited_only_product_and_manage_reports_it() {
    let s = setup();
    let user11 = one("user11@contoso.example", &s.db);
    let user12 = one("user12@contoso.example", &s.db);
    let g = s.group("Sales team");
    s.carry(g, s.premium);
    s.join(g, &[user11, user12]);

    // The form never sends the disabled inherited box.
    licenses::set_licenses(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        user11,
        &[s.sales],
    )
    .unwrap();
    assert_eq!(
        s.holding(user11, s.premium),
        Some((false, vec!["Sales team".into()]))
    );
    assert_eq!(s.holding(user11, s.sales), Some((true, vec![])));

    let outcomes = licenses::manage_licenses(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        &[user12],
        ManageMode::UnassignAll,
        &[],
    )
    .unwrap();
    assert_eq!(
        outcomes[0].kept_inherited,
        vec![(PREMIUM.to_owned(), "Sales team".to_owned())]
    );
    assert_eq!(
        s.holding(user12, s.premium),
        Some((false, vec!["Sales team".into()]))
    );
    assert_eq!(s.counts(PREMIUM), (13, 12, 1));
    assert_books_balance(&s.db);
}

// --- Not enough licenses, Reprocess ---

#[test]
fn not_enough_licenses_assigns_the_rest_and_lists_the_others_as_errors() {
    let s = setup();
    let members = contoso_users(&s.db, 11, 16);
    let g = s.group("Sales team");
    s.join(g, &members);
    let given = s.carry(g, s.premium).unwrap();
    assert_eq!(
        given,
        Given {
            assigned: 3,
            already: 0,
            failed: 3
        }
    );
    assert_eq!(s.counts(PREMIUM), (13, 13, 0));
    let detail = s.detail(g);
    assert_eq!(detail.licenses[0].assigned, 3);
    assert_eq!(detail.licenses[0].failed, 3);
    assert_eq!(detail.errors.len(), 3);
    for e in &detail.errors {
        assert_eq!(e.reason, "Not enough licenses: 0 of 13 available");
        assert_eq!(e.product_name, PREMIUM);
    }
    // The first members by id got the seats.
    let failed: Vec<UserId> = detail.errors.iter().map(|e| e.user).collect();
    assert_eq!(failed, members[3..].to_vec());
    assert_books_balance(&s.db);
}

#[test]
fn reprocess_gives_the_licenses_freed_since() {
    let s = setup();
    let members = contoso_users(&s.db, 11, 16);
    let g = s.group("Sales team");
    s.join(g, &members);
    s.carry(g, s.premium);

    let reprocess = || {
        groups::reprocess(&mut s.db.conn(), &s.admin, test_now(), s.contoso, g)
            .unwrap()
            .unwrap()
    };
    assert_eq!(
        reprocess(),
        Given {
            assigned: 0,
            already: 0,
            failed: 3
        }
    );
    assert_eq!(s.detail(g).errors.len(), 3);

    licenses::unassign(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        PoolRef::Tenant(s.premium),
        &contoso_users(&s.db, 1, 2),
    )
    .unwrap();
    assert_eq!(
        reprocess(),
        Given {
            assigned: 2,
            already: 0,
            failed: 1
        }
    );
    let detail = s.detail(g);
    assert_eq!(
        (detail.licenses[0].assigned, detail.licenses[0].failed),
        (5, 1)
    );
    assert_eq!(detail.errors.len(), 1);
    assert_eq!(detail.errors[0].user, members[5]);
    assert_eq!(s.counts(PREMIUM), (13, 13, 0));
    assert_eq!(
        audit_count(&s.db, s.contoso, "Reprocessed group licenses"),
        2
    );
    assert_books_balance(&s.db);
}

#[test]
fn a_seat_assigned_directly_settles_the_groups_error_for_it() {
    let s = setup();
    let members = contoso_users(&s.db, 11, 14);
    let g = s.group("Sales team");
    s.join(g, &members);
    s.carry(g, s.premium);
    // user14 is the error; a license freed and given to user14 directly.
    licenses::unassign(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        PoolRef::Tenant(s.premium),
        &contoso_users(&s.db, 1, 1),
    )
    .unwrap();
    licenses::assign(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        PoolRef::Tenant(s.premium),
        &[members[3]],
    )
    .unwrap();
    assert!(s.detail(g).errors.is_empty());
    assert_eq!(
        s.holding(members[3], s.premium),
        Some((true, vec!["Sales team".into()]))
    );
    assert_books_balance(&s.db);
}

#[test]
fn a_seat_one_group_gives_settles_another_groups_error_for_it() {
    let s = setup();
    let user11 = one("user11@contoso.example", &s.db);
    let a = s.group("Sales team");
    let b = s.group("Managers");
    // No seat left: user11 is an error of the Sales team.
    licenses::assign(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        PoolRef::Tenant(s.premium),
        &contoso_users(&s.db, 12, 14),
    )
    .unwrap();
    s.carry(a, s.premium);
    assert_eq!(s.join(a, &[user11]).licenses.unwrap().failed, 1);
    // A seat is freed and the Managers give it.
    licenses::unassign(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        PoolRef::Tenant(s.premium),
        &contoso_users(&s.db, 12, 12),
    )
    .unwrap();
    s.carry(b, s.premium);
    assert_eq!(s.join(b, &[user11]).licenses.unwrap().assigned, 1);
    assert!(s.detail(a).errors.is_empty(), "{:?}", s.detail(a).errors);
    assert_eq!(
        s.holding(user11, s.premium),
        Some((false, vec!["Managers".into(), "Sales team".into()]))
    );
    // Leaving the Managers keeps the seat the Sales team gives too.
    assert_eq!(s.leave(b, &[user11]).licenses_freed, 0);
    assert_eq!(
        s.holding(user11, s.premium),
        Some((false, vec!["Sales team".into()]))
    );
    assert_books_balance(&s.db);
}

// --- Joining and leaving ---

#[test]
fn joining_gives_the_groups_licenses_and_leaving_takes_them_with_the_data_hold() {
    let s = setup();
    let user11 = one("user11@contoso.example", &s.db);
    let g = s.group("Sales team");
    s.carry(g, s.premium);
    s.carry(g, s.sales);
    let joined = s.join(g, &[user11]);
    assert_eq!(joined.added, 1);
    assert_eq!(
        joined.licenses,
        Some(Given {
            assigned: 2,
            already: 0,
            failed: 0
        })
    );
    assert_eq!(s.counts(PREMIUM), (13, 11, 2));
    assert_eq!(s.counts(SALES), (10, 5, 5));
    assert_eq!(audit_count(&s.db, s.contoso, "Added group member"), 1);

    let later = test_now() + Duration::days(2);
    let left =
        groups::remove_members(&mut s.db.conn(), &s.admin, later, s.contoso, g, &[user11]).unwrap();
    assert_eq!((left.removed, left.licenses_freed), (1, 2));
    assert_eq!(left.data_held_until, Some(later + DATA_HOLD));
    let held: Vec<(i64, chrono::NaiveDateTime)> = data_holds::table
        .filter(data_holds::user_id.eq(user11.0))
        .order(data_holds::product_id)
        .select((data_holds::product_id, data_holds::held_until))
        .load(&mut s.db.conn())
        .unwrap();
    let mut expected = vec![
        (s.premium.0, (later + DATA_HOLD).naive_utc()),
        (s.sales.0, (later + DATA_HOLD).naive_utc()),
    ];
    expected.sort();
    assert_eq!(held, expected);
    assert_eq!(s.counts(PREMIUM), (13, 10, 3));
    assert_eq!(s.counts(SALES), (10, 4, 6));
    assert_eq!(s.detail(g).members, 0);
    assert_eq!(audit_count(&s.db, s.contoso, "Removed group member"), 1);
    assert_books_balance(&s.db);

    // Joining again within the hold brings the data back.
    s.join(g, &[user11]);
    let holds: i64 = data_holds::table
        .filter(data_holds::user_id.eq(user11.0))
        .count()
        .get_result(&mut s.db.conn())
        .unwrap();
    assert_eq!(holds, 0);
    assert_books_balance(&s.db);
}

#[test]
fn a_member_added_twice_is_a_member_once() {
    let s = setup();
    let user11 = one("user11@contoso.example", &s.db);
    let g = s.group("Sales team");
    s.carry(g, s.premium);
    let first = s.join(g, &[user11, user11]);
    assert_eq!((first.added, first.already), (1, 0));
    let again = s.join(g, &[user11]);
    assert_eq!((again.added, again.already), (0, 1));
    assert_eq!(
        again.licenses,
        Some(Given::default()),
        "nothing to give again"
    );
    assert_eq!(s.detail(g).members, 1);
    assert_eq!(s.counts(PREMIUM), (13, 11, 2));
    assert_eq!(audit_count(&s.db, s.contoso, "Added group member"), 1);
    assert_books_balance(&s.db);
}

#[test]
fn removing_a_non_member_changes_nothing() {
    let s = setup();
    let members = contoso_users(&s.db, 11, 12);
    let g = s.group("Sales team");
    s.carry(g, s.premium);
    s.join(g, &members[..1]);
    let refused = groups::remove_members(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        g,
        &members,
    );
    assert_eq!(refused, Err(DomainError::NotFound));
    assert_eq!(s.detail(g).members, 1);
    assert_eq!(s.counts(PREMIUM), (13, 11, 2));
    assert_books_balance(&s.db);
}

// --- Delete, restore, purge ---

#[test]
fn deleting_a_member_frees_every_seat_and_restoring_gives_back_direct_and_inherited() {
    let s = setup();
    let user05 = one("user05@contoso.example", &s.db);
    let g = s.group("Sales team");
    s.carry(g, s.sales);
    s.carry(g, s.premium);
    s.join(g, &[user05]);
    assert_eq!(s.counts(SALES), (10, 5, 5));
    assert_eq!(
        s.holding(user05, s.premium),
        Some((true, vec!["Sales team".into()]))
    );

    allot::domain::users::delete(&mut s.db.conn(), &s.admin, test_now(), s.contoso, user05)
        .unwrap();
    assert_eq!(s.counts(PREMIUM), (13, 9, 4));
    assert_eq!(s.counts(SALES), (10, 4, 6));
    assert_eq!(s.detail(g).licenses[0].assigned, 0);
    assert_eq!(s.detail(g).members, 1, "the membership stays for a restore");
    assert_books_balance(&s.db);

    let restored = allot::domain::users::restore(
        &mut s.db.conn(),
        &s.admin,
        test_now() + Duration::days(1),
        s.contoso,
        user05,
    )
    .unwrap();
    assert_eq!(restored.licenses_back, vec![PREMIUM.to_owned()]);
    assert_eq!(restored.inherited_back, 1);
    assert_eq!(restored.inherited_not_back, 0);
    assert_eq!(
        s.holding(user05, s.premium),
        Some((true, vec!["Sales team".into()]))
    );
    assert_eq!(
        s.holding(user05, s.sales),
        Some((false, vec!["Sales team".into()]))
    );
    assert_eq!(s.counts(PREMIUM), (13, 10, 3));
    assert_eq!(s.counts(SALES), (10, 5, 5));
    assert_books_balance(&s.db);
}

#[test]
fn restoring_where_the_pool_is_full_lists_the_member_as_an_error() {
    let s = setup();
    let user11 = one("user11@contoso.example", &s.db);
    let g = s.group("Sales team");
    s.carry(g, s.premium);
    s.join(g, &[user11]);
    allot::domain::users::delete(&mut s.db.conn(), &s.admin, test_now(), s.contoso, user11)
        .unwrap();
    licenses::assign(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        PoolRef::Tenant(s.premium),
        &contoso_users(&s.db, 12, 14),
    )
    .unwrap();
    let restored =
        allot::domain::users::restore(&mut s.db.conn(), &s.admin, test_now(), s.contoso, user11)
            .unwrap();
    assert_eq!(
        (restored.inherited_back, restored.inherited_not_back),
        (0, 1)
    );
    assert_eq!(s.holding(user11, s.premium), None);
    let errors = s.detail(g).errors;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].user, user11);
    assert_eq!(errors[0].reason, "Not enough licenses: 0 of 13 available");
    assert_eq!(s.counts(PREMIUM), (13, 13, 0));
    assert_books_balance(&s.db);
}

#[test]
fn a_deleted_member_is_skipped_and_purging_them_leaves_every_group() {
    let s = setup();
    let members = contoso_users(&s.db, 11, 12);
    let g = s.group("Sales team");
    s.join(g, &members);
    allot::domain::users::delete(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        members[0],
    )
    .unwrap();
    // A product assigned meanwhile is not given to the deleted member.
    assert_eq!(
        s.carry(g, s.premium),
        Some(Given {
            assigned: 1,
            already: 0,
            failed: 0
        })
    );
    assert_eq!(s.counts(PREMIUM), (13, 11, 2));
    let report = jobs::tick(
        &mut s.db.conn(),
        &TestGateway,
        test_now() + Duration::days(31),
    )
    .unwrap();
    assert_eq!(report.failures, 0);
    assert_eq!(s.detail(g).members, 1);
    assert_books_balance(&s.db);
}

// --- Bad input and roles ---

#[test]
fn another_tenants_group_or_user_is_not_found_and_nothing_changes() {
    let s = setup();
    let fabrikam_admin = actor(&s.db, "admin@fabrikam.example");
    let theirs = groups::create(
        &mut s.db.conn(),
        &fabrikam_admin,
        test_now(),
        s.fabrikam,
        "Fabrikam team",
        "",
    )
    .unwrap();
    let ours = s.group("Sales team");
    s.carry(ours, s.premium);
    let user11 = one("user11@contoso.example", &s.db);
    let fabrikam_user = one("user04@fabrikam.example", &s.db);
    let mut conn = s.db.conn();
    let c = s.contoso;
    let a = &s.admin;
    let now = test_now();

    assert_eq!(
        groups::detail(&mut conn, a, c, theirs),
        Err(DomainError::NotFound)
    );
    assert_eq!(
        groups::add_members(&mut conn, a, now, c, theirs, &[user11]).map(|_| ()),
        Err(DomainError::NotFound)
    );
    assert_eq!(
        groups::assign_product(&mut conn, a, now, c, theirs, s.premium).map(|_| ()),
        Err(DomainError::NotFound)
    );
    assert_eq!(
        groups::reprocess(&mut conn, a, now, c, theirs).map(|_| ()),
        Err(DomainError::NotFound)
    );
    assert_eq!(
        groups::delete(&mut conn, a, now, c, theirs),
        Err(DomainError::NotFound)
    );
    // Their group through their own tenant id: the actor is not theirs.
    assert_eq!(
        groups::detail(&mut conn, a, s.fabrikam, theirs),
        Err(DomainError::Forbidden)
    );
    assert_eq!(
        groups::add_members(&mut conn, a, now, c, ours, &[user11, fabrikam_user]).map(|_| ()),
        Err(DomainError::NotFound)
    );
    drop(conn);
    assert_eq!(s.detail(ours).members, 0);
    assert_eq!(s.counts(PREMIUM), (13, 10, 3));
    assert_eq!(
        groups::list(&mut s.db.conn(), &fabrikam_admin, s.fabrikam)
            .unwrap()
            .len(),
        1
    );
    assert_books_balance(&s.db);
}

#[test]
fn a_product_the_tenant_has_no_pool_of_cannot_be_assigned_to_a_group() {
    let s = setup();
    let g = s.group("Sales team");
    // Contoso has Project Plan 3 only as a self-service purchase.
    let project = product_id(&s.db, "Project Plan 3");
    assert_eq!(
        groups::assign_product(
            &mut s.db.conn(),
            &s.admin,
            test_now(),
            s.contoso,
            g,
            project
        ),
        Err(DomainError::NotFound)
    );
    assert!(s.detail(g).licenses.is_empty());
    s.carry(g, s.premium);
    assert!(matches!(
        groups::assign_product(
            &mut s.db.conn(),
            &s.admin,
            test_now(),
            s.contoso,
            g,
            s.premium
        ),
        Err(DomainError::Conflict(_))
    ));
}

#[test]
fn a_group_name_that_exists_in_any_case_is_refused_on_the_name() {
    let s = setup();
    s.group("Sales team");
    for name in ["Sales team", "SALES TEAM", "  sales Team  "] {
        match groups::create(&mut s.db.conn(), &s.admin, test_now(), s.contoso, name, "") {
            Err(DomainError::Invalid { field, .. }) => assert_eq!(field, "name"),
            other => panic!("{name:?}: {other:?}"),
        }
    }
    for name in ["", "   ", &"x".repeat(257)] {
        assert!(matches!(
            groups::create(&mut s.db.conn(), &s.admin, test_now(), s.contoso, name, ""),
            Err(DomainError::Invalid { field: "name", .. })
        ));
    }
    // Another tenant may use the name.
    let fabrikam_admin = actor(&s.db, "admin@fabrikam.example");
    groups::create(
        &mut s.db.conn(),
        &fabrikam_admin,
        test_now(),
        s.fabrikam,
        "Sales team",
        "",
    )
    .unwrap();
    assert_eq!(
        groups::list(&mut s.db.conn(), &s.admin, s.contoso)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_group_carrying_licenses_cannot_be_deleted_until_they_are_unassigned() {
    let s = setup();
    let members = contoso_users(&s.db, 11, 12);
    let g = s.group("Sales team");
    s.carry(g, s.premium);
    s.join(g, &members);
    let refused = groups::delete(&mut s.db.conn(), &s.admin, test_now(), s.contoso, g);
    assert!(
        matches!(refused, Err(DomainError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(s.detail(g).members, 2);
    assert_eq!(s.counts(PREMIUM), (13, 12, 1));

    groups::unassign_product(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        g,
        s.premium,
    )
    .unwrap();
    groups::delete(&mut s.db.conn(), &s.admin, test_now(), s.contoso, g).unwrap();
    assert_eq!(
        groups::detail(&mut s.db.conn(), &s.admin, s.contoso, g),
        Err(DomainError::NotFound)
    );
    assert_eq!(s.counts(PREMIUM), (13, 10, 3));
    assert!(
        groups::of_user(&mut s.db.conn(), &s.admin, s.contoso, members[0])
            .unwrap()
            .is_empty()
    );
    // The demo's Sales team, taken apart by setup(), and this one.
    assert_eq!(audit_count(&s.db, s.contoso, "Deleted group"), 2);
    assert_books_balance(&s.db);
}

#[test]
fn roles_billing_admins_see_no_groups_license_admins_assign_but_do_not_add_members() {
    let s = setup();
    let g = s.group("Sales team");
    let user11 = one("user11@contoso.example", &s.db);
    let billing = actor(&s.db, "billing@contoso.example");
    let license = actor(&s.db, "licenses@contoso.example");
    let user_admin = actor(&s.db, "users@contoso.example");
    let mut conn = s.db.conn();
    let (c, now) = (s.contoso, test_now());

    assert_eq!(
        groups::list(&mut conn, &billing, c).map(|_| ()),
        Err(DomainError::Forbidden)
    );
    assert_eq!(
        groups::detail(&mut conn, &billing, c, g).map(|_| ()),
        Err(DomainError::Forbidden)
    );
    assert_eq!(
        groups::create(&mut conn, &billing, now, c, "Billing", "").map(|_| ()),
        Err(DomainError::Forbidden)
    );

    assert!(groups::list(&mut conn, &license, c).is_ok());
    assert_eq!(
        groups::create(&mut conn, &license, now, c, "Licensing", "").map(|_| ()),
        Err(DomainError::Forbidden)
    );
    assert_eq!(
        groups::add_members(&mut conn, &license, now, c, g, &[user11]).map(|_| ()),
        Err(DomainError::Forbidden)
    );
    assert_eq!(
        groups::assign_product(&mut conn, &license, now, c, g, s.premium),
        Ok(Some(Given::default()))
    );
    assert_eq!(
        groups::delete(&mut conn, &license, now, c, g),
        Err(DomainError::Forbidden)
    );

    assert_eq!(
        groups::add_members(&mut conn, &user_admin, now, c, g, &[user11])
            .unwrap()
            .added,
        1
    );
    drop(conn);
    assert_eq!(
        s.holding(user11, s.premium),
        Some((false, vec!["Sales team".into()]))
    );
    assert_books_balance(&s.db);
}

// --- Big groups in the background ---

#[test]
fn a_group_of_more_than_500_new_members_gets_its_licenses_in_the_background() {
    let s = setup();
    // 513 licenses, 10 assigned: 503 left for 520 members.
    s.premium_invoice_quantity(508);
    let g = s.group("Everyone");
    s.carry(g, s.premium);
    let people = s.extra_users("bulk", IN_REQUEST + 20);
    let added = s.join(g, &people);
    assert_eq!(added.added, 520);
    assert_eq!(added.licenses, None);
    let job = s.detail(g).job.unwrap();
    assert!(job.running);
    assert!(job.done < job.total, "{job:?}");
    assert_eq!(job.total, 520);
    assert_eq!(s.counts(PREMIUM), (513, 10, 503), "nothing given yet");
    assert_eq!(
        audit_count(&s.db, s.contoso, "Started applying group licenses"),
        1
    );

    let steps = jobs::tick(&mut s.db.conn(), &TestGateway, test_now())
        .unwrap()
        .group_license_steps;
    assert_eq!(steps, 2);
    let job = s.detail(g).job.unwrap();
    assert!(!job.running);
    assert_eq!(
        (job.done, job.total, job.assigned, job.failed),
        (520, 520, 503, 17)
    );
    assert_eq!(job.finished_at, Some(test_now()));
    assert_eq!(s.counts(PREMIUM), (513, 513, 0));
    assert_eq!(s.detail(g).licenses[0].failed, 17);
    assert_eq!(
        audit_count(&s.db, s.contoso, "Finished applying group licenses"),
        1
    );
    let finished: String = allot::domain::schema::audit_log::table
        .filter(allot::domain::schema::audit_log::action.eq("Finished applying group licenses"))
        .select(allot::domain::schema::audit_log::detail)
        .first(&mut s.db.conn())
        .unwrap();
    assert!(
        finished.starts_with("Finished: 503 assigned, 17 failed"),
        "{finished}"
    );
    assert_books_balance(&s.db);

    // Draining again finds nothing to do and changes nothing.
    let mut failures = 0;
    assert_eq!(
        groups::drain(&mut s.db.conn(), test_now(), &mut failures).unwrap(),
        0
    );
    assert_eq!(failures, 0);
    assert_eq!(s.detail(g).job, Some(job));
    assert_eq!(s.counts(PREMIUM), (513, 513, 0));
    assert_eq!(
        audit_count(&s.db, s.contoso, "Finished applying group licenses"),
        1
    );
    assert_books_balance(&s.db);
}

#[test]
fn assigning_a_product_to_a_big_group_runs_in_the_background_and_reprocess_too() {
    let s = setup();
    let g = s.group("Everyone");
    let people = s.extra_users("bulk", IN_REQUEST + 10);
    // In two requests of at most 500: given in the request (nothing to give yet).
    s.join(g, &people[..IN_REQUEST]);
    assert!(s.join(g, &people[IN_REQUEST..]).licenses.is_some());
    assert_eq!(s.carry(g, s.premium), None);
    assert!(s.detail(g).job.unwrap().running);
    let mut failures = 0;
    assert_eq!(
        groups::drain(&mut s.db.conn(), test_now(), &mut failures).unwrap(),
        2
    );
    let job = s.detail(g).job.unwrap();
    assert_eq!((job.done, job.assigned, job.failed), (510, 3, 507));
    assert_eq!(s.counts(PREMIUM), (13, 13, 0));

    // 507 errors: Reprocess runs in the background as well, and a fresh job counts afresh.
    licenses::unassign(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        PoolRef::Tenant(s.premium),
        &contoso_users(&s.db, 1, 4),
    )
    .unwrap();
    assert_eq!(
        groups::reprocess(&mut s.db.conn(), &s.admin, test_now(), s.contoso, g),
        Ok(None)
    );
    groups::drain(&mut s.db.conn(), test_now(), &mut failures).unwrap();
    assert_eq!(failures, 0);
    let job = s.detail(g).job.unwrap();
    assert!(!job.running);
    assert_eq!((job.done, job.assigned, job.failed), (510, 4, 503));
    assert_eq!(s.detail(g).licenses[0].assigned, 7);
    assert_eq!(s.detail(g).licenses[0].failed, 503);
    assert_eq!(s.counts(PREMIUM), (13, 13, 0));
    assert_eq!(
        audit_count(&s.db, s.contoso, "Finished applying group licenses"),
        2
    );
    assert_books_balance(&s.db);
}

#[test]
fn a_job_stopped_after_its_first_step_resumes_where_it_stopped() {
    let s = setup();
    s.premium_invoice_quantity(2000);
    let g = s.group("Everyone");
    s.carry(g, s.premium);
    let people = s.extra_users("bulk", 2 * STEP as usize + 1);
    let (first, rest) = people.split_at(STEP as usize);
    // The first step's members, given their licenses in a request of their own.
    assert_eq!(s.join(g, first).licenses.unwrap().assigned, 500);
    assert_eq!(s.join(g, rest).licenses, None);
    // The job as a crash right after its first step leaves it.
    diesel::update(group_jobs::table.filter(group_jobs::group_id.eq(g.0)))
        .set((
            group_jobs::done.eq(STEP as i32),
            group_jobs::after_user.eq(Some(first.last().unwrap().0)),
        ))
        .execute(&mut s.db.conn())
        .unwrap();
    let mut failures = 0;
    assert_eq!(
        groups::drain(&mut s.db.conn(), test_now(), &mut failures).unwrap(),
        2
    );
    let job = s.detail(g).job.unwrap();
    assert!(!job.running);
    assert_eq!(
        (job.done, job.total, job.assigned, job.failed),
        (1001, 1001, 501, 0)
    );
    assert_eq!(s.counts(PREMIUM), (2005, 1011, 994));
    assert_books_balance(&s.db);
}

#[test]
fn a_job_run_again_from_the_first_member_gives_nothing_twice() {
    let s = setup();
    s.premium_invoice_quantity(2000);
    let g = s.group("Everyone");
    s.carry(g, s.premium);
    let people = s.extra_users("bulk", IN_REQUEST + 1);
    assert_eq!(s.join(g, &people).licenses, None);
    // A crash after the steps committed but before the job was marked finished: run again.
    let mut failures = 0;
    groups::drain(&mut s.db.conn(), test_now(), &mut failures).unwrap();
    let once = s.counts(PREMIUM);
    diesel::update(group_jobs::table.filter(group_jobs::group_id.eq(g.0)))
        .set((
            group_jobs::state.eq("running"),
            group_jobs::finished_at.eq(None::<chrono::NaiveDateTime>),
            group_jobs::done.eq(0),
            group_jobs::assigned.eq(0),
            group_jobs::failed.eq(0),
            group_jobs::after_user.eq(None::<i64>),
        ))
        .execute(&mut s.db.conn())
        .unwrap();
    groups::drain(&mut s.db.conn(), test_now(), &mut failures).unwrap();
    assert_eq!(failures, 0);
    assert_eq!(s.counts(PREMIUM), once);
    assert_eq!(once, (2005, 511, 1494));
    let job = s.detail(g).job.unwrap();
    assert_eq!((job.done, job.assigned, job.failed), (501, 0, 0));
    assert_books_balance(&s.db);
}

// --- Concurrency ---

#[test]
fn fifty_concurrent_joins_to_a_group_with_five_seats_left_give_exactly_five() {
    let s = setup();
    // Sales Professional: 10 licenses, user01-04 hold one; user05 takes one, 5 are left.
    licenses::assign(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        PoolRef::Tenant(s.sales),
        &contoso_users(&s.db, 5, 5),
    )
    .unwrap();
    assert_eq!(s.counts(SALES), (10, 5, 5));
    let g = s.group("Sales team");
    s.carry(g, s.sales);

    let mut joiners = contoso_users(&s.db, 6, 40);
    joiners.extend(s.extra_users("extra", 15));
    assert_eq!(joiners.len(), 50);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(joiners.len()));
    let handles: Vec<_> = joiners
        .iter()
        .map(|user| {
            let (pool, admin, barrier) = (s.db.pool.clone(), s.admin.clone(), barrier.clone());
            let (user, contoso) = (*user, s.contoso);
            std::thread::spawn(move || {
                barrier.wait();
                let mut conn = pool.get().unwrap();
                groups::add_members(&mut conn, &admin, test_now(), contoso, g, &[user])
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let given = |want: Given| {
        results
            .iter()
            .filter(|r| matches!(r, Ok(m) if m.added == 1 && m.licenses.as_ref() == Some(&want)))
            .count()
    };
    let seated = given(Given {
        assigned: 1,
        already: 0,
        failed: 0,
    });
    let failed = given(Given {
        assigned: 0,
        already: 0,
        failed: 1,
    });
    assert_eq!((seated, failed), (5, 45), "answers: {results:?}");
    assert_eq!(s.counts(SALES), (10, 10, 0));
    let detail = s.detail(g);
    assert_eq!(detail.members, 50);
    assert_eq!(
        (detail.licenses[0].assigned, detail.licenses[0].failed),
        (5, 45)
    );
    assert!(
        detail
            .errors
            .iter()
            .all(|e| e.reason == "Not enough licenses: 0 of 10 available")
    );
    let holders = joiners
        .iter()
        .filter(|u| s.holding(**u, s.sales).is_some())
        .count();
    assert_eq!(holders, 5);
    assert_books_balance(&s.db);
}

#[test]
fn a_job_restarted_while_running_counts_each_member_once() {
    let s = setup();
    let g = s.group("Everyone");
    s.carry(g, s.premium);
    let people = s.extra_users("bulk", 2 * STEP as usize + 100);
    let (first, rest) = people.split_at(STEP as usize);
    // 3 seats for the first 500: 3 assigned, 497 errors.
    assert_eq!(
        s.join(g, first).licenses,
        Some(Given {
            assigned: 3,
            already: 0,
            failed: 497
        })
    );
    assert_eq!(s.join(g, &rest[..STEP as usize + 1]).licenses, None);
    // The job as a crash right after its first step leaves it, having given the first 500.
    diesel::update(group_jobs::table.filter(group_jobs::group_id.eq(g.0)))
        .set((
            group_jobs::done.eq(STEP as i32),
            group_jobs::after_user.eq(Some(first.last().unwrap().0)),
            group_jobs::assigned.eq(3),
            group_jobs::failed.eq(497),
        ))
        .execute(&mut s.db.conn())
        .unwrap();
    // More members while it waits: it starts again from the first member.
    assert_eq!(
        s.join(g, &rest[STEP as usize + 1..])
            .licenses
            .unwrap()
            .failed,
        99
    );
    let late = s.extra_users("late", IN_REQUEST + 1);
    assert_eq!(s.join(g, &late).licenses, None);
    let job = s.detail(g).job.unwrap();
    assert_eq!((job.done, job.total), (0, 1601));
    let mut failures = 0;
    groups::drain(&mut s.db.conn(), test_now(), &mut failures).unwrap();
    let job = s.detail(g).job.unwrap();
    assert!(!job.running);
    assert_eq!(job.done, 1601);
    assert_eq!((job.assigned, job.failed), (3, 1598), "{job:?}");
    assert_eq!(s.detail(g).licenses[0].failed, 1598);
    assert_eq!(s.counts(PREMIUM), (13, 13, 0));
    assert_books_balance(&s.db);
}

#[test]
fn ten_concurrent_adds_of_one_group_name_make_one_group() {
    let s = setup();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(10));
    let handles: Vec<_> = (0..10)
        .map(|i| {
            let (pool, admin, barrier) = (s.db.pool.clone(), s.admin.clone(), barrier.clone());
            let contoso = s.contoso;
            std::thread::spawn(move || {
                let name = if i % 2 == 0 {
                    "Sales team"
                } else {
                    "sales TEAM"
                };
                barrier.wait();
                let mut conn = pool.get().unwrap();
                groups::create(&mut conn, &admin, test_now(), contoso, name, "")
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let made = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(DomainError::Invalid { field: "name", .. })))
        .count();
    assert_eq!((made, refused), (1, 9), "{results:?}");
    assert_eq!(
        groups::list(&mut s.db.conn(), &s.admin, s.contoso)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn the_demo_sales_team_gives_user11_to_user15_sales_professional() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let team = groups::list(&mut db.conn(), &admin, contoso)
        .unwrap()
        .into_iter()
        .find(|g| g.name == "Sales team")
        .expect("the demo's Sales team");
    assert_eq!(team.members, 5);
    assert_eq!(team.licenses, vec![SALES.to_owned()]);
    assert_eq!(pool_counts(&db, contoso, SALES), (15, 9, 6));
    for n in 11..=15 {
        let user = user_id(&db, &format!("user{n:02}@contoso.example"));
        let detail = allot::domain::users::get(&mut db.conn(), &admin, contoso, user).unwrap();
        assert_eq!(
            detail.inherited_only(&product_id(&db, SALES)),
            Some("Sales team".into())
        );
    }
    assert_books_balance(&db);
}
