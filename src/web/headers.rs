//! What every response carries, whatever produced it (a handler, an error page, a refusal of
//! the router): the security headers, and no caching of anything but our static files.
//! Also HEAD, answered as GET without the body, and the request's id.

use actix_web::HttpMessage;
use actix_web::body::{self, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The security headers. `https` (cookies marked Secure, so the site is served over HTTPS)
/// adds HSTS: over plain HTTP it would lock browsers out of a site that has no certificate.
pub fn security(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"));
    if https {
        headers.add(("Strict-Transport-Security", "max-age=31536000"))
    } else {
        headers
    }
}

/// Only our static files and the health check may be kept by a cache. Everything else may be a
/// page of a signed-in session or an export, and a shared computer's browser cache (or a proxy)
/// must not hand it to the next person; marking all of it is simpler than telling them apart.
fn may_be_cached(path: &str) -> bool {
    path.starts_with("/static/") || path == "/healthz"
}

pub async fn no_store(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let cacheable = may_be_cached(req.path());
    let mut res = next.call(req).await?;
    if !cacheable {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

/// Our routes are registered for GET, which actix does not route HEAD to. A HEAD goes through
/// everything as a GET, so its status and headers are the GET's, and the body is dropped.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, body::None>>, actix_web::Error> {
    if req.method() != Method::HEAD {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    req.head_mut().method = Method::GET;
    let res = next.call(req).await?;
    // No body and no length: the GET's length is not known without making its body.
    Ok(res.map_body(|_, _| body::None::new()).map_into_right_body())
}

/// Returns the request's id (made by the tracing middleware, in every log line of the request)
/// in `X-Request-Id`, so a report from a user or a balancer's log finds the server's lines.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .and_then(|id| HeaderValue::from_str(&id.to_string()).ok());
    let mut res = next.call(req).await?;
    if let Some(id) = id {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), id);
    }
    Ok(res)
}
