//! The support console: the queue of every tenant's service requests, a request's page with
//! its thread and internal notes, and the actions a request asks for. The outbox for billing
//! support.

mod carry_out;
mod outbox;
mod thread;

pub use carry_out::*;
pub use outbox::*;
pub use thread::*;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::forms::{Form, Query};
use super::frame::Frame;
use super::service_requests::{after_change, cursor};
use super::session::{AdminRequest, AdminSession, flash};
use super::sorting::{SortHeader, SortOrder, SortQuery, total};
use super::{AppState, WebError, redirect};
use crate::domain::agreements::RemapPreview;
use crate::domain::authz::Permissions;
use crate::domain::billing;
use crate::domain::service_requests::{
    self as requests, Assigned, Done, Kind, QueueFilter, Request, RequestOrder, RequestSort, State,
    Work,
};
use crate::domain::subscriptions::{self, CancelWhen, Cancelled, RemovalPreview};
use crate::domain::{Actor, DomainError, ServiceRequestId, StaffId, TenantId};

/// The queue's filters as the URL carries them.
#[derive(Deserialize, Default, Clone)]
pub struct QueueQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    age: String,
    #[serde(default)]
    assigned: String,
    /// A number or words to look for.
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    order: String,
    #[serde(default)]
    after: String,
}

/// The columns the queue and a tenant's list sort by, the first the default (newest first).
pub(crate) const REQUEST_COLUMNS: [&str; 3] = ["updated", "number", "age"];

/// The queue's columns: a tenant's list's, and the state and the tenant.
const QUEUE_COLUMNS: [&str; 5] = ["updated", "number", "age", "state", "tenant"];

/// The whitelisted column's order, for the domain. Age goes up as the filing date goes back.
pub(crate) fn request_order(order: &SortOrder) -> RequestOrder {
    match order.column {
        "state" => RequestOrder {
            by: RequestSort::State,
            descending: order.descending,
        },
        "tenant" => RequestOrder {
            by: RequestSort::Tenant,
            descending: order.descending,
        },
        "number" => RequestOrder {
            by: RequestSort::Number,
            descending: order.descending,
        },
        "age" => RequestOrder {
            by: RequestSort::Created,
            descending: !order.descending,
        },
        _ => RequestOrder {
            by: RequestSort::Updated,
            descending: order.descending,
        },
    }
}

impl QueueQuery {
    fn filter(&self) -> Result<QueueFilter, DomainError> {
        let nonempty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(QueueFilter {
            state: nonempty(&self.state)
                .map(|s| State::parse(&s))
                .transpose()?,
            kind: nonempty(&self.kind).map(|k| Kind::parse(&k)).transpose()?,
            tenant: nonempty(&self.tenant)
                .map(|t| {
                    t.parse()
                        .map(TenantId)
                        .map_err(|_| DomainError::invalid("tenant", "Choose a tenant."))
                })
                .transpose()?,
            older_than_days: match self.age.trim() {
                "" => None,
                "1" => Some(1),
                "7" => Some(7),
                "30" => Some(30),
                _ => return Err(DomainError::invalid("age", "Choose an age.")),
            },
            assigned: match self.assigned.trim() {
                "" | "anyone" => Assigned::Anyone,
                "me" => Assigned::Me,
                "nobody" => Assigned::Nobody,
                _ => return Err(DomainError::invalid("assigned", "Choose whose requests.")),
            },
            search: self.q.clone(),
            order: request_order(&self.sort_order()),
        })
    }

    fn sort_order(&self) -> SortOrder {
        SortOrder::resolve(
            &SortQuery {
                sort: self.sort.clone(),
                order: self.order.clone(),
            },
            &QUEUE_COLUMNS,
            true,
        )
    }

