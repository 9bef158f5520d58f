//! Users: Active users, Add a user, a user's page with Licenses and apps, Manage product
//! licenses, Block sign-in, Reset password, Delete user, Deleted users and Restore.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::forms::{Form, Query};
use super::frame::Frame;
use super::session::{AdminSession, flash};
use super::{AppState, WebError, redirect};
use crate::domain::licenses::PoolSummary;
use crate::domain::licenses::{self, ManageMode, ManageOutcome};
use crate::domain::users::{
    self, DeletedUser, NewUser, Restored, UserDetail, UserFilter, UserRow, UserSort,
};
use crate::domain::{DomainError, ProductId, UserId};

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    filter: String,
    #[serde(default)]
    sort: String,
    after_key: Option<String>,
    after_id: Option<i64>,
}

#[derive(Template)]
#[template(path = "users/list.html")]
pub struct ActiveUsersPage {
    frame: Frame,
    rows: Vec<UserRow>,
    products: Vec<PoolSummary>,
    q: String,
    filter: String,
    sort: String,
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
    session: AdminSession,
    state: web::Data<AppState>,
    query: Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let query = query.0;
    let filter = parse_filter(&query.filter);
    let sort = if query.sort == "email" {
        UserSort::Email
    } else {
        UserSort::Name
    };
    let after = query.after_key.clone().zip(query.after_id);
    let q = query.q.clone();
    let (page, products) = state
        .db(move |conn| {
            let page = users::list(conn, &actor, tenant, &q, filter, sort, after)?;
            let products = users::assignable_products(conn, &actor, tenant)?;
            Ok((page, products))
        })
        .await?;
    let next_link = page.next.map(|(key, id)| {
        format!(
            "/users?{}",
            serde_html_form::to_string([
                ("q", query.q.as_str()),
                ("filter", query.filter.as_str()),
                ("sort", query.sort.as_str()),
                ("after_key", key.as_str()),
                ("after_id", id.to_string().as_str()),
            ])
            .unwrap_or_default()
        )
    });
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
    can_assign: bool,
    can_manage_users: bool,
}

/// GET /users/{id}: the user's page, with Licenses and apps.
pub async fn show(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let id = UserId(path.into_inner());
    let (user, products, offer) = state
        .db(move |conn| {
            Ok((
                users::get(conn, &actor, tenant, id)?,
                users::assignable_products(conn, &actor, tenant)?,
                users::offer(conn, &actor, tenant, id)?,
            ))
        })
        .await?;
    if user.state.is_deleted() {
        return Err(DomainError::NotFound.into());
    }
    super::render(&UserPage {
        frame: Frame::new(&user.display_name, &session, "/users"),
        products: products
            .into_iter()
            .filter(|p| p.self_service.is_none())
            .collect(),
        can_assign: offer.assign,
        can_manage_users: offer.change,
        user,
    })
}

#[derive(Deserialize)]
pub struct ProductsForm {
    #[serde(default)]
    products: Vec<i64>,
}

/// POST /users/{id}/licenses: Licenses and apps → Save changes.
pub async fn save_licenses(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<ProductsForm>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let now = state.clock.now();
    let id = UserId(path.into_inner());
    let products: Vec<ProductId> = form.0.products.into_iter().map(ProductId).collect();
    let (added, removed) = state
        .db(move |conn| licenses::set_licenses(conn, &actor, now, tenant, id, &products))
        .await?;
    let message = if added + removed == 0 {
        "No changes to save.".to_owned()
    } else {
        format!("Saved changes: {added} assigned, {removed} unassigned.")
    };
    flash(&session.session, message);
    Ok(redirect(&format!("/users/{}", id.0)))
}

#[derive(Template)]
#[template(path = "users/new.html")]
pub struct NewUserPage {
    frame: Frame,
    products: Vec<PoolSummary>,
    domain: String,
    display_name: String,
    email: String,
    chosen: Vec<i64>,
    error: Option<String>,
}

