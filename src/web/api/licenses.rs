//! A user's licenses as Graph has them: `POST /api/v1/users/{id}/assignLicense` (all or
//! nothing, in one transaction) and `GET /api/v1/users/{id}/licenseDetails`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::users::{user_entity, user_key};
use super::{ApiError, ApiRequest};
use crate::domain::DomainError;
use crate::domain::licenses::{self, LicenseChange, LicenseToAdd};

/// Graph's `assignLicense` body; both lists are required, as Graph requires them (either may
/// be empty).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignBody {
    add_licenses: Vec<AddLicense>,
    remove_licenses: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddLicense {
    sku_id: String,
    #[serde(default)]
    disabled_plans: Vec<String>,
}

/// POST /api/v1/users/{id}/assignLicense (`licenses.write`): the user afterwards (200), or 400
/// `CountViolation` naming the product and the licenses left, with nothing changed.
pub async fn assign(
    request: ApiRequest,
    path: web::Path<String>,
    body: web::Json<AssignBody>,
) -> Result<HttpResponse, ApiError> {
    let key = user_key(path.into_inner());
    let body = body.into_inner();
    let add: Vec<LicenseToAdd> = body
        .add_licenses
        .into_iter()
        .map(|a| LicenseToAdd {
            sku_id: a.sku_id,
            disabled_plans: a.disabled_plans,
        })
        .collect();
    let remove = body.remove_licenses;
    let change = request
        .db(move |conn, actor, tenant, now| {
            licenses::assign_license(conn, actor, now, tenant, &key, &add, &remove)
        })
        .await
        .map_err(|e| match e {
            // Graph answers a value it refuses with a 400, not a 422.
            ApiError::Domain(DomainError::Invalid { field, message }) => ApiError::Rejected {
                target: field,
                message,
            },
            other => other,
        })?;
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

#[derive(Serialize)]
struct DetailList {
    #[serde(rename = "@odata.context")]
    context: String,
    value: Vec<Detail>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    id: String,
    sku_id: String,
    sku_part_number: String,
    service_plans: Vec<Plan>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Plan {
    service_plan_id: String,
    service_plan_name: String,
    provisioning_status: &'static str,
    applies_to: &'static str,
}

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
                    .map(|(plan, on)| Plan {
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
