//! Billing > Licenses: one row per product, aggregated over its subscriptions.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::frame::Frame;
use super::session::AdminSession;
use super::{AppState, WebError};
use crate::domain::licenses::{self, PoolSummary};

#[derive(Template)]
#[template(path = "licenses/list.html")]
pub struct LicensesPage {
    frame: Frame,
    pools: Vec<PoolSummary>,
}

/// GET /licenses
pub async fn list(
    session: AdminSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let pools = state
        .db(move |conn| licenses::pools(conn, &actor, tenant))
        .await?;
    super::render(&LicensesPage {
        frame: Frame::new("Licenses", &session, "/licenses"),
        pools,
    })
}
