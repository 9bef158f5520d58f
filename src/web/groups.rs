//! Users > Groups: the list, Add a group, a group's page (Members, Licenses, Errors & issues),
//! Add members, Remove members, assigning a product to a group, Reprocess, Delete group.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::forms::{Form, Query};
use super::frame::Frame;
use super::licenses::{ListQuery, plural};
use super::session::{TenantRequest, flash};
use super::{AppState, WebError, redirect};
use crate::domain::groups::{self, GroupDetail, GroupRow};
use crate::domain::licenses::{Given, PoolSummary};
use crate::domain::users::UserRow;
use crate::domain::{DomainError, GroupId, ProductId, UserId};

#[derive(Template)]
#[template(path = "groups/list.html")]
pub struct GroupsPage {
    frame: Frame,
    groups: Vec<GroupRow>,
    can_manage: bool,
}

/// GET /groups
pub async fn list(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
) -> Result<HttpResponse, WebError> {
    let groups = state
        .db(move |conn| groups::list(conn, &actor, tenant))
        .await?;
    super::render(&GroupsPage {
        frame: Frame::new("Groups", &session, "/groups"),
        can_manage: session.permissions().manage_groups,
        groups,
    })
}

#[derive(Deserialize, Default, Clone)]
pub struct NewGroupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Template)]
#[template(path = "groups/new.html")]
pub struct NewGroupPage {
    frame: Frame,
    form: NewGroupForm,
    error: Option<String>,
}

/// GET /groups/new: Add a group.
pub async fn new_form(request: TenantRequest) -> Result<HttpResponse, WebError> {
    request.session.require(|p| p.manage_groups)?;
    super::render(&NewGroupPage {
        frame: Frame::new("Add a group", &request.session, "/groups"),
        form: NewGroupForm::default(),
        error: None,
    })
}

/// POST /groups
pub async fn create(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        now,
    }: TenantRequest,
    form: Form<NewGroupForm>,
) -> Result<HttpResponse, WebError> {
    let sent = form.0.clone();
    let result = state
        .db(move |conn| groups::create(conn, &actor, now, tenant, &sent.name, &sent.description))
        .await;
    match result {
        Ok(id) => {
            flash(
                &session.session,
                format!("Added the group {}.", form.0.name.trim()),
            );
            Ok(redirect(&format!("/groups/{id}")))
        }
        Err(e) => {
            super::errors::show_again(e, |message, status| async move {
                super::render_with(
                    status,
                    &NewGroupPage {
                        frame: Frame::new("Add a group", &session, "/groups"),
                        form: form.0,
                        error: Some(message),
                    },
                )
            })
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "groups/show.html")]
pub struct GroupPage {
    frame: Frame,
    group: GroupDetail,
    members: Vec<UserRow>,
    next: Option<(String, i64)>,
    q: String,
    /// Products the group could be given (the tenant's pools it doesn't carry yet).
    assignable: Vec<PoolSummary>,
    can_manage: bool,
    can_assign: bool,
}

/// GET /groups/{id}: the group's members (search, pages), its licenses and its errors.
pub async fn show(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
    path: web::Path<i64>,
    query: Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    let id = GroupId(path.into_inner());
    let (q, after) = (query.0.q.clone(), query.0.after());
    let (group, page, pools) = state
        .db(move |conn| {
            Ok((
                groups::detail(conn, &actor, tenant, id)?,
                groups::members(conn, &actor, tenant, id, &q, after)?,
                crate::domain::licenses::pools(conn, &actor, tenant)?,
            ))
        })
        .await?;
    let permissions = session.permissions();
    let assignable = pools
        .into_iter()
        .filter(|p| p.self_service.is_none())
        .filter(|p| !group.licenses.iter().any(|l| l.product == p.product))
        .collect();
    super::render(&GroupPage {
        frame: Frame::new(&group.name, &session, "/groups"),
        members: page.rows,
        next: page.next,
        q: query.0.q,
        assignable,
        can_manage: permissions.manage_groups,
        can_assign: permissions.assign_group_licenses,
        group,
    })
}

#[derive(Template)]
#[template(path = "groups/add_members.html")]
pub struct AddMembersPage {
    frame: Frame,
    id: GroupId,
    name: String,
    candidates: Vec<UserRow>,
    next: Option<(String, i64)>,
    q: String,
}

/// GET /groups/{id}/members/add: pick users to add, with search and pages.
pub async fn add_members_form(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
    path: web::Path<i64>,
    query: Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    let id = GroupId(path.into_inner());
    let (q, after) = (query.0.q.clone(), query.0.after());
    let (group, page) = state
        .db(move |conn| {
            let page = groups::candidates(conn, &actor, tenant, id, &q, after)?;
            Ok((groups::detail(conn, &actor, tenant, id)?, page))
        })
        .await?;
    super::render(&AddMembersPage {
        frame: Frame::new("Add members", &session, "/groups"),
        id,
        name: group.name,
        candidates: page.rows,
        next: page.next,
        q: query.0.q,
    })
}

#[derive(Deserialize)]
pub struct ChosenMembers {
    #[serde(default)]
    users: Vec<i64>,
}

impl ChosenMembers {
    fn ids(&self) -> Vec<UserId> {
        self.users.iter().copied().map(UserId).collect()
    }
}

/// What the group's licenses did, for the flash after a change.
fn licenses_said(given: Option<&Given>) -> String {
    match given {
        None => " Their licenses are being assigned in the background: the group's page shows the progress.".into(),
        Some(g) if g.assigned == 0 && g.failed == 0 => String::new(),
        Some(g) => {
            let mut said = format!(
                " {} {} assigned from the group's licenses.",
                g.assigned,
                plural(g.assigned, "license", "licenses")
            );
            if g.failed > 0 {
                said.push_str(&format!(
                    " {} couldn't be assigned: see Errors & issues.",
                    g.failed
                ));
            }
            said
        }
    }
}

/// Kicks the background group licensing at once, so a big group doesn't wait for the next
/// minute's tick (which would also do it, and does after a crash).
fn run_in_background(state: &web::Data<AppState>) {
    let pool = state.pool.clone();
    let clock = state.clock.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut failures = 0;
        match pool.get() {
            Ok(mut conn) => {
                if let Err(e) = groups::drain(&mut conn, clock.now(), &mut failures) {
                    tracing::warn!("group licensing in the background stopped: {e}");
                }
            }
            Err(e) => tracing::warn!("group licensing in the background found no connection: {e}"),
        }
    });
}

