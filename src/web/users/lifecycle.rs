//! Add a user, Reset password, Block sign-in, Delete user, Deleted users and Restore.

use super::*;

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
    request: &TenantRequest,
    form: Option<&NewUserForm>,
    error: Option<String>,
) -> Result<NewUserPage, WebError> {
    let (products, tenant_row) = request
        .db(move |conn, actor, tenant, _| {
            Ok((
                users::assignable_products(conn, actor, tenant)?,
                crate::domain::tenants::get(conn, actor, tenant)?,
            ))
        })
        .await?;
    Ok(NewUserPage {
        frame: Frame::new("Add a user", &request.session, "/users"),
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
pub async fn new_form(request: TenantRequest) -> Result<HttpResponse, WebError> {
    request.session.require(|p| p.manage_users)?;
    let page = new_user_page(&request, None, None).await?;
    crate::web::render(&page)
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
    request: TenantRequest,
    form: Form<NewUserForm>,
) -> Result<HttpResponse, WebError> {
    let form = form.0;
    let new = NewUser {
        display_name: form.display_name.clone(),
        email: form.email.clone(),
        password: (form.password_choice == "own").then(|| form.password.clone()),
        products: form.products.iter().copied().map(ProductId).collect(),
    };
    match request
        .db(move |conn, actor, tenant, now| users::create(conn, actor, now, tenant, &new))
        .await
    {
        Ok(created) => crate::web::render(&PasswordPage {
            frame: Frame::new("User added", &request.session, "/users"),
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
        Err(WebError::Domain(e)) if crate::web::errors::is_for_the_form(&e) => {
            let status = crate::web::errors::status_of(&e);
            let page = new_user_page(&request, Some(&form), Some(e.to_string())).await?;
            crate::web::render_with(status, &page)
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
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        now,
    }: TenantRequest,
    path: web::Path<i64>,
    form: Form<ResetForm>,
) -> Result<HttpResponse, WebError> {
    let id = UserId(path.into_inner());
    let typed = (form.0.password_choice == "own").then_some(form.0.password);
    let (generated, detail) = state
        .db(move |conn| {
            let generated = users::reset_password(conn, &actor, now, tenant, id, typed.as_deref())?;
            Ok((generated, users::get(conn, &actor, tenant, id)?))
        })
        .await?;
    crate::web::render(&PasswordPage {
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
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        now,
    }: TenantRequest,
    path: web::Path<i64>,
    form: Form<BlockForm>,
) -> Result<HttpResponse, WebError> {
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
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    let id = UserId(path.into_inner());
    let user = state
        .db(move |conn| users::to_delete(conn, &actor, tenant, id))
        .await?;
    if user.state.is_deleted() {
        return Err(DomainError::NotFound.into());
    }
    crate::web::render(&DeletePage {
        frame: Frame::new("Delete user", &session, "/users"),
        user,
    })
}

/// POST /users/{id}/delete
pub async fn delete(
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
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
) -> Result<HttpResponse, WebError> {
    let rows = state
        .db(move |conn| users::deleted(conn, &actor, tenant))
        .await?;
    crate::web::render(&DeletedPage {
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
    let id = UserId(path.into_inner());
    let restored = state
        .db(move |conn| users::restore(conn, &actor, now, tenant, id))
        .await?;
    crate::web::render(&RestoredPage {
        frame: Frame::new("User restored", &session, "/users/deleted"),
        user_id: id.0,
        restored,
    })
}
