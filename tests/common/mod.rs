//! Test support: a fresh database of the backend under test, the app on it, and a client
//! that keeps cookies and sends forms the way a browser does.
//!
//! `ALLOT_TEST_BACKEND=sqlite` (the default) or `postgres`; for PostgreSQL,
//! `ALLOT_TEST_POSTGRES_URL` names a server (default: the local one) on which every test
//! creates its own database and drops it afterwards.
#![allow(dead_code)]

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::test;
use allot::config::Config;
use allot::domain::db::{self, Backend};
use allot::domain::{Clock, Pool, demo};
use allot::startup::Dependencies;
use allot::web::{self, AppState};
use chrono::{DateTime, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

pub mod crawl;

/// Thursday 2026-11-05, 09:00 UTC: the tests' "now" unless they move the clock.
pub fn test_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 5, 9, 0, 0).unwrap()
}

pub fn backend() -> Backend {
    match std::env::var("ALLOT_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("ALLOT_TEST_BACKEND must be sqlite or postgres, not {other}"),
    }
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    pub pool: Pool,
    _dir: Option<tempfile::TempDir>,
    pg_drop: Option<(String, String)>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    pub fn new() -> TestDb {
        match backend() {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = dir.path().join("allot.db").to_string_lossy().into_owned();
                let pool = db::connect(&url, 8).expect("sqlite database");
                TestDb {
                    url,
                    pool,
                    _dir: Some(dir),
                    pg_drop: None,
                }
            }
            Backend::Postgres => {
                let server = std::env::var("ALLOT_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                let name = format!(
                    "allot_t_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    Utc::now().timestamp_subsec_nanos()
                );
                let mut admin = PgConnection::establish(&server)
                    .unwrap_or_else(|e| panic!("no PostgreSQL at {server}: {e}"));
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(&server);
                let url = format!("{base}/{name}");
                let pool = db::connect(&url, 8).expect("postgres database");
                TestDb {
                    url,
                    pool,
                    _dir: None,
                    pg_drop: Some((server, name)),
                }
            }
        }
    }

    /// A database with the demo data, loaded at `test_now()`.
    pub fn with_demo() -> TestDb {
        let db = TestDb::new();
        let mut conn = db.pool.get().unwrap();
        assert!(demo::load(&mut conn, test_now()).unwrap());
        drop(conn);
        db
    }

    pub fn conn(&self) -> db::PooledConnection {
        self.pool.get().expect("a connection")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = self.pg_drop.take() {
            // Close our connections first; FORCE ends any the pool still holds.
            if let Ok(mut admin) = PgConnection::establish(&server) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

pub fn test_config(db: &TestDb) -> Config {
    Config {
        database_url: db.url.clone(),
        data_dir: std::env::temp_dir(),
        secret_key: b"a test key of at least thirty-two bytes, for cookies".to_vec(),
        cookie_secure: false,
        session_idle_minutes: 480,
        // Longer than the default 12, so idle-time tests can play out over a day; the tests of
        // the lifetime set it themselves.
        session_max_hours: 24,
        smtp_url: None,
        smtp_from: "allot <no-reply@localhost>".into(),
        public_url: "http://localhost:8080".into(),
        purchase_order_minutes: 12 * 60,
        payment_gateway: allot::config::GatewayChoice::Test { ledger: None },
        pool_size: 4,
        statement_timeout_ms: 30_000,
        slow_statement_ms: 250,
        metrics_allow: vec![std::net::IpAddr::from([127, 0, 0, 1])],
        trusted_proxies: vec![],
        metrics_token: Some("a metrics token for the tests".into()),
        drain_seconds: 0,
        shutdown_timeout_seconds: 5,
        api_requests_per_minute: allot::web::api::REQUESTS_PER_MINUTE,
    }
}

pub fn state(db: &TestDb, clock: Clock) -> AppState {
    allot::startup::state(
        &test_config(db),
        db.pool.clone(),
        &Dependencies::offline(clock),
    )
}

/// What a response showed.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
    pub headers: actix_web::http::header::HeaderMap,
}

impl Page {
    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self.body.find(marker).expect("a form with a CSRF token") + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_owned()
    }

    pub fn contains(&self, text: &str) -> bool {
        self.body.contains(text)
    }
}

/// A browser: keeps cookies between requests.
pub struct Browser<S> {
    app: S,
    cookies: HashMap<String, String>,
    pub set_cookie_headers: Vec<String>,
}

pub async fn browser(
    state: AppState,
) -> Browser<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    Browser {
        app: test::init_service(web::app(state)).await,
        cookies: HashMap::new(),
        set_cookie_headers: Vec::new(),
    }
}

