//! Errors become pages here, and only here: a status and a message a person can act on.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use askama::Template;

use super::frame::Frame;
use crate::domain::DomainError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("Please sign in.")]
    SignInRequired,
    #[error("Please sign in to the service portal.")]
    PortalSignInRequired,
    #[error(
        "This form has expired or was not sent by allot. Go back, reload the page and try again."
    )]
    Csrf,
    #[error("The form could not be read. Check the values you entered and try again.")]
    BadForm,
    #[error("{0}")]
    Internal(String),
}

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage {
    frame: Frame,
    status: u16,
    heading: &'static str,
    message: String,
}

/// The frame of a signed-in request, kept by its session extractor (`AdminSession`), so an
/// error page shown for it keeps the navigation.
#[derive(Clone)]
pub struct SignedInFrame(pub Frame);

/// What an error page said, kept on its response for `error_pages` to show it again in the
/// signed-in frame.
#[derive(Clone)]
struct Shown {
    status: StatusCode,
    message: String,
}

/// Renders the error page, in the bare frame: it may be shown to anyone. `error_pages` shows it
/// again with the navigation when the request was signed in.
pub fn page(status: StatusCode, message: &str) -> HttpResponse {
    let mut response = page_in(Frame::bare(""), status, message);
    response.extensions_mut().insert(Shown {
        status,
        message: message.to_owned(),
    });
    response
}

fn page_in(mut frame: Frame, status: StatusCode, message: &str) -> HttpResponse {
    let heading = match status.as_u16() {
        400 | 422 => "Check what you entered",
        401 => "Sign in failed",
        403 => "You can't do this",
        404 => "Page not found",
        405 => "Not allowed here",
        409 => "This can't be done",
        413 => "Too much data",
        429 => "Too many attempts",
        503 => "Busy, try again",
        s if s >= 500 => "Something went wrong",
        _ => "Something is not right",
    };
    heading.clone_into(&mut frame.title);
    let page = ErrorPage {
        frame,
        status: status.as_u16(),
        heading,
        message: message.to_owned(),
    };
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(_) => HttpResponse::build(status)
            .content_type("text/plain")
            .body(message.to_owned()),
    }
}

/// The status a domain error answers with.
pub fn status_of(e: &DomainError) -> StatusCode {
    match e {
        DomainError::Forbidden | DomainError::Refused(_) => StatusCode::FORBIDDEN,
        DomainError::NotFound => StatusCode::NOT_FOUND,
        DomainError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        DomainError::Conflict(_) | DomainError::NoLicensesLeft { .. } => StatusCode::CONFLICT,
        DomainError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        DomainError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        DomainError::Stale => StatusCode::PRECONDITION_FAILED,
    }
}

/// Errors a form shows beside its fields (the person can fix them), rather than on an error page.
pub fn is_for_the_form(e: &DomainError) -> bool {
    matches!(
        e,
        DomainError::Invalid { .. } | DomainError::Conflict(_) | DomainError::NoLicensesLeft { .. }
    )
}

/// A change that failed: when the person can fix it, `page` shows the form again with the
/// message and its 4xx status; anything else becomes an error page.
pub async fn show_again<F, Fut>(e: WebError, page: F) -> Result<HttpResponse, WebError>
where
    F: FnOnce(String, StatusCode) -> Fut,
    Fut: std::future::Future<Output = Result<HttpResponse, WebError>>,
{
    match e {
        WebError::Domain(e) if is_for_the_form(&e) => page(e.to_string(), status_of(&e)).await,
        other => Err(other),
    }
}

/// After a change: done, a flash with `done` and back to `back` (post/redirect/get); refused
/// for a reason the person can fix, `page` shows the form again (`show_again`).
pub async fn back_or_again<F, Fut>(
    session: &actix_session::Session,
    result: Result<(), WebError>,
    done: &str,
    back: &str,
    page: F,
) -> Result<HttpResponse, WebError>
where
    F: FnOnce(String, StatusCode) -> Fut,
    Fut: std::future::Future<Output = Result<HttpResponse, WebError>>,
{
    match result {
        Ok(()) => {
            super::session::flash(session, done);
            Ok(super::redirect(back))
        }
        Err(e) => show_again(e, page).await,
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::Domain(e) => status_of(e),
            WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::BadForm => StatusCode::BAD_REQUEST,
            WebError::SignInRequired | WebError::PortalSignInRequired => StatusCode::SEE_OTHER,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            WebError::SignInRequired => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/signin"))
                .finish(),
            WebError::PortalSignInRequired => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/portal/signin"))
                .finish(),
            WebError::Domain(DomainError::Storage(detail)) => {
                tracing::error!("request failed: {detail}");
                page(self.status_code(), FAILED)
            }
            WebError::Internal(detail) => {
                tracing::error!("request failed: {detail}");
                page(self.status_code(), FAILED)
            }
            // Busy or out of connections: worth another go in a second, so say when.
            WebError::Domain(DomainError::Busy) => {
                tracing::warn!("request refused: the database is busy");
                let mut response = page(
                    self.status_code(),
                    "allot is busy right now. Nothing was changed; try again in a moment.",
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
                response
            }
            other => page(other.status_code(), &other.to_string()),
        }
    }
}

