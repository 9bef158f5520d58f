//! Users: Active users, Add a user, a user's page with Licenses and apps, Manage product
//! licenses, Block sign-in, Reset password, Delete user, Deleted users and Restore, and Add
//! multiple users (a CSV import).

mod access;
mod bulk_delete;
mod export;
mod import;
mod lifecycle;
mod manage;

pub use access::*;
pub use bulk_delete::*;
pub use export::*;
pub use import::*;
pub use lifecycle::*;
pub use manage::*;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::forms::{Form, Query};
use super::frame::Frame;
use super::session::{TenantRequest, flash};
use super::sorting::{SortHeader, SortOrder, SortQuery};
use super::{WebError, redirect};
use crate::domain::licenses::{self, AppsChanged, LicenseApps, ManageMode, ManageOutcome};
use crate::domain::licenses::{DATA_HOLD, PoolSummary};
use crate::domain::users::{
    self, DeletedUser, NewUser, Restored, UserDetail, UserFilter, UserRow, UserSort,
};
use crate::domain::{Actor, DomainError, ProductId, Role, ServiceId, UserId, sessions};

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    filter: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    order: String,
    after_key: Option<String>,
    after_id: Option<i64>,
}

/// Active users sorts by Display name or Sign-in name (`?sort=email` as the old links say).
pub(crate) fn user_sort(sort: &str, order: &str) -> (SortOrder, UserSort) {
    let query = SortQuery {
        sort: sort.to_owned(),
        order: order.to_owned(),
    };
    let resolved = SortOrder::resolve(&query, &["name", "email"], false);
    let sort = match (resolved.column, resolved.descending) {
        ("email", false) => UserSort::Email,
        ("email", true) => UserSort::EmailDesc,
        (_, false) => UserSort::Name,
        (_, true) => UserSort::NameDesc,
    };
    (resolved, sort)
}

#[derive(Template)]
#[template(path = "users/list.html")]
pub struct ActiveUsersPage {
    frame: Frame,
    rows: Vec<UserRow>,
    products: Vec<PoolSummary>,
    q: String,
    filter: String,
    /// The order's parameters, for Export users and the page links.
    sort: String,
    order: String,
    headers: [SortHeader; 2],
    /// "1,234 users": how many the search and filter find.
    total: String,
    /// How many they are, for Select all N matching (offered when they fill more than a page).
    matches: i64,
    next_link: Option<String>,
    can_manage_users: bool,
    can_assign: bool,
}

fn parse_filter(filter: &str) -> UserFilter {
    match filter {
        "licensed" => UserFilter::Licensed,
        "unlicensed" => UserFilter::Unlicensed,
        "blocked" => UserFilter::Blocked,
        other => other
            .strip_prefix("product-")
            .and_then(|id| id.parse().ok())
            .map(|id| UserFilter::HasProduct(ProductId(id)))
            .unwrap_or(UserFilter::All),
    }
}

/// GET /users: Active users.
pub async fn list(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
    query: Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    let query = query.0;
    let filter = parse_filter(&query.filter);
    let (resolved, sort) = user_sort(&query.sort, &query.order);
    let after = query.after_key.clone().zip(query.after_id);
    let q = query.q.clone();
    let (page, products, matches) = state
        .db(move |conn| {
            let page = users::list(conn, &actor, tenant, &q, filter, sort, after)?;
            let products = users::assignable_products(conn, &actor, tenant)?;
            let matches = users::count(conn, &actor, tenant, &q, filter)?;
            Ok((page, products, matches))
        })
        .await?;
    let [(_, sort_param), (_, order_param)] = resolved.params();
    let next_link = page.next.map(|(key, id)| {
        format!(
            "/users?{}",
            serde_html_form::to_string([
                ("q", query.q.as_str()),
                ("filter", query.filter.as_str()),
                ("sort", sort_param),
                ("order", order_param),
                ("after_key", key.as_str()),
                ("after_id", id.to_string().as_str()),
            ])
            .unwrap_or_default()
        )
    });
    let keep = [("q", query.q.as_str()), ("filter", query.filter.as_str())];
    let headers = [
        resolved.header("/users", &keep, "name", "Display name"),
        resolved.header("/users", &keep, "email", "Sign-in name"),
    ];
    let permissions = session.permissions();
    super::render(&ActiveUsersPage {
        frame: Frame::new("Active users", &session, "/users"),
        rows: page.rows,
        products: products
            .into_iter()
            .filter(|p| p.self_service.is_none())
            .collect(),
        q: query.q,
        filter: query.filter,
        sort: query.sort,
        order: query.order,
        headers,
        total: super::sorting::total(matches, "user", "users"),
        matches,
        next_link,
        can_manage_users: permissions.manage_users,
        can_assign: permissions.assign_licenses,
    })
}

