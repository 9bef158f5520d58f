//! Sessions kept on the server, so they can be ended there (DESIGN.md, "Sessions, money and
//! crashes"). The cookie carries a random token; the database keeps only its SHA-256, who it
//! belongs to, which door it opened, and when it was started, last used and ended. Because the
//! record is in the database, ending it ends it in every server process at once.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::accounts::{Principal, UserState};
use super::authz::{self, Target};
use super::schema::{sessions, staff, users};
use super::signin::Door;
use super::{
    Action, Actor, DbConnection, DomainError, StaffId, TenantId, UserId, audit, naive, utc,
};

/// Ended and expired sessions are kept this long for the record, then `tick` deletes them.
pub const KEPT_AFTER_END: Duration = Duration::days(30);
/// The longest idle time the configuration allows (`ALLOT_SESSION_IDLE_MINUTES` ≤ 10080).
pub const LONGEST_IDLE: Duration = Duration::days(7);
/// `last_seen_at` is written at most this often, so a busy session does not write on every
/// request; the idle time is therefore measured to within this much.
pub const SEEN_EVERY: Duration = Duration::minutes(1);

/// How long a session lives: ended after `idle` without a request, and `max` after sign-in
/// however active it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub idle: Duration,
    pub max: Duration,
}

/// Why a session ended, as the record keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    SignedOut,
    SignedOutEverywhere,
    PasswordReset,
    Blocked,
    Deleted,
    RoleChanged,
    Idle,
    Expired,
    /// The account no longer admits the session (found at a request).
    Refused,
}

impl Ended {
    pub fn as_str(self) -> &'static str {
        match self {
            Ended::SignedOut => "signed_out",
            Ended::SignedOutEverywhere => "signed_out_everywhere",
            Ended::PasswordReset => "password_reset",
            Ended::Blocked => "blocked",
            Ended::Deleted => "deleted",
            Ended::RoleChanged => "role_changed",
            Ended::Idle => "idle",
            Ended::Expired => "expired",
            Ended::Refused => "refused",
        }
    }
}

fn door_name(door: Door) -> &'static str {
    match door {
        Door::AdminCenter => "admin_center",
        Door::Portal => "portal",
    }
}

