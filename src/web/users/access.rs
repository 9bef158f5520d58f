//! A user's sessions and admin roles: Sign out everywhere, Save roles.

use super::*;

/// POST /users/{id}/sign-out-everywhere: ends every session of the user, in the admin center
/// and the service portal.
pub async fn sign_out_everywhere(
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
    let own = matches!(&actor, Actor::Admin { user, .. } if *user == id);
    let ended = state
        .db(move |conn| sessions::sign_out_user_everywhere(conn, &actor, now, tenant, id))
        .await?;
    if own {
        // This session ended with the others.
        crate::web::session::forget(&session.session);
        flash(
            &session.session,
            "You have signed out everywhere: every session of your account has ended.",
        );
        return Ok(redirect("/signin"));
    }
    flash(
        &session.session,
        format!(
            "Signed out everywhere: {ended} sessions ended. The user signs in again to continue."
        ),
    );
    Ok(redirect(&format!("/users/{}", id.0)))
}

#[derive(Deserialize)]
pub struct RolesForm {
    #[serde(default)]
    roles: Vec<String>,
}

/// POST /users/{id}/roles: gives the user exactly the checked admin roles.
pub async fn save_roles(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        now,
    }: TenantRequest,
    path: web::Path<i64>,
    form: Form<RolesForm>,
) -> Result<HttpResponse, WebError> {
    let id = UserId(path.into_inner());
    let roles = form
        .0
        .roles
        .iter()
        .map(|r| r.parse::<Role>())
        .collect::<Result<Vec<_>, _>>()?;
    let changed = state
        .db(move |conn| users::set_roles(conn, &actor, now, tenant, id, &roles))
        .await?;
    let message = if changed.given.is_empty() && changed.taken.is_empty() {
        "No roles changed.".to_owned()
    } else {
        "Roles saved. The user's sessions have ended: they sign in again with their new roles."
            .to_owned()
    };
    flash(&session.session, message);
    Ok(redirect(&format!("/users/{}", id.0)))
}
