//! Session records: started at sign-in, checked on every request, ended at sign-out and, all
//! of an account's at once, by a password reset, block, delete, role change or "Sign out
//! everywhere"; forgotten by `tick` 30 days after they are over.

mod common;

use allot::domain::accounts::{self, Principal};
use allot::domain::authz::{self, Target};
use allot::domain::billing::TestGateway;
use allot::domain::schema::sessions as records;
use allot::domain::sessions::{self, Ended, Lifetimes};
use allot::domain::signin::Door;
use allot::domain::{Action, Actor, DomainError, Role, StaffId, users};
use allot::jobs;
use chrono::{DateTime, Duration, Utc};
use common::*;
use diesel::prelude::*;

const LIFETIMES: Lifetimes = Lifetimes {
    idle: Duration::hours(8),
    max: Duration::hours(12),
};

fn start(db: &TestDb, at: DateTime<Utc>, door: Door, email: &str) -> String {
    let principal = Principal::User(user_id(db, email));
    sessions::start(&mut db.conn(), at, door, principal, LIFETIMES).unwrap()
}

fn check(db: &TestDb, token: &str, at: DateTime<Utc>, door: Door) -> Option<Principal> {
    sessions::check(&mut db.conn(), token, at, door, LIFETIMES).unwrap()
}

/// (ended_reason, last_seen_at) of every record of the user, oldest first.
fn records_of(db: &TestDb, email: &str) -> Vec<(Option<String>, chrono::NaiveDateTime)> {
    records::table
        .filter(records::user_id.eq(user_id(db, email).0))
        .order(records::created_at)
        .select((records::ended_reason, records::last_seen_at))
        .load(&mut db.conn())
        .unwrap()
}

#[test]
fn a_session_is_found_by_its_token_at_its_own_door_only_and_only_its_hash_is_stored() {
    let db = TestDb::with_demo();
    let now = test_now();
    let token = start(&db, now, Door::AdminCenter, "admin@contoso.example");
    assert!(token.len() >= 32, "at least 128 random bits");
    let admin = user_id(&db, "admin@contoso.example");
    assert_eq!(
        check(&db, &token, now, Door::AdminCenter),
        Some(Principal::User(admin))
    );
    assert_eq!(check(&db, &token, now, Door::Portal), None);
    assert_eq!(check(&db, "not a token", now, Door::AdminCenter), None);
    assert_eq!(check(&db, "", now, Door::AdminCenter), None);
    let (key, tenant): (String, Option<i64>) = records::table
        .select((records::id, records::tenant_id))
        .first(&mut db.conn())
        .unwrap();
    assert_ne!(key, token);
    assert_eq!(key.len(), 64);
    assert_eq!(
        tenant,
        Some(tenants(&db).0.0),
        "a tenant user's record carries its tenant"
    );
}

#[test]
fn signing_out_ends_that_session_only() {
    let db = TestDb::with_demo();
    let now = test_now();
    let one = start(&db, now, Door::AdminCenter, "admin@contoso.example");
    let two = start(&db, now, Door::AdminCenter, "admin@contoso.example");
    assert!(sessions::end(&mut db.conn(), &one, now, Ended::SignedOut).unwrap());
    assert!(
        !sessions::end(&mut db.conn(), &one, now, Ended::SignedOut).unwrap(),
        "ending it again changes nothing"
    );
    assert_eq!(check(&db, &one, now, Door::AdminCenter), None);
    assert!(check(&db, &two, now, Door::AdminCenter).is_some());
}

#[test]
fn last_seen_is_written_at_most_once_a_minute() {
    let db = TestDb::with_demo();
    let now = test_now();
    let token = start(&db, now, Door::Portal, "user01@contoso.example");
    let seen = || records_of(&db, "user01@contoso.example")[0].1.and_utc();
    check(&db, &token, now + Duration::seconds(30), Door::Portal).unwrap();
    assert_eq!(seen(), now);
    check(&db, &token, now + Duration::seconds(59), Door::Portal).unwrap();
    assert_eq!(seen(), now);
    check(&db, &token, now + Duration::seconds(61), Door::Portal).unwrap();
    assert_eq!(seen(), now + Duration::seconds(61));
}

#[test]
fn an_idle_session_ends_and_stays_ended() {
    let db = TestDb::with_demo();
    let now = test_now();
    let token = start(&db, now, Door::Portal, "user01@contoso.example");
    let later = now + Duration::hours(8) + Duration::seconds(1);
    assert_eq!(check(&db, &token, later, Door::Portal), None);
    assert_eq!(
        records_of(&db, "user01@contoso.example")[0].0.as_deref(),
        Some("idle")
    );
    assert_eq!(
        check(&db, &token, now, Door::Portal),
        None,
        "ended for good"
    );
}

