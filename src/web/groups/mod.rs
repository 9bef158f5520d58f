//! Users > Groups: the list, Add a group, a group's page (Members, Licenses, Errors & issues)
//! and Delete group (here); Add and Remove members (members); assigning a product to a group
//! and Reprocess (licensing).

mod apps;
mod licensing;
mod members;

pub use apps::*;
pub use licensing::*;
pub use members::*;

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::forms::{Form, Query};
use super::frame::Frame;
use super::licenses::{ListQuery, plural};
use super::session::{TenantRequest, flash};
use super::sorting::{SortHeader, SortOrder, SortQuery, total};
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
    /// "3 groups".
    total: String,
    name_header: SortHeader,
    members_header: SortHeader,
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
    query: Query<SortQuery>,
) -> Result<HttpResponse, WebError> {
    let order = SortOrder::resolve(&query.0, &["name", "members"], false);
    let sort = match order.column {
        "members" => groups::GroupSort::Members,
        _ => groups::GroupSort::Name,
    };
    let descending = order.descending;
    let groups = state
        .db(move |conn| groups::list_sorted(conn, &actor, tenant, sort, descending))
        .await?;
    super::render(&GroupsPage {
        frame: Frame::new("Groups", &session, "/groups"),
        can_manage: session.permissions().manage_groups,
        total: total(groups.len() as i64, "group", "groups"),
        name_header: order.header("/groups", &[], "name", "Name"),
        members_header: order.header("/groups", &[], "members", "Members"),
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

/// What the group's licenses did, for the flash after a change.
fn licenses_said(given: Option<&Given>) -> String {
    match given {
        None => " Their licenses are being assigned in the background: the group's page shows the progress.".into(),
        Some(g) if g.assigned == 0 && g.failed == 0 => already_said(g),
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
            said.push_str(&already_said(g));
            said
        }
    }
}

/// Members who held the product already take no license: say so, or they'd seem missed.
fn already_said(g: &Given) -> String {
    match g.already {
        0 => String::new(),
        n => format!(
            " {n} {} it already, so no license was used for them.",
            plural(n, "member had", "members had")
        ),
    }
}

/// Starts the background group licensing at once (`jobs::kick_group_licensing`).
fn run_in_background(state: &web::Data<AppState>) {
    crate::jobs::kick_group_licensing(state.pool.clone(), state.clock.clone());
}

fn held_said(until: Option<chrono::DateTime<chrono::Utc>>) -> String {
    until
        .map(|d| format!(" Their data is kept until {}.", d.format("%B %-d, %Y")))
        .unwrap_or_default()
}
