//! Signing in: passwords, throttling, and who may enter which door.

mod common;

use allot::domain::accounts::{self, Principal};
use allot::domain::schema::users;
use allot::domain::signin::{self, ACCOUNT_LIMIT, ADDRESS_LIMIT, Door, LOCK, Refusal};
use chrono::Duration;
use common::*;
use diesel::prelude::*;

fn attempt(
    db: &TestDb,
    at: chrono::DateTime<chrono::Utc>,
    email: &str,
    password: &str,
    address: &str,
) -> Result<Principal, Refusal> {
    let mut conn = db.conn();
    signin::sign_in(&mut conn, at, Door::AdminCenter, email, password, address)
}

#[test]
fn the_right_password_signs_an_admin_in_and_the_email_is_not_case_sensitive() {
    let db = TestDb::with_demo();
    let principal = attempt(&db, test_now(), "  Admin@Contoso.Example ", PASSWORD, "a").unwrap();
    let signed_in = accounts::admin_center_actor(&mut db.conn(), principal)
        .unwrap()
        .unwrap();
    assert_eq!(signed_in.display_name, "Adele Vance");
    assert_eq!(signed_in.place, "Contoso");
}

#[test]
fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let db = TestDb::with_demo();
    let wrong = attempt(
        &db,
        test_now(),
        "admin@contoso.example",
        "not-the-password",
        "a",
    );
    let unknown = attempt(&db, test_now(), "nobody@contoso.example", PASSWORD, "b");
    assert_eq!(wrong, Err(Refusal::WrongCredentials { delay_seconds: 0 }));
    assert_eq!(unknown, Err(Refusal::WrongCredentials { delay_seconds: 0 }));
    assert_eq!(wrong.unwrap_err().to_string(), "Wrong email or password.");
}

#[test]
fn repeated_failures_are_slowed_then_the_account_is_refused_for_a_while() {
    let db = TestDb::with_demo();
    let now = test_now();
    let mut delays = Vec::new();
    for i in 0..ACCOUNT_LIMIT - 1 {
        // Each try from another address: the account's count is what locks it.
        match attempt(
            &db,
            now,
            "admin@contoso.example",
            "guess",
            &format!("10.0.0.{i}"),
        ) {
            Err(Refusal::WrongCredentials { delay_seconds }) => delays.push(delay_seconds),
            other => panic!("expected a wrong-password answer, got {other:?}"),
        }
    }
    assert_eq!(delays, vec![0, 0, 1, 2]);
    assert_eq!(
        attempt(&db, now, "admin@contoso.example", "guess", "10.0.1.1"),
        Err(Refusal::Locked {
            minutes: LOCK.num_minutes()
        })
    );
    // Even the right password is refused while locked, with how long to wait.
    let locked = attempt(
        &db,
        now + Duration::minutes(5),
        "admin@contoso.example",
        PASSWORD,
        "10.0.1.2",
    );
    assert_eq!(locked, Err(Refusal::Locked { minutes: 10 }));
    assert_eq!(
        locked.unwrap_err().to_string(),
        "Too many failed sign-ins. Try again in 10 minutes."
    );
    // Other accounts are not affected.
    assert!(attempt(&db, now, "billing@contoso.example", PASSWORD, "10.0.1.3").is_ok());
    // After the lock, the right password works again, and the count starts over.
    assert!(
        attempt(
            &db,
            now + LOCK + Duration::seconds(1),
            "admin@contoso.example",
            PASSWORD,
            "10.0.1.4"
        )
        .is_ok()
    );
    assert_eq!(
        attempt(
            &db,
            now + LOCK + Duration::seconds(2),
            "admin@contoso.example",
            "guess",
            "10.0.1.5"
        ),
        Err(Refusal::WrongCredentials { delay_seconds: 0 })
    );
}