#[test]
fn a_session_ends_at_its_lifetime_however_active() {
    let db = TestDb::with_demo();
    let now = test_now();
    let token = start(&db, now, Door::AdminCenter, "admin@contoso.example");
    let mut at = now;
    while at < now + Duration::hours(12) - Duration::minutes(10) {
        at += Duration::minutes(10);
        assert!(check(&db, &token, at, Door::AdminCenter).is_some(), "{at}");
    }
    assert_eq!(
        check(&db, &token, now + Duration::hours(12), Door::AdminCenter),
        None
    );
    assert_eq!(
        records_of(&db, "admin@contoso.example")[0].0.as_deref(),
        Some("expired")
    );
}

#[test]
fn ending_all_of_an_accounts_sessions_ends_both_doors_and_leaves_others_alone() {
    let db = TestDb::with_demo();
    let now = test_now();
    let admin = start(&db, now, Door::AdminCenter, "licenses@contoso.example");
    let portal = start(&db, now, Door::Portal, "licenses@contoso.example");
    let other = start(&db, now, Door::AdminCenter, "admin@contoso.example");
    let lee = Principal::User(user_id(&db, "licenses@contoso.example"));
    let ended = sessions::end_all(&mut db.conn(), now, lee, Ended::SignedOutEverywhere).unwrap();
    assert_eq!(ended, 2);
    assert_eq!(check(&db, &admin, now, Door::AdminCenter), None);
    assert_eq!(check(&db, &portal, now, Door::Portal), None);
    assert!(check(&db, &other, now, Door::AdminCenter).is_some());
}

#[test]
fn block_reset_delete_and_role_changes_end_every_session_of_the_user() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let now = test_now();
    let admin = actor(&db, "admin@contoso.example");
    let cases: [(&str, &str); 4] = [
        ("user01@contoso.example", "blocked"),
        ("user02@contoso.example", "password_reset"),
        ("user03@contoso.example", "deleted"),
        ("user04@contoso.example", "role_changed"),
    ];
    let tokens: Vec<(String, String)> = cases
        .iter()
        .map(|(email, _)| {
            (
                start(&db, now, Door::AdminCenter, email),
                start(&db, now, Door::Portal, email),
            )
        })
        .collect();
    let mut conn = db.conn();
    let id = |i: usize| user_id(&db, cases[i].0);
    users::set_blocked(&mut conn, &admin, now, contoso, id(0), true).unwrap();
    users::set_blocked(&mut conn, &admin, now, contoso, id(0), false).unwrap();
    users::reset_password(&mut conn, &admin, now, contoso, id(1), None).unwrap();
    users::delete(&mut conn, &admin, now, contoso, id(2)).unwrap();
    users::restore(&mut conn, &admin, now, contoso, id(2)).unwrap();
    users::set_roles(&mut conn, &admin, now, contoso, id(3), &[Role::License]).unwrap();
    drop(conn);
    for (i, (email, reason)) in cases.iter().enumerate() {
        let (a, p) = &tokens[i];
        assert_eq!(check(&db, a, now, Door::AdminCenter), None, "{email}");
        assert_eq!(check(&db, p, now, Door::Portal), None, "{email}");
        let reasons: Vec<_> = records_of(&db, email).into_iter().map(|r| r.0).collect();
        assert_eq!(reasons, vec![Some(reason.to_string()); 2], "{email}");
    }
}

#[test]
fn giving_a_role_it_already_has_changes_nothing_and_ends_nothing() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let now = test_now();
    let admin = actor(&db, "admin@contoso.example");
    let token = start(&db, now, Door::AdminCenter, "billing@contoso.example");
    let billing = user_id(&db, "billing@contoso.example");
    let same = users::set_roles(
        &mut db.conn(),
        &admin,
        now,
        contoso,
        billing,
        &[Role::Billing],
    )
    .unwrap();
    assert_eq!(same.sessions_ended, 0);
    assert!(check(&db, &token, now, Door::AdminCenter).is_some());
    // The operator's `allot admin create` adding a role is a role change too.
    let system = Actor::System("test");
    let created = accounts::create_admin(
        &mut db.conn(),
        &system,
        now,
        "Contoso",
        "billing@contoso.example",
        Role::License,
        "irrelevant password",
    )
    .unwrap();
    assert_eq!(created, accounts::AdminCreated::RoleAdded(billing));
    assert_eq!(check(&db, &token, now, Door::AdminCenter), None);
}

