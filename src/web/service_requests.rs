//! Support > Service requests, the tenant's side: the list, New service request, and a
//! request's page with its thread, Add a comment and Close request. Staff opening a request's
//! address get the support console's page instead (`support::request`).

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::forms::{Form, Query};
use super::frame::Frame;
use super::session::{AdminRequest, AdminSession, TenantRequest, flash};
use super::sorting::{SortHeader, SortOrder, SortQuery, total};
use super::support::{REQUEST_COLUMNS, request_order};
use super::{AppState, WebError, redirect};
use crate::domain::service_requests::{
    self as requests, Cursor, FormChoices, Kind, NewRequest, Request,
};
use crate::domain::{Actor, DomainError, ServiceRequestId, SubscriptionId};

#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    after: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    order: String,
}

/// The list's sortable headers.
pub struct ListHeaders {
    number: SortHeader,
    updated: SortHeader,
}

/// Reads a "next page" token; a bad one is a 422 page.
pub(super) fn cursor(token: &str) -> Result<Option<Cursor>, WebError> {
    if token.trim().is_empty() {
        Ok(None)
    } else {
        Ok(Some(Cursor::parse(token.trim())?))
    }
}

#[derive(Template)]
#[template(path = "support/requests.html")]
pub struct ListPage {
    frame: Frame,
    page: requests::Page,
    headers: ListHeaders,
    /// "3 service requests", over every page.
    total: String,
    /// "Next page": the next page in the same order.
    next_link: Option<String>,
}

/// GET /support/requests
pub async fn list(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
    query: Query<PageQuery>,
) -> Result<HttpResponse, WebError> {
    let query = query.0;
    let after = cursor(&query.after)?;
    let order = SortOrder::resolve(
        &SortQuery {
            sort: query.sort.clone(),
            order: query.order.clone(),
        },
        &REQUEST_COLUMNS,
        true,
    );
    let domain_order = request_order(&order);
    let page = state
        .db(move |conn| requests::list_for_tenant_in(conn, &actor, tenant, domain_order, after))
        .await?;
    let path = "/support/requests";
    let next_link = page.next.as_ref().map(|c| {
        let mut pairs = order.params().to_vec();
        let token = c.token();
        pairs.push(("after", token.as_str()));
        format!(
            "{path}?{}",
            serde_html_form::to_string(&pairs).unwrap_or_default()
        )
    });
    super::render(&ListPage {
        frame: Frame::new("Service requests", &session, path),
        headers: ListHeaders {
            number: order.header(path, &[], "number", "Number"),
            updated: order.header(path, &[], "updated", "Updated"),
        },
        total: total(page.total, "service request", "service requests"),
        next_link,
        page,
    })
}

/// The new request's form, as sent or prefilled from a link ("Cancel subscription" on a
/// subscription's cancel page).
#[derive(Deserialize, Default, Clone)]
pub struct NewForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    subscription: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    agreement_number: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    description: String,
}

#[derive(Template)]
#[template(path = "support/new.html")]
pub struct NewPage {
    frame: Frame,
    form: NewForm,
    choices: FormChoices,
    error: Option<String>,
    /// The field the error is about, marked beside it (`aria-invalid`, focus moved there).
    invalid_field: Option<&'static str>,
}

/// The form's fields by their names; an error about any other field is shown only on top.
const FIELDS: &[&str] = &[
    "kind",
    "subscription",
    "quantity",
    "agreement_number",
    "target",
    "description",
];

impl NewPage {
    fn invalid(&self, field: &str) -> bool {
        self.invalid_field == Some(field)
    }

    /// The fields a type of request uses, for the script that shows only those.
    fn uses(&self, kind: &Kind) -> String {
        let names: Vec<_> = kind.fields().into_iter().map(|(name, _)| name).collect();
        names.join(" ")
    }

    /// The fields a type of request cannot go without, marked required by the script.
    fn needs(&self, kind: &Kind) -> String {
        let names: Vec<_> = kind
            .fields()
            .into_iter()
            .filter(|(_, needed)| *needed)
            .map(|(name, _)| name)
            .collect();
        names.join(" ")
    }
}

async fn new_page(
    request: &TenantRequest,
    form: NewForm,
    error: Option<String>,
    invalid_field: Option<&'static str>,
) -> Result<NewPage, WebError> {
    let choices = request
        .db(move |conn, actor, tenant, _| requests::form_choices(conn, actor, tenant))
        .await?;
    Ok(NewPage {
        frame: Frame::new("New service request", &request.session, "/support/requests"),
        form,
        choices,
        error,
        invalid_field,
    })
}

/// GET /support/requests/new
pub async fn new_form(
    request: TenantRequest,
    query: Query<NewForm>,
) -> Result<HttpResponse, WebError> {
    let page = new_page(&request, query.0, None, None).await?;
    super::render(&page)
}

