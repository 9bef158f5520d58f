//! Settings: Roles.

use actix_web::HttpResponse;
use askama::Template;

use super::WebError;
use super::frame::Frame;
use super::session::TenantRequest;
use crate::domain::users::{self, AdminHolder};

#[derive(Template)]
#[template(path = "settings/roles.html")]
pub struct RolesPage {
    frame: Frame,
    admins: Vec<AdminHolder>,
}

/// GET /settings/roles
pub async fn roles(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
) -> Result<HttpResponse, WebError> {
    let admins = state
        .db(move |conn| users::admins(conn, &actor, tenant))
        .await?;
    super::render(&RolesPage {
        frame: Frame::new("Roles", &session, "/settings/roles"),
        admins,
    })
}