#[test]
fn an_address_guessing_many_accounts_is_refused_for_a_while() {
    let db = TestDb::with_demo();
    let now = test_now();
    for i in 0..ADDRESS_LIMIT - 1 {
        let email = format!("user{:02}@contoso.example", i % 40 + 1);
        assert!(matches!(
            attempt(&db, now, &email, "guess", "198.51.100.9"),
            Err(Refusal::WrongCredentials { .. })
        ));
    }
    assert!(matches!(
        attempt(&db, now, "user39@contoso.example", "guess", "198.51.100.9"),
        Err(Refusal::Locked { .. })
    ));
    assert!(matches!(
        attempt(&db, now, "admin@contoso.example", PASSWORD, "198.51.100.9"),
        Err(Refusal::Locked { .. })
    ));
    assert!(attempt(&db, now, "admin@contoso.example", PASSWORD, "198.51.100.10").is_ok());
}

#[test]
fn a_success_forgets_the_accounts_earlier_failures() {
    let db = TestDb::with_demo();
    let now = test_now();
    for _ in 0..ACCOUNT_LIMIT - 1 {
        let _ = attempt(&db, now, "admin@contoso.example", "guess", "a");
    }
    assert!(attempt(&db, now, "admin@contoso.example", PASSWORD, "a").is_ok());
    assert_eq!(
        attempt(&db, now, "admin@contoso.example", "guess", "b"),
        Err(Refusal::WrongCredentials { delay_seconds: 0 })
    );
}

#[test]
fn end_users_and_blocked_or_deleted_admins_cannot_enter_the_admin_center() {
    let db = TestDb::with_demo();
    let now = test_now();
    assert_eq!(
        attempt(&db, now, "user01@contoso.example", PASSWORD, "a"),
        Err(Refusal::NotAnAdmin)
    );
    let mut conn = db.conn();
    diesel::update(users::table.filter(users::email.eq("licenses@contoso.example")))
        .set(users::state.eq("blocked"))
        .execute(&mut conn)
        .unwrap();
    diesel::update(users::table.filter(users::email.eq("users@contoso.example")))
        .set((
            users::state.eq("deleted"),
            users::deleted_at.eq(Some(now.naive_utc())),
        ))
        .execute(&mut conn)
        .unwrap();
    drop(conn);
    assert_eq!(
        attempt(&db, now, "licenses@contoso.example", PASSWORD, "a"),
        Err(Refusal::Blocked)
    );
    assert_eq!(
        attempt(&db, now, "users@contoso.example", PASSWORD, "a"),
        Err(Refusal::WrongCredentials { delay_seconds: 0 })
    );
}

#[test]
fn an_admin_blocked_after_signing_in_loses_the_session_at_the_next_request() {
    let db = TestDb::with_demo();
    let principal = attempt(&db, test_now(), "licenses@contoso.example", PASSWORD, "a").unwrap();
    let mut conn = db.conn();
    assert!(
        accounts::admin_center_actor(&mut conn, principal)
            .unwrap()
            .is_some()
    );
    diesel::update(users::table.filter(users::email.eq("licenses@contoso.example")))
        .set(users::state.eq("blocked"))
        .execute(&mut conn)
        .unwrap();
    assert!(
        accounts::admin_center_actor(&mut conn, principal)
            .unwrap()
            .is_none()
    );
}

#[test]
fn staff_sign_in_to_the_admin_center_but_not_to_the_portal() {
    let db = TestDb::with_demo();
    let mut conn = db.conn();
    let principal = signin::sign_in(
        &mut conn,
        test_now(),
        Door::AdminCenter,
        "support@allot.example",
        PASSWORD,
        "a",
    )
    .unwrap();
    assert!(matches!(principal, Principal::Staff(_)));
    assert_eq!(
        signin::sign_in(
            &mut conn,
            test_now(),
            Door::Portal,
            "support@allot.example",
            PASSWORD,
            "a"
        ),
        Err(Refusal::NotAnEndUser)
    );
    assert!(
        signin::sign_in(
            &mut conn,
            test_now(),
            Door::Portal,
            "user01@contoso.example",
            PASSWORD,
            "a"
        )
        .is_ok()
    );
}
