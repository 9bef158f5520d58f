//! `GET /api/v1/subscribedSkus`: the tenant's license pools, one per product, as Graph's
//! `subscribedSku`.

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use super::{ApiError, ApiRequest};
use crate::domain::licenses::{self, SubscribedSku};

/// Graph's `subscribedSku`: the organization's licenses of one product.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sku {
    id: String,
    sku_id: String,
    sku_part_number: String,
    #[schema(value_type = String)]
    applies_to: &'static str,
    #[schema(value_type = String)]
    capability_status: &'static str,
    consumed_units: i64,
    prepaid_units: PrepaidUnits,
    service_plans: Vec<Plan>,
}

/// Licenses by the state of their subscriptions.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrepaidUnits {
    enabled: i64,
    suspended: i64,
    warning: i64,
    locked_out: i64,
}

/// An app of the product.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    service_plan_id: String,
    service_plan_name: String,
    #[schema(value_type = String)]
    provisioning_status: &'static str,
    #[schema(value_type = String)]
    applies_to: &'static str,
}

/// The organization's licenses, one entry a product.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SkuList {
    #[serde(rename = "@odata.context")]
    context: String,
    value: Vec<Sku>,
}

impl From<SubscribedSku> for Sku {
    fn from(sku: SubscribedSku) -> Sku {
        Sku {
            capability_status: sku.status(),
            id: sku.sku_id.clone(),
            sku_id: sku.sku_id,
            sku_part_number: sku.code,
            applies_to: "User",
            consumed_units: sku.consumed,
            prepaid_units: PrepaidUnits {
                enabled: sku.enabled,
                suspended: sku.suspended,
                warning: sku.warning,
                locked_out: 0,
            },
            service_plans: sku
                .plans
                .into_iter()
                .map(|p| Plan {
                    service_plan_id: p.id,
                    service_plan_name: p.name,
                    provisioning_status: "Success",
                    applies_to: "User",
                })
                .collect(),
        }
    }
}

#[utoipa::path(
    get, path = "/subscribedSkus", tag = "licenses",
    summary = "List the organization's licenses",
    description = "One entry per product: its skuId, counts and apps.",
    params(super::SelectParam),
    responses(
        (status = 200, description = "The licenses", body = SkuList),
        (status = 400, description = "A query option that can't be read", body = super::ErrorBody),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
    ),
    security(("bearer" = ["licenses.read", "licenses.write"]))
)]
/// GET /api/v1/subscribedSkus (`licenses.read`)
pub async fn list(request: ApiRequest, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let options = super::query_options(&req)?;
    super::only_options(&options, &["$select"])?;
    let skus = request
        .db(|conn, actor, tenant, _| licenses::subscribed_skus(conn, actor, tenant))
        .await?;
    super::json(&SkuList {
        context: format!("{}/$metadata#subscribedSkus", request.state.api.base_url),
        value: skus.into_iter().map(Sku::from).collect(),
    })
}
