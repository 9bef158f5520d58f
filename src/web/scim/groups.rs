//! `/scim/v2/Groups` and `/scim/v2/Groups/{id}`. Membership drives group-based licensing:
//! a member added gets the group's licenses, one removed loses them (with the data hold).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::errors::ScimError;
use super::resources::{group_attributes, group_json};
use super::{ScimRequest, json_body, list_query, list_response, patch, projection};
use crate::domain::provisioning::{self, GroupChanges, MemberChange};

pub async fn list(request: ScimRequest, req: HttpRequest) -> Result<HttpResponse, ScimError> {
    let query = list_query(&req)?;
    let filter = query.filter.clone();
    let window = query.window;
    // A big group's members are read only when they are to be sent.
    let members = query.projection.includes("members");
    let listed = request
        .db(move |conn, actor, tenant, _| {
            provisioning::find_groups(conn, actor, tenant, filter.as_ref(), window, members)
        })
        .await?;
    let base = request.base().to_owned();
    Ok(list_response(
        listed,
        |g| group_json(g, &base),
        &query.projection,
    ))
}

pub async fn get(
    request: ScimRequest,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let projection = projection(&super::parameters(&req)?);
    let members = projection.includes("members");
    let guid = path.into_inner();
    let group = request
        .db(move |conn, actor, tenant, _| {
            provisioning::find_group(conn, actor, tenant, &guid, members)
        })
        .await?;
    if super::not_modified(&req, group.meta.version) {
        return Ok(HttpResponse::NotModified().finish());
    }
    let shown = projection.apply(group_json(&group, request.base()));
    Ok(super::resource_response(
        200,
        shown,
        group.meta.version,
        None,
    ))
}

/// POST /Groups: 201 with the group; a name the tenant has is 409 `uniqueness`.
pub async fn create(
    request: ScimRequest,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    let attributes = group_attributes(&json_body(&req, &body)?)?;
    let group = request
        .db(move |conn, actor, tenant, now| {
            provisioning::create_group(conn, actor, now, tenant, &attributes)
        })
        .await?;
    let body = group_json(&group, request.base());
    let location = body["meta"]["location"].as_str().map(str::to_owned);
    Ok(super::resource_response(
        201,
        body,
        group.meta.version,
        location,
    ))
}

async fn change(
    request: ScimRequest,
    req: HttpRequest,
    guid: String,
    changes: GroupChanges,
) -> Result<HttpResponse, ScimError> {
    let expected = super::if_match(&req);
    let group = request
        .db(move |conn, actor, tenant, now| {
            provisioning::change_group(conn, actor, now, tenant, &guid, expected, &changes)
        })
        .await?;
    let body = group_json(&group, request.base());
    Ok(super::resource_response(
        200,
        body,
        group.meta.version,
        None,
    ))
}

/// PUT /Groups/{id}: name, externalId and members become what was sent.
pub async fn replace(
    request: ScimRequest,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    let attributes = group_attributes(&json_body(&req, &body)?)?;
    let changes = GroupChanges {
        display_name: Some(attributes.display_name),
        external_id: Some(attributes.external_id),
        members: vec![MemberChange::Replace(attributes.members)],
    };
    change(request, req, path.into_inner(), changes).await
}

/// PATCH /Groups/{id}: every operation or none.
pub async fn patch(
    request: ScimRequest,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    let operations = patch::operations(&json_body(&req, &body)?)?;
    let changes = patch::group_changes(&operations)?;
    change(request, req, path.into_inner(), changes).await
}

/// DELETE /Groups/{id}: 204; refused (409) while the group carries licenses, as on its page.
pub async fn delete(
    request: ScimRequest,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let expected = super::if_match(&req);
    let guid = path.into_inner();
    request
        .db(move |conn, actor, tenant, now| {
            provisioning::delete_group(conn, actor, now, tenant, &guid, expected)
        })
        .await
        .map_err(|e| match e.status {
            // Carrying licenses is not a uniqueness conflict.
            StatusCode::CONFLICT => ScimError::new(StatusCode::CONFLICT, None, e.detail),
            _ => e,
        })?;
    Ok(HttpResponse::NoContent().finish())
}
