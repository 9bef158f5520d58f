//! Health for a load balancer and an orchestrator: `/livez` says the process serves requests;
//! `/readyz` says it should get them: the database answers, its migrations are applied, and
//! the process is not draining before a shutdown. Plain text, no session, never cached.

use actix_web::{HttpResponse, web};
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::AppState;
use crate::domain::db;

/// The operations endpoints, whose plain-text answers no error page replaces.
pub const PATHS: [&str; 4] = ["/livez", "/readyz", "/healthz", "/metrics"];

/// How long `/readyz` waits for a database connection before it says not ready.
const READY_WAIT: Duration = Duration::from_secs(2);

fn text(status: actix_web::http::StatusCode, body: &'static str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .body(body)
}

/// GET /livez: the process is up and answers.
pub async fn livez() -> HttpResponse {
    text(actix_web::http::StatusCode::OK, "ok")
}

/// GET /readyz (and /healthz, its older name).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    use actix_web::http::StatusCode;
    if state.draining.load(Ordering::SeqCst) {
        return text(StatusCode::SERVICE_UNAVAILABLE, "draining");
    }
    let pool = state.pool.clone();
    let checked = web::block(move || -> Result<bool, String> {
        let mut conn = pool.get_timeout(READY_WAIT).map_err(|e| e.to_string())?;
        db::ping(&mut conn).map_err(|e| e.to_string())?;
        db::migrations_applied(&mut conn)
    })
    .await;
    match checked {
        Ok(Ok(true)) => text(StatusCode::OK, "ok"),
        Ok(Ok(false)) => text(StatusCode::SERVICE_UNAVAILABLE, "migrations pending"),
        Ok(Err(e)) => {
            tracing::warn!("not ready: {e}");
            text(StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
        Err(_) => text(StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}
