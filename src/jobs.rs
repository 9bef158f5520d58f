//! Scheduled work: run by the server every minute and by `allot tick`. Every job is
//! idempotent, and only one process runs them at a time.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::domain::billing::PaymentGateway;
use crate::domain::{
    DbConnection, DomainError, agreements, db, licenses, service_requests, sessions, signin,
    subscriptions, users,
};

/// What one tick did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    /// False when another process held the job lock and this tick did nothing.
    pub ran: bool,
    pub forgotten_signin_failures: usize,
    /// Session records ended or run out more than 30 days ago, deleted.
    pub sessions_forgotten: usize,
    /// Data holds whose 30 days ran out: the data is deleted.
    pub held_data_deleted: usize,
    /// Users deleted more than 30 days ago, purged.
    pub users_purged: usize,
    /// Renewals, failed payments, disabled and deleted subscriptions.
    pub lifecycle: subscriptions::LifecycleReport,
    /// Purchase orders provisioned (invoiced, then pooled or sent for activation).
    pub purchase_orders: usize,
    /// Agreements whose anniversary billed a true-up.
    pub true_ups: usize,
    /// Service requests closed 14 days after they were resolved.
    pub requests_closed: usize,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// Runs every scheduled job once, as of `now`.
pub fn tick(
    conn: &mut DbConnection,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
) -> Result<TickReport, DomainError> {
    db::transaction(conn, |conn| {
        // PostgreSQL: one process at a time holds this lock until the transaction ends; SQLite
        // already lets only one writer in.
        if let DbConnection::Postgresql(pg) = conn {
            let lock: Locked =
                diesel::sql_query("SELECT pg_try_advisory_xact_lock(7307001) AS locked")
                    .get_result(pg)?;
            if !lock.locked {
                return Ok(TickReport::default());
            }
        }
        Ok(TickReport {
            ran: true,
            forgotten_signin_failures: signin::forget_old_failures(conn, now)?,
            sessions_forgotten: sessions::purge(conn, now)?,
            held_data_deleted: licenses::purge_held_data(conn, now)?,
            users_purged: users::purge_deleted(conn, now)?,
            lifecycle: subscriptions::run_lifecycle(conn, gateway, now)?,
            purchase_orders: agreements::process_purchase_orders(conn, now)?,
            true_ups: agreements::run_true_ups(conn, now)?,
            requests_closed: service_requests::close_resolved(conn, now)?,
        })
    })
}

/// The server's scheduler: every minute, the jobs as of the clock's now, then the outbox when
/// a mailer is configured. A failure is logged and the next minute tries again.
pub async fn every_minute(pool: crate::domain::Pool, dependencies: crate::startup::Dependencies) {
    let mut minute = actix_web::rt::time::interval(std::time::Duration::from_secs(60));
    loop {
        minute.tick().await;
        let pool = pool.clone();
        let deps = dependencies.clone();
        let ran = actix_web::rt::task::spawn_blocking(move || -> Result<(), DomainError> {
            let now = deps.clock.now();
            let mut conn = pool.get()?;
            if let Err(e) = tick(&mut conn, deps.gateway.as_ref(), now) {
                tracing::error!("scheduled jobs failed: {e}");
            }
            if let Some(mailer) = &deps.mailer {
                crate::domain::outbox::deliver(&mut conn, mailer.as_ref(), now, 100)?;
            }
            Ok(())
        })
        .await;
        match ran {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("sending the outbox failed: {e}"),
            Err(e) => tracing::error!("the scheduled jobs stopped: {e}"),
        }
    }
}
