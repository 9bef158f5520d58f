//! SCIM 2.0 provisioning under `/scim/v2` (RFC 7643, RFC 7644): an identity provider (Entra
//! ID, Okta) creates, finds, changes and removes the tenant's users and groups. A bearer token
//! with the `scim` scope, checked as the API's are (`api::ApiRequest`: revocation at once, the
//! rate limit), then every action through the domain (`domain::provisioning`) and its
//! authorization decision (`domain::authz`). Nothing here decides; handlers read SCIM's JSON
//! and write it.
//!
//! `errors`: SCIM's error body; `resources`: users and groups as JSON; `patch`: PATCH;
//! `discovery`: ServiceProviderConfig, ResourceTypes, Schemas; `users`, `groups`: the handlers.

mod discovery;
mod errors;
mod groups;
mod patch;
mod resources;
mod users;

use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;
use serde_json::{Value, json};

pub use errors::{CONTENT_TYPE, ScimError, for_status};

use super::AppState;
use super::api::ApiRequest;
use crate::domain::provisioning::filter::Filter;
use crate::domain::provisioning::{self, Window};
use crate::domain::{Actor, DbConnection, DomainError, TenantId};

pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The largest body a SCIM request may send (a group with a few thousand members).
const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Where SCIM is reached: `ALLOT_PUBLIC_URL` + `/scim/v2`, for `meta.location`.
#[derive(Clone)]
pub struct ScimSettings {
    pub base_url: String,
}

impl ScimSettings {
    pub fn new(public_url: &str) -> ScimSettings {
        ScimSettings {
            base_url: format!("{}/scim/v2", public_url.trim_end_matches('/')),
        }
    }
}

/// Every SCIM route; anything else under `/scim` is a SCIM 404.
pub fn scope(settings: ScimSettings) -> actix_web::Scope {
    web::scope("/scim/v2")
        .app_data(web::Data::new(settings))
        .app_data(web::PayloadConfig::new(BODY_LIMIT))
        .service(
            resource("/ServiceProviderConfig")
                .route(web::get().to(discovery::service_provider_config)),
        )
        .service(resource("/ResourceTypes").route(web::get().to(discovery::list_resource_types)))
        .service(resource("/ResourceTypes/{id}").route(web::get().to(discovery::resource_type)))
        .service(resource("/Schemas").route(web::get().to(discovery::list_schemas)))
        .service(resource("/Schemas/{id}").route(web::get().to(discovery::schema)))
        .service(
            resource("/Users")
                .route(web::get().to(users::list))
                .route(web::post().to(users::create)),
        )
        .service(
            resource("/Users/{id}")
                .route(web::get().to(users::get))
                .route(web::put().to(users::replace))
                .route(web::patch().to(users::patch))
                .route(web::delete().to(users::delete)),
        )
        .service(
            resource("/Groups")
                .route(web::get().to(groups::list))
                .route(web::post().to(groups::create)),
        )
        .service(
            resource("/Groups/{id}")
                .route(web::get().to(groups::get))
                .route(web::put().to(groups::replace))
                .route(web::patch().to(groups::patch))
                .route(web::delete().to(groups::delete)),
        )
        .service(web::resource("/Bulk").to(errors::not_implemented))
        .service(web::resource("/Me").to(errors::not_implemented))
        .default_service(web::to(errors::not_found))
}

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(errors::method_not_allowed))
}

/// A SCIM call with a live token holding the `scim` scope.
pub struct ScimRequest {
    pub state: web::Data<AppState>,
    pub settings: web::Data<ScimSettings>,
    pub actor: Actor,
    pub tenant: TenantId,
    pub now: DateTime<Utc>,
}

impl ScimRequest {
    /// Runs one domain call on the blocking pool as this token, in its tenant, at its time.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ScimError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection, &Actor, TenantId, DateTime<Utc>) -> Result<T, DomainError>
            + Send
            + 'static,
    {
        let (actor, tenant, now) = (self.actor.clone(), self.tenant, self.now);
        Ok(self
            .state
            .db(move |conn| f(conn, &actor, tenant, now))
            .await?)
    }

    pub fn base(&self) -> &str {
        &self.settings.base_url
    }
}

