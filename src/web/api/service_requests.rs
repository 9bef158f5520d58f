//! `/api/v1/serviceRequests`: the organization's service requests to billing support, listed
//! (most recently updated first), read one at a time with their thread, and filed. allot's
//! own resource, in the API's Graph style.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiRequest};
use crate::domain::service_requests::{
    self, AuthorKind, Cursor, Kind, NewRequest, Request, RequestOrder, RequestRow, RequestSort,
    State,
};
use crate::domain::{DomainError, ServiceRequestId, SubscriptionId};

/// What a request asks for.
#[derive(Serialize, Deserialize, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum RequestType {
    CancelSubscription,
    AddLicenses,
    RemoveLicenses,
    ResendActivationEmail,
    RemapAgreement,
    VolumeLicensingInvoice,
    BillingQuestion,
    Other,
}

impl From<Kind> for RequestType {
    fn from(kind: Kind) -> RequestType {
        match kind {
            Kind::CancelSubscription => RequestType::CancelSubscription,
            Kind::AddLicenses => RequestType::AddLicenses,
            Kind::RemoveLicenses => RequestType::RemoveLicenses,
            Kind::ResendActivationEmail => RequestType::ResendActivationEmail,
            Kind::RemapAgreement => RequestType::RemapAgreement,
            Kind::VolumeLicensingInvoice => RequestType::VolumeLicensingInvoice,
            Kind::BillingQuestion => RequestType::BillingQuestion,
            Kind::Other => RequestType::Other,
        }
    }
}

impl From<RequestType> for Kind {
    fn from(kind: RequestType) -> Kind {
        match kind {
            RequestType::CancelSubscription => Kind::CancelSubscription,
            RequestType::AddLicenses => Kind::AddLicenses,
            RequestType::RemoveLicenses => Kind::RemoveLicenses,
            RequestType::ResendActivationEmail => Kind::ResendActivationEmail,
            RequestType::RemapAgreement => Kind::RemapAgreement,
            RequestType::VolumeLicensingInvoice => Kind::VolumeLicensingInvoice,
            RequestType::BillingQuestion => Kind::BillingQuestion,
            RequestType::Other => Kind::Other,
        }
    }
}

/// Where a request is in its life.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum RequestStatus {
    Open,
    InProgress,
    WaitingOnCustomer,
    Resolved,
    Closed,
}

impl From<State> for RequestStatus {
    fn from(state: State) -> RequestStatus {
        match state {
            State::Open => RequestStatus::Open,
            State::InProgress => RequestStatus::InProgress,
            State::WaitingOnCustomer => RequestStatus::WaitingOnCustomer,
            State::Resolved => RequestStatus::Resolved,
            State::Closed => RequestStatus::Closed,
        }
    }
}

/// A request as a list shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRequestSummary {
    id: String,
    #[serde(rename = "type")]
    kind: RequestType,
    subject: String,
    status: RequestStatus,
    /// The billing support member working it, if anyone yet.
    assigned_to: Option<String>,
    created_date_time: String,
    last_modified_date_time: String,
}

impl From<RequestRow> for ServiceRequestSummary {
    fn from(r: RequestRow) -> ServiceRequestSummary {
        ServiceRequestSummary {
            id: r.id.0.to_string(),
            kind: r.kind.into(),
            subject: r.subject,
            status: r.state.into(),
            assigned_to: r.assigned_to,
            created_date_time: super::date_time(r.created_at),
            last_modified_date_time: super::date_time(r.updated_at),
        }
    }
}

/// Who wrote an entry of a request's thread.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AuthorType {
    /// Someone of the organization.
    Customer,
    /// Billing support.
    Staff,
    /// allot itself: what was carried out.
    System,
}

/// An entry of a request's thread.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestComment {
    author: String,
    author_type: AuthorType,
    body: String,
    created_date_time: String,
}

/// A request with its thread.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRequest {
    #[serde(rename = "@odata.context")]
    context: String,
    id: String,
    #[serde(rename = "type")]
    kind: RequestType,
    subject: String,
    description: String,
    status: RequestStatus,
    /// The subscription it is about (`GET /subscriptions` has its id).
    subscription_id: Option<String>,
    /// Licenses to add or remove.
    quantity: Option<i32>,
    /// The volume licensing agreement it is about, by number.
    agreement_number: Option<String>,
    /// Who filed it: the admin, or the admin who made the token that filed it.
    requested_by: String,
    assigned_to: Option<String>,
    created_date_time: String,
    last_modified_date_time: String,
    comments: Vec<RequestComment>,
}

