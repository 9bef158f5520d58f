//! `/scim/v2/Users` and `/scim/v2/Users/{id}`.

use actix_web::{HttpRequest, HttpResponse, web};

use super::errors::ScimError;
use super::resources::{user_attributes, user_json};
use super::{ScimRequest, json_body, list_query, list_response, patch, projection};
use crate::domain::provisioning;

/// GET /Users: `filter` (`userName eq "…"` is what Entra ID asks first: an empty list when
/// nobody has it), `startIndex`, `count`, `attributes`, `excludedAttributes`.
pub async fn list(request: ScimRequest, req: HttpRequest) -> Result<HttpResponse, ScimError> {
    let query = list_query(&req)?;
    let filter = query.filter.clone();
    let window = query.window;
    let listed = request
        .db(move |conn, actor, tenant, _| {
            provisioning::find_users(conn, actor, tenant, filter.as_ref(), window)
        })
        .await?;
    let base = request.base().to_owned();
    Ok(list_response(
        listed,
        |u| user_json(u, &base),
        &query.projection,
    ))
}

pub async fn get(
    request: ScimRequest,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let guid = path.into_inner();
    let user = request
        .db(move |conn, actor, tenant, _| provisioning::find_user(conn, actor, tenant, &guid))
        .await?;
    if super::not_modified(&req, user.meta.version) {
        return Ok(HttpResponse::NotModified().finish());
    }
    let shown = projection(&super::parameters(&req)?).apply(user_json(&user, request.base()));
    Ok(super::resource_response(
        200,
        shown,
        user.meta.version,
        None,
    ))
}

/// POST /Users: 201 with the user and its `Location`; a taken userName is 409 `uniqueness`.
pub async fn create(
    request: ScimRequest,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    let attributes = user_attributes(&json_body(&req, &body)?)?;
    let user = request
        .db(move |conn, actor, tenant, now| {
            provisioning::create_user(conn, actor, now, tenant, &attributes)
        })
        .await?;
    let body = user_json(&user, request.base());
    let location = body["meta"]["location"].as_str().map(str::to_owned);
    Ok(super::resource_response(
        201,
        body,
        user.meta.version,
        location,
    ))
}

/// PUT /Users/{id}: the user becomes what was sent (attributes left out are cleared).
pub async fn replace(
    request: ScimRequest,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    let attributes = user_attributes(&json_body(&req, &body)?)?;
    let expected = super::if_match(&req);
    let guid = path.into_inner();
    let user = request
        .db(move |conn, actor, tenant, now| {
            provisioning::replace_user(conn, actor, now, tenant, &guid, expected, &attributes)
        })
        .await?;
    let body = user_json(&user, request.base());
    Ok(super::resource_response(200, body, user.meta.version, None))
}

/// PATCH /Users/{id}: the operations applied to the user as it is, saved as one change. The
/// read and the write are checked against one version, so a change made between them is
/// not overwritten (412 Precondition Failed, as with `If-Match`).
pub async fn patch(
    request: ScimRequest,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    let operations = patch::operations(&json_body(&req, &body)?)?;
    let expected = super::if_match(&req);
    let guid = path.into_inner();
    let read_guid = guid.clone();
    let current = request
        .db(move |conn, actor, tenant, _| provisioning::find_user(conn, actor, tenant, &read_guid))
        .await?;
    if expected.is_some_and(|v| v != current.meta.version) {
        return Err(crate::domain::DomainError::Stale.into());
    }
    let mut resource = user_json(&current, request.base());
    if current.email == current.user_name {
        // The email is the sign-in name: it follows a new userName unless the operations
        // give it a value of its own.
        if let Some(object) = resource.as_object_mut() {
            object.remove("emails");
        }
    }
    patch::apply_to_user(&mut resource, &operations)?;
    let attributes = user_attributes(&resource)?;
    let version = current.meta.version;
    let user = request
        .db(move |conn, actor, tenant, now| {
            provisioning::replace_user(conn, actor, now, tenant, &guid, Some(version), &attributes)
        })
        .await?;
    let body = user_json(&user, request.base());
    Ok(super::resource_response(200, body, user.meta.version, None))
}

/// DELETE /Users/{id}: 204; the user is deleted (restorable for 30 days in Deleted users),
/// their licenses freed, and from then on not found here.
pub async fn delete(
    request: ScimRequest,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let expected = super::if_match(&req);
    let guid = path.into_inner();
    request
        .db(move |conn, actor, tenant, now| {
            provisioning::delete_user(conn, actor, now, tenant, &guid, expected)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