/// POST /groups/{id}/members: Add members.
pub async fn add_members(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        now,
    }: TenantRequest,
    path: web::Path<i64>,
    form: Form<ChosenMembers>,
) -> Result<HttpResponse, WebError> {
    let id = GroupId(path.into_inner());
    let chosen = form.0.ids();
    let added = state
        .db(move |conn| groups::add_members(conn, &actor, now, tenant, id, &chosen))
        .await?;
    if added.licenses.is_none() {
        run_in_background(&state);
    }
    let mut said = format!(
        "Added {} {} to the group.",
        added.added,
        plural(added.added, "member", "members")
    );
    if added.already > 0 {
        said.push_str(&format!(" {} were members already.", added.already));
    }
    if added.added > 0 {
        said.push_str(&licenses_said(added.licenses.as_ref()));
    }
    flash(&session.session, said);
    Ok(redirect(&format!("/groups/{id}")))
}

fn held_said(until: Option<chrono::DateTime<chrono::Utc>>) -> String {
    until
        .map(|d| format!(" Their data is kept until {}.", d.format("%B %-d, %Y")))
        .unwrap_or_default()
}

/// POST /groups/{id}/members/remove: Remove members.
pub async fn remove_members(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        now,
    }: TenantRequest,
    path: web::Path<i64>,
    form: Form<ChosenMembers>,
) -> Result<HttpResponse, WebError> {
    let id = GroupId(path.into_inner());
    let chosen = form.0.ids();
    let removed = state
        .db(move |conn| groups::remove_members(conn, &actor, now, tenant, id, &chosen))
        .await?;
    let mut said = format!(
        "Removed {} {} from the group.",
        removed.removed,
        plural(removed.removed, "member", "members")
    );
    if removed.licenses_freed > 0 {
        said.push_str(&format!(
            " {} {} freed.{}",
            removed.licenses_freed,
            plural(removed.licenses_freed, "license was", "licenses were"),
            held_said(removed.data_held_until)
        ));
    }
    flash(&session.session, said);
    Ok(redirect(&format!("/groups/{id}")))
}

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
    _form: Form<super::NoFields>,
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

#[derive(Template)]
#[template(path = "groups/delete.html")]
pub struct DeleteGroupPage {
    frame: Frame,
    group: GroupDetail,
}

/// GET /groups/{id}/delete: the confirmation.
pub async fn delete_form(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    session.require(|p| p.manage_groups)?;
    let id = GroupId(path.into_inner());
    let group = state
        .db(move |conn| groups::detail(conn, &actor, tenant, id))
        .await?;
    super::render(&DeleteGroupPage {
        frame: Frame::new("Delete group", &session, "/groups"),
        group,
    })
}

/// POST /groups/{id}/delete
pub async fn delete(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        now,
    }: TenantRequest,
    path: web::Path<i64>,
    _form: Form<super::NoFields>,
) -> Result<HttpResponse, WebError> {
    let id = GroupId(path.into_inner());
    state
        .db(move |conn| groups::delete(conn, &actor, now, tenant, id))
        .await?;
    flash(&session.session, "Deleted the group.");
    Ok(redirect("/groups"))
}