const FAILED: &str =
    "allot could not finish this request. Nothing was changed; try again in a moment.";

/// The page for any URL that is not ours.
pub async fn not_found() -> HttpResponse {
    page(StatusCode::NOT_FOUND, "There is no page at this address.")
}

/// Errors raised outside our handlers (a form that cannot be parsed, a wrong method, a panic)
/// get our page too, with a message for their status.
pub fn error_pages<B: 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(|res: ServiceResponse<B>| {
        // Balancers and scrapers read the operations endpoints' plain text as it is.
        if super::health::PATHS.contains(&res.request().path()) {
            return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
        }
        // SCIM answers in its own JSON, its errors and these alike.
        if res.request().path() == "/scim" || res.request().path().starts_with("/scim/") {
            let is_scim = res
                .response()
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with(super::scim::CONTENT_TYPE));
            if is_scim || res.status().is_success() || res.status().is_redirection() {
                return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
            }
            let status = res.status();
            let (req, _) = res.into_parts();
            return Ok(ErrorHandlerResponse::Response(
                ServiceResponse::new(req, super::scim::for_status(status)).map_into_right_body(),
            ));
        }
        // The API answers in JSON, its own errors and these alike.
        if res.request().path() == "/api" || res.request().path().starts_with("/api/") {
            let is_json = res
                .response()
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"));
            if is_json {
                return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
            }
            let status = res.status();
            let (req, _) = res.into_parts();
            return Ok(ErrorHandlerResponse::Response(
                ServiceResponse::new(req, super::api::for_status(status)).map_into_right_body(),
            ));
        }
        let is_ours = res
            .response()
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        let signed_in = res.request().extensions().get::<SignedInFrame>().cloned();
        if is_ours {
            let shown = res.response().extensions().get::<Shown>().cloned();
            let (Some(frame), Some(shown)) = (signed_in, shown) else {
                return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
            };
            // Our error page, for a signed-in request: the same page, with the navigation.
            let (req, old) = res.into_parts();
            let mut response = page_in(frame.0, shown.status, &shown.message);
            if let Some(retry) = old.headers().get(header::RETRY_AFTER) {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, retry.clone());
            }
            return Ok(ErrorHandlerResponse::Response(
                ServiceResponse::new(req, response).map_into_right_body(),
            ));
        }
        let status = res.status();
        let message = match status.as_u16() {
            400 => "The form could not be read. Check the values you entered and try again.",
            404 => "There is no page at this address.",
            405 => "This address does not accept that kind of request.",
            413 => "What you sent is too large.",
            s if s >= 500 => {
                "allot could not finish this request. Nothing was changed; try again in a moment."
            }
            _ => "The request could not be handled.",
        };
        let (req, _) = res.into_parts();
        let frame = signed_in.map_or_else(|| Frame::bare(""), |f| f.0);
        let response: HttpResponse<BoxBody> = page_in(frame, status, message);
        Ok(ErrorHandlerResponse::Response(
            ServiceResponse::new(req, response).map_into_right_body(),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_database_answers_503_with_retry_after_and_asks_to_try_again() {
        let response = WebError::Domain(DomainError::Busy).error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("1")
        );
        let bytes = actix_web::rt::System::new()
            .block_on(actix_web::body::to_bytes(response.into_body()))
            .ok()
            .unwrap_or_default();
        let body = String::from_utf8_lossy(&bytes);
        assert!(body.contains("try again"), "{body}");
    }

    #[test]
    fn a_pool_timeout_is_busy_and_other_storage_failures_stay_500() {
        let timeout = diesel::r2d2::Pool::builder()
            .connection_timeout(std::time::Duration::from_millis(10))
            .build_unchecked(Never)
            .get()
            .map(|_| ())
            .map_err(DomainError::from);
        assert_eq!(timeout, Err(DomainError::Busy));
        assert_eq!(
            status_of(&DomainError::storage("disk full")),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    /// A connection manager that never connects.
    #[derive(Debug)]
    struct Never;

    impl diesel::r2d2::ManageConnection for Never {
        type Connection = crate::domain::DbConnection;
        type Error = diesel::r2d2::Error;
        fn connect(&self) -> Result<Self::Connection, Self::Error> {
            Err(diesel::r2d2::Error::ConnectionError(
                diesel::ConnectionError::BadConnection("no database here".into()),
            ))
        }
        fn is_valid(&self, _: &mut Self::Connection) -> Result<(), Self::Error> {
            Ok(())
        }
        fn has_broken(&self, _: &mut Self::Connection) -> bool {
            false
        }
    }
}
