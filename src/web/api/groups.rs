//! `/api/v1/groups`: the tenant's groups as Graph's `group`, their members as Graph's
//! `directoryObject`s (`members`, `members/$ref`), adding and deleting groups, and the group's
//! `assignLicense` (202 Accepted: group licensing may finish in the background).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::licenses::{AssignBody, AssignedLicense};
use super::users::user_key;
use super::{ApiError, ApiRequest};
use crate::domain::groups::{self, DirectoryGroup, GROUP_PAGE_MAX};
use crate::domain::users::DirectoryUser;
use crate::domain::{GroupId, UserId};

/// Groups or members a page holds when the client doesn't say (`$top`), as Graph.
const DEFAULT_TOP: i64 = 100;

/// Graph's `group`: a security group (allot's groups carry no mailbox).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// The group's GUID.
    id: String,
    display_name: String,
    description: String,
    /// When the group was added (RFC 3339, UTC).
    created_date_time: String,
    /// Always empty: security groups, not Microsoft 365 groups.
    group_types: Vec<String>,
    mail_enabled: bool,
    security_enabled: bool,
    /// The licenses the group gives its members.
    assigned_licenses: Vec<AssignedLicense>,
}

impl From<DirectoryGroup> for Group {
    fn from(g: DirectoryGroup) -> Group {
        Group {
            id: g.guid,
            display_name: g.display_name,
            description: g.description,
            created_date_time: super::date_time(g.created_at),
            group_types: Vec::new(),
            mail_enabled: false,
            security_enabled: true,
            assigned_licenses: g.licenses.into_iter().map(AssignedLicense::from).collect(),
        }
    }
}

/// A group with its `@odata.context`, as `GET /groups/{id}` and the changes answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct GroupEntity {
    #[serde(rename = "@odata.context")]
    context: String,
    #[serde(flatten)]
    group: Group,
}

/// A page of groups.
#[derive(Serialize, utoipa::ToSchema)]
pub struct GroupList {
    #[serde(rename = "@odata.context")]
    context: String,
    value: Vec<Group>,
    /// The next page, when there is one.
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    next_link: Option<String>,
}

/// A member of a group, as Graph's `directoryObject` (always a user here).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// `#microsoft.graph.user`.
    #[serde(rename = "@odata.type")]
    odata_type: &'static str,
    id: String,
    display_name: String,
    user_principal_name: String,
    mail: String,
    account_enabled: bool,
}

impl From<DirectoryUser> for Member {
    fn from(u: DirectoryUser) -> Member {
        Member {
            odata_type: "#microsoft.graph.user",
            id: u.guid,
            display_name: u.display_name,
            user_principal_name: u.email.clone(),
            mail: u.email,
            account_enabled: u.enabled,
        }
    }
}

/// A page of a group's members.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberList {
    #[serde(rename = "@odata.context")]
    context: String,
    value: Vec<Member>,
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    next_link: Option<String>,
}

/// Graph's reference to a directory object: `{"@odata.id": "…/directoryObjects/{id}"}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRef {
    /// The user's address; its last segment is their GUID or sign-in name.
    #[serde(rename = "@odata.id")]
    odata_id: String,
}

/// `POST /groups`: what Graph sends for a security group. `mailEnabled`, `mailNickname`,
/// `securityEnabled` and `groupTypes` are accepted as Graph requires them and not kept.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewGroup {
    /// Unique in the organization, whatever its case.
    #[schema(min_length = 1, max_length = 256)]
    display_name: String,
    #[serde(default)]
    #[schema(max_length = 1024)]
    description: Option<String>,
    #[serde(default)]
    mail_enabled: Option<bool>,
    #[serde(default)]
    mail_nickname: Option<String>,
    #[serde(default)]
    security_enabled: Option<bool>,
    #[serde(default)]
    group_types: Option<Vec<String>>,
}

fn group_guid(id: String) -> String {
    match uuid::Uuid::parse_str(&id) {
        Ok(guid) => guid.hyphenated().to_string(),
        // No group has such an id; the token's rights are still checked first.
        Err(_) => String::new(),
    }
}

/// The `$skiptoken` for continuing after a group or member: opaque, checked when it returns.
fn skip_token(after: i64) -> String {
    hex::encode(format!("after:{after}"))
}

fn after_of(options: &[(String, String)]) -> Result<Option<i64>, ApiError> {
    let Some((_, token)) = options.iter().find(|(n, _)| n == "$skiptoken") else {
        return Ok(None);
    };
    hex::decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("after:")?.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .map(Some)
        .ok_or_else(|| ApiError::BadRequest("The $skiptoken is not one this API gave.".into()))
}

fn entity(group: DirectoryGroup, base: &str) -> GroupEntity {
    GroupEntity {
        context: format!("{base}/$metadata#groups/$entity"),
        group: Group::from(group),
    }
}