    /// The filters and the search, which sorting keeps.
    fn kept(&self) -> [(&'static str, &str); 6] {
        [
            ("q", self.q.as_str()),
            ("state", self.state.as_str()),
            ("kind", self.kind.as_str()),
            ("tenant", self.tenant.as_str()),
            ("age", self.age.as_str()),
            ("assigned", self.assigned.as_str()),
        ]
    }

    /// The sortable column headers, in the table's order.
    fn headers(&self) -> QueueHeaders {
        let order = self.sort_order();
        let kept = self.kept();
        QueueHeaders {
            number: order.header("/support", &kept, "number", "Number"),
            age: order.header("/support", &kept, "age", "Age"),
            updated: order.header("/support", &kept, "updated", "Updated"),
            state: order.header("/support", &kept, "state", "State"),
            tenant: order.header("/support", &kept, "tenant", "Tenant"),
        }
    }

    /// The same filters and order, with the next page's token.
    fn next_link(&self, token: &str) -> String {
        let order = self.sort_order();
        let mut pairs = self.kept().to_vec();
        pairs.extend(order.params());
        pairs.push(("after", token));
        let kept: Vec<(&str, &str)> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        format!(
            "/support?{}",
            serde_html_form::to_string(&kept).unwrap_or_default()
        )
    }
}

pub struct QueueHeaders {
    number: SortHeader,
    age: SortHeader,
    updated: SortHeader,
    state: SortHeader,
    tenant: SortHeader,
}

#[derive(Template)]
#[template(path = "support/queue.html")]
pub struct QueuePage {
    frame: Frame,
    query: QueueQuery,
    headers: QueueHeaders,
    /// "12 service requests": all the filters match, over every page.
    total: String,
    rows: Vec<requests::RequestRow>,
    next_link: Option<String>,
    states: [State; 5],
    kinds: Vec<Kind>,
    /// A partner's queue: the volume licensing requests only.
    volume_licensing_only: bool,
    tenants: Vec<(TenantId, String)>,
    now: DateTime<Utc>,
}

/// GET /support: the queue, newest activity first unless sorted by a header, with filters,
/// a search and paging.
pub async fn queue(
    AdminRequest {
        session,
        state,
        actor,
        now,
    }: AdminRequest,
    query: Query<QueueQuery>,
) -> Result<HttpResponse, WebError> {
    let query = query.0;
    let filter = query.filter()?;
    let after = cursor(&query.after)?;
    let (page, tenants) = state
        .db(move |conn| {
            Ok((
                requests::queue(conn, &actor, now, &filter, after)?,
                requests::tenant_choices(conn, &actor)?,
            ))
        })
        .await?;
    let next_link = page.next.as_ref().map(|c| query.next_link(&c.token()));
    let kinds = requests::workable_kinds(session.actor());
    super::render(&QueuePage {
        frame: Frame::new("Service requests", &session, "/support"),
        headers: query.headers(),
        total: total(page.total, "service request", "service requests"),
        rows: page.rows,
        next_link,
        states: State::ALL,
        volume_licensing_only: kinds.iter().all(|k| k.is_volume_licensing()),
        kinds,
        tenants,
        query,
        now,
    })
}

#[derive(Template)]
#[template(path = "support/console_request.html")]
pub struct ConsoleRequestPage {
    frame: Frame,
    request: Request,
    /// The request is assigned to whoever looks at it.
    mine: bool,
    staff: Vec<(StaffId, String)>,
    next_states: &'static [State],
    /// Whether billing support may carry out what it asks (partners may not).
    can_carry_out: bool,
    window_ends: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    error: Option<String>,
    /// "Remove licenses" below the assigned count: who would be beyond it, to confirm.
    removal: Option<(i32, RemovalPreview)>,
    /// "Cancel subscription": who ending it now would leave beyond the count.
    cancel_beyond: Vec<(String, String)>,
    /// "Remap agreement": what it would do to both organizations, or why it can't be done.
    remap: Option<RemapPreview>,
    remap_refused: Option<String>,
}

/// The console's page of a request, with an error or a removal to confirm when there is one.
pub(super) async fn request_page(
    session: &AdminSession,
    state: &web::Data<AppState>,
    id: ServiceRequestId,
    error: Option<String>,
    status: StatusCode,
    removal: Option<(i32, RemovalPreview)>,
) -> Result<HttpResponse, WebError> {
    let actor = session.actor().clone();
    let now = state.clock.now();
    let (request, staff, window_ends, remap, cancel_beyond) = state
        .db(move |conn| {
            let request = requests::view(conn, &actor, now, id)?;
            let remap = if request.kind == Kind::RemapAgreement
                && request.state.is_active()
                && Permissions::of(&actor).carry_out_requests
            {
                Some(requests::preview_remap(conn, &actor, id).map_err(|e| e.to_string()))
            } else {
                None
            };
            let cancel_beyond = if request.kind == Kind::CancelSubscription
                && request.state.is_active()
                && Permissions::of(&actor).carry_out_requests
            {
                requests::preview_cancellation(conn, &actor, id)?
            } else {
                Vec::new()
            };
            let staff = requests::staff_choices(conn, &actor, request.kind)?;
            let window_ends = match &request.subscription {
                Some(sub) => Some(subscriptions::cancellation_window_ends(
                    conn,
                    request.tenant,
                    sub.id,
                )?),
                None => None,
            };
            Ok((request, staff, window_ends, remap, cancel_beyond))
        })
        .await?;
    let (remap, remap_refused) = match remap {
        Some(Ok(preview)) => (Some(preview), None),
        Some(Err(reason)) => (None, Some(reason)),
        None => (None, None),
    };
    let me = match session.actor() {
        Actor::Staff { staff, .. } => Some(*staff),
        _ => None,
    };
    super::render_with(
        status,
        &ConsoleRequestPage {
            frame: Frame::new(&format!("Service request #{id}"), session, "/support"),
            next_states: request.state.next_for_staff(),
            can_carry_out: session.permissions().carry_out_requests,
            mine: request.assigned.as_ref().map(|(s, _)| *s) == me && me.is_some(),
            request,
            staff,
            window_ends,
            now,
            error,
            removal,
            cancel_beyond,
            remap,
            remap_refused,
        },
    )
}