/// The record's key: the token itself is never stored.
fn key_of(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Starts a session of `principal` at `door` and returns its token, for the cookie. A tenant
/// user must still be active: the check takes the user's row, so a block, reset or role change
/// committing at the same moment either sees this session (and ends it) or is seen by it.
pub fn start(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    door: Door,
    principal: Principal,
    lifetimes: Lifetimes,
) -> Result<String, DomainError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let key = key_of(&token);
    super::db::transaction(conn, |conn| {
        let (tenant, user, member) = match principal {
            Principal::User(user) => {
                let tenant: Option<i64> = diesel::update(
                    users::table
                        .filter(users::id.eq(user.0))
                        .filter(users::state.eq(UserState::Active)),
                )
                .set(users::state.eq(users::state))
                .returning(users::tenant_id)
                .get_result(conn)
                .optional()?;
                // Blocked or deleted between the password check and here: it may not sign in.
                let tenant =
                    tenant.ok_or(DomainError::Conflict("This account can't sign in.".into()))?;
                (Some(tenant), Some(user.0), None)
            }
            Principal::Staff(member) => {
                staff::table
                    .find(member.0)
                    .select(staff::id)
                    .first::<i64>(conn)?;
                (None, None, Some(member.0))
            }
        };
        diesel::insert_into(sessions::table)
            .values((
                sessions::id.eq(&key),
                sessions::tenant_id.eq(tenant),
                sessions::user_id.eq(user),
                sessions::staff_id.eq(member),
                sessions::door.eq(door_name(door)),
                sessions::created_at.eq(naive(now)),
                sessions::last_seen_at.eq(naive(now)),
                sessions::expires_at.eq(naive(now + lifetimes.max)),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    Ok(token)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
struct SessionRow {
    user_id: Option<i64>,
    staff_id: Option<i64>,
    door: String,
    last_seen_at: chrono::NaiveDateTime,
    expires_at: chrono::NaiveDateTime,
    ended_at: Option<chrono::NaiveDateTime>,
}

/// The principal of a live session at `door`: the record exists, was not ended, and neither its
/// idle time nor its lifetime has run out. One lookup by key; `last_seen_at` is refreshed at
/// most once a minute. A session found idle or expired is ended. `None`: sign in again.
pub fn check(
    conn: &mut DbConnection,
    token: &str,
    now: DateTime<Utc>,
    door: Door,
    lifetimes: Lifetimes,
) -> Result<Option<Principal>, DomainError> {
    let key = key_of(token);
    let Some(row) = sessions::table
        .find(&key)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    if row.ended_at.is_some() || row.door != door_name(door) {
        return Ok(None);
    }
    let principal = match (row.user_id, row.staff_id) {
        (Some(user), None) => Principal::User(UserId(user)),
        (None, Some(member)) => Principal::Staff(StaffId(member)),
        _ => return Ok(None),
    };
    let seen = utc(row.last_seen_at);
    let over = if now >= utc(row.expires_at) {
        Some(Ended::Expired)
    } else if now - seen > lifetimes.idle {
        Some(Ended::Idle)
    } else {
        None
    };
    if let Some(reason) = over {
        end_one(conn, &key, now, reason)?;
        return Ok(None);
    }
    if now - seen >= SEEN_EVERY {
        diesel::update(sessions::table.find(&key))
            .set(sessions::last_seen_at.eq(naive(now)))
            .execute(conn)?;
    }
    Ok(Some(principal))
}

fn end_one(
    conn: &mut DbConnection,
    key: &str,
    now: DateTime<Utc>,
    reason: Ended,
) -> Result<bool, DomainError> {
    let ended = diesel::update(
        sessions::table
            .find(key)
            .filter(sessions::ended_at.is_null()),
    )
    .set((
        sessions::ended_at.eq(Some(naive(now))),
        sessions::ended_reason.eq(Some(reason.as_str())),
    ))
    .execute(conn)?;
    Ok(ended > 0)
}

/// Ends the session of `token` (sign-out, or an account that no longer admits it). Ending a
/// session that is unknown or already ended does nothing.
pub fn end(
    conn: &mut DbConnection,
    token: &str,
    now: DateTime<Utc>,
    reason: Ended,
) -> Result<bool, DomainError> {
    end_one(conn, &key_of(token), now, reason)
}

/// Ends every live session of `principal`, at both doors, and returns how many. Called inside
/// the transaction of the change that requires it (block, password reset, delete, role change).
/// It takes the user's row first, so a sign-in finishing at the same moment cannot slip by.
pub fn end_all(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    principal: Principal,
    reason: Ended,
) -> Result<usize, DomainError> {
    let end = (
        sessions::ended_at.eq(Some(naive(now))),
        sessions::ended_reason.eq(Some(reason.as_str())),
    );
    Ok(match principal {
        Principal::User(user) => {
            diesel::update(users::table.find(user.0))
                .set(users::state.eq(users::state))
                .execute(conn)?;
            diesel::update(
                sessions::table
                    .filter(sessions::user_id.eq(user.0))
                    .filter(sessions::ended_at.is_null()),
            )
            .set(end)
            .execute(conn)?
        }
        Principal::Staff(member) => diesel::update(
            sessions::table
                .filter(sessions::staff_id.eq(member.0))
                .filter(sessions::ended_at.is_null()),
        )
        .set(end)
        .execute(conn)?,
    })
}

/// The account of a signed-in actor, as the target of ending its own sessions, and its tenant.
fn own_account(actor: &Actor) -> Result<(Principal, Target, Option<TenantId>), DomainError> {
    match actor {
        Actor::Admin {
            user,
            tenant,
            roles,
            ..
        } => Ok((
            Principal::User(*user),
            Target::user(*tenant, *user, roles.clone()),
            Some(*tenant),
        )),
        Actor::EndUser { user, tenant, .. } => Ok((
            Principal::User(*user),
            Target::user(*tenant, *user, Vec::new()),
            Some(*tenant),
        )),
        Actor::Staff { staff, .. } => Ok((Principal::Staff(*staff), Target::Staff(*staff), None)),
        // Scheduled work and API tokens have no account, so no sessions of their own to end.
        Actor::System(_) | Actor::ApiToken { .. } => Err(DomainError::NotFound),
    }
}

/// Sign out everywhere, for oneself: ends every session of the actor's own account, this one
/// included, at both doors.
pub fn sign_out_everywhere(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<usize, DomainError> {
    let (principal, target, tenant) = own_account(actor)?;
    authz::may(actor, Action::EndSessions, &target)?;
    super::db::transaction(conn, |conn| {
        let ended = end_all(conn, now, principal, Ended::SignedOutEverywhere)?;
        audit::record(
            conn,
            actor,
            now,
            tenant,
            "Signed out everywhere",
            &actor.label(),
            &format!("{ended} sessions ended"),
        )?;
        Ok(ended)
    })
}

/// Sign out everywhere, by an admin on a user's page: ends every session of `user`, at both
/// doors. Decided like blocking the user or resetting their password (the containment rule).
pub fn sign_out_user_everywhere(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
) -> Result<usize, DomainError> {
    authz::may(
        actor,
        Action::EndSessions,
        &super::users::target(conn, tenant, user)?,
    )?;
    super::db::transaction(conn, |conn| {
        let email = super::users::user_email(conn, tenant, user, false)?;
        let ended = end_all(conn, now, Principal::User(user), Ended::SignedOutEverywhere)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Signed out everywhere",
            &email,
            &format!("{ended} sessions ended"),
        )?;
        Ok(ended)
    })
}

/// How many live sessions the actor's own account has, at both doors ("Your account").
pub fn live_count(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    lifetimes: Lifetimes,
) -> Result<i64, DomainError> {
    let (principal, _, _) = own_account(actor)?;
    let mut query = sessions::table
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(naive(now)))
        .filter(sessions::last_seen_at.ge(naive(now - lifetimes.idle)))
        .into_boxed();
    query = match principal {
        Principal::User(user) => query.filter(sessions::user_id.eq(user.0)),
        Principal::Staff(member) => query.filter(sessions::staff_id.eq(member.0)),
    };
    Ok(query.count().get_result(conn)?)
}

/// Deletes the records of sessions that ended or ran out more than 30 days ago. Run by
/// `tick`; one statement, idempotent.
pub fn purge(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<usize, DomainError> {
    let cutoff = naive(now - KEPT_AFTER_END);
    // A session unused for longer than the longest idle time allowed is over, ended or not.
    let idle_cutoff = naive(now - KEPT_AFTER_END - LONGEST_IDLE);
    Ok(diesel::delete(
        sessions::table.filter(
            sessions::ended_at
                .lt(cutoff)
                .or(sessions::expires_at.lt(cutoff))
                .or(sessions::last_seen_at.lt(idle_cutoff)),
        ),
    )
    .execute(conn)?)
}
