//! Prometheus metrics: requests by route and status and their latency (a middleware), and at
//! each scrape the pool's connections in use and idle and the outbox's backlog. Job runs and
//! failures are counted where they run (`jobs`). `/metrics` answers only the addresses of
//! `ALLOT_METRICS_ALLOW` (loopback by default) or a request with `ALLOT_METRICS_TOKEN`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::cell::Cell;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Instant;

use super::AppState;
use crate::domain::outbox;

/// Who may read `/metrics`.
#[derive(Debug, Clone)]
pub struct MetricsAccess {
    /// Peer addresses (the TCP peer, never a forwarded header) allowed without a token.
    pub allow: Vec<IpAddr>,
    /// A bearer token that is allowed from anywhere.
    pub token: Option<String>,
}

/// Latency buckets in seconds: pages take milliseconds, bulk work up to seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Statement buckets: a page should run a handful, the same at any tenant size.
const STATEMENT_BUCKETS: [f64; 9] = [1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 32.0, 64.0];

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

tokio::task_local! {
    /// The SQL statements the request this task serves has run so far (`AppState::db`).
    static STATEMENTS: Cell<u64>;
}

/// Adds `n` statements to the request being served (none outside a request).
pub fn statements_ran(n: u64) {
    let _ = STATEMENTS.try_with(|count| count.set(count.get() + n));
}

/// The process's recorder, installed on first use (one per process: the HTTP tests build many
/// apps in one process, and they share it).
pub fn handle() -> &'static PrometheusHandle {
    RECORDER.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = builder
            .set_buckets_for_metric(
                Matcher::Full("allot_http_request_duration_seconds".into()),
                &BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("allot_http_request_statements".into()),
                    &STATEMENT_BUCKETS,
                )
            })
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed: /metrics stays empty");
        }
        handle
    })
}

/// Counts each request by method, route pattern (not its path: "/users/{id}", so ids don't
/// make new series) and status, and records its latency and the SQL statements it ran (also
/// in a debug log line: `RUST_LOG=allot=debug`).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let (result, statements) = STATEMENTS
        .scope(Cell::new(0), async {
            let result = next.call(req).await;
            (result, STATEMENTS.with(Cell::get))
        })
        .await;
    let status = match &result {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    tracing::debug!(%method, %route, status = status.as_u16(), statements, "request served");
    metrics::counter!(
        "allot_http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => status.as_str().to_owned()
    )
    .increment(1);
    metrics::histogram!("allot_http_request_duration_seconds", "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::histogram!("allot_http_request_statements", "route" => route)
        .record(statements as f64);
    result
}

fn allowed(req: &HttpRequest, access: &MetricsAccess) -> bool {
    let by_address = req
        .peer_addr()
        .is_some_and(|peer| access.allow.contains(&peer.ip()));
    let by_token = access.token.as_deref().is_some_and(|token| {
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| super::csrf::same(given, token))
    });
    by_address || by_token
}

/// GET /metrics: the Prometheus text format.
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !allowed(&req, &state.metrics_access) {
        return HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body("Metrics are read from an allowed address or with the metrics token.");
    }
    let pool = state.pool.state();
    metrics::gauge!("allot_db_pool_connections", "state" => "in_use")
        .set(f64::from(pool.connections - pool.idle_connections));
    metrics::gauge!("allot_db_pool_connections", "state" => "idle")
        .set(f64::from(pool.idle_connections));
    match state.db(outbox::backlog).await {
        Ok(n) => metrics::gauge!("allot_outbox_backlog").set(n as f64),
        Err(e) => tracing::warn!("metrics: cannot count the outbox: {e}"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle().render())
}
