//! `GET /api/v1/users` and `GET /api/v1/users/{id}`: the tenant's users as Graph's `user`,
//! paged by an opaque `$skiptoken`, with `$select` honoured.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::licenses::AssignedLicense;
use super::{ApiError, ApiRequest};
use crate::domain::users::{self, DIRECTORY_PAGE_MAX, DirectoryCursor, DirectoryUser, UserKey};
use crate::domain::{DomainError, UserId};

/// Users a page holds when the client doesn't say (`$top`), as Graph.
const DEFAULT_TOP: i64 = 100;

/// The properties a user has here, in Graph's names and order.
const PROPERTIES: [&str; 6] = [
    "id",
    "displayName",
    "userPrincipalName",
    "mail",
    "accountEnabled",
    "assignedLicenses",
];

/// How the address names a user: by GUID or by sign-in name, as Graph accepts either.
pub(super) fn user_key(id: String) -> UserKey {
    if id.contains('@') {
        UserKey::SignInName(id)
    } else {
        match uuid::Uuid::parse_str(&id) {
            Ok(guid) => UserKey::Guid(guid.hyphenated().to_string()),
            // No user has such an id; the token's rights are still checked first.
            Err(_) => UserKey::Guid(String::new()),
        }
    }
}

/// Graph's `user`, with the properties allot has. With `$select` only those asked are sent,
/// so each property may be absent.
#[derive(Serialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user's GUID.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    /// The sign-in name.
    #[serde(skip_serializing_if = "Option::is_none")]
    user_principal_name: Option<String>,
    /// The sign-in name, as allot has one address a user.
    #[serde(skip_serializing_if = "Option::is_none")]
    mail: Option<String>,
    /// May sign in: not blocked.
    #[serde(skip_serializing_if = "Option::is_none")]
    account_enabled: Option<bool>,
    /// The licenses the user holds, directly or through groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    assigned_licenses: Option<Vec<AssignedLicense>>,
}

/// A user with its `@odata.context`, as `GET /users/{id}` and `assignLicense` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserEntity {
    #[serde(rename = "@odata.context")]
    context: String,
    #[serde(flatten)]
    user: User,
}

/// A page of users.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserList {
    #[serde(rename = "@odata.context")]
    context: String,
    value: Vec<User>,
    /// The next page, when there is one: `$top`, `$filter` and `$select` travel in it.
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    next_link: Option<String>,
}

/// The user as Graph's `user` entity, every property, with its `@odata.context`.
pub(super) fn user_entity(user: DirectoryUser, base: &str) -> UserEntity {
    UserEntity {
        context: format!("{base}/$metadata#users/$entity"),
        user: user_json(user, &PROPERTIES),
    }
}

fn user_json(user: DirectoryUser, select: &[&'static str]) -> User {
    let wants = |name: &str| select.contains(&name);
    User {
        id: wants("id").then_some(user.guid),
        display_name: wants("displayName").then_some(user.display_name),
        user_principal_name: wants("userPrincipalName").then(|| user.email.clone()),
        mail: wants("mail").then_some(user.email),
        account_enabled: wants("accountEnabled").then_some(user.enabled),
        assigned_licenses: wants("assignedLicenses").then(|| {
            user.licenses
                .into_iter()
                .map(AssignedLicense::from)
                .collect()
        }),
    }
}

/// `$select`'s properties that users have (any case), in Graph's order; names we don't have
/// are ignored. None asked (or none known): all of them.
fn selected(select: Option<&str>) -> (Vec<&'static str>, bool) {
    let asked: Vec<&'static str> = match select {
        Some(list) => PROPERTIES
            .into_iter()
            .filter(|p| {
                list.split(',')
                    .any(|name| name.trim().eq_ignore_ascii_case(p))
            })
            .collect(),
        None => Vec::new(),
    };
    if asked.is_empty() {
        (PROPERTIES.to_vec(), false)
    } else {
        (asked, true)
    }
}

/// The `$skiptoken` for continuing at `cursor`: opaque to clients, checked when it returns.
fn skip_token(cursor: &DirectoryCursor) -> String {
    match &cursor.name_key {
        None => hex::encode(format!("after:{}", cursor.id.0)),
        Some(key) => hex::encode(format!("name:{}:{key}", cursor.id.0)),
    }
}

fn cursor_of(token: &str) -> Result<DirectoryCursor, ApiError> {
    let text = hex::decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let cursor = text.as_deref().and_then(|text| {
        if let Some(id) = text.strip_prefix("after:") {
            return Some((id.parse::<i64>().ok()?, None));
        }
        let (id, key) = text.strip_prefix("name:")?.split_once(':')?;
        Some((id.parse::<i64>().ok()?, Some(key.to_owned())))
    });
    cursor
        .filter(|(id, _)| *id > 0)
        .map(|(id, name_key)| DirectoryCursor {
            id: UserId(id),
            name_key,
        })
        .ok_or_else(|| ApiError::BadRequest("The $skiptoken is not one this API gave.".into()))
}