async fn new_user_page(
    session: &AdminSession,
    state: &web::Data<AppState>,
    form: Option<&NewUserForm>,
    error: Option<String>,
) -> Result<NewUserPage, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let (products, tenant_row) = state
        .db(move |conn| {
            Ok((
                users::assignable_products(conn, &actor, tenant)?,
                crate::domain::tenants::get(conn, &actor, tenant)?,
            ))
        })
        .await?;
    Ok(NewUserPage {
        frame: Frame::new("Add a user", session, "/users"),
        products: products
            .into_iter()
            .filter(|p| p.self_service.is_none())
            .collect(),
        domain: tenant_row.domain,
        display_name: form.map(|f| f.display_name.clone()).unwrap_or_default(),
        email: form.map(|f| f.email.clone()).unwrap_or_default(),
        chosen: form.map(|f| f.products.clone()).unwrap_or_default(),
        error,
    })
}

/// GET /users/new: Add a user.
pub async fn new_form(
    session: AdminSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    session.tenant()?;
    session.require(|p| p.manage_users)?;
    let page = new_user_page(&session, &state, None, None).await?;
    super::render(&page)
}

#[derive(Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password_choice: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    products: Vec<i64>,
}

#[derive(Template)]
#[template(path = "users/password.html")]
pub struct PasswordPage {
    frame: Frame,
    heading: &'static str,
    user_id: i64,
    email: String,
    password: Option<String>,
    note: String,
}

