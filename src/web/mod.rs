//! HTTP: routes, sessions, CSRF, pages. Knows nothing of SQL; every rule is the domain's.

mod account;
mod agreements;
pub mod api;
mod api_access;
mod assets;
mod audit;
mod billing;
mod client;
mod csrf;
mod csv;
mod errors;
mod forms;
mod frame;
mod groups;
mod headers;
mod health;
mod home;
mod licenses;
mod messages;
pub mod metrics;
mod notifications;
mod portal;
pub mod scim;
mod service_requests;
mod session;
mod settings;
mod signin;
mod sorting;
mod support;
mod upload;
mod users;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, web};

use crate::domain::{Clock, DbConnection, DomainError, Pool};

pub use errors::WebError;
pub use session::SessionSettings;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub clock: Clock,
    pub sessions: session::SessionSettings,
    /// Charges cards; the built-in test gateway unless another is configured.
    pub gateway: std::sync::Arc<dyn crate::domain::billing::PaymentGateway>,
    /// How long a volume licensing purchase order waits before `tick` provisions it.
    pub purchase_order_delay: chrono::Duration,
    /// Served over HTTPS (`ALLOT_COOKIE_SECURE`): responses then ask browsers to keep to it.
    pub https: bool,
    /// Set when a shutdown began: `/readyz` says so, so the balancer stops sending requests
    /// before the server stops taking them.
    pub draining: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Who may read `/metrics`.
    pub metrics_access: metrics::MetricsAccess,
    /// The balancers whose `X-Forwarded-For` names the client (`ALLOT_TRUSTED_PROXIES`).
    pub trusted_proxies: std::sync::Arc<[std::net::IpAddr]>,
    /// The JSON API's address and its per-token rate limit.
    pub api: api::ApiSettings,
    /// SCIM's address, for `meta.location`.
    pub scim: scim::ScimSettings,
}

impl AppState {
    /// Runs `f` with a database connection on the blocking thread pool.
    pub async fn db<T, F>(&self, f: F) -> Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DomainError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let address = client::current().map(|a| a.to_string());
        let (result, statements) = web::block(move || {
            crate::domain::db::counting_statements(|| {
                crate::domain::audit::from_address(address, || {
                    let mut conn = pool.get()?;
                    f(&mut conn)
                })
            })
        })
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
        metrics::statements_ran(statements);
        Ok(result?)
    }
}

