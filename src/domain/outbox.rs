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
        ))
        .execute(conn)?;
    Ok(())
}