#[utoipa::path(
    get, path = "/groups", tag = "groups",
    summary = "List groups",
    description = "The organization's groups in Graph's shape, a page at a time. Scope: \
                   users.read, users.write or groups.write.",
    params(super::TopParam, super::SkipTokenParam, super::SelectParam),
    responses(
        (status = 200, description = "A page of groups", body = GroupList),
        (status = 400, description = "A query option that can't be read", body = super::ErrorBody),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
    ),
    security(("bearer" = ["users.read", "users.write", "groups.write"]))
)]
/// GET /api/v1/groups
pub async fn list(request: ApiRequest, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let options = super::query_options(&req)?;
    // `$select` is ignored: a group has few properties, all sent.
    super::only_options(&options, &["$top", "$skiptoken", "$select"])?;
    let top = super::top_of(&options, DEFAULT_TOP, GROUP_PAGE_MAX)?;
    let after = after_of(&options)?.map(GroupId);
    let page = request
        .db(move |conn, actor, tenant, _| groups::directory(conn, actor, tenant, top, after))
        .await?;
    let base = &request.state.api.base_url;
    super::json(&GroupList {
        context: format!("{base}/$metadata#groups"),
        value: page.groups.into_iter().map(Group::from).collect(),
        next_link: page
            .next
            .map(|g| format!("{base}/groups?$top={top}&$skiptoken={}", skip_token(g.0))),
    })
}

#[utoipa::path(
    get, path = "/groups/{id}", tag = "groups",
    summary = "Get a group",
    description = "One group by its id (GUID). Scope: users.read, users.write or groups.write.",
    params(("id" = String, Path, description = "The group's id (GUID)"), super::SelectParam),
    responses(
        (status = 200, description = "The group", body = GroupEntity),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
        (status = 404, description = "No such group in the organization", body = super::ErrorBody),
    ),
    security(("bearer" = ["users.read", "users.write", "groups.write"]))
)]
/// GET /api/v1/groups/{id}
pub async fn get(
    request: ApiRequest,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let options = super::query_options(&req)?;
    super::only_options(&options, &["$select"])?;
    let guid = group_guid(path.into_inner());
    let group = request
        .db(move |conn, actor, tenant, _| groups::directory_group(conn, actor, tenant, &guid))
        .await?;
    super::json(&entity(group, &request.state.api.base_url))
}

#[utoipa::path(
    get, path = "/groups/{id}/members", tag = "groups",
    summary = "List a group's members",
    description = "The group's members as directory objects (users), a page at a time. Scope: \
                   users.read, users.write or groups.write.",
    params(
        ("id" = String, Path, description = "The group's id (GUID)"),
        super::TopParam, super::SkipTokenParam, super::SelectParam
    ),
    responses(
        (status = 200, description = "A page of members", body = MemberList),
        (status = 400, description = "A query option that can't be read", body = super::ErrorBody),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
        (status = 404, description = "No such group in the organization", body = super::ErrorBody),
    ),
    security(("bearer" = ["users.read", "users.write", "groups.write"]))
)]
/// GET /api/v1/groups/{id}/members
pub async fn members(
    request: ApiRequest,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let options = super::query_options(&req)?;
    super::only_options(&options, &["$top", "$skiptoken", "$select"])?;
    let top = super::top_of(&options, DEFAULT_TOP, GROUP_PAGE_MAX)?;
    let after = after_of(&options)?.map(UserId);
    let id = path.into_inner();
    let guid = group_guid(id.clone());
    let page = request
        .db(move |conn, actor, tenant, _| {
            groups::directory_members(conn, actor, tenant, &guid, top, after)
        })
        .await?;
    let base = &request.state.api.base_url;
    super::json(&MemberList {
        context: format!("{base}/$metadata#directoryObjects"),
        value: page.users.into_iter().map(Member::from).collect(),
        next_link: page.next.map(|c| {
            format!(
                "{base}/groups/{id}/members?$top={top}&$skiptoken={}",
                skip_token(c.id.0)
            )
        }),
    })
}

