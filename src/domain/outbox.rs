//! The outbox: every email the system sends is first kept here, in the transaction of the
//! change that caused it, and delivered later (by SMTP when configured).

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::outbox;
use super::{DbConnection, DomainError, TenantId, naive};

pub struct Email<'a> {
    pub tenant: Option<TenantId>,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// The page the email is about, as a path ("/support/requests/7"); the mailer puts the
    /// server's public address before it.
    pub link: Option<&'a str>,
}

/// Queues one email.
pub fn enqueue(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    email: &Email<'_>,
) -> Result<(), DomainError> {
    diesel::insert_into(outbox::table)
        .values((
            outbox::created_at.eq(naive(now)),
            outbox::tenant_id.eq(email.tenant.map(|t| t.0)),
            outbox::to_email.eq(email.to),
            outbox::subject.eq(email.subject),
            outbox::body.eq(email.body),
            outbox::link.eq(email.link),
        ))
        .execute(conn)?;
    Ok(())
}

/// An email as the staff's outbox page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub created_at: DateTime<Utc>,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub link: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The newest emails first, for billing support (it holds every tenant's mail).
pub fn list(
    conn: &mut DbConnection,
    actor: &super::Actor,
    limit: i64,
) -> Result<Vec<Sent>, DomainError> {
    list_sorted(conn, actor, OutboxSort::Queued, true, limit)
}

/// What the outbox sorts by (its column headers); equal ones newest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutboxSort {
    #[default]
    Queued,
    To,
    Sent,
}

/// How many emails the outbox holds (the page lists the first `limit` in its order).
pub fn count(conn: &mut DbConnection, actor: &super::Actor) -> Result<i64, DomainError> {
    super::authz::may(
        actor,
        super::Action::ViewOutbox,
        &super::authz::Target::Provider,
    )?;
    Ok(outbox::table.count().get_result(conn)?)
}

/// The first `limit` emails in the order asked.
pub fn list_sorted(
    conn: &mut DbConnection,
    actor: &super::Actor,
    sort: OutboxSort,
    descending: bool,
    limit: i64,
) -> Result<Vec<Sent>, DomainError> {
    super::authz::may(
        actor,
        super::Action::ViewOutbox,
        &super::authz::Target::Provider,
    )?;
    let query = outbox::table.into_boxed();
    let query = match (sort, descending) {
        (OutboxSort::Queued, true) => query.order(outbox::id.desc()),
        (OutboxSort::Queued, false) => query.order(outbox::id.asc()),
        (OutboxSort::To, true) => query.order((outbox::to_email.desc(), outbox::id.desc())),
        (OutboxSort::To, false) => query.order((outbox::to_email.asc(), outbox::id.desc())),
        // Not sent yet counts as the latest.
        (OutboxSort::Sent, true) => query.order((
            outbox::sent_at.is_null().desc(),
            outbox::sent_at.desc(),
            outbox::id.desc(),
        )),
        (OutboxSort::Sent, false) => query.order((
            outbox::sent_at.is_null().asc(),
            outbox::sent_at.asc(),
            outbox::id.desc(),
        )),
    };
    Ok(query
        .limit(limit)
        .select((
            outbox::created_at,
            outbox::to_email,
            outbox::subject,
            outbox::body,
            outbox::link,
            outbox::sent_at,
        ))
        .load::<(
            chrono::NaiveDateTime,
            String,
            String,
            String,
            Option<String>,
            Option<chrono::NaiveDateTime>,
        )>(conn)?
        .into_iter()
        .map(|(created_at, to, subject, body, link, sent_at)| Sent {
            created_at: super::utc(created_at),
            to,
            subject,
            body,
            link,
            sent_at: sent_at.map(super::utc),
        })
        .collect())
}

