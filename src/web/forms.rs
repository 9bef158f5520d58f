//! Form and query extractors that understand repeated fields (`users=1&users=2`), as HTML
//! check boxes send them. A body or query that can't be read is a 400 page.

use actix_web::dev::Payload;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::errors::WebError;
use crate::domain::DomainError;

/// A check box as a form sends it: absent when unchecked, its value (`yes`) when checked. `no`
/// and an empty value are no; anything else is not what the form sends and is refused rather
/// than read as yes (issue 12).
pub fn check_box(field: &'static str, value: Option<&str>) -> Result<bool, DomainError> {
    match value.map(str::trim) {
        None | Some("" | "no") => Ok(false),
        Some("yes") => Ok(true),
        Some(_) => Err(DomainError::invalid(
            field,
            "Check the box, or leave it unchecked.",
        )),
    }
}

/// A form body (`application/x-www-form-urlencoded`).
pub struct Form<T>(pub T);

/// The query string.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = body.await.map_err(|_| WebError::BadForm)?;
            serde_html_form::from_bytes(&body)
                .map(Form)
                .map_err(|_| WebError::BadForm)
        })
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = WebError;
    type Future = std::future::Ready<Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            serde_html_form::from_str(req.query_string())
                .map(Query)
                .map_err(|_| WebError::BadForm),
        )
    }
}
