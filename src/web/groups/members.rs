//! Add members and Remove members, and how a change to a group's licenses is told.

use super::*;

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
    crate::web::render(&AddMembersPage {
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
