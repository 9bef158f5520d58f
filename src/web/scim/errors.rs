//! SCIM's errors (RFC 7644 §3.12), only here: `{"schemas": [Error], "status": "400",
//! "scimType": "invalidFilter", "detail": "…"}` as `application/scim+json`. Nothing under
//! `/scim` answers with an HTML page (see `web::errors::error_pages`).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::domain::DomainError;
use crate::web::api::ApiError;

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const CONTENT_TYPE: &str = "application/scim+json";

/// An error as the client hears it: its status, SCIM's `scimType` where the RFC has one for
/// it, and what to do about it.
#[derive(Debug, Clone)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
    retry_after: Option<u64>,
    /// Logged, never sent: a failure the client can't fix.
    internal: Option<String>,
}

impl std::fmt::Display for ScimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

const FAILED: &str =
    "allot could not finish this request. Nothing was changed; try again in a moment.";

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            retry_after: None,
            internal: None,
        }
    }

    /// 400 with one of RFC 7644's types: invalidFilter, invalidSyntax, invalidPath, noTarget,
    /// invalidValue, mutability, tooMany.
    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        ScimError {
            internal: Some(detail.into()),
            ..ScimError::new(StatusCode::INTERNAL_SERVER_ERROR, None, FAILED)
        }
    }
}

impl From<DomainError> for ScimError {
    fn from(e: DomainError) -> Self {
        let detail = e.to_string();
        match e {
            DomainError::Forbidden | DomainError::Refused(_) => {
                ScimError::new(StatusCode::FORBIDDEN, None, detail)
            }
            DomainError::NotFound => ScimError::new(
                StatusCode::NOT_FOUND,
                None,
                "There is no such resource in this tenant.",
            ),
            DomainError::Invalid {
                field: "filter",
                message,
            } => ScimError::bad("invalidFilter", message),
            DomainError::Invalid { field, message } => {
                ScimError::bad("invalidValue", format!("{field}: {message}"))
            }
            DomainError::Conflict(message) => {
                ScimError::new(StatusCode::CONFLICT, Some("uniqueness"), message)
            }
            DomainError::NoLicensesLeft { .. } => {
                ScimError::new(StatusCode::CONFLICT, None, detail)
            }
            DomainError::Stale => ScimError::new(
                StatusCode::PRECONDITION_FAILED,
                None,
                "The resource has changed since the version in If-Match. Read it again, then \
                 make your change.",
            ),
            DomainError::Busy => ScimError {
                retry_after: Some(1),
                ..ScimError::new(StatusCode::SERVICE_UNAVAILABLE, None, detail)
            },
            DomainError::Storage(e) => ScimError::internal(e.to_string()),
        }
    }
}

impl From<ApiError> for ScimError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unauthenticated(message) => {
                ScimError::new(StatusCode::UNAUTHORIZED, None, message)
            }
            ApiError::TooManyRequests { retry_after } => ScimError {
                retry_after: Some(retry_after),
                ..ScimError::new(StatusCode::TOO_MANY_REQUESTS, None, e.to_string())
            },
            ApiError::Domain(e) => e.into(),
            ApiError::BadRequest(message) | ApiError::CountViolation(message) => {
                ScimError::bad("invalidValue", message)
            }
            ApiError::UnsupportedQuery(message) => ScimError::bad("invalidFilter", message),
            ApiError::Rejected { target, message } => {
                ScimError::bad("invalidValue", format!("{target}: {message}"))
            }
            ApiError::Internal(detail) => ScimError::internal(detail),
        }
    }
}

impl From<crate::web::WebError> for ScimError {
    fn from(e: crate::web::WebError) -> Self {
        ApiError::from(e).into()
    }
}

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(detail) = &self.internal {
            tracing::error!("SCIM request failed: {detail}");
        }
        let mut response = body(self.status, self.scim_type, &self.detail);
        if let Some(seconds) = self
            .retry_after
            .and_then(|s| header::HeaderValue::from_str(&s.to_string()).ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, seconds);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"allot\""),
            );
        }
        response
    }
}

fn body(status: StatusCode, scim_type: Option<&str>, detail: &str) -> HttpResponse {
    let mut error = json!({
        "schemas": [ERROR_SCHEMA],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(scim_type) = scim_type {
        error["scimType"] = json!(scim_type);
    }
    HttpResponse::build(status)
        .content_type(CONTENT_TYPE)
        .body(error.to_string())
}

/// The error for a status raised outside the handlers (no such endpoint, a method it doesn't
/// take, a body too large).
pub fn for_status(status: StatusCode) -> HttpResponse {
    let (scim_type, detail) = match status.as_u16() {
        400 => (Some("invalidSyntax"), "The request could not be read."),
        404 => (None, "There is no SCIM endpoint at this address."),
        405 => (None, "This endpoint does not accept that method."),
        413 => (Some("tooMany"), "What you sent is too large."),
        s if s >= 500 => (None, FAILED),
        _ => (None, "The request could not be handled."),
    };
    body(status, scim_type, detail)
}

pub async fn not_found() -> HttpResponse {
    for_status(StatusCode::NOT_FOUND)
}

pub async fn method_not_allowed() -> HttpResponse {
    for_status(StatusCode::METHOD_NOT_ALLOWED)
}

/// What allot doesn't offer (`/Bulk`, `/Me`): 501, as RFC 7644 §3.11 and §3.7 say.
pub async fn not_implemented() -> HttpResponse {
    body(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "allot does not offer this SCIM endpoint (see /scim/v2/ServiceProviderConfig).",
    )
}