/// The whole application: every URL is listed here.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let admin_sessions = state.sessions.admin_middleware();
    let portal_sessions = state.sessions.portal_middleware();
    let security_headers = headers::security(state.https);
    let scim = state.scim.clone();
    // Installed before the first request is counted.
    metrics::handle();
    // The first `wrap` is the innermost: error pages are made before the headers are added,
    // and HEAD becomes GET before anything else looks at the request.
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::FormConfig::default().limit(256 * 1024))
        .wrap(errors::error_pages())
        .wrap(from_fn(headers::no_store))
        .wrap(security_headers)
        .wrap(from_fn(headers::head_as_get))
        .wrap(from_fn(client::remember))
        .wrap(from_fn(headers::request_id))
        .wrap(tracing_actix_web::TracingLogger::default())
        .wrap(from_fn(metrics::record))
        .route("/livez", web::get().to(health::livez))
        .route("/readyz", web::get().to(health::readyz))
        .route("/healthz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics::metrics))
        .route("/static/{file}", web::get().to(assets::serve))
        // The JSON API, its routes listed in api/mod.rs. Bearer tokens only: no session cookie,
        // no CSRF (a browser never sends a token on its own).
        .service(api::scope())
        // SCIM 2.0 provisioning (scim/mod.rs), a bearer token with the `scim` scope.
        .service(scim::scope(scim))
        .service(
            web::scope("/portal")
                .wrap(from_fn(csrf::protect))
                .wrap(portal_sessions)
                .route("", web::get().to(portal::home))
                .route("/signin", web::get().to(portal::signin_form))
                .route("/signin", web::post().to(portal::signin))
                .route("/signout", web::post().to(portal::signout))
                .route("/account", web::get().to(account::portal_show))
                .route(
                    "/sign-out-everywhere",
                    web::post().to(account::portal_sign_out_everywhere),
                )
                .route("/purchases/{id}", web::get().to(portal::purchase))
                .route("/purchases/{id}/assign", web::post().to(portal::assign))
                .route("/purchases/{id}/unassign", web::post().to(portal::unassign)),
        )
        .service(
            web::scope("")
                .wrap(from_fn(csrf::protect))
                .wrap(admin_sessions)
                .route("/", web::get().to(home::show))
                .route("/messages", web::get().to(messages::show))
                .route("/messages/read", web::post().to(messages::mark_all_read))
                .route("/signin", web::get().to(signin::form))
                .route("/signin", web::post().to(signin::submit))
                .route("/signout", web::post().to(signin::sign_out))
                .route("/account", web::get().to(account::show))
                .route(
                    "/account/sign-out-everywhere",
                    web::post().to(account::sign_out_everywhere),
                )
                .route("/licenses", web::get().to(licenses::list))
                .route(
                    "/licenses/purchases/{id}",
                    web::get().to(licenses::purchase),
                )
                .route(
                    "/licenses/purchases/{id}/take-over",
                    web::post().to(licenses::take_over),
                )
                .route("/licenses/{product}", web::get().to(licenses::product))
                .route(
                    "/licenses/{product}/unassign",
                    web::post().to(licenses::unassign),
                )
                .route(
                    "/licenses/{product}/assign",
                    web::get().to(licenses::assign_form),
                )
                .route(
                    "/licenses/{product}/assign",
                    web::post().to(licenses::assign),
                )
                .route("/billing/products", web::get().to(billing::products))
                .route("/billing/buy", web::get().to(billing::buy_form))
                .route("/billing/buy", web::post().to(billing::subscribe))
                .route(
                    "/billing/subscriptions/{id}",
                    web::get().to(billing::subscription),
                )
                .route(
                    "/billing/subscriptions/{id}/buy",
                    web::post().to(billing::buy),
                )
                .route(
                    "/billing/subscriptions/{id}/remove",
                    web::post().to(billing::remove),
                )
                .route(
                    "/billing/subscriptions/{id}/recurring",
                    web::post().to(billing::recurring),
                )
                .route(
                    "/billing/subscriptions/{id}/cancel",
                    web::get().to(billing::cancel_form),
                )
                .route(
                    "/billing/subscriptions/{id}/cancel",
                    web::post().to(billing::cancel),
                )
                .route("/billing/bills", web::get().to(billing::bills))
                .route("/billing/bills/{id}", web::get().to(billing::bill))
                .route(
                    "/billing/payment-methods",
                    web::get().to(billing::payment_methods),
                )
                .route(
                    "/billing/payment-methods",
                    web::post().to(billing::add_card),
                )
                .route(
                    "/billing/payment-methods/{id}/expiry",
                    web::post().to(billing::update_expiry),
                )
                .route(
                    "/billing/payment-methods/{id}/default",
                    web::post().to(billing::set_default),
                )
                .route(
                    "/billing/payment-methods/{id}/remove",
                    web::post().to(billing::remove_card),
                )
                .route("/billing/export", web::post().to(billing::export))
                .route(
                    "/billing/export.{format}",
                    web::get().to(billing::export_page),
                )
                .route("/users", web::get().to(users::list))
                .route("/users/export.csv", web::get().to(users::export_csv))
                .route("/users/new", web::get().to(users::new_form))
                .route("/users/new", web::post().to(users::create))
                .route("/users/manage", web::get().to(users::manage_form))
                .route("/users/manage", web::post().to(users::manage))
                .route("/users/delete", web::get().to(users::delete_many_form))
                .route("/users/delete", web::post().to(users::delete_many))
                .route("/users/deleted", web::get().to(users::deleted))
                .route("/users/import", web::get().to(users::import_form))
                .route("/users/import", web::post().to(users::import_preview))
                .route(
                    "/users/import/sample.csv",
                    web::get().to(users::import_sample),
                )
                .route("/users/import/{id}", web::get().to(users::import_show))
                .route(
                    "/users/import/{id}/start",
                    web::post().to(users::import_start),
                )
                .route(
                    "/users/import/{id}/passwords",
                    web::post().to(users::import_passwords),
                )
                .route("/groups", web::get().to(groups::list))
                .route("/groups", web::post().to(groups::create))
                .route("/groups/new", web::get().to(groups::new_form))
                .route("/groups/{id}", web::get().to(groups::show))
                .route(
                    "/groups/{id}/members/add",
                    web::get().to(groups::add_members_form),
                )
                .route("/groups/{id}/members", web::post().to(groups::add_members))
                .route(
                    "/groups/{id}/members/remove",
                    web::post().to(groups::remove_members),
                )
                .route("/groups/{id}/licenses", web::post().to(groups::assign))
                .route(
                    "/licenses/{product}/groups",
                    web::post().to(groups::assign_from_product),
                )
                .route(
                    "/groups/{id}/licenses/{product}/unassign",
                    web::post().to(groups::unassign),
                )
                .route(
                    "/groups/{id}/licenses/{product}/apps",
                    web::get().to(groups::apps_form),
                )
                .route(
                    "/groups/{id}/licenses/{product}/apps",
                    web::post().to(groups::save_apps),
                )
                .route("/groups/{id}/reprocess", web::post().to(groups::reprocess))
                .route("/groups/{id}/delete", web::get().to(groups::delete_form))
                .route("/groups/{id}/delete", web::post().to(groups::delete))
                .route("/users/{id}", web::get().to(users::show))
                .route("/users/{id}/licenses", web::post().to(users::save_licenses))
                .route(
                    "/users/{id}/apps/{product}",
                    web::post().to(users::save_apps),
                )
                .route("/users/{id}/block", web::post().to(users::block))
                .route("/users/{id}/name", web::post().to(users::rename))
                .route(
                    "/users/{id}/reset-password",
                    web::post().to(users::reset_password),
                )
                .route("/users/{id}/delete", web::get().to(users::delete_form))
                .route("/users/{id}/delete", web::post().to(users::delete))
                .route("/users/{id}/restore", web::post().to(users::restore))
                .route(
                    "/users/{id}/sign-out-everywhere",
                    web::post().to(users::sign_out_everywhere),
                )
                .route("/users/{id}/roles", web::post().to(users::save_roles))
                .route("/settings/roles", web::get().to(settings::roles))
                .route(
                    "/settings/roles/{role}/assign",
                    web::post().to(settings::assign),
                )
                .route(
                    "/settings/roles/{role}/remove",
                    web::post().to(settings::remove),
                )
                .route("/settings/audit-log", web::get().to(audit::log))
                .route(
                    "/settings/audit-log/export.csv",
                    web::get().to(audit::export_csv),
                )
                .route(
                    "/settings/notifications",
                    web::get().to(notifications::show),
                )
                .route(
                    "/settings/notifications",
                    web::post().to(notifications::choose),
                )
                .route(
                    "/settings/notifications/alerts/{product}",
                    web::post().to(notifications::set_alert),
                )
                .route("/settings/api-access", web::get().to(api_access::list))
                .route("/settings/api-access", web::post().to(api_access::create))
                .route(
                    "/settings/api-access/new",
                    web::get().to(api_access::new_form),
                )
                .route(
                    "/settings/api-access/{id}/revoke",
                    web::post().to(api_access::revoke),
                )
                .route("/support", web::get().to(support::queue))
                .route("/support/outbox", web::get().to(support::outbox))
                .route("/support/requests", web::get().to(service_requests::list))
                .route("/support/requests", web::post().to(service_requests::file))
                .route(
                    "/support/requests/new",
                    web::get().to(service_requests::new_form),
                )
                .route(
                    "/support/requests/{id}",
                    web::get().to(service_requests::show),
                )
                .route(
                    "/support/requests/{id}/comments",
                    web::post().to(service_requests::comment),
                )
                .route(
                    "/support/requests/{id}/close",
                    web::post().to(service_requests::close),
                )
                .route("/support/requests/{id}/take", web::post().to(support::take))
                .route(
                    "/support/requests/{id}/assign",
                    web::post().to(support::assign),
                )
                .route(
                    "/support/requests/{id}/state",
                    web::post().to(support::change_state),
                )
                .route(
                    "/support/requests/{id}/cancel-subscription",
                    web::post().to(support::cancel_subscription),
                )
                .route(
                    "/support/requests/{id}/add-licenses",
                    web::post().to(support::add_licenses),
                )
                .route(
                    "/support/requests/{id}/remove-licenses",
                    web::post().to(support::remove_licenses),
                )
                .route(
                    "/support/requests/{id}/resend-activation",
                    web::post().to(support::resend_activation),
                )
                .route(
                    "/support/requests/{id}/remap",
                    web::post().to(support::remap),
                )
                .route("/agreements", web::get().to(agreements::list))
                .route("/agreements", web::post().to(agreements::create))
                .route(
                    "/agreements/activate/{token}",
                    web::get().to(agreements::activate_form),
                )
                .route(
                    "/agreements/activate/{token}",
                    web::post().to(agreements::activate),
                )
                .route("/agreements/{id}", web::get().to(agreements::show))
                .route(
                    "/agreements/{id}/osm",
                    web::post().to(agreements::change_osm),
                )
                .route(
                    "/agreements/{id}/orders",
                    web::post().to(agreements::enter_order),
                )
                .route(
                    "/settings/agreements",
                    web::get().to(agreements::for_tenant),
                ),
        )
        .default_service(web::to(errors::not_found))
}

/// Post/redirect/get: a 303 to `to`.
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, to))
        .finish()
}

/// A form that carries nothing but its CSRF token (checked by the middleware).
#[derive(serde::Deserialize)]
pub struct NoFields {}

/// A page as a 200 response.
pub fn render(page: &impl askama::Template) -> Result<HttpResponse, WebError> {
    render_with(actix_web::http::StatusCode::OK, page)
}

/// A page with the given status (a form shown again with its errors gets a 4xx).
pub fn render_with(
    status: actix_web::http::StatusCode,
    page: &impl askama::Template,
) -> Result<HttpResponse, WebError> {
    let html = page
        .render()
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}