fn full(r: Request, base: &str) -> ServiceRequest {
    ServiceRequest {
        context: format!("{base}/$metadata#serviceRequests/$entity"),
        id: r.id.0.to_string(),
        kind: r.kind.into(),
        subject: r.subject,
        description: r.description,
        status: r.state.into(),
        subscription_id: r.subscription.map(|s| s.id.0.to_string()),
        quantity: r.quantity,
        agreement_number: r.agreement.map(|(_, number)| number),
        requested_by: r.requester_email,
        assigned_to: r.assigned.map(|(_, name)| name),
        created_date_time: super::date_time(r.created_at),
        last_modified_date_time: super::date_time(r.updated_at),
        comments: r
            .comments
            .into_iter()
            .map(|c| RequestComment {
                author: c.author,
                author_type: match c.author_kind {
                    AuthorKind::Customer => AuthorType::Customer,
                    AuthorKind::Staff => AuthorType::Staff,
                    AuthorKind::System => AuthorType::System,
                },
                body: c.body,
                created_date_time: super::date_time(c.created_at),
            })
            .collect(),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ServiceRequestList {
    #[serde(rename = "@odata.context")]
    context: String,
    value: Vec<ServiceRequestSummary>,
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    next_link: Option<String>,
}

/// A new request. `subscriptionId` for a cancellation or a change of licenses (with
/// `quantity`); `agreementNumber` (and `target`: the organization's domain for a remap, an
/// address for a resend) for the volume licensing types.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewServiceRequest {
    #[serde(rename = "type")]
    kind: RequestType,
    /// The problem, in at least 10 characters.
    #[schema(min_length = 10, max_length = 4000)]
    description: String,
    #[serde(default)]
    subscription_id: Option<String>,
    #[serde(default)]
    quantity: Option<i32>,
    #[serde(default)]
    agreement_number: Option<String>,
    #[serde(default)]
    target: Option<String>,
}

/// `$orderby` of the list of requests.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct OrderByParam {
    /// `createdDateTime`, `lastModifiedDateTime` or `id`, then `asc` or `desc`
    /// (`createdDateTime desc`); by default `lastModifiedDateTime desc`.
    #[serde(rename = "$orderby")]
    orderby: Option<String>,
}

/// The properties `$orderby` sorts by, as the API names them.
const ORDER_BY: [(&str, RequestSort); 3] = [
    ("createdDateTime", RequestSort::Created),
    ("lastModifiedDateTime", RequestSort::Updated),
    ("id", RequestSort::Number),
];

/// Reads `$orderby`: one property of [`ORDER_BY`] (any case), then `asc` or `desc`.
fn order_by(options: &[(String, String)]) -> Result<RequestOrder, ApiError> {
    let Some((_, text)) = options.iter().find(|(n, _)| n == "$orderby") else {
        return Ok(RequestOrder::default());
    };
    let bad = || {
        ApiError::BadRequest(
            "The $orderby can be createdDateTime, lastModifiedDateTime or id, then asc or desc."
                .into(),
        )
    };
    let mut words = text.split_whitespace();
    let property = words.next().ok_or_else(bad)?;
    let by = ORDER_BY
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(property))
        .map(|(_, by)| *by)
        .ok_or_else(bad)?;
    let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(bad()),
    };
    if words.next().is_some() {
        return Err(bad());
    }
    Ok(RequestOrder { by, descending })
}

/// The `$orderby` that asks for `order` again (for the next page's link), URL-encoded.
fn order_by_param(order: RequestOrder) -> String {
    let name = ORDER_BY
        .iter()
        .find(|(_, by)| *by == order.by)
        .map(|(name, _)| *name)
        .unwrap_or("lastModifiedDateTime");
    format!(
        "$orderby={name}%20{}&",
        if order.descending { "desc" } else { "asc" }
    )
}

