//! The Message center: the tenant's messages an admin may read, newest first, and Mark all as
//! read. The bell in the header shows how many are unread.

use actix_web::HttpResponse;
use askama::Template;

use super::forms::Form;
use super::frame::Frame;
use super::session::{TenantRequest, flash};
use super::sorting::{SortHeader, SortOrder, SortQuery, total};
use super::{NoFields, WebError, redirect};
use crate::domain::messages::{self, Message, MessageSort};

#[derive(Template)]
#[template(path = "messages.html")]
pub struct MessageCenterPage {
    frame: Frame,
    messages: Vec<Message>,
    unread: i64,
    /// "12 messages"; the page shows the first [`messages::PAGE_SIZE`] in the order asked.
    total: String,
    headers: [SortHeader; 2],
}

/// GET /messages
pub async fn show(
    request: TenantRequest,
    query: super::forms::Query<SortQuery>,
) -> Result<HttpResponse, WebError> {
    let order = SortOrder::resolve(&query.0, &["when", "kind"], true);
    let sort = match order.column {
        "kind" => MessageSort::Kind,
        _ => MessageSort::When,
    };
    let descending = order.descending;
    let (messages, count, unread) = request
        .db(move |conn, actor, tenant, _| {
            Ok((
                messages::list_sorted(conn, actor, tenant, sort, descending)?,
                messages::count(conn, actor, tenant)?,
                messages::unread_count(conn, actor, tenant)?,
            ))
        })
        .await?;
    let path = "/messages";
    super::render(&MessageCenterPage {
        frame: Frame::new("Message center", &request.session, path),
        messages,
        unread,
        total: total(count, "message", "messages"),
        headers: [
            order.header(path, &[], "when", "When"),
            order.header(path, &[], "kind", "Kind"),
        ],
    })
}

/// POST /messages/read: Mark all as read.
pub async fn mark_all_read(
    request: TenantRequest,
    _form: Form<NoFields>,
) -> Result<HttpResponse, WebError> {
    let marked = request.db(messages::mark_all_read).await?;
    flash(
        &request.session.session,
        match marked {
            0 => "There were no unread messages.".to_owned(),
            1 => "Marked 1 message as read.".to_owned(),
            n => format!("Marked {n} messages as read."),
        },
    );
    Ok(redirect("/messages"))
}
