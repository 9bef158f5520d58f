//! The support console: billing support staff's queue of service requests.

use actix_web::HttpResponse;
use askama::Template;

use super::WebError;
use super::frame::Frame;
use super::session::AdminSession;
use crate::domain::Action;
use crate::domain::authz;

#[derive(Template)]
#[template(path = "support/queue.html")]
pub struct QueuePage {
    frame: Frame,
}

/// GET /support: the queue (empty until service requests exist).
pub async fn queue(session: AdminSession) -> Result<HttpResponse, WebError> {
    authz::may(session.actor(), Action::ViewSupportQueue, None)?;
    super::render(&QueuePage {
        frame: Frame::new("Service requests", &session, "/support"),
    })
}

#[derive(Template)]
#[template(path = "support/outbox.html")]
pub struct OutboxPage {
    frame: Frame,
    emails: Vec<crate::domain::outbox::Sent>,
}

/// GET /support/outbox: every email the system sent or will send.
pub async fn outbox(
    session: AdminSession,
    state: actix_web::web::Data<super::AppState>,
) -> Result<HttpResponse, WebError> {
    let actor = session.actor().clone();
    let emails = state
        .db(move |conn| crate::domain::outbox::list(conn, &actor, 200))
        .await?;
    super::render(&OutboxPage {
        frame: Frame::new("Outbox", &session, "/support/outbox"),
        emails,
    })
}
