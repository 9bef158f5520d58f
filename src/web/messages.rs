//! The Message center: the tenant's messages an admin may read, newest first, and Mark all as
//! read. The bell in the header shows how many are unread.

use actix_web::HttpResponse;
use askama::Template;

use super::forms::Form;
use super::frame::Frame;
use super::session::{TenantRequest, flash};
use super::{NoFields, WebError, redirect};
use crate::domain::messages::{self, Message};

#[derive(Template)]
#[template(path = "messages.html")]
pub struct MessageCenterPage {
    frame: Frame,
    messages: Vec<Message>,
    unread: usize,
}

/// GET /messages
pub async fn show(request: TenantRequest) -> Result<HttpResponse, WebError> {
    let messages = request
        .db(|conn, actor, tenant, _| messages::list(conn, actor, tenant))
        .await?;
    let unread = messages.iter().filter(|m| m.unread).count();
    super::render(&MessageCenterPage {
        frame: Frame::new("Message center", &request.session, "/messages"),
        messages,
        unread,
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
