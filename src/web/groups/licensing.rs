//! Assigning a product to a group (from the group's page or the product's), Unassign, Reprocess.

use super::*;

#[derive(Deserialize)]
pub struct ProductChoice {
    #[serde(default)]
    product: String,
    /// Where to go back to: "product" for the product's page, else the group's.
    #[serde(default)]
    back: String,
}

impl ProductChoice {
    fn product(&self) -> Result<ProductId, DomainError> {
        self.product
            .trim()
            .parse::<i64>()
            .map(ProductId)
            .map_err(|_| DomainError::invalid("product", "Choose a product."))
    }

    fn back(&self, group: GroupId, product: ProductId) -> String {
        if self.back == "product" {
            format!("/licenses/{product}")
        } else {
            format!("/groups/{group}")
        }
    }
}

/// POST /groups/{id}/licenses: assign a product to the group.
pub async fn assign(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        now,
    }: TenantRequest,
    path: web::Path<i64>,
    form: Form<ProductChoice>,
) -> Result<HttpResponse, WebError> {
    let id = GroupId(path.into_inner());
    let product = form.0.product()?;
    let given = state
        .db(move |conn| groups::assign_product(conn, &actor, now, tenant, id, product))
        .await?;
    if given.is_none() {
        run_in_background(&state);
    }
    let said = format!(
        "Assigned the license to the group.{}",
        licenses_said(given.as_ref())
    );
    flash(&session.session, said);
    Ok(redirect(&form.0.back(id, product)))
}

#[derive(Deserialize)]
pub struct GroupChoice {
    #[serde(default)]
    group: String,
}

/// POST /licenses/{product}/groups: assign the product to a group, from the product's page.
pub async fn assign_from_product(
    request: TenantRequest,
    path: web::Path<i64>,
    form: Form<GroupChoice>,
) -> Result<HttpResponse, WebError> {
    let group = form
        .0
        .group
        .trim()
        .parse::<i64>()
        .map_err(|_| DomainError::invalid("group", "Choose a group."))?;
    let choice = ProductChoice {
        product: path.into_inner().to_string(),
        back: "product".into(),
    };
    assign(request, web::Path::from(group), Form(choice)).await
}

/// POST /groups/{id}/licenses/{product}/unassign
pub async fn unassign(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        now,
    }: TenantRequest,
    path: web::Path<(i64, i64)>,
    form: Form<ProductChoice>,
) -> Result<HttpResponse, WebError> {
    let (id, product) = path.into_inner();
    let (id, product) = (GroupId(id), ProductId(product));
    let done = state
        .db(move |conn| groups::unassign_product(conn, &actor, now, tenant, id, product))
        .await?;
    let mut said = format!("Unassigned {} from the group.", done.product_name);
    if done.licenses_freed > 0 {
        said.push_str(&format!(
            " {} {} freed.{}",
            done.licenses_freed,
            plural(done.licenses_freed, "license was", "licenses were"),
            held_said(done.data_held_until)
        ));
    }
    flash(&session.session, said);
    Ok(redirect(&form.0.back(id, product)))
}

/// POST /groups/{id}/reprocess: try the errors again.
pub async fn reprocess(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        now,
    }: TenantRequest,
    path: web::Path<i64>,
    _form: Form<crate::web::NoFields>,
) -> Result<HttpResponse, WebError> {
    let id = GroupId(path.into_inner());
    let given = state
        .db(move |conn| groups::reprocess(conn, &actor, now, tenant, id))
        .await?;
    if given.is_none() {
        run_in_background(&state);
    }
    let said = match &given {
        Some(g) if g.assigned == 0 && g.failed == 0 => "There was nothing to reprocess.".into(),
        other => format!("Reprocessed the group.{}", licenses_said(other.as_ref())),
    };
    flash(&session.session, said);
    Ok(redirect(&format!("/groups/{id}")))
}
