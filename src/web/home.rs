//! Home: the tenant at a glance.

use actix_web::HttpResponse;
use actix_web::http::header;
use askama::Template;

use super::WebError;
use super::frame::Frame;
use super::session::AdminRequest;
use crate::domain::Actor;
use crate::domain::licenses::{self, PoolSummary, TenantCounts};

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    frame: Frame,
    counts: TenantCounts,
    conflicts: Vec<PoolSummary>,
}

/// GET /: Home for admins; staff go to their console.
pub async fn show(
    AdminRequest {
        session,
        state,
        actor,
        ..
    }: AdminRequest,
) -> Result<HttpResponse, WebError> {
    if let Actor::Staff { .. } = actor {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/support"))
            .finish());
    }
    let tenant = session.tenant()?;
    let (counts, pools) = state
        .db(move |conn| {
            Ok((
                licenses::counts(conn, &actor, tenant)?,
                licenses::pools(conn, &actor, tenant)?,
            ))
        })
        .await?;
    let page = HomePage {
        frame: Frame::new("Home", &session, "/"),
        counts,
        conflicts: PoolSummary::conflicts(&pools),
    };
    super::render(&page)
}