#[test]
fn only_a_global_admin_gives_roles_and_the_last_global_admin_stays() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let now = test_now();
    let uma = actor(&db, "users@contoso.example");
    let billing = user_id(&db, "billing@contoso.example");
    assert_eq!(
        users::set_roles(&mut db.conn(), &uma, now, contoso, billing, &[Role::Global]),
        Err(DomainError::Forbidden)
    );
    let admin = actor(&db, "admin@contoso.example");
    let me = user_id(&db, "admin@contoso.example");
    assert!(matches!(
        users::set_roles(&mut db.conn(), &admin, now, contoso, me, &[]),
        Err(DomainError::Conflict(_))
    ));
    let (_, fabrikam) = tenants(&db);
    let theirs = user_id(&db, "user01@fabrikam.example");
    assert_eq!(
        users::set_roles(&mut db.conn(), &admin, now, fabrikam, theirs, &[Role::User]),
        Err(DomainError::Forbidden)
    );
    assert_eq!(
        users::set_roles(&mut db.conn(), &admin, now, contoso, theirs, &[Role::User]),
        Err(DomainError::NotFound),
        "another tenant's user is not found"
    );
}

#[test]
fn two_global_admins_removing_each_others_role_at_once_leave_one() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let now = test_now();
    let adele = actor(&db, "admin@contoso.example");
    let bill = user_id(&db, "billing@contoso.example");
    users::give_role(&mut db.conn(), &adele, now, contoso, bill, Role::Global).unwrap();
    let bill_actor = actor(&db, "billing@contoso.example");
    let me = user_id(&db, "admin@contoso.example");
    // Each takes the other's Global admin role, at the same moment, many times over: never
    // both, whoever's transaction comes second sees the first's change.
    for _ in 0..10 {
        let mut a = db.conn();
        let mut b = db.conn();
        let (adele2, bill_actor2) = (adele.clone(), bill_actor.clone());
        let start = std::sync::Arc::new(std::sync::Barrier::new(2));
        let s2 = start.clone();
        let one = std::thread::spawn(move || {
            start.wait();
            users::take_role(&mut a, &adele2, now, contoso, bill, Role::Global)
        });
        let other = std::thread::spawn(move || {
            s2.wait();
            users::take_role(&mut b, &bill_actor2, now, contoso, me, Role::Global)
        });
        let results = [one.join().unwrap(), other.join().unwrap()];
        use allot::domain::schema::user_roles;
        let globals: i64 = user_roles::table
            .filter(user_roles::tenant_id.eq(contoso.0))
            .filter(user_roles::role.eq("global"))
            .count()
            .get_result(&mut db.conn())
            .unwrap();
        assert_eq!(globals, 1, "{results:?}");
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        // Make both Global admins again for the next round, as whoever is left.
        let left = if results[0].is_ok() {
            &adele
        } else {
            &bill_actor
        };
        let (lost, who) = if results[0].is_ok() {
            (bill, "billing")
        } else {
            (me, "admin")
        };
        users::give_role(&mut db.conn(), left, now, contoso, lost, Role::Global)
            .unwrap_or_else(|e| panic!("giving {who} back Global: {e:?}"));
    }
}

#[test]
fn sign_out_everywhere_is_for_ones_own_account_or_by_an_admin_who_may_change_the_user() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let now = test_now();
    let uma = actor(&db, "users@contoso.example");
    let adele = user_id(&db, "admin@contoso.example");
    let lee = user_id(&db, "licenses@contoso.example");
    let token = start(&db, now, Door::AdminCenter, "admin@contoso.example");
    assert!(matches!(
        sessions::sign_out_user_everywhere(&mut db.conn(), &uma, now, contoso, adele),
        Err(DomainError::Refused(_))
    ));
    assert!(check(&db, &token, now, Door::AdminCenter).is_some());
    assert_eq!(
        sessions::sign_out_user_everywhere(&mut db.conn(), &uma, now, fabrikam, lee),
        Err(DomainError::Forbidden)
    );
    let fab_user = user_id(&db, "user01@fabrikam.example");
    assert_eq!(
        sessions::sign_out_user_everywhere(&mut db.conn(), &uma, now, contoso, fab_user),
        Err(DomainError::NotFound)
    );
    assert!(matches!(
        sessions::sign_out_user_everywhere(&mut db.conn(), &uma, now, contoso, lee),
        Err(DomainError::Refused(_))
    ));
    start(&db, now, Door::Portal, "licenses@contoso.example");
    let adele_actor = actor(&db, "admin@contoso.example");
    assert_eq!(
        sessions::sign_out_user_everywhere(&mut db.conn(), &adele_actor, now, contoso, lee),
        Ok(1)
    );
    let plain = user_id(&db, "user06@contoso.example");
    start(&db, now, Door::Portal, "user06@contoso.example");
    assert_eq!(
        sessions::sign_out_user_everywhere(&mut db.conn(), &uma, now, contoso, plain),
        Ok(1)
    );
    assert_eq!(audit_count(&db, contoso, "Signed out everywhere"), 2);

    let own = sessions::sign_out_everywhere(&mut db.conn(), &adele_actor, now);
    assert_eq!(own, Ok(1));
    let portal_token = start(&db, now, Door::Portal, "user06@contoso.example");
    let end_user = Actor::EndUser {
        user: plain,
        tenant: contoso,
        email: "user06@contoso.example".into(),
    };
    assert_eq!(
        sessions::sign_out_everywhere(&mut db.conn(), &end_user, now),
        Ok(1)
    );
    assert_eq!(check(&db, &portal_token, now, Door::Portal), None);
    assert_eq!(check(&db, &token, now, Door::AdminCenter), None);
    assert_eq!(
        sessions::sign_out_everywhere(&mut db.conn(), &Actor::System("test"), now),
        Err(DomainError::NotFound),
        "scheduled work has no account of its own"
    );
}

