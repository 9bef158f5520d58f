//! A group's license > Apps: the apps a group's assignment of a product gives its members.

use super::*;
use crate::domain::ServiceId;
use crate::domain::groups::{GroupAppsChanged, GroupProductApps};
use crate::domain::licenses::DATA_HOLD;

#[derive(Template)]
#[template(path = "groups/apps.html")]
pub struct GroupAppsPage {
    frame: Frame,
    license: GroupProductApps,
    can_assign: bool,
    /// Until when the data of an app turned off now would be kept.
    hold_if_now: String,
}

/// GET /groups/{id}/licenses/{product}/apps
pub async fn apps_form(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        now,
    }: TenantRequest,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, WebError> {
    let (id, product) = path.into_inner();
    let (id, product) = (GroupId(id), ProductId(product));
    let license = state
        .db(move |conn| groups::group_apps(conn, &actor, tenant, id, product))
        .await?;
    let can_assign = session.permissions().assign_group_licenses;
    crate::web::render(&GroupAppsPage {
        frame: Frame::new(
            &format!("{}: {} apps", license.group_name, license.product_name),
            &session,
            "/groups",
        ),
        license,
        can_assign,
        hold_if_now: (now + DATA_HOLD).format("%B %-d, %Y").to_string(),
    })
}

#[derive(Deserialize)]
pub struct GroupAppsForm {
    /// The apps left checked: those the group gives.
    #[serde(default)]
    apps: Vec<i64>,
}

/// POST /groups/{id}/licenses/{product}/apps: Save apps.
pub async fn save_apps(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        now,
    }: TenantRequest,
    path: web::Path<(i64, i64)>,
    form: Form<GroupAppsForm>,
) -> Result<HttpResponse, WebError> {
    let (id, product) = path.into_inner();
    let (id, product) = (GroupId(id), ProductId(product));
    let on: Vec<ServiceId> = form.0.apps.into_iter().map(ServiceId).collect();
    let done = state
        .db(move |conn| groups::set_group_apps(conn, &actor, now, tenant, id, product, &on))
        .await?;
    flash(&session.session, apps_said(&done));
    Ok(redirect(&format!("/groups/{id}")))
}

/// What Save apps says: the apps turned off and on, for how many members, and the data hold.
fn apps_said(done: &GroupAppsChanged) -> String {
    if done.turned_off.is_empty() && done.turned_on.is_empty() {
        return "No changes to save.".to_owned();
    }
    let product = &done.product_name;
    let mut said = Vec::new();
    if !done.turned_off.is_empty() {
        said.push(format!(
            "Turned off {} ({product}) for the group.",
            done.turned_off.join(", ")
        ));
    }
    if !done.turned_on.is_empty() {
        said.push(format!(
            "Turned on {} ({product}) for the group.",
            done.turned_on.join(", ")
        ));
    }
    said.push(format!(
        "The apps of {} {} changed.",
        done.members_changed,
        plural(done.members_changed, "member", "members")
    ));
    if let Some(until) = done.data_held_until {
        said.push(format!(
            "Data of the apps turned off is kept until {}, then deleted; turning them back on before then keeps it.",
            until.format("%B %-d, %Y")
        ));
    }
    said.join(" ")
}