#[utoipa::path(
    get, path = "/serviceRequests", tag = "billing",
    summary = "List service requests",
    description = "The organization's service requests, 50 a page, most recently updated first \
                   unless `$orderby` asks otherwise: `createdDateTime`, `lastModifiedDateTime` \
                   or `id`, then `asc` (the default, as in OData) or `desc`; equal times by id, \
                   the same way round. The `@odata.nextLink` keeps the order. Any other \
                   `$orderby` is a 400. Scope: billing.read or serviceRequests.write.",
    params(super::SkipTokenParam, OrderByParam),
    responses(
        (status = 200, description = "A page of requests", body = ServiceRequestList),
        (status = 400, description = "A query option that can't be read", body = super::ErrorBody),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
    ),
    security(("bearer" = ["billing.read", "serviceRequests.write"]))
)]
/// GET /api/v1/serviceRequests
pub async fn list(request: ApiRequest, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let options = super::query_options(&req)?;
    super::only_options(&options, &["$skiptoken", "$select", "$orderby"])?;
    let order = order_by(&options)?;
    let after = options
        .iter()
        .find(|(n, _)| n == "$skiptoken")
        .map(|(_, token)| {
            Cursor::parse(token).map_err(|_| {
                ApiError::BadRequest("The $skiptoken is not one this API gave.".into())
            })
        })
        .transpose()?;
    let page = request
        .db(move |conn, actor, tenant, _| {
            service_requests::list_for_tenant_in(conn, actor, tenant, order, after)
        })
        .await?;
    let base = &request.state.api.base_url;
    super::json(&ServiceRequestList {
        context: format!("{base}/$metadata#serviceRequests"),
        value: page
            .rows
            .into_iter()
            .map(ServiceRequestSummary::from)
            .collect(),
        next_link: page.next.map(|c| {
            let order = if order == RequestOrder::default() {
                String::new()
            } else {
                order_by_param(order)
            };
            format!("{base}/serviceRequests?{order}$skiptoken={}", c.token())
        }),
    })
}

fn request_id(id: &str) -> ServiceRequestId {
    // An id that is no number is no request; the token's rights are still checked first.
    ServiceRequestId(id.trim().parse().unwrap_or(0))
}

#[utoipa::path(
    get, path = "/serviceRequests/{id}", tag = "billing",
    summary = "Get a service request",
    description = "One request with its thread. Scope: billing.read or serviceRequests.write.",
    params(("id" = String, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The request", body = ServiceRequest),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
        (status = 404, description = "No such request in the organization", body = super::ErrorBody),
    ),
    security(("bearer" = ["billing.read", "serviceRequests.write"]))
)]
/// GET /api/v1/serviceRequests/{id}
pub async fn get(request: ApiRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = request_id(&path.into_inner());
    let found = request
        .db(move |conn, actor, _, now| service_requests::view(conn, actor, now, id))
        .await?;
    super::json(&full(found, &request.state.api.base_url))
}

#[utoipa::path(
    post, path = "/serviceRequests", tag = "billing",
    summary = "File a service request",
    description = "Files a request to billing support for the organization; its emails go to \
                   the admin who made the token. Scope: serviceRequests.write.",
    request_body = NewServiceRequest,
    responses(
        (status = 201, description = "The request filed", body = ServiceRequest),
        (status = 400, description = "A value refused (named in target), or a body that can't be read", body = super::ErrorBody),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
        (status = 409, description = "The token's maker is no longer an active admin", body = super::ErrorBody),
    ),
    security(("bearer" = ["serviceRequests.write"]))
)]
/// POST /api/v1/serviceRequests
pub async fn file(
    request: ApiRequest,
    body: web::Json<NewServiceRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let subscription = match body.subscription_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id) => Some(SubscriptionId(id.parse().map_err(|_| {
            ApiError::Rejected {
                target: "subscriptionId",
                message: "Choose one of your organization's subscriptions.".into(),
            }
        })?)),
    };
    let new = NewRequest {
        kind: Kind::from(body.kind).as_str().to_owned(),
        subscription,
        quantity: body.quantity,
        agreement_number: body.agreement_number.unwrap_or_default(),
        target: body.target.unwrap_or_default(),
        description: body.description,
    };
    let filed = request
        .db(move |conn, actor, tenant, now| {
            let id = service_requests::file(conn, actor, now, tenant, &new)?;
            service_requests::view(conn, actor, now, id)
        })
        .await
        .map_err(|e| match e {
            ApiError::Domain(DomainError::Invalid { field, message }) => ApiError::Rejected {
                // The form's names, as the API calls them.
                target: match field {
                    "kind" => "type",
                    "subscription" => "subscriptionId",
                    "agreement" | "agreement_number" => "agreementNumber",
                    other => other,
                },
                message,
            },
            other => other,
        })?;
    let base = &request.state.api.base_url;
    let location = format!("{base}/serviceRequests/{}", filed.id.0);
    let text =
        serde_json::to_string(&full(filed, base)).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Created()
        .content_type("application/json")
        .insert_header((header::LOCATION, location))
        .body(text))
}