impl FromRequest for ScimRequest {
    type Error = ScimError;
    type Future = LocalBoxFuture<'static, Result<Self, ScimError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let token = ApiRequest::from_request(req, payload);
        let settings = req.app_data::<web::Data<ScimSettings>>().cloned();
        Box::pin(async move {
            let ApiRequest {
                state,
                actor,
                tenant,
                now,
            } = token.await?;
            provisioning::may_provision(&actor, tenant)?;
            Ok(ScimRequest {
                state,
                settings: settings.ok_or_else(|| ScimError::internal("no SCIM settings"))?,
                actor,
                tenant,
                now,
            })
        })
    }
}

/// `body` as `application/scim+json` with `status`.
pub fn scim_json(status: u16, body: &Value) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK))
        .content_type(CONTENT_TYPE)
        .body(body.to_string())
}

/// A single resource with its ETag (and `Location` when created).
fn resource_response(
    status: u16,
    body: Value,
    version: i64,
    location: Option<String>,
) -> HttpResponse {
    let mut response = scim_json(status, &body);
    let headers = response.headers_mut();
    if let Ok(value) = header::HeaderValue::from_str(&resources::etag(version)) {
        headers.insert(header::ETAG, value);
    }
    if let Some(value) = location.and_then(|l| header::HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, value);
    }
    response
}

/// A request body as JSON, sent as `application/scim+json` or `application/json`.
fn json_body(req: &HttpRequest, body: &web::Bytes) -> Result<Value, ScimError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.is_empty() && essence != CONTENT_TYPE && essence != "application/json" {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!("Send the body as {CONTENT_TYPE}."),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("The body is not JSON: {e}")))
}

/// The query's parameters, names in lower case (SCIM's are case-insensitive).
fn parameters(req: &HttpRequest) -> Result<Vec<(String, String)>, ScimError> {
    let pairs: Vec<(String, String)> = serde_html_form::from_str(req.query_string())
        .map_err(|_| ScimError::bad("invalidSyntax", "The query string could not be read."))?;
    Ok(pairs
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect())
}

fn parameter<'a>(parameters: &'a [(String, String)], name: &str) -> Option<&'a str> {
    parameters
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `filter`, `startIndex`, `count`, `attributes`, `excludedAttributes` of a list.
struct ListQuery {
    filter: Option<Filter>,
    window: Window,
    projection: resources::Projection,
}

fn list_query(req: &HttpRequest) -> Result<ListQuery, ScimError> {
    let parameters = parameters(req)?;
    let number = |name: &str| -> Result<Option<i64>, ScimError> {
        parameter(&parameters, name)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    ScimError::bad("invalidValue", format!("{name} must be a whole number."))
                })
            })
            .transpose()
    };
    let filter = match parameter(&parameters, "filter") {
        None => None,
        Some(text) if text.trim().is_empty() => None,
        Some(text) => Some(Filter::parse(text).map_err(|e| ScimError::bad("invalidFilter", e.0))?),
    };
    if parameter(&parameters, "sortby").is_some() {
        // ServiceProviderConfig says sort isn't supported; quietly ignoring it would be wrong.
        return Err(ScimError::bad(
            "invalidValue",
            "Sorting is not supported (sortBy).",
        ));
    }
    Ok(ListQuery {
        filter,
        window: Window::new(number("startindex")?, number("count")?),
        projection: projection(&parameters),
    })
}

fn projection(parameters: &[(String, String)]) -> resources::Projection {
    resources::Projection::new(
        parameter(parameters, "attributes"),
        parameter(parameters, "excludedattributes"),
    )
}

fn list_response<T>(
    listed: provisioning::Listed<T>,
    render: impl Fn(&T) -> Value,
    projection: &resources::Projection,
) -> HttpResponse {
    let resources: Vec<Value> = listed
        .resources
        .iter()
        .map(|r| projection.apply(render(r)))
        .collect();
    scim_json(
        200,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": listed.total,
            "startIndex": listed.start,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}

/// `If-Match`'s version: `None` without the header or with `*`; a tag that isn't one of ours
/// matches no version (412).
fn if_match(req: &HttpRequest) -> Option<i64> {
    let value = req.headers().get(header::IF_MATCH)?.to_str().ok()?.trim();
    if value == "*" {
        return None;
    }
    let tag = value.trim_start_matches("W/").trim_matches('"');
    Some(tag.parse::<i64>().unwrap_or(-1))
}

/// `If-None-Match` naming the current version: a GET answers 304.
fn not_modified(req: &HttpRequest, version: i64) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|tag| {
                tag.trim().trim_start_matches("W/").trim_matches('"') == version.to_string()
            })
        })
}