/// A query option's value as it goes into a link: percent-encoded.
pub(super) fn encoded(value: &str) -> String {
    serde_html_form::to_string([("v", value)])
        .map(|pair| pair.trim_start_matches("v=").to_owned())
        .unwrap_or_default()
}

fn option<'a>(options: &'a [(String, String)], name: &str) -> Option<&'a str> {
    options
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[utoipa::path(
    get, path = "/users", tag = "users",
    summary = "List users",
    description = "The organization's users (not deleted), a page at a time, in a stable order. \
                   `$filter` takes Graph's assignedLicenses/any(x:x/skuId eq {skuId}), \
                   startswith(displayName,'…'), userPrincipalName eq '…' and accountEnabled eq \
                   true|false, joined by and; anything else is a 400.",
    params(super::TopParam, super::FilterParam, super::SkipTokenParam, super::SelectParam),
    responses(
        (status = 200, description = "A page of users", body = UserList),
        (status = 400, description = "A query option that can't be read or isn't supported", body = super::ErrorBody),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
    ),
    security(("bearer" = ["users.read", "users.write"]))
)]
/// GET /api/v1/users (`users.read`): `$top` from 1 to 999 (default 100), `$filter` (the forms
/// of `filter::SUPPORTED`), `$skiptoken` from the last page's `@odata.nextLink`, `$select`.
pub async fn list(request: ApiRequest, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let options = super::query_options(&req)?;
    super::only_options(&options, &["$top", "$skiptoken", "$select", "$filter"])?;
    let top = super::top_of(&options, DEFAULT_TOP, DIRECTORY_PAGE_MAX)?;
    let after = option(&options, "$skiptoken").map(cursor_of).transpose()?;
    let filter_text = option(&options, "$filter").map(str::to_owned);
    let filters = match &filter_text {
        Some(text) => super::filter::parse(text)?,
        None => Vec::new(),
    };
    let select_text = option(&options, "$select").map(str::to_owned);
    let (select, narrowed) = selected(select_text.as_deref());
    let page = request
        .db(move |conn, actor, tenant, _| {
            users::directory_filtered(conn, actor, tenant, &filters, top, after)
        })
        .await
        .map_err(|e| match e {
            ApiError::Domain(DomainError::Invalid { message, .. }) => ApiError::BadRequest(message),
            other => other,
        })?;
    let base = &request.state.api.base_url;
    let context = if narrowed {
        format!("{base}/$metadata#users({})", select.join(","))
    } else {
        format!("{base}/$metadata#users")
    };
    let next_link = page.next.map(|after| {
        let mut link = format!("{base}/users?$top={top}&$skiptoken={}", skip_token(&after));
        if let Some(text) = &filter_text {
            link.push_str(&format!("&$filter={}", encoded(text)));
        }
        if narrowed {
            link.push_str(&format!("&$select={}", select.join(",")));
        }
        link
    });
    super::json(&UserList {
        context,
        value: page
            .users
            .into_iter()
            .map(|u| user_json(u, &select))
            .collect(),
        next_link,
    })
}

#[utoipa::path(
    get, path = "/users/{id}", tag = "users",
    summary = "Get a user",
    description = "One user by id (GUID) or sign-in name.",
    params(("id" = String, Path, description = "The user's id (GUID) or sign-in name"), super::SelectParam),
    responses(
        (status = 200, description = "The user", body = UserEntity),
        (status = 400, description = "A query option that can't be read", body = super::ErrorBody),
        (status = 401, description = "No valid token", body = super::ErrorBody),
        (status = 403, description = "The token's scopes don't allow it", body = super::ErrorBody),
        (status = 404, description = "No such user in the organization", body = super::ErrorBody),
    ),
    security(("bearer" = ["users.read", "users.write"]))
)]
/// GET /api/v1/users/{id} (`users.read`): by GUID or by sign-in name, as Graph. A user of
/// another tenant, a deleted one or an id that is neither is not found.
pub async fn get(
    request: ApiRequest,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let options = super::query_options(&req)?;
    super::only_options(&options, &["$select"])?;
    let (select, narrowed) = selected(option(&options, "$select"));
    let key = user_key(path.into_inner());
    let user = request
        .db(move |conn, actor, tenant, _| users::directory_user(conn, actor, tenant, &key))
        .await?;
    let base = &request.state.api.base_url;
    let context = if narrowed {
        format!("{base}/$metadata#users({})/$entity", select.join(","))
    } else {
        format!("{base}/$metadata#users/$entity")
    };
    super::json(&UserEntity {
        context,
        user: user_json(user, &select),
    })
}
