//! Scheduled work: run by the server every minute and by `allot tick`. Every job is
//! idempotent, and only one process runs them at a time.

use chrono::{DateTime, Utc};

use crate::domain::billing::PaymentGateway;
use crate::domain::{
    DbConnection, DomainError, agreements, db, groups, licenses, messages, service_requests,
    sessions, signin, subscriptions, users,
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
    /// Steps of group licensing run (big groups get their licenses in the background).
    pub group_license_steps: usize,
    /// Tenants whose license usage of the day was taken (Home's trend).
    pub usage_recorded: usize,
    /// Messages posted to Message centers (renewals, cards, conflicts).
    pub messages_posted: usize,
    /// Steps of Add multiple users run (imports of a CSV, a few rows a step).
    pub user_import_steps: usize,
    /// Card charges left pending (a crash, a lost answer) that were asked again and settled.
    pub charges_settled: usize,
    /// Steps that failed (logged with their ids); the others went on, and the next tick
    /// tries the failed ones again.
    pub failures: usize,
}

/// Runs every scheduled job once, as of `now`. Each job works in small steps, each its own
/// transaction (one subscription, one purge, one provisioning): a failed step is logged and
/// counted in `failures`, and the rest go on; running again does nothing twice. On PostgreSQL
/// only one process runs the jobs at a time (`db::with_job_lock`); a tick that finds the lock
/// taken does nothing and says so (`ran` is false).
pub fn tick(
    conn: &mut DbConnection,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
) -> Result<TickReport, DomainError> {
    let report = db::with_job_lock(conn, |conn| {
        let mut failures = 0;
        let f = &mut failures;
        let mut report = TickReport {
            ran: true,
            forgotten_signin_failures: signin::forget_old_failures(conn, now)?,
            // One statement (its own small transaction), like the sign-in failures above.
            sessions_forgotten: sessions::purge(conn, now)?,
            // Charges a crash left pending are settled before any renewal is begun.
            charges_settled: subscriptions::settle_pending(conn, gateway, now, f)?,
            held_data_deleted: licenses::purge_held_data(conn, now, f)?,
            users_purged: users::purge_deleted(conn, now, f)?,
            lifecycle: subscriptions::run_lifecycle(conn, gateway, now, f)?,
            purchase_orders: agreements::process_purchase_orders(conn, now, f)?,
            true_ups: agreements::run_true_ups(conn, now, f)?,
            requests_closed: service_requests::close_resolved(conn, now, f)?,
            group_license_steps: groups::drain(conn, now, f)?,
            usage_recorded: licenses::record_usage(conn, now, f)?,
            messages_posted: messages::post_due(conn, now, f)?,
            user_import_steps: users::import::drain(conn, now, f)?,
            failures: 0,
        };
        report.failures = failures;
        Ok(report)
    })?;
    Ok(report.unwrap_or_default())
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
            match tick(&mut conn, deps.gateway.as_ref(), now) {
                Ok(report) if report.ran => {
                    metrics::counter!("allot_job_runs_total").increment(1);
                    metrics::counter!("allot_job_step_failures_total")
                        .increment(report.failures as u64);
                }
                Ok(_) => metrics::counter!("allot_job_runs_skipped_total").increment(1),
                Err(e) => {
                    metrics::counter!("allot_job_run_failures_total").increment(1);
                    tracing::error!("scheduled jobs failed: {e}");
                }
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

/// Runs the background group licensing now, on a blocking thread, so a big group doesn't wait
/// for the next minute's tick (which would do it too, and does after a crash: each step is its
/// own transaction under the tenant's license lock, so two runs never give a seat twice).
pub fn kick_group_licensing(pool: crate::domain::Pool, clock: crate::domain::Clock) {
    actix_web::rt::task::spawn_blocking(move || {
        let mut failures = 0;
        match pool.get() {
            Ok(mut conn) => {
                if let Err(e) = groups::drain(&mut conn, clock.now(), &mut failures) {
                    tracing::warn!("group licensing in the background stopped: {e}");
                }
            }
            Err(e) => tracing::warn!("group licensing in the background found no connection: {e}"),
        }
    });
}

/// Runs an import of users (Add multiple users) now, on a blocking thread, so it doesn't wait
/// for the next minute's tick (which would go on with it too, and does after a crash: each
/// step is its own transaction under the tenant's license lock and writes each row's outcome
/// with its user, so two runs never make a user twice).
pub fn kick_user_import(
    pool: crate::domain::Pool,
    clock: crate::domain::Clock,
    id: users::import::ImportId,
) {
    actix_web::rt::task::spawn_blocking(move || {
        let mut failures = 0;
        match pool.get() {
            Ok(mut conn) => {
                users::import::run(&mut conn, clock.now(), id, usize::MAX, &mut failures);
            }
            Err(e) => tracing::warn!("a user import in the background found no connection: {e}"),
        }
    });
}
