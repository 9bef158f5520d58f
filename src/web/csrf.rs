//! CSRF protection: every form carries the session's token in `csrf_token`, and every POST
//! is refused with 403 unless it matches. Checked here, for all routes, so no handler can
//! forget it. A form that sends a file (multipart) carries it as one of its parts.

use actix_session::{Session, SessionExt};
use actix_web::HttpMessage;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use rand::RngCore;

use super::errors::WebError;

const KEY: &str = "csrf";
pub const FIELD: &str = "csrf_token";

/// The session's token, made when it has none.
pub fn token(session: &Session) -> String {
    if let Ok(Some(token)) = session.get::<String>(KEY) {
        return token;
    }
    rotate(session)
}

/// Replaces the token (at sign-in).
pub fn rotate(session: &Session) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let _ = session.insert(KEY, &token);
    token
}

/// Compares two secrets in time independent of where they differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub async fn protect(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if req.method() == Method::POST && super::upload::is_multipart(req.headers()) {
        // A form with a file: its parts are read for the token, then handed back whole.
        let expected = req.get_session().get::<String>(KEY).ok().flatten();
        let mut payload = req.take_payload();
        let body = match super::upload::read_body(&mut payload).await {
            Ok(body) => body,
            Err(super::upload::Unread::TooLarge) => {
                let e = actix_web::error::PayloadError::Overflow;
                return Ok(req.error_response(e).map_into_right_body());
            }
            Err(super::upload::Unread::Broken) => {
                let response = actix_web::ResponseError::error_response(&WebError::BadForm);
                return Ok(req.into_response(response).map_into_right_body());
            }
        };
        let sent = super::upload::parts(req.headers(), body.clone())
            .await
            .ok()
            .and_then(|parts| super::upload::text(&parts, FIELD).map(str::to_owned));
        req.set_payload(actix_http::Payload::from(body));
        let valid = matches!((&expected, &sent), (Some(e), Some(s)) if same(e, s));
        if !valid {
            let response = actix_web::ResponseError::error_response(&WebError::Csrf);
            return Ok(req.into_response(response).map_into_right_body());
        }
    } else if req.method() == Method::POST {
        let expected = req.get_session().get::<String>(KEY).ok().flatten();
        let body = match req.extract::<Bytes>().await {
            Ok(body) => body,
            // Too large or unreadable: answered here, as a response. An error would pass by
            // the outer middlewares and reach the browser without our headers and page.
            Err(e) => return Ok(req.error_response(e).map_into_right_body()),
        };
        let sent = serde_html_form::from_bytes::<Vec<(String, String)>>(&body)
            .ok()
            .and_then(|fields| fields.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v));
        // Hand the body back for the handler's own form extractor.
        req.set_payload(actix_http::Payload::from(body));
        let valid = matches!((&expected, &sent), (Some(e), Some(s)) if same(e, s));
        if !valid {
            let response = actix_web::ResponseError::error_response(&WebError::Csrf);
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}