#[test]
fn staff_sessions_end_everywhere_too() {
    let db = TestDb::with_demo();
    let now = test_now();
    let support = match actor(&db, "support@allot.example") {
        Actor::Staff { staff, .. } => staff,
        other => panic!("not staff: {other:?}"),
    };
    let principal = Principal::Staff(support);
    let one =
        sessions::start(&mut db.conn(), now, Door::AdminCenter, principal, LIFETIMES).unwrap();
    let two =
        sessions::start(&mut db.conn(), now, Door::AdminCenter, principal, LIFETIMES).unwrap();
    assert_eq!(check(&db, &one, now, Door::AdminCenter), Some(principal));
    let staff_actor = actor(&db, "support@allot.example");
    assert_eq!(
        sessions::sign_out_everywhere(&mut db.conn(), &staff_actor, now),
        Ok(2)
    );
    assert_eq!(check(&db, &two, now, Door::AdminCenter), None);
    // Only they end their sessions: not another staff member, not a tenant's admin.
    let partner = actor(&db, "partner@allot.example");
    let admin = actor(&db, "admin@contoso.example");
    for other in [&partner, &admin] {
        assert!(!authz::can(
            other,
            Action::EndSessions,
            &Target::Staff(support)
        ));
    }
    assert!(authz::can(
        &staff_actor,
        Action::EndSessions,
        &Target::Staff(support)
    ));
    assert!(
        sessions::start(
            &mut db.conn(),
            now,
            Door::AdminCenter,
            Principal::Staff(StaffId(999_999)),
            LIFETIMES
        )
        .is_err(),
        "no session for staff who don't exist"
    );
}

#[test]
fn a_blocked_user_gets_no_new_session() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let now = test_now();
    let user = user_id(&db, "user01@contoso.example");
    users::set_blocked(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        now,
        contoso,
        user,
        true,
    )
    .unwrap();
    assert_eq!(
        sessions::start(
            &mut db.conn(),
            now,
            Door::Portal,
            Principal::User(user),
            LIFETIMES
        ),
        Err(DomainError::Conflict("This account can't sign in.".into()))
    );
}

#[test]
fn tick_forgets_sessions_over_for_more_than_30_days_and_keeps_the_rest() {
    let db = TestDb::with_demo();
    let now = test_now();
    let signed_out = start(&db, now, Door::AdminCenter, "admin@contoso.example");
    sessions::end(&mut db.conn(), &signed_out, now, Ended::SignedOut).unwrap();
    start(&db, now, Door::Portal, "user01@contoso.example"); // runs out, never ended
    let recent_day = now + Duration::days(25);
    let recent = start(&db, recent_day, Door::Portal, "user02@contoso.example");
    sessions::end(&mut db.conn(), &recent, recent_day, Ended::SignedOut).unwrap();
    let live_day = now + Duration::days(31);
    start(&db, live_day, Door::AdminCenter, "billing@contoso.example");
    let count = || -> i64 { records::table.count().get_result(&mut db.conn()).unwrap() };
    assert_eq!(count(), 4);

    let at = now + Duration::days(31);
    let report = jobs::tick(&mut db.conn(), &TestGateway, at).unwrap();
    assert_eq!(report.sessions_forgotten, 2);
    assert_eq!(count(), 2);
    assert_eq!(
        jobs::tick(&mut db.conn(), &TestGateway, at)
            .unwrap()
            .sessions_forgotten,
        0,
        "idempotent"
    );
    assert_eq!(
        sessions::purge(&mut db.conn(), now + Duration::days(56)).unwrap(),
        1
    );
    assert_eq!(
        sessions::purge(&mut db.conn(), now + Duration::days(80)).unwrap(),
        1
    );
    assert_eq!(count(), 0);
}
