//! A user's licenses as Graph has them: `POST /api/v1/users/{id}/assignLicense` (all or
//! nothing, in one transaction) and `GET /api/v1/users/{id}/licenseDetails`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::users::{user_entity, user_key};
use super::{ApiError, ApiRequest};
use crate::domain::licenses::{self, AssignedSku, LicenseChange, LicenseToAdd};

/// Graph's `assignLicense` body; both lists are required, as Graph requires them (either may
/// be empty).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignBody {
    /// The licenses to add, each with the apps to turn off in it.
    add_licenses: Vec<AddLicense>,
    /// The `skuId`s of the licenses to remove.
    remove_licenses: Vec<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddLicense {
    /// The license's `skuId` (from `subscribedSkus`).
    #[schema(
        pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
    )]
    sku_id: String,
    /// The `servicePlanId`s of the apps to turn off.
    #[serde(default)]
    disabled_plans: Vec<String>,
}

impl AssignBody {
    /// The licenses to add and the `skuId`s to remove, as the domain takes them.
    pub fn into_domain(self) -> (Vec<LicenseToAdd>, Vec<String>) {
        let add = self
            .add_licenses
            .into_iter()
            .map(|a| LicenseToAdd {
                sku_id: a.sku_id,
                disabled_plans: a.disabled_plans,
            })
            .collect();
        (add, self.remove_licenses)
    }
}

/// A license a user or group holds: Graph's `assignedLicense`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignedLicense {
    sku_id: String,
    /// The `servicePlanId`s of the apps turned off in it.
    disabled_plans: Vec<String>,
}

impl From<AssignedSku> for AssignedLicense {
    fn from(l: AssignedSku) -> AssignedLicense {
        AssignedLicense {
            sku_id: l.sku_id,
            disabled_plans: l.disabled_plans,
        }
    }
}

#[utoipa::path(
    post, path = "/users/{id}/assignLicense", tag = "licenses",
    summary = "Assign licenses to a user",
    description = "Removes and adds the user's licenses, all or nothing. Too few licenses left: \
                   400 CountViolation and nothing changed.",
    params(("id" = String, Path, description = "The user's id (GUID) or sign-in name")),
    request_body = AssignBody,
    responses(
        (status = 200, description = "The user, with their licenses now", body = super::users::UserEntity),
        (status = 400, description = "CountViolation, an unknown skuId or plan, or a body that can't be read", body = super::ErrorBody),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
        (status = 404, description = "No such user in the organization", body = super::ErrorBody),
        (status = 409, description = "A license the user's own purchase gives, which its buyer manages", body = super::ErrorBody),
    ),
    security(("bearer" = ["licenses.write"]))
)]
/// POST /api/v1/users/{id}/assignLicense (`licenses.write`): the user afterwards (200), or 400
/// `CountViolation` naming the product and the licenses left, with nothing changed.
pub async fn assign(
    request: ApiRequest,
    path: web::Path<String>,
    body: web::Json<AssignBody>,
) -> Result<HttpResponse, ApiError> {
    let key = user_key(path.into_inner());
    let (add, remove) = body.into_inner().into_domain();
    let change = request
        .db(move |conn, actor, tenant, now| {
            licenses::assign_license(conn, actor, now, tenant, &key, &add, &remove)
        })
        .await
        .map_err(super::rejected)?;
    match change {
        LicenseChange::Done(user) => super::json(&user_entity(user, &request.state.api.base_url)),
        LicenseChange::TooFew {
            product_name,
            sku_id,
            available,
        } => Err(ApiError::CountViolation(format!(
            "Subscription {product_name} ({sku_id}) has {available} available licenses, too \
             few for this request. Nothing was changed."
        ))),
    }
}

/// The licenses a user holds.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DetailList {
    #[serde(rename = "@odata.context")]
    context: String,
    value: Vec<Detail>,
}

/// Graph's `licenseDetails`: a license a user holds, with its apps.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    id: String,
    sku_id: String,
    sku_part_number: String,
    service_plans: Vec<DetailPlan>,
}

/// An app of a license a user holds: `provisioningStatus` is `Success` (on) or `Disabled`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DetailPlan {
    service_plan_id: String,
    service_plan_name: String,
    #[schema(value_type = String, example = "Success")]
    provisioning_status: &'static str,
    #[schema(value_type = String, example = "User")]
    applies_to: &'static str,
}

#[utoipa::path(
    get, path = "/users/{id}/licenseDetails", tag = "licenses",
    summary = "List a user's licenses",
    description = "Each license the user holds, with its apps on or off.",
    params(("id" = String, Path, description = "The user's id (GUID) or sign-in name"), super::SelectParam),
    responses(
        (status = 200, description = "The user's licenses", body = DetailList),
        (status = 400, description = "A query option that can't be read", body = super::ErrorBody),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
        (status = 404, description = "No such user in the organization", body = super::ErrorBody),
    ),
    security(("bearer" = ["users.read", "users.write", "licenses.read", "licenses.write"]))
)]
/// GET /api/v1/users/{id}/licenseDetails (`users.read` or `licenses.read`): each license the
/// user holds with its apps, `Disabled` for one turned off.
pub async fn details(
    request: ApiRequest,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let options = super::query_options(&req)?;
    super::only_options(&options, &["$select"])?;
    let id = path.into_inner();
    let key = user_key(id.clone());
    let held = request
        .db(move |conn, actor, tenant, _| licenses::license_details(conn, actor, tenant, &key))
        .await?;
    super::json(&DetailList {
        context: format!(
            "{}/$metadata#users('{id}')/licenseDetails",
            request.state.api.base_url
        ),
        value: held
            .into_iter()
            .map(|l| Detail {
                id: l.sku_id.clone(),
                sku_id: l.sku_id,
                sku_part_number: l.code,
                service_plans: l
                    .plans
                    .into_iter()
                    .map(|(plan, on)| DetailPlan {
                        service_plan_id: plan.id,
                        service_plan_name: plan.name,
                        provisioning_status: if on { "Success" } else { "Disabled" },
                        applies_to: "User",
                    })
                    .collect(),
            })
            .collect(),
    })
}