#[utoipa::path(
    post, path = "/groups/{id}/members/$ref", tag = "groups",
    summary = "Add a member",
    description = "Adds the user named by `@odata.id` to the group; they get the group's \
                   licenses. Scope: groups.write.",
    params(("id" = String, Path, description = "The group's id (GUID)")),
    request_body = MemberRef,
    responses(
        (status = 204, description = "Added"),
        (status = 400, description = "Already a member, or a body that can't be read", body = super::ErrorBody),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
        (status = 404, description = "No such group or user in the organization", body = super::ErrorBody),
    ),
    security(("bearer" = ["groups.write"]))
)]
/// POST /api/v1/groups/{id}/members/$ref
pub async fn add_member(
    request: ApiRequest,
    path: web::Path<String>,
    body: web::Json<MemberRef>,
) -> Result<HttpResponse, ApiError> {
    let guid = group_guid(path.into_inner());
    let reference = body.into_inner().odata_id;
    let last = reference
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    if last.is_empty() {
        return Err(ApiError::Rejected {
            target: "@odata.id",
            message: "Name the member: {\"@odata.id\": \"…/directoryObjects/{id}\"}.".into(),
        });
    }
    let key = user_key(last);
    let added = request
        .db(move |conn, actor, tenant, now| {
            groups::add_member(conn, actor, now, tenant, &guid, &key)
        })
        .await
        .map_err(super::rejected)?;
    if added.added == 0 {
        // Graph's answer to adding a member twice.
        return Err(ApiError::Rejected {
            target: "members",
            message: "One or more added object references already exist for the following \
                      modified properties: 'members'."
                .into(),
        });
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    delete, path = "/groups/{id}/members/{userId}/$ref", tag = "groups",
    summary = "Remove a member",
    description = "Removes the user from the group; they lose what only this group gave them. \
                   Scope: groups.write.",
    params(
        ("id" = String, Path, description = "The group's id (GUID)"),
        ("userId" = String, Path, description = "The member's id (GUID) or sign-in name")
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
        (status = 404, description = "No such group, user or membership", body = super::ErrorBody),
    ),
    security(("bearer" = ["groups.write"]))
)]
/// DELETE /api/v1/groups/{id}/members/{userId}/$ref
pub async fn remove_member(
    request: ApiRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (group, user) = path.into_inner();
    let guid = group_guid(group);
    let key = user_key(user);
    request
        .db(move |conn, actor, tenant, now| {
            groups::remove_member(conn, actor, now, tenant, &guid, &key)
        })
        .await
        .map_err(super::rejected)?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    post, path = "/groups", tag = "groups",
    summary = "Add a group",
    description = "Adds a group with a display name unique in the organization. Scope: \
                   groups.write.",
    request_body = NewGroup,
    responses(
        (status = 201, description = "The group added", body = GroupEntity),
        (status = 400, description = "A name taken or missing, or a body that can't be read", body = super::ErrorBody),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
    ),
    security(("bearer" = ["groups.write"]))
)]
/// POST /api/v1/groups
pub async fn create(
    request: ApiRequest,
    body: web::Json<NewGroup>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (name, description) = (body.display_name, body.description.unwrap_or_default());
    // Accepted as Graph requires them; allot's groups have no mailbox or types.
    let _ = (
        body.mail_enabled,
        body.mail_nickname,
        body.security_enabled,
        body.group_types,
    );
    let group = request
        .db(move |conn, actor, tenant, now| {
            groups::create_directory_group(conn, actor, now, tenant, &name, &description)
        })
        .await
        .map_err(super::rejected)?;
    let base = &request.state.api.base_url;
    let location = format!("{base}/groups/{}", group.guid);
    let text = serde_json::to_string(&entity(group, base))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Created()
        .content_type("application/json")
        .insert_header((header::LOCATION, location))
        .body(text))
}

#[utoipa::path(
    delete, path = "/groups/{id}", tag = "groups",
    summary = "Delete a group",
    description = "Deletes the group; its members stay users. Refused while it carries \
                   licenses. Scope: groups.write.",
    params(("id" = String, Path, description = "The group's id (GUID)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
        (status = 404, description = "No such group in the organization", body = super::ErrorBody),
        (status = 409, description = "The group carries licenses: unassign them first", body = super::ErrorBody),
    ),
    security(("bearer" = ["groups.write"]))
)]
/// DELETE /api/v1/groups/{id}
pub async fn delete(
    request: ApiRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let guid = group_guid(path.into_inner());
    request
        .db(move |conn, actor, tenant, now| {
            groups::delete_directory_group(conn, actor, now, tenant, &guid)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    post, path = "/groups/{id}/assignLicense", tag = "groups",
    summary = "Assign licenses to a group",
    description = "Removes and adds the group's licenses, all or nothing; its members inherit \
                   them, within the request for a small group or in the background (202 \
                   either way). Members left without a seat are listed as the group's errors. \
                   Scope: licenses.write.",
    params(("id" = String, Path, description = "The group's id (GUID)")),
    request_body = AssignBody,
    responses(
        (status = 202, description = "The group; its members are being given the licenses", body = GroupEntity),
        (status = 400, description = "An unknown skuId or plan, or a body that can't be read", body = super::ErrorBody),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
        (status = 404, description = "No such group in the organization", body = super::ErrorBody),
    ),
    security(("bearer" = ["licenses.write"]))
)]
/// POST /api/v1/groups/{id}/assignLicense
pub async fn assign_license(
    request: ApiRequest,
    path: web::Path<String>,
    body: web::Json<AssignBody>,
) -> Result<HttpResponse, ApiError> {
    let guid = group_guid(path.into_inner());
    let (add, remove) = body.into_inner().into_domain();
    let change = request
        .db(move |conn, actor, tenant, now| {
            groups::assign_group_license(conn, actor, now, tenant, &guid, &add, &remove)
        })
        .await
        .map_err(super::rejected)?;
    let text = serde_json::to_string(&entity(change.group, &request.state.api.base_url))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Accepted()
        .content_type("application/json")
        .body(text))
}
