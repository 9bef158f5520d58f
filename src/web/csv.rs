//! CSV downloads: formula-safe fields, and answers streamed a page at a time so an export of
//! any size leaves without being held in memory at once.

use actix_web::HttpResponse;
use actix_web::web::Bytes;
use futures_util::{StreamExt, stream};
use std::future::Future;

use super::WebError;

/// A CSV field, quoted when needed; a leading = + - @ is defused so spreadsheets don't run it.
pub fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// A download of `filename`: `first` (the header and the first page, read before the answer
/// starts, so a refusal is still a status and a page), then the pages `next` reads from each
/// cursor it returns, until none. A failure after the start ends the download short (logged).
pub fn streamed<C, F, Fut>(
    filename: &str,
    first: String,
    cursor: Option<C>,
    next: F,
) -> HttpResponse
where
    C: 'static,
    F: Fn(C) -> Fut + 'static,
    Fut: Future<Output = Result<(String, Option<C>), WebError>> + 'static,
{
    let rest = stream::try_unfold(cursor, move |cursor| {
        let page = cursor.map(&next);
        async move {
            let Some(page) = page else {
                return Ok(None);
            };
            match page.await {
                Ok((text, cursor)) => Ok(Some((Bytes::from(text), cursor))),
                Err(e) => {
                    tracing::warn!("an export stopped: {e}");
                    Err(actix_web::Error::from(e))
                }
            }
        }
    });
    let head = stream::once(async move { Ok::<_, actix_web::Error>(Bytes::from(first)) });
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(head.chain(rest))
}
