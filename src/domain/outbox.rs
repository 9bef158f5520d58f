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
    super::authz::may(
        actor,
        super::Action::ViewOutbox,
        &super::authz::Target::Provider,
    )?;
    Ok(outbox::table
        .order(outbox::id.desc())
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

/// Sends an email. The server uses SMTP (`crate::mail`); tests may use anything.
pub trait Mailer: Send + Sync {
    /// `link` is the path of the page the email is about, if any.
    fn send(&self, to: &str, subject: &str, body: &str, link: Option<&str>) -> Result<(), String>;
}

/// Sends what the outbox holds, oldest first, at most `limit`, marking each sent. An email
/// that fails stays for the next run. Idempotent: a sent email is never sent again.
pub fn deliver(
    conn: &mut DbConnection,
    mailer: &dyn Mailer,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<usize, DomainError> {
    type Pending = (i64, String, String, String, Option<String>);
    let pending: Vec<Pending> = outbox::table
        .filter(outbox::sent_at.is_null())
        .order(outbox::id)
        .limit(limit)
        .select((
            outbox::id,
            outbox::to_email,
            outbox::subject,
            outbox::body,
            outbox::link,
        ))
        .load(conn)?;
    let mut sent = 0;
    for (id, to, subject, body, link) in pending {
        match mailer.send(&to, &subject, &body, link.as_deref()) {
            Ok(()) => {
                diesel::update(outbox::table.find(id))
                    .set(outbox::sent_at.eq(Some(naive(now))))
                    .execute(conn)?;
                sent += 1;
            }
            Err(e) => tracing::warn!("could not send email {id} to {to}: {e}"),
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
