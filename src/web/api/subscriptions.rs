//! `GET /api/v1/subscriptions`: the organization's subscriptions, in the style of Graph's
//! `companySubscription` (camelCase, `skuId` and `skuPartNumber` as `subscribedSkus` has them).

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use super::{ApiError, ApiRequest};
use crate::domain::subscriptions::{
    self, BillingPeriod, DirectorySubscription, PurchaseChannel, SubscriptionState,
};

/// Where the subscription is in its life, in Graph's words where Graph has them.
#[derive(Serialize, utoipa::ToSchema)]
pub enum Status {
    /// Bought, waiting to be provisioned (a purchase order).
    Pending,
    /// Running.
    Enabled,
    /// Past due: a renewal failed, its licenses still work during the grace period.
    Warning,
    /// Disabled after the grace period: its licenses don't work until the payment is fixed.
    Suspended,
    /// Cancelled: it has ended.
    Expired,
}

impl From<SubscriptionState> for Status {
    fn from(state: SubscriptionState) -> Status {
        match state {
            SubscriptionState::Pending => Status::Pending,
            SubscriptionState::Active => Status::Enabled,
            SubscriptionState::PastDue => Status::Warning,
            SubscriptionState::Disabled => Status::Suspended,
            SubscriptionState::Cancelled | SubscriptionState::Deleted => Status::Expired,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum BillingCycle {
    Monthly,
    Yearly,
}

/// How the subscription was bought.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum HowBought {
    CreditCard,
    Invoice,
    VolumeLicensing,
    Partner,
    SelfService,
}

/// One subscription.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// The subscription's id.
    id: String,
    /// The `skuId` of its product's license pool, as `subscribedSkus` has it.
    sku_id: String,
    /// The product code.
    sku_part_number: String,
    /// The product's name, as Your products shows it.
    product_name: String,
    status: Status,
    /// Its licenses.
    total_licenses: i32,
    /// The same as `totalLicenses`.
    quantity: i32,
    created_date_time: String,
    /// When the current term started.
    term_start_date_time: String,
    /// When it renews (recurring billing on) or ends; none once it has ended.
    next_lifecycle_date_time: Option<String>,
    /// Always false: allot has no trials.
    is_trial: bool,
    billing_cycle: BillingCycle,
    /// Recurring billing: it renews at the end of its term.
    auto_renew: bool,
    purchase_channel: HowBought,
}

impl From<DirectorySubscription> for Subscription {
    fn from(s: DirectorySubscription) -> Subscription {
        let ended = matches!(
            s.state,
            SubscriptionState::Cancelled | SubscriptionState::Deleted
        );
        Subscription {
            id: s.id.0.to_string(),
            sku_id: s.sku_id,
            sku_part_number: s.code,
            product_name: s.product_name,
            status: Status::from(s.state),
            total_licenses: s.quantity,
            quantity: s.quantity,
            created_date_time: super::date_time(s.created_at),
            term_start_date_time: super::date_time(s.term_start),
            next_lifecycle_date_time: (!ended).then(|| super::date_time(s.term_end)),
            is_trial: false,
            billing_cycle: match s.billing_period {
                BillingPeriod::Monthly => BillingCycle::Monthly,
                BillingPeriod::Yearly => BillingCycle::Yearly,
            },
            auto_renew: s.recurring_billing,
            purchase_channel: match s.purchase_channel {
                PurchaseChannel::CreditCard => HowBought::CreditCard,
                PurchaseChannel::Invoice => HowBought::Invoice,
                PurchaseChannel::VolumeLicensing => HowBought::VolumeLicensing,
                PurchaseChannel::Partner => HowBought::Partner,
                PurchaseChannel::SelfService => HowBought::SelfService,
            },
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SubscriptionList {
    #[serde(rename = "@odata.context")]
    context: String,
    value: Vec<Subscription>,
}

#[utoipa::path(
    get, path = "/subscriptions", tag = "billing",
    summary = "List subscriptions",
    description = "The organization's subscriptions (not deleted), oldest first: one per \
                   subscription, even for the same product. Scope: billing.read.",
    params(super::SelectParam),
    responses(
        (status = 200, description = "The subscriptions", body = SubscriptionList),
        (status = 400, description = "A query option that can't be read", body = super::ErrorBody),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
    ),
    security(("bearer" = ["billing.read"]))
)]
/// GET /api/v1/subscriptions
pub async fn list(request: ApiRequest, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let options = super::query_options(&req)?;
    super::only_options(&options, &["$select"])?;
    let rows = request
        .db(|conn, actor, tenant, _| subscriptions::directory(conn, actor, tenant))
        .await?;
    super::json(&SubscriptionList {
        context: format!("{}/$metadata#subscriptions", request.state.api.base_url),
        value: rows.into_iter().map(Subscription::from).collect(),
    })
}
