//! Builds the application from its configuration and its dependencies (as zero-to-production's
//! `startup.rs`): `allot serve` runs what is built here, and the HTTP tests build their app
//! through the same `state`.

use actix_web::HttpServer;
use std::sync::Arc;

use crate::config::{Config, GatewayChoice};
use crate::domain::billing::{LedgerGateway, PaymentGateway, TestGateway};
use crate::domain::outbox::Mailer;
use crate::domain::{Clock, Pool};
use crate::web::{self, AppState};

/// What the application talks to beyond its database: time, the payment gateway, email.
#[derive(Clone)]
pub struct Dependencies {
    pub clock: Clock,
    pub gateway: Arc<dyn PaymentGateway>,
    /// `None`: emails stay in the outbox (Support > Outbox) until SMTP is configured.
    pub mailer: Option<Arc<dyn Mailer>>,
}

impl Dependencies {
    /// What the configuration chooses, on the system clock.
    pub fn from_config(config: &Config) -> Result<Dependencies, String> {
        Ok(Dependencies {
            clock: Clock::system(),
            gateway: gateway(config),
            mailer: mailer(config)?,
        })
    }

    /// The built-in test gateway and no mailer, on `clock`: what the tests run with.
    pub fn offline(clock: Clock) -> Dependencies {
        Dependencies {
            clock,
            gateway: Arc::new(TestGateway),
            mailer: None,
        }
    }
}

/// The payment gateway `ALLOT_PAYMENT_GATEWAY` names; the built-in test gateway is the default
/// and the only one built in so far (a real one implements `PaymentGateway`).
pub fn gateway(config: &Config) -> Arc<dyn PaymentGateway> {
    match &config.payment_gateway {
        GatewayChoice::Test { ledger: None } => Arc::new(TestGateway),
        GatewayChoice::Test { ledger: Some(path) } => Arc::new(LedgerGateway::new(path)),
    }
}

/// The SMTP mailer when `ALLOT_SMTP_URL` is set; otherwise emails stay in the outbox.
pub fn mailer(config: &Config) -> Result<Option<Arc<dyn Mailer>>, String> {
    match &config.smtp_url {
        Some(url) => Ok(Some(Arc::new(crate::mail::SmtpMailer::new(
            url,
            &config.smtp_from,
            &config.public_url,
        )?))),
        None => Ok(None),
    }
}

/// What every handler can reach.
pub fn state(config: &Config, pool: Pool, dependencies: &Dependencies) -> AppState {
    AppState {
        pool,
        clock: dependencies.clock.clone(),
        sessions: web::SessionSettings::from_config(config),
        gateway: dependencies.gateway.clone(),
        purchase_order_delay: chrono::Duration::minutes(config.purchase_order_minutes),
        https: config.cookie_secure,
        draining: Default::default(),
        metrics_access: web::metrics::MetricsAccess {
            allow: config.metrics_allow.clone(),
            token: config.metrics_token.clone(),
        },
        trusted_proxies: config.trusted_proxies.clone().into(),
        api: web::api::ApiSettings::new(&config.public_url, config.api_requests_per_minute),
        scim: web::scim::ScimSettings::new(&config.public_url),
    }
}

/// Runs the server on `bind` until it is stopped, with the scheduled jobs every minute.
pub fn serve(
    config: &Config,
    pool: Pool,
    dependencies: Dependencies,
    bind: &str,
) -> std::io::Result<()> {
    match config.payment_gateway {
        GatewayChoice::Test { .. } => tracing::warn!(
            "payments go to the built-in test gateway: no card is really charged \
             (ALLOT_PAYMENT_GATEWAY=test)"
        ),
    }
    let state = state(config, pool.clone(), &dependencies);
    let draining = state.draining.clone();
    let drain = std::time::Duration::from_secs(config.drain_seconds);
    let timeout = config.shutdown_timeout_seconds;
    // Each request's database work runs on a worker's blocking threads, one connection each:
    // more threads than the pool has connections only wait for one, and every thread keeps
    // memory of its own in the allocator (under 8 clients of slow searches the runtime had
    // started 40 of them, holding 60 MiB).
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let blocking_threads = (config.pool_size as usize).div_ceil(workers).max(1);
    actix_web::rt::System::new().block_on(async move {
        actix_web::rt::spawn(crate::jobs::every_minute(pool, dependencies));
        let server = HttpServer::new(move || web::app(state.clone()))
            .workers(workers)
            .worker_max_blocking_threads(blocking_threads)
            .shutdown_timeout(timeout)
            .disable_signals()
            .bind(bind)?
            .run();
        let handle = server.handle();
        // A graceful stop: /readyz first says "draining" so the balancer takes this process
        // out, then the server stops taking connections and lets those in flight finish.
        actix_web::rt::spawn(async move {
            stop_signal().await;
            draining.store(true, std::sync::atomic::Ordering::SeqCst);
            tracing::info!(
                "stopping: /readyz says draining for {} s, then requests in flight get up to {timeout} s",
                drain.as_secs()
            );
            actix_web::rt::time::sleep(drain).await;
            handle.stop(true).await;
        });
        tracing::info!("allot listens on http://{bind}");
        server.await
    })
}

/// Resolves on SIGTERM (what a service manager or an orchestrator sends) or Ctrl-C.
async fn stop_signal() {
    use actix_web::rt::signal;
    let interrupt = Box::pin(async {
        let _ = signal::ctrl_c().await;
    });
    let terminate = Box::pin(async {
        match signal::unix::signal(signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    });
    futures_util::future::select(interrupt, terminate).await;
}
