//! The API's errors, in Microsoft Graph's envelope and only here:
//! `{"error": {"code": "...", "message": "..."}}`, with the status each one answers with.
//! Nothing under `/api` answers with an HTML page (see `web::errors::error_pages`).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::domain::DomainError;
use crate::web::WebError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No bearer token, or one that is unknown, expired or revoked.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// A query option or body the API can't read.
    #[error("{0}")]
    BadRequest(String),
    /// A query the API can't answer as asked (a `$filter` form it doesn't support): Graph's
    /// `Request_UnsupportedQuery`.
    #[error("{0}")]
    UnsupportedQuery(String),
    #[error("Too many requests for this token. Try again in {retry_after} seconds.")]
    TooManyRequests { retry_after: u64 },
    /// Too few licenses left for an assignment (Graph's `CountViolation`): nothing changed.
    #[error("{0}")]
    CountViolation(String),
    /// A value in the body the domain refused, answered as Graph does: a 400 naming it.
    #[error("{message}")]
    Rejected {
        target: &'static str,
        message: String,
    },
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("{0}")]
    Internal(String),
}

impl From<WebError> for ApiError {
    fn from(e: WebError) -> Self {
        match e {
            WebError::Domain(e) => ApiError::Domain(e),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl ApiError {
    /// Graph's code for the error: what a client written for Graph tests.
    fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "InvalidAuthenticationToken",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::UnsupportedQuery(_) => "Request_UnsupportedQuery",
            ApiError::TooManyRequests { .. } => "TooManyRequests",
            ApiError::CountViolation(_) => "CountViolation",
            ApiError::Rejected { .. } => "Request_BadRequest",
            ApiError::Internal(_) => "InternalServerError",
            ApiError::Domain(e) => match e {
                DomainError::Forbidden | DomainError::Refused(_) => "Authorization_RequestDenied",
                DomainError::NotFound => "Request_ResourceNotFound",
                DomainError::Invalid { .. } => "Request_BadRequest",
                DomainError::Conflict(_) => "Conflict",
                // Graph's answer to an assignment beyond the licenses left.
                DomainError::NoLicensesLeft { .. } => "CountViolation",
                DomainError::Storage(_) => "InternalServerError",
                DomainError::Busy => "ServiceUnavailable",
                DomainError::Stale => "PreconditionFailed",
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_)
            | ApiError::UnsupportedQuery(_)
            | ApiError::CountViolation(_)
            | ApiError::Rejected { .. } => StatusCode::BAD_REQUEST,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            // As Graph: too few licenses is a bad request, not a conflict.
            ApiError::Domain(DomainError::NoLicensesLeft { .. }) => StatusCode::BAD_REQUEST,
            ApiError::Domain(e) => crate::web::errors::status_of(e),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let message = match self {
            ApiError::Internal(detail) => {
                tracing::error!("API request failed: {detail}");
                FAILED.to_owned()
            }
            ApiError::Domain(DomainError::Storage(detail)) => {
                tracing::error!("API request failed: {detail}");
                FAILED.to_owned()
            }
            other => other.to_string(),
        };
        let target = match self {
            ApiError::Domain(DomainError::Invalid { field, .. }) => Some(*field),
            ApiError::Rejected { target, .. } => Some(*target),
            _ => None,
        };
        let mut response = envelope(status, self.code(), &message, target);
        let retry_after = match self {
            ApiError::TooManyRequests { retry_after } => Some(retry_after.to_string()),
            ApiError::Domain(DomainError::Busy) => Some("1".to_owned()),
            _ => None,
        };
        if let Some(seconds) = retry_after.and_then(|s| header::HeaderValue::from_str(&s).ok()) {
            response.headers_mut().insert(header::RETRY_AFTER, seconds);
        }
        if let ApiError::Unauthenticated(_) = self {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"allot\""),
            );
        }
        response
    }
}

const FAILED: &str =
    "allot could not finish this request. Nothing was changed; try again in a moment.";

