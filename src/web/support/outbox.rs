//! The outbox: every email the system has sent or will send.

use super::*;

#[derive(Template)]
#[template(path = "support/outbox.html")]
pub struct OutboxPage {
    frame: Frame,
    emails: Vec<crate::domain::outbox::Sent>,
}

/// GET /support/outbox: every email the system sent or will send.
pub async fn outbox(
    AdminRequest {
        session,
        state,
        actor,
        ..
    }: AdminRequest,
) -> Result<HttpResponse, WebError> {
    let emails = state
        .db(move |conn| crate::domain::outbox::list(conn, &actor, 200))
        .await?;
    crate::web::render(&OutboxPage {
        frame: Frame::new("Outbox", &session, "/support/outbox"),
        emails,
    })
}
