//! `POST /api/v1/users`, `PATCH /api/v1/users/{id}` and `DELETE /api/v1/users/{id}`, as
//! Graph's: the same domain functions as SCIM provisioning (`domain::provisioning`), so a
//! user made by a script, by Entra ID or on the Add a user page follows the same rules.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::users::{user_entity, user_key};
use super::{ApiError, ApiRequest};
use crate::domain::DomainError;
use crate::domain::provisioning::{self, ProvisionedUser, UserAttributes};
use crate::domain::users::{self, UserKey};

/// Graph's `passwordProfile`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordProfile {
    password: Option<String>,
    // Accepted as Graph's clients send them; allot has no forced change at next sign-in.
    #[allow(dead_code)]
    force_change_password_next_sign_in: Option<bool>,
    #[allow(dead_code)]
    force_change_password_next_sign_in_with_mfa: Option<bool>,
}

/// The body of POST /users, with Graph's required properties.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUserBody {
    #[serde(rename = "@odata.type", default)]
    #[allow(dead_code)]
    odata_type: Option<String>,
    account_enabled: Option<bool>,
    display_name: String,
    /// Graph requires it; allot has no mail nickname and keeps nothing of it.
    #[allow(dead_code)]
    mail_nickname: Option<String>,
    user_principal_name: String,
    given_name: Option<String>,
    surname: Option<String>,
    mail: Option<String>,
    password_profile: Option<PasswordProfile>,
}

/// The body of PATCH /users/{id}: only what changes.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserChangesBody {
    #[serde(rename = "@odata.type", default)]
    #[allow(dead_code)]
    odata_type: Option<String>,
    account_enabled: Option<bool>,
    display_name: Option<String>,
    #[allow(dead_code)]
    mail_nickname: Option<String>,
    user_principal_name: Option<String>,
    given_name: Option<String>,
    surname: Option<String>,
    mail: Option<String>,
    password_profile: Option<PasswordProfile>,
}

/// A value the domain refused is a 400 naming it, as Graph answers.
fn rejected(e: ApiError) -> ApiError {
    match e {
        ApiError::Domain(DomainError::Invalid { field, message }) => ApiError::Rejected {
            target: match field {
                "userName" | "email" => "userPrincipalName",
                "emails" => "mail",
                "name.givenName" => "givenName",
                "name.familyName" => "surname",
                other => other,
            },
            message,
        },
        other => other,
    }
}

#[utoipa::path(
    post, path = "/users", tag = "users",
    summary = "Add a user",
    description = "Adds a user as Graph's POST /users does; without passwordProfile.password \
                   the user has no password until an admin resets it.",
    request_body = NewUserBody,
    responses(
        (status = 201, description = "The user added", body = super::users::UserEntity),
        (status = 400, description = "A value refused (named in target), or a body that can't be read", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
        (status = 409, description = "The userPrincipalName is taken", body = super::ErrorBody),
    ),
    security(("bearer" = ["users.write"]))
)]
/// POST /api/v1/users (`users.write`): 201 with the user. A taken userPrincipalName is 409;
/// without `passwordProfile.password` the user has no password until an admin resets it.
pub async fn create(
    request: ApiRequest,
    body: web::Json<NewUserBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let attributes = UserAttributes {
        user_name: body.user_principal_name,
        display_name: Some(body.display_name),
        given_name: body.given_name.unwrap_or_default(),
        family_name: body.surname.unwrap_or_default(),
        external_id: None,
        email: body.mail,
        active: body.account_enabled.unwrap_or(true),
        password: body.password_profile.and_then(|p| p.password),
    };
    let user = request
        .db(move |conn, actor, tenant, now| {
            let created = provisioning::create_user(conn, actor, now, tenant, &attributes)?;
            users::directory_user(conn, actor, tenant, &UserKey::Guid(created.guid))
        })
        .await
        .map_err(rejected)?;
    let body = user_entity(user, &request.state.api.base_url);
    let text = serde_json::to_string(&body).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Created()
        .content_type("application/json")
        .body(text))
}