#[derive(Template)]
#[template(path = "users/show.html")]
pub struct UserPage {
    frame: Frame,
    user: UserDetail,
    products: Vec<PoolSummary>,
    /// Licenses and apps > Apps: each license the user holds with its apps.
    apps: Vec<LicenseApps>,
    /// Until when the data of an app turned off now would be kept, for the Apps section's note.
    hold_if_now: String,
    can_assign: bool,
    can_manage_users: bool,
    /// Some license comes only from a group: the page says how to change it.
    has_inherited: bool,
    /// The groups the user is a member of.
    groups: Vec<(crate::domain::GroupId, String)>,
    /// Sign out everywhere.
    can_end_sessions: bool,
    /// Name and sign-in name: whether the actor may change them, and the form's values.
    can_rename: bool,
    rename: RenameAttempt,
    /// Every admin role and whether the user holds it, when the actor may give and take roles.
    role_choices: Option<Vec<(Role, bool)>>,
}

/// GET /users/{id}: the user's page, with Licenses and apps.
pub async fn show(request: TenantRequest, path: web::Path<i64>) -> Result<HttpResponse, WebError> {
    let page = user_page(&request, UserId(path.into_inner()), None).await?;
    super::render(&page)
}

/// The name form as sent back with what was wrong, shown again on the user's page.
pub struct RenameAttempt {
    pub display_name: String,
    pub email: String,
    pub error: String,
}

async fn user_page(
    request: &TenantRequest,
    id: UserId,
    rename: Option<RenameAttempt>,
) -> Result<UserPage, WebError> {
    let (user, products, offer, apps, groups) = request
        .db(move |conn, actor, tenant, _| {
            let user = users::get(conn, actor, tenant, id)?;
            let apps = if user.state.is_deleted() {
                Vec::new()
            } else {
                licenses::apps_of(conn, actor, tenant, id)?
            };
            Ok((
                user,
                users::assignable_products(conn, actor, tenant)?,
                users::offer(conn, actor, tenant, id)?,
                apps,
                crate::domain::groups::of_user(conn, actor, tenant, id)?,
            ))
        })
        .await?;
    if user.state.is_deleted() {
        return Err(DomainError::NotFound.into());
    }
    let session = &request.session;
    Ok(UserPage {
        frame: Frame::new(&user.display_name, session, "/users"),
        products: products
            .into_iter()
            .filter(|p| p.self_service.is_none())
            .collect(),
        apps,
        hold_if_now: long_date(request.now + DATA_HOLD),
        can_assign: offer.assign,
        has_inherited: user.licenses.iter().any(|l| l.only_inherited()),
        groups,
        can_manage_users: offer.change,
        can_rename: offer.rename,
        rename: rename.unwrap_or_else(|| RenameAttempt {
            display_name: user.display_name.clone(),
            email: user.email.clone(),
            error: String::new(),
        }),
        can_end_sessions: offer.end_sessions,
        role_choices: session.permissions().manage_roles.then(|| {
            Role::ALL
                .into_iter()
                .map(|r| (r, user.roles.contains(&r)))
                .collect()
        }),
        user,
    })
}

#[derive(Deserialize)]
pub struct RenameForm {
    display_name: String,
    email: String,
}

