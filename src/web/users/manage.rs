//! Manage product licenses for several users: Assign more, Replace, Unassign all.

use super::*;
use diesel::Connection;

/// The users a bulk action of Active users acts on: the boxes checked, or (Select all N
/// matching) every user the search and filter find, found again on the server each time.
#[derive(Deserialize, Clone, Default)]
pub struct ManageQuery {
    #[serde(default)]
    users: Vec<i64>,
    #[serde(default)]
    all_matching: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    filter: String,
}

impl ManageQuery {
    pub(super) fn all(&self) -> bool {
        self.all_matching == "yes"
    }

    /// The form fields that choose the same users again.
    pub(super) fn fields(&self) -> Vec<(&'static str, String)> {
        if self.all() {
            vec![
                ("all_matching", "yes".to_owned()),
                ("q", self.q.clone()),
                ("filter", self.filter.clone()),
            ]
        } else {
            self.users
                .iter()
                .map(|u| ("users", u.to_string()))
                .collect()
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        !self.all() && self.users.is_empty()
    }
}

/// The chosen users, by id (the checked boxes as they are, or all the current matches).
pub(super) fn chosen_users(
    conn: &mut crate::domain::DbConnection,
    actor: &Actor,
    tenant: crate::domain::TenantId,
    chosen: &ManageQuery,
) -> Result<Vec<(i64, String, String)>, DomainError> {
    if chosen.all() {
        let filter = super::parse_filter(&chosen.filter);
        return Ok(users::matching(conn, actor, tenant, &chosen.q, filter)?
            .into_iter()
            .map(|u| (u.id.0, u.display_name, u.email))
            .collect());
    }
    let mut found = Vec::new();
    for id in &chosen.users {
        let u = users::get(conn, actor, tenant, UserId(*id))?;
        found.push((u.id.0, u.display_name, u.email));
    }
    Ok(found)
}

/// Names a confirmation lists before "and N more".
pub(super) const NAMED: usize = 20;

#[derive(Template)]
#[template(path = "users/manage.html")]
pub struct ManagePage {
    frame: Frame,
    /// How many users are chosen, and the first `NAMED` of them.
    count: usize,
    users: Vec<(i64, String, String)>,
    fields: Vec<(&'static str, String)>,
    products: Vec<PoolSummary>,
    error: Option<String>,
}

impl ManagePage {
    fn more(&self) -> usize {
        self.count - self.users.len()
    }
}

async fn manage_page(
    request: &TenantRequest,
    chosen: ManageQuery,
    error: Option<String>,
) -> Result<ManagePage, WebError> {
    let fields = chosen.fields();
    let (mut found, products) = request
        .db(move |conn, actor, tenant, _| {
            let found = chosen_users(conn, actor, tenant, &chosen)?;
            Ok((found, users::assignable_products(conn, actor, tenant)?))
        })
        .await?;
    let count = found.len();
    found.truncate(NAMED);
    Ok(ManagePage {
        frame: Frame::new("Manage product licenses", &request.session, "/users"),
        count,
        users: found,
        fields,
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
    if query.0.is_empty() {
        flash(
            &request.session.session,
            "Select the users whose licenses you want to manage, then select Manage product licenses.",
        );
        return Ok(redirect("/users"));
    }
    let page = manage_page(&request, query.0, None).await?;
    crate::web::render(&page)
}

#[derive(Deserialize)]
pub struct ManageForm {
    #[serde(default)]
    users: Vec<i64>,
    #[serde(default)]
    all_matching: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    filter: String,
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
    request.session.require(|p| p.assign_licenses)?;
    let chosen = ManageQuery {
        users: form.users.clone(),
        all_matching: form.all_matching.clone(),
        q: form.q.clone(),
        filter: form.filter.clone(),
    };
    let mode = match form.mode.as_str() {
        "assign" => ManageMode::AssignMore,
        "replace" => ManageMode::Replace,
        "unassign" => ManageMode::UnassignAll,
        _ => {
            let page = manage_page(
                &request,
                chosen,
                Some("Choose Assign more, Replace or Unassign all.".into()),
            )
            .await?;
            return crate::web::render_with(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &page,
            );
        }
    };
    let products: Vec<ProductId> = form.products.iter().copied().map(ProductId).collect();
    if form.confirm.as_deref() != Some("yes") && mode != ManageMode::AssignMore {
        let (who, what) = (chosen.clone(), products.clone());
        let planned = request
            .db(move |conn, actor, tenant, now| {
                let ids = ids_of(chosen_users(conn, actor, tenant, &who)?);
                licenses::planned_removals(conn, actor, now, tenant, &ids, mode, &what)
            })
            .await?;
        let mut fields = chosen.fields();
        fields.push(("mode", form.mode.clone()));
        fields.extend(form.products.iter().map(|p| ("products", p.to_string())));
        let back = format!(
            "/users/manage?{}",
            serde_html_form::to_string(chosen.fields()).unwrap_or_default()
        );
        if let Some(page) = removal_page(&request, planned, "/users/manage".into(), fields, back) {
            return crate::web::render(&page);
        }
    }
    let who = chosen.clone();
    match request
        .db(move |conn, actor, tenant, now| {
            // The matches found again and changed in one transaction.
            conn.transaction(|conn| {
                let ids = ids_of(chosen_users(conn, actor, tenant, &who)?);
                licenses::manage_licenses(conn, actor, now, tenant, &ids, mode, &products)
            })
        })
        .await
    {
        Ok(outcomes) => crate::web::render(&ManagedPage {
            frame: Frame::new("Manage product licenses", &request.session, "/users"),
            outcomes,
        }),
        Err(WebError::Domain(e @ DomainError::Invalid { .. })) => {
            let page = manage_page(&request, chosen, Some(e.to_string())).await?;
            crate::web::render_with(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e),
    }
}

pub(super) fn ids_of(found: Vec<(i64, String, String)>) -> Vec<UserId> {
    found.into_iter().map(|(id, _, _)| UserId(id)).collect()
}
