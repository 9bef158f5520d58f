//! The JSON API under `/api/v1`, shaped as Microsoft Graph v1.0 where Graph has the same thing
//! (property names and casing, GUID ids, `value` arrays, `@odata.nextLink`, Graph's error
//! envelope), so a client written for Graph works with its base URL set to `…/api/v1`.
//! One more door to the same domain functions and the same authorization decision
//! (`domain::authz`) as the pages: handlers read the request, call the domain and write JSON;
//! nothing here decides.
//!
//! `tokens_auth`: the bearer token and the rate limit; `errors`: the envelope; `filter`: the
//! users' `$filter`; one file per resource (`skus`, `users` and `user_writes`, `licenses`: a
//! user's, `groups`, `subscriptions`, `service_requests`); `openapi`: the OpenAPI document made
//! from the handlers' annotations and types.

mod errors;
mod filter;
mod groups;
mod licenses;
pub mod openapi;
mod service_requests;
mod skus;
mod subscriptions;
mod tokens_auth;
mod user_writes;
mod users;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
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
        .service(
            resource("/v1/groups")
                .route(web::get().to(groups::list))
                .route(web::post().to(groups::create)),
        )
        .service(
            resource("/v1/groups/{id}")
                .route(web::get().to(groups::get))
                .route(web::delete().to(groups::delete)),
        )
        .service(resource("/v1/groups/{id}/members").route(web::get().to(groups::members)))
        .service(resource("/v1/groups/{id}/members/$ref").route(web::post().to(groups::add_member)))
        .service(
            resource("/v1/groups/{id}/members/{user}/$ref")
                .route(web::delete().to(groups::remove_member)),
        )
        .service(
            resource("/v1/groups/{id}/assignLicense").route(web::post().to(groups::assign_license)),
        )
        .service(resource("/v1/subscriptions").route(web::get().to(subscriptions::list)))
        .service(
            resource("/v1/serviceRequests")
                .route(web::get().to(service_requests::list))
                .route(web::post().to(service_requests::file)),
        )
        .service(resource("/v1/serviceRequests/{id}").route(web::get().to(service_requests::get)))
        .service(resource("/v1/openapi.json").route(web::get().to(openapi::document)))
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

/// `$top` of a listing: from 1 to `max`, `default` when not given.
fn top_of(options: &[(String, String)], default: i64, max: i64) -> Result<i64, ApiError> {
    match options.iter().find(|(n, _)| n == "$top") {
        None => Ok(default),
        Some((_, text)) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!("$top must be a whole number from 1 to {max}."))
            }),
    }
}

/// Graph answers a value it refuses with a 400 naming the property, not a 422.
fn rejected(e: ApiError) -> ApiError {
    match e {
        ApiError::Domain(crate::domain::DomainError::Invalid { field, message }) => {
            ApiError::Rejected {
                // The domain's name for a group's name is Graph's `displayName`.
                target: if field == "name" {
                    "displayName"
                } else {
                    field
                },
                message,
            }
        }
        other => other,
    }
}

/// A time as Graph writes it: RFC 3339 in UTC, to the second (`2026-11-05T09:00:00Z`).
fn date_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Graph's error envelope, as every error under `/api` is sent.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Graph's code: `BadRequest`, `Request_ResourceNotFound`, `CountViolation`, …
    code: String,
    message: String,
    /// The property at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
}

impl ErrorBody {
    pub fn new(code: &str, message: &str, target: Option<&str>) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: message.to_owned(),
                target: target.map(str::to_owned),
            },
        }
    }
}

// The query options of listings, as the OpenAPI document describes them (the handlers read
// them from the query string themselves, to answer in Graph's envelope).

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct TopParam {
    /// How many to a page, from 1 to 999 (100 when not given).
    #[serde(rename = "$top")]
    #[param(minimum = 1, maximum = 999)]
    top: Option<i64>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SkipTokenParam {
    /// Where the page starts: from the last page's `@odata.nextLink`.
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SelectParam {
    /// The properties to send, comma-separated; names not known are ignored.
    #[serde(rename = "$select")]
    select: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct FilterParam {
    /// Graph's forms: `assignedLicenses/any(x:x/skuId eq {skuId})`,
    /// `startswith(displayName,'…')`, `userPrincipalName eq '…'`, `accountEnabled eq false`,
    /// joined by `and`.
    #[serde(rename = "$filter")]
    filter: Option<String>,
}