/// One email of the outbox, as it is handed to the mailer.
pub struct Outgoing<'a> {
    /// The outbox row's id: with `created_at`, the email's identity wherever it is sent from
    /// (a Message-ID that stays the same if it must be sent again).
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// The path of the page the email is about, if any.
    pub link: Option<&'a str>,
}

/// Sends an email. The server uses SMTP (`crate::mail`); tests may use anything.
pub trait Mailer: Send + Sync {
    fn send(&self, email: &Outgoing<'_>) -> Result<(), String>;
}

/// How long a sender's claim on an email holds: a process that stopped (killed, crashed)
/// between claiming and sending leaves its claim, which another may take once it is this old.
/// Far longer than sending a batch takes.
pub const CLAIM_MINUTES: i64 = 10;

/// Sends what the outbox holds, oldest first, at most `limit`, marking each sent. An email
/// that fails stays for the next run. Several processes may deliver at once: each first claims
/// its batch with one conditional UPDATE (only unsent emails no other live claim holds), so an
/// email goes to one sender; a sent email is never sent again. (A sender that dies between
/// the SMTP server's "OK" and marking the email sent leaves it to be sent again after
/// `CLAIM_MINUTES`: at least once, never lost, as SMTP can promise no more.)
pub fn deliver(
    conn: &mut DbConnection,
    mailer: &dyn Mailer,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<usize, DomainError> {
    let claim = format!("{:016x}", rand::random::<u64>());
    let stale = naive(now - chrono::Duration::minutes(CLAIM_MINUTES));
    let claimable = || {
        outbox::sent_at.is_null().and(
            outbox::claimed_at
                .is_null()
                .or(outbox::claimed_at.lt(stale)),
        )
    };
    let batch: Vec<i64> = outbox::table
        .filter(claimable())
        .order(outbox::id)
        .limit(limit)
        .select(outbox::id)
        .load(conn)?;
    // The condition is checked again on each row as it is updated: on PostgreSQL a concurrent
    // sender that claimed the row first makes it fail (once its claim commits), so the row is
    // skipped; SQLite has one writer at a time.
    diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(&batch))
            .filter(claimable()),
    )
    .set((
        outbox::claim.eq(Some(&claim)),
        outbox::claimed_at.eq(Some(naive(now))),
    ))
    .execute(conn)?;
    type Pending = (
        i64,
        chrono::NaiveDateTime,
        String,
        String,
        String,
        Option<String>,
    );
    let pending: Vec<Pending> = outbox::table
        .filter(outbox::claim.eq(&claim))
        .filter(outbox::sent_at.is_null())
        .order(outbox::id)
        .select((
            outbox::id,
            outbox::created_at,
            outbox::to_email,
            outbox::subject,
            outbox::body,
            outbox::link,
        ))
        .load(conn)?;
    let mut sent = 0;
    for (id, created_at, to, subject, body, link) in pending {
        let sending = outbox::table.find(id).filter(outbox::claim.eq(&claim));
        let email = Outgoing {
            id,
            created_at: created_at.and_utc(),
            to: &to,
            subject: &subject,
            body: &body,
            link: link.as_deref(),
        };
        match mailer.send(&email) {
            Ok(()) => {
                diesel::update(sending)
                    .set(outbox::sent_at.eq(Some(naive(now))))
                    .execute(conn)?;
                sent += 1;
            }
            Err(e) => {
                tracing::warn!("could not send email {id} to {to}: {e}");
                // Free it for the next run, whoever makes it.
                diesel::update(sending)
                    .set((
                        outbox::claim.eq(None::<String>),
                        outbox::claimed_at.eq(None::<chrono::NaiveDateTime>),
                    ))
                    .execute(conn)?;
            }
        }
    }
    Ok(sent)
}

/// How many emails wait to be sent (`/metrics`).
pub fn backlog(conn: &mut DbConnection) -> Result<i64, DomainError> {
    Ok(outbox::table
        .filter(outbox::sent_at.is_null())
        .count()
        .get_result(conn)?)
}
