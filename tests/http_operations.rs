//! What a provider's operations see: `/livez` and `/readyz` for the balancer (draining before a
//! shutdown), `/metrics` in the Prometheus text format for the addresses or the token allowed,
//! the `X-Request-Id` of every response, and a bad setting stopping the start with one line.

mod common;

use actix_web::http::StatusCode;
use actix_web::test;
use allot::domain::Clock;
use common::*;
use std::sync::atomic::Ordering;

const TOKEN: &str = "a metrics token for the tests";

async fn body_of(
    res: actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
) -> String {
    String::from_utf8(test::read_body(res).await.to_vec()).unwrap()
}

#[actix_web::test]
async fn livez_and_readyz_answer_and_readyz_says_draining_once_a_shutdown_began() {
    let db = TestDb::with_demo();
    let state = state(&db, Clock::fixed(test_now()));
    let draining = state.draining.clone();
    let app = test::init_service(allot::web::app(state)).await;
    for path in ["/livez", "/readyz", "/healthz"] {
        let res = test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(body_of(res).await, "ok");
    }
    draining.store(true, Ordering::SeqCst);
    let res = test::call_service(&app, test::TestRequest::get().uri("/readyz").to_request()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body_of(res).await, "draining");
    // Still alive, and still serving the requests that reach it.
    let res = test::call_service(&app, test::TestRequest::get().uri("/livez").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = test::call_service(&app, test::TestRequest::get().uri("/signin").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[actix_web::test]
async fn metrics_count_requests_by_route_and_status_for_the_allowed_only() {
    let db = TestDb::with_demo();
    let app = test::init_service(allot::web::app(state(&db, Clock::fixed(test_now())))).await;
    for _ in 0..3 {
        test::call_service(&app, test::TestRequest::get().uri("/livez").to_request()).await;
    }
    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/users/12345").to_request(),
    )
    .await;
    assert!(
        res.status().is_redirection(),
        "signed out: to the sign-in page"
    );

    // No token, from an address not allowed: refused.
    let stranger = "203.0.113.9:4000".parse().unwrap();
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/metrics")
            .peer_addr(stranger)
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/metrics")
            .peer_addr(stranger)
            .insert_header(("Authorization", "Bearer not the token at all"))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // With the token from anywhere, or from an allowed address without it.
    let local = "127.0.0.1:4000".parse().unwrap();
    for req in [
        test::TestRequest::get()
            .uri("/metrics")
            .peer_addr(stranger)
            .insert_header(("Authorization", format!("Bearer {TOKEN}"))),
        test::TestRequest::get().uri("/metrics").peer_addr(local),
    ] {
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        let text = body_of(res).await;
        // The recorder is the process's: other tests in this binary count too, so the count
        // is at least what this test sent.
        let livez = text
            .lines()
            .find(|l| {
                l.starts_with("allot_http_requests_total{")
                    && l.contains("route=\"/livez\"")
                    && l.contains("status=\"200\"")
            })
            .unwrap_or_else(|| panic!("no /livez count in\n{text}"));
        let n: f64 = livez.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(n >= 3.0, "{livez}");
        // Routes, not paths: the user's id is not a label.
        assert!(text.contains("route=\"/users/{id}\""), "{text}");
        assert!(!text.contains("/users/12345"));
        assert!(text.contains("allot_http_request_duration_seconds_bucket{"));
        assert!(text.contains("allot_db_pool_connections{state=\"idle\"}"));
        assert!(text.contains("allot_outbox_backlog "));
    }
}

#[actix_web::test]
async fn every_response_carries_its_own_request_id() {
    let db = TestDb::with_demo();
    let app = test::init_service(allot::web::app(state(&db, Clock::fixed(test_now())))).await;
    let mut ids = Vec::new();
    for path in ["/signin", "/signin", "/no/such/page", "/static/app.css"] {
        let res = test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        let id = res
            .headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(id.len(), 36, "a UUID: {id}");
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "each request its own id");
}

#[::core::prelude::v1::test]
fn a_bad_operations_setting_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, value, says) in [
        (
            "ALLOT_DB_POOL_SIZE",
            "0",
            "ALLOT_DB_POOL_SIZE must be a number of connections from 1 to 256, not '0'",
        ),
        (
            "ALLOT_DB_STATEMENT_TIMEOUT_MS",
            "soon",
            "ALLOT_DB_STATEMENT_TIMEOUT_MS must be a number of milliseconds (0: none) from 0 to 3600000, not 'soon'",
        ),
        (
            "ALLOT_METRICS_ALLOW",
            "127.0.0.1, localhost",
            "ALLOT_METRICS_ALLOW must list IP addresses separated by commas, not 'localhost'",
        ),
        (
            "ALLOT_TRUSTED_PROXIES",
            "10.0.0.0/8",
            "ALLOT_TRUSTED_PROXIES must list IP addresses separated by commas, not '10.0.0.0/8'",
        ),
        (
            "ALLOT_METRICS_TOKEN",
            "short",
            "ALLOT_METRICS_TOKEN must have at least 16 characters",
        ),
        (
            "ALLOT_DRAIN_SECONDS",
            "-1",
            "ALLOT_DRAIN_SECONDS must be a number of seconds from 0 to 300, not '-1'",
        ),
        (
            "ALLOT_LOG_FORMAT",
            "xml",
            "ALLOT_LOG_FORMAT must be text or json, not 'xml'",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_allot"))
            .arg("migrate")
            .env_remove("DATABASE_URL")
            .env("ALLOT_DATA_DIR", dir.path())
            .env(name, value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{name}={value} starts");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.trim_end(),
            format!("allot: {says}"),
            "{name}={value}"
        );
    }
}
