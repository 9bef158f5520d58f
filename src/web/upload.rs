//! Forms that send a file (`multipart/form-data`): read whole, up to `LIMIT`, into their
//! parts. The CSRF middleware reads the same parts for `csrf_token`, then hands the body back
//! for the handler's `Upload`, so a form with a file is checked like every other form.

use actix_multipart::Multipart;
use actix_web::dev::Payload;
use actix_web::http::header::HeaderMap;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::{StreamExt, stream};

use super::errors::WebError;

/// The largest body a form with a file may send: the largest file read
/// (`users::import::MAX_BYTES`) and room for the form's other fields. A file larger than
/// that is still answered on its page; a body past `LIMIT` is refused unread (413).
pub const LIMIT: usize = crate::domain::users::import::MAX_BYTES * 2;

/// One field of a form with a file.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    /// The file's name, for a file field.
    pub file_name: Option<String>,
    pub bytes: Bytes,
}

pub fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// Why a body was not read: larger than `LIMIT`, or not a form at all.
#[derive(Debug)]
pub enum Unread {
    TooLarge,
    Broken,
}

/// Reads a payload whole, up to `LIMIT`.
pub async fn read_body(payload: &mut Payload) -> Result<Bytes, Unread> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => Unread::TooLarge,
            _ => Unread::Broken,
        })?;
        if body.len() + chunk.len() > LIMIT {
            return Err(Unread::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The parts of a multipart body.
pub async fn parts(headers: &HeaderMap, body: Bytes) -> Result<Vec<Part>, Unread> {
    let mut form = Multipart::new(
        headers,
        stream::once(async move { Ok::<_, actix_web::error::PayloadError>(body) }),
    );
    let mut parts = Vec::new();
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|_| Unread::Broken)?;
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_owned);
        let mut bytes = BytesMut::new();
        while let Some(chunk) = field.next().await {
            bytes.extend_from_slice(&chunk.map_err(|_| Unread::Broken)?);
        }
        parts.push(Part {
            name,
            file_name,
            bytes: bytes.freeze(),
        });
    }
    Ok(parts)
}

/// The value of the text field `name`.
pub fn text<'a>(parts: &'a [Part], name: &str) -> Option<&'a str> {
    parts
        .iter()
        .find(|p| p.name == name && p.file_name.is_none())
        .and_then(|p| std::str::from_utf8(&p.bytes).ok())
}

/// A form with a file, as the handler reads it (the middleware has checked its CSRF token).
pub struct Upload(pub Vec<Part>);

impl Upload {
    /// The file sent in `name`, with its file name; `None` when no file was chosen.
    pub fn file(&self, name: &str) -> Option<&Part> {
        self.0
            .iter()
            .find(|p| p.name == name && p.file_name.as_deref().is_some_and(|f| !f.is_empty()))
    }
}

impl FromRequest for Upload {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let headers = req.headers().clone();
        let mut payload = payload.take();
        let multipart = is_multipart(req.headers());
        Box::pin(async move {
            if !multipart {
                return Err(WebError::BadForm);
            }
            let body = read_body(&mut payload)
                .await
                .map_err(|_| WebError::BadForm)?;
            parts(&headers, body)
                .await
                .map(Upload)
                .map_err(|_| WebError::BadForm)
        })
    }
}
