//! The API's OpenAPI 3.1 document, made by `utoipa` from the handlers' `#[utoipa::path]`
//! annotations and the types they send and read, served at `GET /api/v1/openapi.json` (no
//! token needed: it describes, it opens nothing), and the endpoint list Settings > API access
//! shows, read from the same document.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use serde_json::Value;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{groups, licenses, service_requests, skus, subscriptions, user_writes, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "allot API",
        version = "1",
        description = "Microsoft Graph v1.0's users, groups and licensing endpoints where Graph \
                       has the same thing, and allot's subscriptions and service requests in \
                       the same style. Every call sends an API token (Settings > API access) as \
                       `Authorization: Bearer`; each operation's security names the scopes, \
                       any one of which lets a token call it. Errors are Graph's envelope. A \
                       token makes at most 600 calls a minute (429 with Retry-After beyond)."
    ),
    servers((url = "/api/v1")),
    paths(
        skus::list,
        users::list,
        user_writes::create,
        users::get,
        user_writes::update,
        user_writes::delete,
        licenses::assign,
        licenses::details,
        groups::list,
        groups::create,
        groups::get,
        groups::delete,
        groups::members,
        groups::add_member,
        groups::remove_member,
        groups::assign_license,
        subscriptions::list,
        service_requests::list,
        service_requests::get,
        service_requests::file,
    ),
    components(schemas(super::ErrorBody)),
    modifiers(&Conventions),
    tags(
        (name = "users", description = "The organization's users"),
        (name = "licenses", description = "License pools and users' licenses"),
        (name = "groups", description = "Groups, their members and their licenses"),
        (name = "billing", description = "Subscriptions and service requests"),
    )
)]
pub struct ApiDoc;

/// What every operation has in common, added once here: the bearer scheme, and the answers any
/// call may get (no valid token, the rate limit).
struct Conventions;

impl utoipa::Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("allot_ and 64 hex digits")
                    .description(Some("An API token of Settings > API access."))
                    .build(),
            ),
        );
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let responses = &mut operation.responses.responses;
                for (status, description) in [
                    ("401", "No valid token"),
                    (
                        "429",
                        "Too many calls for this token: wait Retry-After seconds",
                    ),
                ] {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| utoipa::openapi::RefOr::T(error(description)));
                }
            }
        }
    }
}

/// The document as JSON, made once.
pub fn json() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    })
}

/// GET /api/v1/openapi.json
pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(json())
}

/// One endpoint, as Settings > API access lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub method: String,
    /// Its path under `/api/v1`.
    pub path: String,
    /// Any one of these scopes lets a token call it.
    pub scopes: Vec<String>,
    pub summary: String,
}

/// Every endpoint of the document, by path then method.
pub fn endpoints() -> Vec<Endpoint> {
    let document: Value = serde_json::from_str(json()).unwrap_or(Value::Null);
    let mut out = Vec::new();
    let Some(paths) = document["paths"].as_object() else {
        return out;
    };
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            let operation = &item[method];
            if operation.is_null() {
                continue;
            }
            let scopes = operation["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|requirement| requirement["bearer"].as_array())
                .flatten()
                .filter_map(|scope| scope.as_str().map(str::to_owned))
                .collect();
            out.push(Endpoint {
                method: method.to_uppercase(),
                path: path.clone(),
                scopes,
                summary: operation["summary"].as_str().unwrap_or_default().to_owned(),
            });
        }
    }
    out
}
