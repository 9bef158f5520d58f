//! Signing in: passwords checked against argon2id hashes, and repeated failures slowed and
//! then refused for a while, per account and per client address.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::accounts::{self, EmailAddress, Principal, UserState};
use super::schema::signin_throttle;
use super::{DbConnection, DomainError, StaffId, UserId, naive, utc};

/// Failures are counted over this window.
pub const WINDOW: Duration = Duration::minutes(15);
/// An account is refused for `LOCK` after this many failures in the window.
pub const ACCOUNT_LIMIT: i32 = 5;
/// A client address is refused for `LOCK` after this many failures in the window.
pub const ADDRESS_LIMIT: i32 = 20;
pub const LOCK: Duration = Duration::minutes(15);
/// Failures before answers start to slow down (one more second per failure after these).
const FREE_FAILURES: i32 = 2;
const MAX_DELAY_SECONDS: i32 = 5;

/// Where someone signs in: the admin center (admins and staff) or the service portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    AdminCenter,
    Portal,
}

/// Why a sign-in was refused; each says what the person can do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Wrong email or password.")]
    WrongCredentials {
        /// How long to hold the answer back, to slow down guessing.
        delay_seconds: u64,
    },
    #[error("Too many failed sign-ins. Try again in {minutes} minutes.")]
    Locked { minutes: i64 },
    #[error("Your account is blocked from signing in. Ask your admin to unblock it.")]
    Blocked,
    #[error("Your account has no admin role. Use the service portal at /portal instead.")]
    NotAnAdmin,
    #[error("Staff accounts sign in to the admin center, not the service portal.")]
    NotAnEndUser,
    #[error("{0}")]
    Storage(String),
}

impl From<DomainError> for Refusal {
    fn from(e: DomainError) -> Self {
        Refusal::Storage(e.to_string())
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = signin_throttle)]
struct ThrottleRow {
    window_start: chrono::NaiveDateTime,
    locked_until: Option<chrono::NaiveDateTime>,
}

/// Checks `email` and `password` at `door` from client `address`.
pub fn sign_in(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    door: Door,
    email: &str,
    password: &str,
    address: &str,
) -> Result<Principal, Refusal> {
    let email = EmailAddress::parse(email)
        .map(|e| e.as_str().to_owned())
        .unwrap_or_default();
    let account_key = format!("account:{email}");
    let address_key = format!("address:{address}");
    for key in [&account_key, &address_key] {
        if let Some(until) = locked_until(conn, key, now)? {
            let minutes = ((until - now).num_seconds() + 59) / 60;
            return Err(Refusal::Locked {
                minutes: minutes.max(1),
            });
        }
    }

    let found = if email.is_empty() {
        None
    } else if let Some(user) = accounts::find_user_by_email(conn, &email)? {
        passwords_match(password, &user.password_hash)
            .then_some((Principal::User(UserId(user.id)), user.state))
    } else if let Some(member) = accounts::find_staff_by_email(conn, &email)? {
        passwords_match(password, &member.password_hash)
            .then_some((Principal::Staff(StaffId(member.id)), UserState::Active))
    } else {
        super::passwords::verify_nothing(password);
        None
    };

    // A deleted user is as good as unknown.
    let Some((principal, state)) = found.filter(|(_, s)| *s != UserState::Deleted) else {
        let account_failures = count_failure(conn, &account_key, now, ACCOUNT_LIMIT)?;
        let address_failures = count_failure(conn, &address_key, now, ADDRESS_LIMIT)?;
        if account_failures >= ACCOUNT_LIMIT || address_failures >= ADDRESS_LIMIT {
            return Err(Refusal::Locked {
                minutes: LOCK.num_minutes(),
            });
        }
        let delay =
            (account_failures.max(address_failures) - FREE_FAILURES).clamp(0, MAX_DELAY_SECONDS);
        return Err(Refusal::WrongCredentials {
            delay_seconds: delay as u64,
        });
    };
    diesel::delete(signin_throttle::table.find(&account_key))
        .execute(conn)
        .map_err(DomainError::from)?;

    if state == UserState::Blocked {
        return Err(Refusal::Blocked);
    }
    match (door, principal) {
        (Door::AdminCenter, Principal::User(user)) if !accounts::is_admin(conn, user)? => {
            Err(Refusal::NotAnAdmin)
        }
        (Door::Portal, Principal::Staff(_)) => Err(Refusal::NotAnEndUser),
        _ => Ok(principal),
    }
}

fn passwords_match(password: &str, hash: &str) -> bool {
    super::passwords::verify(password, hash)
}

fn locked_until(
    conn: &mut DbConnection,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DomainError> {
    let row: Option<ThrottleRow> = signin_throttle::table
        .find(key)
        .select(ThrottleRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row
        .and_then(|r| r.locked_until)
        .map(utc)
        .filter(|until| *until > now))
}

/// Counts one failure for `key` and returns the failures in the current window; locks the key
/// when it reaches `limit`. Increments are done by the database so concurrent failures all count.
fn count_failure(
    conn: &mut DbConnection,
    key: &str,
    now: DateTime<Utc>,
    limit: i32,
) -> Result<i32, DomainError> {
    let fresh_window = naive(now - WINDOW);
    for _ in 0..3 {
        let row: Option<ThrottleRow> = signin_throttle::table
            .find(key)
            .select(ThrottleRow::as_select())
            .first(conn)
            .optional()?;
        let failures = match row {
            None => {
                let inserted = diesel::insert_into(signin_throttle::table)
                    .values((
                        signin_throttle::key.eq(key),
                        signin_throttle::failures.eq(1),
                        signin_throttle::window_start.eq(naive(now)),
                    ))
                    .execute(conn);
                match inserted {
                    Ok(_) => 1,
                    // Another request counted the first failure at the same moment: count again.
                    Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Some(r) if r.window_start < fresh_window => {
                diesel::update(signin_throttle::table.find(key))
                    .set((
                        signin_throttle::failures.eq(1),
                        signin_throttle::window_start.eq(naive(now)),
                        signin_throttle::locked_until.eq(None::<chrono::NaiveDateTime>),
                    ))
                    .execute(conn)?;
                1
            }
            Some(_) => diesel::update(signin_throttle::table.find(key))
                .set(signin_throttle::failures.eq(signin_throttle::failures + 1))
                .returning(signin_throttle::failures)
                .get_result(conn)?,
        };
        if failures >= limit {
            diesel::update(signin_throttle::table.find(key))
                .set(signin_throttle::locked_until.eq(Some(naive(now + LOCK))))
                .execute(conn)?;
        }
        return Ok(failures);
    }
    Err(DomainError::storage("cannot count a failed sign-in"))
}

/// Forgets throttle entries whose window and lock are long over. Run by `tick`.
pub fn forget_old_failures(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
) -> Result<usize, DomainError> {
    let old = naive(now - Duration::days(1));
    Ok(diesel::delete(
        signin_throttle::table
            .filter(signin_throttle::window_start.lt(old))
            .filter(
                signin_throttle::locked_until
                    .is_null()
                    .or(signin_throttle::locked_until.lt(old)),
            ),
    )
    .execute(conn)?)
}