/// The user as they are, as attributes to change: the work email only when it isn't the
/// sign-in name, so a new sign-in name doesn't leave the old one behind as the email.
fn as_attributes(user: ProvisionedUser) -> UserAttributes {
    UserAttributes {
        email: (user.email != user.user_name).then_some(user.email),
        display_name: Some(user.display_name),
        given_name: user.given_name,
        family_name: user.family_name,
        external_id: user.external_id,
        active: user.active,
        user_name: user.user_name,
        password: None,
    }
}

/// The GUID of the user the address names (by GUID or sign-in name, as Graph's).
fn guid_of(
    conn: &mut crate::domain::DbConnection,
    actor: &crate::domain::Actor,
    tenant: crate::domain::TenantId,
    key: &UserKey,
) -> Result<String, DomainError> {
    Ok(users::directory_user(conn, actor, tenant, key)?.guid)
}

#[utoipa::path(
    patch, path = "/users/{id}", tag = "users",
    summary = "Change a user",
    description = "Changes the properties sent; a password is not changed through the API.",
    params(("id" = String, Path, description = "The user's id (GUID) or sign-in name")),
    request_body = UserChangesBody,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "A value refused (named in target), or a body that can't be read", body = super::ErrorBody),
        (status = 403, description = "The token's scopes or the user's roles don't allow it", body = super::ErrorBody),
        (status = 404, description = "No such user in the organization", body = super::ErrorBody),
        (status = 409, description = "The user changed meanwhile, or the sign-in name is taken", body = super::ErrorBody),
    ),
    security(("bearer" = ["users.write"]))
)]
/// PATCH /api/v1/users/{id} (`users.write`): 204. The change and the read it is made on are
/// one version: a change made in between is not overwritten (409, try again).
pub async fn update(
    request: ApiRequest,
    path: web::Path<String>,
    body: web::Json<UserChangesBody>,
) -> Result<HttpResponse, ApiError> {
    let key = user_key(path.into_inner());
    let body = body.into_inner();
    if body
        .password_profile
        .as_ref()
        .is_some_and(|p| p.password.is_some())
    {
        return Err(DomainError::Refused(
            "A password can't be changed through the API; an admin resets it (Active users > \
             Reset password)."
                .into(),
        )
        .into());
    }
    request
        .db(move |conn, actor, tenant, now| {
            let guid = guid_of(conn, actor, tenant, &key)?;
            let current = provisioning::find_user(conn, actor, tenant, &guid)?;
            let version = current.meta.version;
            let mut attributes = as_attributes(current);
            if let Some(enabled) = body.account_enabled {
                attributes.active = enabled;
            }
            if let Some(name) = body.display_name {
                attributes.display_name = Some(name);
            }
            if let Some(upn) = body.user_principal_name {
                attributes.user_name = upn;
            }
            if let Some(given) = body.given_name {
                attributes.given_name = given;
            }
            if let Some(surname) = body.surname {
                attributes.family_name = surname;
            }
            if let Some(mail) = body.mail {
                attributes.email = Some(mail);
            }
            provisioning::replace_user(conn, actor, now, tenant, &guid, Some(version), &attributes)
                .map_err(|e| match e {
                    DomainError::Stale => DomainError::Conflict(
                        "The user changed while this change was made. Try again.".into(),
                    ),
                    other => other,
                })
        })
        .await
        .map_err(rejected)?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    delete, path = "/users/{id}", tag = "users",
    summary = "Delete a user",
    description = "The user is in Deleted users for 30 days; their licenses are freed at once.",
    params(("id" = String, Path, description = "The user's id (GUID) or sign-in name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "The token's scopes or the user's roles don't allow it", body = super::ErrorBody),
        (status = 404, description = "No such user in the organization", body = super::ErrorBody),
        (status = 409, description = "A user who can't be deleted this way (your own account)", body = super::ErrorBody),
    ),
    security(("bearer" = ["users.write"]))
)]
/// DELETE /api/v1/users/{id} (`users.write`): 204; the user is in Deleted users for 30 days,
/// their licenses freed.
pub async fn delete(
    request: ApiRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = user_key(path.into_inner());
    request
        .db(move |conn, actor, tenant, now| {
            let guid = guid_of(conn, actor, tenant, &key)?;
            provisioning::delete_user(conn, actor, now, tenant, &guid, None)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
