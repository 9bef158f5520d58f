//! Users: a user's page.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::frame::Frame;
use super::session::AdminSession;
use super::{AppState, WebError};
use crate::domain::UserId;
use crate::domain::users::{self, UserDetail};

#[derive(Template)]
#[template(path = "users/show.html")]
pub struct UserPage {
    frame: Frame,
    user: UserDetail,
}

/// GET /users/{id}
pub async fn show(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let id = UserId(path.into_inner());
    let user = state
        .db(move |conn| users::get(conn, &actor, tenant, id))
        .await?;
    super::render(&UserPage {
        frame: Frame::new(&user.display_name, &session, ""),
        user,
    })
}