/// Graph's error envelope with `status`; `target` names the property at fault, when one is.
pub fn envelope(
    status: StatusCode,
    code: &str,
    message: &str,
    target: Option<&str>,
) -> HttpResponse {
    let body =
        serde_json::to_string(&super::ErrorBody::new(code, message, target)).unwrap_or_else(|_| {
            String::from("{\"error\":{\"code\":\"InternalServerError\",\"message\":\"\"}}")
        });
    HttpResponse::build(status)
        .content_type("application/json")
        .body(body)
}

/// The envelope for an error raised outside the API's handlers (no such route, a method the
/// route doesn't take, a body too large), by its status.
pub fn for_status(status: StatusCode) -> HttpResponse {
    let (code, message) = match status.as_u16() {
        400 => ("BadRequest", "The request could not be read."),
        404 => ("NotFound", "There is no API resource at this address."),
        405 => (
            "MethodNotAllowed",
            "This address does not accept that method.",
        ),
        413 => ("RequestEntityTooLarge", "What you sent is too large."),
        s if s >= 500 => ("InternalServerError", FAILED),
        _ => ("BadRequest", "The request could not be handled."),
    };
    envelope(status, code, message, None)
}

/// A method an endpoint doesn't take.
pub async fn method_not_allowed() -> HttpResponse {
    for_status(StatusCode::METHOD_NOT_ALLOWED)
}

/// Any address under `/api` that is not an endpoint.
pub async fn not_found() -> HttpResponse {
    for_status(StatusCode::NOT_FOUND)
}

/// A JSON body that can't be read is a 400 in the envelope, never an HTML page.
pub fn json_config() -> actix_web::web::JsonConfig {
    actix_web::web::JsonConfig::default()
        .limit(1024 * 1024)
        .error_handler(|e, _: &HttpRequest| {
            ApiError::BadRequest(format!("The JSON body could not be read: {e}")).into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test as actix_test;
    use actix_web::{App, web};

    async fn body_of(response: actix_web::dev::ServiceResponse) -> serde_json::Value {
        serde_json::from_slice(&actix_test::read_body(response).await).unwrap()
    }

    #[actix_web::test]
    async fn a_malformed_json_body_is_a_400_in_the_envelope() {
        let app = actix_test::init_service(App::new().app_data(json_config()).route(
            "/",
            web::post().to(|_: web::Json<serde_json::Value>| async { HttpResponse::Ok().finish() }),
        ))
        .await;
        for (body, content_type) in [
            ("{\"addLicenses\": [", "application/json"),
            ("not json", "application/json"),
            ("{}", "text/plain"),
        ] {
            let response = actix_test::call_service(
                &app,
                actix_test::TestRequest::post()
                    .uri("/")
                    .insert_header((header::CONTENT_TYPE, content_type))
                    .set_payload(body)
                    .to_request(),
            )
            .await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(
                response.headers().get(header::CONTENT_TYPE).unwrap(),
                "application/json"
            );
            let json = body_of(response).await;
            assert_eq!(json["error"]["code"], "BadRequest", "{json}");
        }
    }

    #[test]
    fn every_domain_error_has_its_status_and_graph_code() {
        let cases = [
            (DomainError::Forbidden, 403, "Authorization_RequestDenied"),
            (
                DomainError::Refused("no".into()),
                403,
                "Authorization_RequestDenied",
            ),
            (DomainError::NotFound, 404, "Request_ResourceNotFound"),
            (
                DomainError::invalid("displayName", "Too long."),
                422,
                "Request_BadRequest",
            ),
            (DomainError::Conflict("taken".into()), 409, "Conflict"),
            (
                DomainError::NoLicensesLeft { available: 2 },
                400,
                "CountViolation",
            ),
            (DomainError::Busy, 503, "ServiceUnavailable"),
            (
                DomainError::storage("disk full"),
                500,
                "InternalServerError",
            ),
        ];
        for (error, status, code) in cases {
            let api = ApiError::Domain(error.clone());
            assert_eq!(api.status_code().as_u16(), status, "{error:?}");
            assert_eq!(api.code(), code, "{error:?}");
        }
        assert_eq!(
            ApiError::TooManyRequests { retry_after: 3 }
                .error_response()
                .headers()
                .get(header::RETRY_AFTER)
                .unwrap(),
            "3"
        );
        assert_eq!(
            ApiError::Unauthenticated("x").status_code(),
            StatusCode::UNAUTHORIZED
        );
    }
}