/// POST /users/new
pub async fn create(
    session: AdminSession,
    state: web::Data<AppState>,
    form: Form<NewUserForm>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let now = state.clock.now();
    let form = form.0;
    let new = NewUser {
        display_name: form.display_name.clone(),
        email: form.email.clone(),
        password: (form.password_choice == "own").then(|| form.password.clone()),
        products: form.products.iter().copied().map(ProductId).collect(),
    };
    match state
        .db(move |conn| users::create(conn, &actor, now, tenant, &new))
        .await
    {
        Ok(created) => super::render(&PasswordPage {
            frame: Frame::new("User added", &session, "/users"),
            heading: "User added",
            user_id: created.user.0,
            email: created.email,
            password: created.generated_password,
            note: format!(
                "{} can now sign in to the service portal{}.",
                form.display_name.trim(),
                if form.products.is_empty() {
                    "; assign licenses to let them use the service"
                } else {
                    ""
                }
            ),
        }),
        Err(WebError::Domain(e)) if super::errors::is_for_the_form(&e) => {
            let status = super::errors::status_of(&e);
            let page = new_user_page(&session, &state, Some(&form), Some(e.to_string())).await?;
            super::render_with(status, &page)
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password_choice: String,
    #[serde(default)]
    password: String,
}

/// POST /users/{id}/reset-password
pub async fn reset_password(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<ResetForm>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let now = state.clock.now();
    let id = UserId(path.into_inner());
    let typed = (form.0.password_choice == "own").then_some(form.0.password);
    let (generated, detail) = state
        .db(move |conn| {
            let generated = users::reset_password(conn, &actor, now, tenant, id, typed.as_deref())?;
            Ok((generated, users::get(conn, &actor, tenant, id)?))
        })
        .await?;
    super::render(&PasswordPage {
        frame: Frame::new("Password reset", &session, "/users"),
        heading: "Password reset",
        user_id: id.0,
        email: detail.email,
        password: generated,
        note: "Give the new password to the user. Their old password no longer works.".into(),
    })
}

#[derive(Deserialize)]
pub struct BlockForm {
    blocked: String,
}

/// POST /users/{id}/block: Block sign-in (blocked=yes) or Unblock sign-in (blocked=no).
pub async fn block(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<BlockForm>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let now = state.clock.now();
    let id = UserId(path.into_inner());
    let blocked = match form.0.blocked.as_str() {
        "yes" => true,
        "no" => false,
        _ => return Err(WebError::BadForm),
    };
    state
        .db(move |conn| users::set_blocked(conn, &actor, now, tenant, id, blocked))
        .await?;
    flash(
        &session.session,
        if blocked {
            "Sign-in blocked. The user can't sign in until you unblock them."
        } else {
            "Sign-in allowed again."
        },
    );
    Ok(redirect(&format!("/users/{}", id.0)))
}

#[derive(Template)]
#[template(path = "users/delete.html")]
pub struct DeletePage {
    frame: Frame,
    user: UserDetail,
}

/// GET /users/{id}/delete: the confirmation.
pub async fn delete_form(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let id = UserId(path.into_inner());
    let user = state
        .db(move |conn| users::to_delete(conn, &actor, tenant, id))
        .await?;
    if user.state.is_deleted() {
        return Err(DomainError::NotFound.into());
    }
    super::render(&DeletePage {
        frame: Frame::new("Delete user", &session, "/users"),
        user,
    })
}

/// POST /users/{id}/delete
pub async fn delete(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    _form: Form<super::NoFields>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let now = state.clock.now();
    let id = UserId(path.into_inner());
    state
        .db(move |conn| users::delete(conn, &actor, now, tenant, id))
        .await?;
    flash(
        &session.session,
        format!(
            "User deleted. Their licenses are available to assign to someone else. You can restore the user from Deleted users for {} days.",
            users::RESTORE_DAYS
        ),
    );
    Ok(redirect("/users"))
}

#[derive(Template)]
#[template(path = "users/deleted.html")]
pub struct DeletedPage {
    frame: Frame,
    rows: Vec<DeletedUser>,
    can_restore: bool,
}

/// GET /users/deleted
pub async fn deleted(
    session: AdminSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let rows = state
        .db(move |conn| users::deleted(conn, &actor, tenant))
        .await?;
    super::render(&DeletedPage {
        frame: Frame::new("Deleted users", &session, "/users/deleted"),
        can_restore: session.permissions().manage_users,
        rows,
    })
}

#[derive(Template)]
#[template(path = "users/restored.html")]
pub struct RestoredPage {
    frame: Frame,
    user_id: i64,
    restored: Restored,
}

/// POST /users/{id}/restore
pub async fn restore(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    _form: Form<super::NoFields>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let now = state.clock.now();
    let id = UserId(path.into_inner());
    let restored = state
        .db(move |conn| users::restore(conn, &actor, now, tenant, id))
        .await?;
    super::render(&RestoredPage {
        frame: Frame::new("User restored", &session, "/users/deleted"),
        user_id: id.0,
        restored,
    })
}

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
    session: &AdminSession,
    state: &web::Data<AppState>,
    ids: Vec<i64>,
    error: Option<String>,
) -> Result<ManagePage, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let (chosen, products) = state
        .db(move |conn| {
            let mut chosen = Vec::new();
            for id in ids {
                let u = users::get(conn, &actor, tenant, UserId(id))?;
                chosen.push((u.id.0, u.display_name, u.email));
            }
            Ok((chosen, users::assignable_products(conn, &actor, tenant)?))
        })
        .await?;
    Ok(ManagePage {
        frame: Frame::new("Manage product licenses", session, "/users"),
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
    session: AdminSession,
    state: web::Data<AppState>,
    query: Query<ManageQuery>,
) -> Result<HttpResponse, WebError> {
    session.tenant()?;
    session.require(|p| p.assign_licenses)?;
    if query.0.users.is_empty() {
        flash(
            &session.session,
            "Select the users whose licenses you want to manage, then select Manage product licenses.",
        );
        return Ok(redirect("/users"));
    }
    let page = manage_page(&session, &state, query.0.users, None).await?;
    super::render(&page)
}

#[derive(Deserialize)]
pub struct ManageForm {
    #[serde(default)]
    users: Vec<i64>,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    products: Vec<i64>,
}

#[derive(Template)]
#[template(path = "users/managed.html")]
pub struct ManagedPage {
    frame: Frame,
    outcomes: Vec<ManageOutcome>,
}

/// POST /users/manage: Save changes, then the result and Done.
pub async fn manage(
    session: AdminSession,
    state: web::Data<AppState>,
    form: Form<ManageForm>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let now = state.clock.now();
    let form = form.0;
    let mode = match form.mode.as_str() {
        "assign" => ManageMode::AssignMore,
        "replace" => ManageMode::Replace,
        "unassign" => ManageMode::UnassignAll,
        _ => {
            let page = manage_page(
                &session,
                &state,
                form.users,
                Some("Choose Assign more, Replace or Unassign all.".into()),
            )
            .await?;
            return super::render_with(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let ids: Vec<UserId> = form.users.iter().copied().map(UserId).collect();
    let products: Vec<ProductId> = form.products.iter().copied().map(ProductId).collect();
    match state
        .db(move |conn| licenses::manage_licenses(conn, &actor, now, tenant, &ids, mode, &products))
        .await
    {
        Ok(outcomes) => super::render(&ManagedPage {
            frame: Frame::new("Manage product licenses", &session, "/users"),
            outcomes,
        }),
        Err(WebError::Domain(e @ DomainError::Invalid { .. })) => {
            let page = manage_page(&session, &state, form.users, Some(e.to_string())).await?;
            super::render_with(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e),
    }
}