impl<S, B> Browser<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    async fn send(&mut self, req: test::TestRequest) -> Page {
        let mut req = req.peer_addr("203.0.113.7:40000".parse().unwrap());
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req = req.insert_header((header::COOKIE, cookie));
        }
        let res = test::call_service(&self.app, req.to_request()).await;
        let status = res.status();
        let headers = res.headers().clone();
        for value in headers.get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap().to_owned();
            let parsed = actix_web::cookie::Cookie::parse(text.clone()).unwrap();
            let removed = parsed.max_age().is_some_and(|a| a.is_zero())
                || parsed
                    .expires_datetime()
                    .is_some_and(|e| e.unix_timestamp() < 1_000_000_000)
                || parsed.value().is_empty();
            if removed {
                self.cookies.remove(parsed.name());
            } else {
                self.cookies
                    .insert(parsed.name().to_owned(), parsed.value().to_owned());
            }
            self.set_cookie_headers.push(text);
        }
        let location = headers
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
        Page {
            status,
            location,
            body,
            headers,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(test::TestRequest::get().uri(path)).await
    }

    /// Posts a form as it is, without adding a CSRF token.
    pub async fn post_raw(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(test::TestRequest::post().uri(path).set_form(form))
            .await
    }

    /// Posts a form that sends files (`multipart/form-data`), as a browser does: text fields,
    /// then each file as (field, file name, content).
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Page {
        let boundary = "----allot-test-boundary-7MA4YWxkTrZu0gW";
        let mut body: Vec<u8> = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, file_name, content) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.send(
            test::TestRequest::post()
                .uri(path)
                .insert_header((
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                ))
                .set_payload(body),
        )
        .await
    }

    /// Posts a form with the CSRF token taken from the page at `form_page`, like a browser
    /// submitting the form it shows.
    pub async fn submit(&mut self, form_page: &str, action: &str, form: &[(&str, &str)]) -> Page {
        let token = self.get(form_page).await.csrf();
        let mut fields: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        fields.extend_from_slice(form);
        self.post_raw(action, &fields).await
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        self.submit(
            "/signin",
            "/signin",
            &[("email", email), ("password", password)],
        )
        .await
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookies.contains_key(name)
    }

    pub fn forget_cookies(&mut self) {
        self.cookies.clear();
    }

    /// The cookies this browser holds, to copy into another (as a thief copying a cookie would).
    pub fn cookie_jar(&self) -> HashMap<String, String> {
        self.cookies.clone()
    }

    pub fn set_cookie_jar(&mut self, jar: HashMap<String, String>) {
        self.cookies = jar;
    }

    /// Signs in to the service portal.
    pub async fn portal_sign_in(&mut self, email: &str, password: &str) -> Page {
        self.submit(
            "/portal/signin",
            "/portal/signin",
            &[("email", email), ("password", password)],
        )
        .await
    }
}

pub const PASSWORD: &str = demo::DEMO_PASSWORD;

/// A browser signed in to the admin center as `email`, on a clock stopped at `test_now()`.
pub async fn signed_in(
    db: &TestDb,
    email: &str,
) -> Browser<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    let mut b = browser(state(db, Clock::fixed(test_now()))).await;
    assert_eq!(
        b.sign_in(email, PASSWORD).await.status,
        StatusCode::SEE_OTHER,
        "{email} signs in"
    );
    b
}

/// The actor of a demo account, as a signed-in session would load it.
pub fn actor(db: &TestDb, email: &str) -> allot::domain::Actor {
    use allot::domain::accounts;
    use allot::domain::signin::{self, Door};
    let mut conn = db.conn();
    let principal = signin::sign_in(
        &mut conn,
        test_now(),
        Door::AdminCenter,
        email,
        PASSWORD,
        "test",
    )
    .unwrap_or_else(|e| panic!("{email} cannot sign in: {e}"));
    accounts::admin_center_actor(&mut conn, principal)
        .unwrap()
        .unwrap()
        .actor
}

/// Contoso's and Fabrikam's tenant ids.
pub fn tenants(db: &TestDb) -> (allot::domain::TenantId, allot::domain::TenantId) {
    let contoso = actor(db, "admin@contoso.example").tenant().unwrap();
    let fabrikam = actor(db, "admin@fabrikam.example").tenant().unwrap();
    (contoso, fabrikam)
}

/// A demo user's id by sign-in name.
pub fn user_id(db: &TestDb, email: &str) -> allot::domain::UserId {
    use allot::domain::schema::users;
    use diesel::prelude::*;
    allot::domain::UserId(
        users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .first(&mut db.conn())
            .unwrap_or_else(|_| panic!("no user {email}")),
    )
}

/// A demo product's id by name.
pub fn product_id(db: &TestDb, name: &str) -> allot::domain::ProductId {
    use allot::domain::schema::products;
    use diesel::prelude::*;
    allot::domain::ProductId(
        products::table
            .filter(products::name.eq(name))
            .select(products::id)
            .first(&mut db.conn())
            .unwrap_or_else(|_| panic!("no product {name}")),
    )
}

/// The Licenses page row of a product's tenant pool: (licenses, assigned, available).
pub fn pool_counts(db: &TestDb, tenant: allot::domain::TenantId, product: &str) -> (i64, i64, i64) {
    let admin = allot::domain::Actor::System("test");
    let pools = allot::domain::licenses::pools(&mut db.conn(), &admin, tenant).unwrap();
    let pool = pools
        .iter()
        .find(|p| p.product_name == product && p.self_service.is_none())
        .unwrap_or_else(|| panic!("no pool {product}"));
    (pool.licenses, pool.assigned, pool.available())
}

/// Demo users user{from}..=user{to}@contoso.example.
pub fn contoso_users(db: &TestDb, from: usize, to: usize) -> Vec<allot::domain::UserId> {
    (from..=to)
        .map(|i| user_id(db, &format!("user{i:02}@contoso.example")))
        .collect()
}

/// How many audit entries of `action` the tenant has.
pub fn audit_count(db: &TestDb, tenant: allot::domain::TenantId, action: &str) -> i64 {
    use allot::domain::schema::audit_log;
    use diesel::prelude::*;
    audit_log::table
        .filter(audit_log::tenant_id.eq(tenant.0))
        .filter(audit_log::action.eq(action))
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

/// The id of one app (service) of a product, by names.
pub fn app_id(db: &TestDb, product: &str, app: &str) -> allot::domain::ServiceId {
    use allot::domain::schema::product_services;
    use diesel::prelude::*;
    let product = product_id(db, product);
    allot::domain::ServiceId(
        product_services::table
            .filter(product_services::product_id.eq(product.0))
            .filter(product_services::name.eq(app))
            .select(product_services::id)
            .first(&mut db.conn())
            .unwrap_or_else(|_| panic!("no app {app}")),
    )
}
