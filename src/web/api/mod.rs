//! The JSON API under `/api/v1`, shaped as Microsoft Graph v1.0 where Graph has the same thing
//! (property names and casing, GUID ids, `value` arrays, `@odata.nextLink`, Graph's error
//! envelope), so a client written for Graph works with its base URL set to `…/api/v1`.
//! One more door to the same domain functions and `authz::may` as the pages: handlers read the
//! request, call the domain and write JSON; nothing here decides.
//!
//! `tokens_auth`: the bearer token and the rate limit; `errors`: the envelope; one file per
//! resource (`skus`, `users` and `user_writes`, `licenses`: a user's).

mod errors;
mod licenses;
mod skus;
mod tokens_auth;
mod user_writes;
mod users;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use std::sync::Arc;

pub use errors::{ApiError, envelope, for_status};
pub use tokens_auth::{ApiRequest, REQUESTS_PER_MINUTE, RateLimiter};

/// What the API needs beyond the application's state.
#[derive(Clone)]
pub struct ApiSettings {
    /// The API's address as clients reach it (`ALLOT_PUBLIC_URL` + `/api/v1`), for
    /// `@odata.context` and `@odata.nextLink`.
    pub base_url: String,
    pub limiter: Arc<RateLimiter>,
}

impl ApiSettings {
    /// `requests_per_minute`: each token's calls a minute (`REQUESTS_PER_MINUTE` unless the
    /// operator says otherwise).
    pub fn new(public_url: &str, requests_per_minute: u32) -> ApiSettings {
        ApiSettings {
            base_url: format!("{}/api/v1", public_url.trim_end_matches('/')),
            limiter: Arc::new(RateLimiter::new(requests_per_minute)),
        }
    }
}

/// Every API route; anything else under `/api` is a JSON 404.
pub fn scope() -> actix_web::Scope {
    web::scope("/api")
        .app_data(errors::json_config())
        .service(resource("/v1/subscribedSkus").route(web::get().to(skus::list)))
        .service(
            resource("/v1/users")
                .route(web::get().to(users::list))
                .route(web::post().to(user_writes::create)),
        )
        .service(
            resource("/v1/users/{id}")
                .route(web::get().to(users::get))
                .route(web::patch().to(user_writes::update))
                .route(web::delete().to(user_writes::delete)),
        )
        .service(resource("/v1/users/{id}/assignLicense").route(web::post().to(licenses::assign)))
        .service(resource("/v1/users/{id}/licenseDetails").route(web::get().to(licenses::details)))
        .default_service(web::to(errors::not_found))
}

/// An endpoint's address: a method it doesn't take is a JSON 405, not the scope's 404.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(errors::method_not_allowed))
}

/// A 200 with `body` as JSON.
fn json(body: &impl Serialize) -> Result<HttpResponse, ApiError> {
    let text = serde_json::to_string(body).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(text))
}

/// The query string's options, as pairs (`$top=5&$select=id`); one that can't be read is a 400.
fn query_options(req: &actix_web::HttpRequest) -> Result<Vec<(String, String)>, ApiError> {
    serde_html_form::from_str(req.query_string())
        .map_err(|_| ApiError::BadRequest("The query string could not be read.".into()))
}

/// Refuses the OData options a resource doesn't support yet: ignoring `$filter` would answer
/// with every user where the client asked for a few.
fn only_options(options: &[(String, String)], supported: &[&str]) -> Result<(), ApiError> {
    match options
        .iter()
        .find(|(name, _)| name.starts_with('$') && !supported.contains(&name.as_str()))
    {
        Some((name, _)) => Err(ApiError::BadRequest(format!(
            "The query option {name} is not supported here."
        ))),
        None => Ok(()),
    }
}
