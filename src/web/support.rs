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
