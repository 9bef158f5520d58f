//! Settings: Roles.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::frame::Frame;
use super::session::AdminSession;
use super::{AppState, WebError};
use crate::domain::users::{self, AdminHolder};

#[derive(Template)]
#[template(path = "settings/roles.html")]
pub struct RolesPage {
    frame: Frame,
    admins: Vec<AdminHolder>,
}

/// GET /settings/roles
pub async fn roles(
    session: AdminSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let admins = state
        .db(move |conn| users::admins(conn, &actor, tenant))
        .await?;
    super::render(&RolesPage {
        frame: Frame::new("Roles", &session, "/settings/roles"),
        admins,
    })
}
