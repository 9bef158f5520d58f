//! The outbox: every email the system has sent or will send.

use super::*;

#[derive(Template)]
#[template(path = "support/outbox.html")]
pub struct OutboxPage {
    frame: Frame,
    emails: Vec<crate::domain::outbox::Sent>,
    /// "1,234 emails", and whether the page shows only the first `SHOWN` of them.
    total: String,
    more_than_shown: bool,
    headers: [SortHeader; 3],
}

/// The most emails the page lists, in its order.
const SHOWN: i64 = 200;

/// GET /support/outbox: every email the system sent or will send.
pub async fn outbox(
    AdminRequest {
        session,
        state,
        actor,
        ..
    }: AdminRequest,
    query: Query<SortQuery>,
) -> Result<HttpResponse, WebError> {
    use crate::domain::outbox::{self, OutboxSort};
    let order = SortOrder::resolve(&query.0, &["queued", "to", "sent"], true);
    let sort = match order.column {
        "to" => OutboxSort::To,
        "sent" => OutboxSort::Sent,
        _ => OutboxSort::Queued,
    };
    let descending = order.descending;
    let (emails, count) = state
        .db(move |conn| {
            Ok((
                outbox::list_sorted(conn, &actor, sort, descending, SHOWN)?,
                outbox::count(conn, &actor)?,
            ))
        })
        .await?;
    let path = "/support/outbox";
    crate::web::render(&OutboxPage {
        frame: Frame::new("Outbox", &session, path),
        emails,
        total: total(count, "email", "emails"),
        more_than_shown: count > SHOWN,
        headers: [
            order.header(path, &[], "queued", "Queued"),
            order.header(path, &[], "to", "To"),
            order.header(path, &[], "sent", "Sent"),
        ],
    })
}
