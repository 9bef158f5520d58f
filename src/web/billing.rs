//! Billing > Your products: one row per subscription.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::frame::Frame;
use super::session::AdminSession;
use super::{AppState, WebError};
use crate::domain::subscriptions::{self, SubscriptionRow};

#[derive(Template)]
#[template(path = "billing/products.html")]
pub struct ProductsPage {
    frame: Frame,
    rows: Vec<SubscriptionRow>,
}

/// GET /billing/products
pub async fn products(
    session: AdminSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let rows = state
        .db(move |conn| subscriptions::list(conn, &actor, tenant))
        .await?;
    super::render(&ProductsPage {
        frame: Frame::new("Your products", &session, "/billing/products"),
        rows,
    })
}