fn optional_number<T: std::str::FromStr>(
    text: &str,
    field: &'static str,
    message: &str,
) -> Result<Option<T>, DomainError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| DomainError::invalid(field, message))
}

/// POST /support/requests: files the request and shows it.
pub async fn file(request: TenantRequest, form: Form<NewForm>) -> Result<HttpResponse, WebError> {
    let sent = form.0.clone();
    let result = request
        .db(move |conn, actor, tenant, now| {
            let new = NewRequest {
                kind: sent.kind,
                subscription: optional_number(
                    &sent.subscription,
                    "subscription",
                    "Choose one of your organization's subscriptions.",
                )?
                .map(SubscriptionId),
                quantity: optional_number(
                    &sent.quantity,
                    "quantity",
                    "Enter a number of licenses.",
                )?,
                agreement_number: sent.agreement_number,
                target: sent.target,
                description: sent.description,
            };
            requests::file(conn, actor, now, tenant, &new)
        })
        .await;
    match result {
        Ok(id) => {
            flash(
                &request.session.session,
                format!("Service request #{id} is filed. We emailed you a confirmation."),
            );
            Ok(redirect(&format!("/support/requests/{id}")))
        }
        Err(e) => {
            let invalid_field = match &e {
                WebError::Domain(DomainError::Invalid { field, .. }) => {
                    FIELDS.iter().copied().find(|f| f == field)
                }
                _ => None,
            };
            super::errors::show_again(e, |message, status| async move {
                let page = new_page(&request, form.0, Some(message), invalid_field).await?;
                super::render_with(status, &page)
            })
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "support/request.html")]
pub struct RequestPage {
    frame: Frame,
    request: Request,
    error: Option<String>,
}

/// A request's page for whoever asks: the tenant's page, or the support console's for staff.
pub(super) async fn request_page(
    session: &AdminSession,
    state: &web::Data<AppState>,
    id: ServiceRequestId,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, WebError> {
    if matches!(session.actor(), Actor::Staff { .. }) {
        return super::support::request_page(session, state, id, error, status, None).await;
    }
    let actor = session.actor().clone();
    let now = state.clock.now();
    let request = state
        .db(move |conn| requests::view(conn, &actor, now, id))
        .await?;
    super::render_with(
        status,
        &RequestPage {
            frame: Frame::new(
                &format!("Service request #{id}"),
                session,
                "/support/requests",
            ),
            request,
            error,
        },
    )
}

/// GET /support/requests/{id}
pub async fn show(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    request_page(
        &session,
        &state,
        ServiceRequestId(path.into_inner()),
        None,
        actix_web::http::StatusCode::OK,
    )
    .await
}

/// After a change to a request: back to its page, or the page again with the error.
pub(super) async fn after_change(
    session: &AdminSession,
    state: &web::Data<AppState>,
    id: ServiceRequestId,
    result: Result<(), WebError>,
    done: &str,
) -> Result<HttpResponse, WebError> {
    let back = format!("/support/requests/{id}");
    super::errors::back_or_again(&session.session, result, done, &back, |message, status| {
        request_page(session, state, id, Some(message), status)
    })
    .await
}

#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    body: String,
    /// "internal" for a staff note; anything else is a public comment.
    #[serde(default)]
    visibility: String,
}

/// POST /support/requests/{id}/comments: Add a comment (tenant), a reply or an internal note
/// (staff).
pub async fn comment(
    AdminRequest {
        session,
        state,
        actor,
        now,
    }: AdminRequest,
    path: web::Path<i64>,
    form: Form<CommentForm>,
) -> Result<HttpResponse, WebError> {
    let id = ServiceRequestId(path.into_inner());
    let internal = form.0.visibility == "internal";
    let body = form.0.body;
    let result = state
        .db(move |conn| requests::comment(conn, &actor, now, id, &body, internal))
        .await;
    let done = match (session.actor(), internal) {
        (Actor::Staff { .. }, true) => "Internal note added. The customer doesn't see it.",
        (Actor::Staff { .. }, false) => "Reply sent to the customer.",
        _ => "Comment added.",
    };
    after_change(&session, &state, id, result, done).await
}

/// POST /support/requests/{id}/close: Close request (tenant).
pub async fn close(
    AdminRequest {
        session,
        state,
        actor,
        now,
    }: AdminRequest,
    path: web::Path<i64>,
    _form: Form<super::NoFields>,
) -> Result<HttpResponse, WebError> {
    let id = ServiceRequestId(path.into_inner());
    let result = state
        .db(move |conn| requests::close(conn, &actor, now, id))
        .await;
    after_change(&session, &state, id, result, "The request is closed.").await
}
