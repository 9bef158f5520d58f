//! Manage product licenses for several users: Assign more, Replace, Unassign all.

use super::*;

#[derive(Deserialize)]
pub struct ManageQuery {
    #[serde(default)]
    users: Vec<i64>,
}

#[derive(Template)]
#[template(path = "users/manage.html")]
pub struct ManagePage {
    frame: Frame,
    users: Vec<(i64, String, String)>,
    products: Vec<PoolSummary>,
    error: Option<String>,
}

async fn manage_page(
    request: &TenantRequest,
    ids: Vec<i64>,
    error: Option<String>,
) -> Result<ManagePage, WebError> {
    let (chosen, products) = request
        .db(move |conn, actor, tenant, _| {
            let mut chosen = Vec::new();
            for id in ids {
                let u = users::get(conn, actor, tenant, UserId(id))?;
                chosen.push((u.id.0, u.display_name, u.email));
            }
            Ok((chosen, users::assignable_products(conn, actor, tenant)?))
        })
        .await?;
    Ok(ManagePage {
        frame: Frame::new("Manage product licenses", &request.session, "/users"),
        users: chosen,
        products: products
            .into_iter()
            .filter(|p| p.self_service.is_none())
            .collect(),
        error,
    })
}

/// GET /users/manage?users=…: Manage product licenses for the selected users.
pub async fn manage_form(
    request: TenantRequest,
    query: Query<ManageQuery>,
) -> Result<HttpResponse, WebError> {
    request.session.require(|p| p.assign_licenses)?;
    if query.0.users.is_empty() {
        flash(
            &request.session.session,
            "Select the users whose licenses you want to manage, then select Manage product licenses.",
        );
        return Ok(redirect("/users"));
    }
    let page = manage_page(&request, query.0.users, None).await?;
    crate::web::render(&page)
}

#[derive(Deserialize)]
pub struct ManageForm {
    #[serde(default)]
    users: Vec<i64>,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    products: Vec<i64>,
    #[serde(default)]
    confirm: Option<String>,
}

/// The one confirmation before licenses are taken from users: who loses which products, and
/// until when their data is kept. Confirming posts the same form again with `confirm=yes`.
#[derive(Template)]
#[template(path = "licenses/removal.html")]
pub struct RemovalPage {
    frame: Frame,
    removals: licenses::Removals,
    action: String,
    fields: Vec<(&'static str, String)>,
    back: String,
}

/// The confirmation of `removals`, or None when the change removes nothing (it goes ahead).
pub(super) fn removal_page(
    request: &TenantRequest,
    removals: licenses::Removals,
    action: String,
    fields: Vec<(&'static str, String)>,
    back: String,
) -> Option<RemovalPage> {
    (!removals.is_empty()).then(|| RemovalPage {
        frame: Frame::new("Unassign licenses", &request.session, "/users"),
        removals,
        action,
        fields,
        back,
    })
}

#[derive(Template)]
#[template(path = "users/managed.html")]
pub struct ManagedPage {
    frame: Frame,
    outcomes: Vec<ManageOutcome>,
}

/// POST /users/manage: Save changes, then the result and Done.
pub async fn manage(
    request: TenantRequest,
    form: Form<ManageForm>,
) -> Result<HttpResponse, WebError> {
    let form = form.0;
    let mode = match form.mode.as_str() {
        "assign" => ManageMode::AssignMore,
        "replace" => ManageMode::Replace,
        "unassign" => ManageMode::UnassignAll,
        _ => {
            let page = manage_page(
                &request,
                form.users,
                Some("Choose Assign more, Replace or Unassign all.".into()),
            )
            .await?;
            return crate::web::render_with(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &page,
            );
        }
    };
    let ids: Vec<UserId> = form.users.iter().copied().map(UserId).collect();
    let products: Vec<ProductId> = form.products.iter().copied().map(ProductId).collect();
    if form.confirm.as_deref() != Some("yes") && mode != ManageMode::AssignMore {
        let (who, what) = (ids.clone(), products.clone());
        let planned = request
            .db(move |conn, actor, tenant, now| {
                licenses::planned_removals(conn, actor, now, tenant, &who, mode, &what)
            })
            .await?;
        let mut fields: Vec<(&'static str, String)> = form
            .users
            .iter()
            .map(|u| ("users", u.to_string()))
            .collect();
        fields.push(("mode", form.mode.clone()));
        fields.extend(form.products.iter().map(|p| ("products", p.to_string())));
        let back = format!(
            "/users/manage?{}",
            form.users
                .iter()
                .map(|u| format!("users={u}"))
                .collect::<Vec<_>>()
                .join("&")
        );
        if let Some(page) = removal_page(&request, planned, "/users/manage".into(), fields, back) {
            return crate::web::render(&page);
        }
    }
    match request
        .db(move |conn, actor, tenant, now| {
            licenses::manage_licenses(conn, actor, now, tenant, &ids, mode, &products)
        })
        .await
    {
        Ok(outcomes) => crate::web::render(&ManagedPage {
            frame: Frame::new("Manage product licenses", &request.session, "/users"),
            outcomes,
        }),
        Err(WebError::Domain(e @ DomainError::Invalid { .. })) => {
            let page = manage_page(&request, form.users, Some(e.to_string())).await?;
            crate::web::render_with(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e),
    }
}