/// POST /users/{id}/name: Name and sign-in name → Save. What can't be saved (a sign-in name
/// in use, at another domain, an empty name) is said next to the form, with what was typed.
pub async fn rename(
    request: TenantRequest,
    path: web::Path<i64>,
    form: Form<RenameForm>,
) -> Result<HttpResponse, WebError> {
    let id = UserId(path.into_inner());
    let RenameForm {
        display_name,
        email,
    } = form.0;
    let (name, mail) = (display_name.clone(), email.clone());
    let done = request
        .db(move |conn, actor, tenant, now| {
            users::rename(conn, actor, now, tenant, id, &name, &mail)
        })
        .await;
    match done {
        Ok(renamed) => {
            let message = match (renamed.display_name, renamed.sign_in_name) {
                (false, false) => "Nothing to save: the name and sign-in name are as they were.",
                (_, true) => "Saved. The user signs in with the new sign-in name from now on.",
                (true, false) => "Saved the display name.",
            };
            flash(&request.session.session, message);
            Ok(redirect(&format!("/users/{}", id.0)))
        }
        Err(WebError::Domain(DomainError::Invalid { message, .. })) => {
            let attempt = RenameAttempt {
                display_name,
                email,
                error: message,
            };
            let page = user_page(&request, id, Some(attempt)).await?;
            super::render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct ProductsForm {
    #[serde(default)]
    products: Vec<i64>,
    #[serde(default)]
    confirm: Option<String>,
}

/// POST /users/{id}/licenses: Licenses and apps → Save changes; first a confirmation when it
/// removes a license.
pub async fn save_licenses(
    request: TenantRequest,
    path: web::Path<i64>,
    form: Form<ProductsForm>,
) -> Result<HttpResponse, WebError> {
    let id = UserId(path.into_inner());
    let form = form.0;
    let products: Vec<ProductId> = form.products.iter().copied().map(ProductId).collect();
    let page = format!("/users/{}", id.0);
    if form.confirm.as_deref() != Some("yes") {
        let kept = products.clone();
        let planned = request
            .db(move |conn, actor, tenant, now| {
                // Save changes gives the user exactly the boxes left checked.
                let replace = ManageMode::Replace;
                licenses::planned_removals(conn, actor, now, tenant, &[id], replace, &kept)
            })
            .await?;
        let fields = form
            .products
            .iter()
            .map(|p| ("products", p.to_string()))
            .collect();
        let action = format!("{page}/licenses");
        if let Some(confirm) = manage::removal_page(&request, planned, action, fields, page.clone())
        {
            return super::render(&confirm);
        }
    }
    let (added, removed) = request
        .db(move |conn, actor, tenant, now| {
            licenses::set_licenses(conn, actor, now, tenant, id, &products)
        })
        .await?;
    let message = if added + removed == 0 {
        "No changes to save.".to_owned()
    } else {
        format!("Saved changes: {added} assigned, {removed} unassigned.")
    };
    flash(&request.session.session, message);
    Ok(redirect(&page))
}

/// A date as the pages and confirmations write it: "December 5, 2026".
fn long_date(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%B %-d, %Y").to_string()
}

#[derive(Deserialize)]
pub struct AppsForm {
    /// The apps left checked: those to keep on.
    #[serde(default)]
    apps: Vec<i64>,
}

/// POST /users/{id}/apps/{product}: Licenses and apps > Apps → Save apps.
pub async fn save_apps(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        now,
    }: TenantRequest,
    path: web::Path<(i64, i64)>,
    form: Form<AppsForm>,
) -> Result<HttpResponse, WebError> {
    let (id, product) = path.into_inner();
    let (id, product) = (UserId(id), ProductId(product));
    let on: Vec<ServiceId> = form.0.apps.into_iter().map(ServiceId).collect();
    let done = state
        .db(move |conn| licenses::set_apps(conn, &actor, now, tenant, id, product, &on))
        .await?;
    flash(&session.session, apps_message(&done));
    Ok(redirect(&format!("/users/{}", id.0)))
}

/// What Save apps says it did: each app turned off or on, and until when held data is kept.
fn apps_message(done: &AppsChanged) -> String {
    if done.turned_off.is_empty() && done.turned_on.is_empty() {
        return "No changes to save.".to_owned();
    }
    let product = &done.product_name;
    let mut said = Vec::new();
    for app in &done.turned_off {
        said.push(format!("Turned off {} ({product}).", app.name));
        if let Some(until) = app.held_until {
            said.push(format!(
                "Its data is kept until {}, then deleted; turning it back on before then keeps it.",
                long_date(until)
            ));
        }
    }
    for app in &done.turned_on {
        said.push(format!("Turned on {} ({product}).", app.name));
        if app.data_kept {
            said.push("Its data was still held and is kept.".to_owned());
        }
    }
    said.join(" ")
}
