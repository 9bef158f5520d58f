//! `GET /api/v1/users` and `GET /api/v1/users/{id}`: the tenant's users as Graph's `user`,
//! paged by an opaque `$skiptoken`, with `$select` honoured.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::{ApiError, ApiRequest};
use crate::domain::UserId;
use crate::domain::users::{self, DIRECTORY_PAGE_MAX, DirectoryUser, UserKey};

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

/// The user as Graph's `user` entity, every property, with its `@odata.context`.
pub(super) fn user_entity(user: DirectoryUser, base: &str) -> Value {
    let mut body = match user_json(user, &PROPERTIES) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    body.insert(
        "@odata.context".into(),
        json!(format!("{base}/$metadata#users/$entity")),
    );
    Value::Object(body)
}

fn user_json(user: DirectoryUser, select: &[&'static str]) -> Value {
    let mut object = Map::new();
    let all = [
        ("id", json!(user.guid)),
        ("displayName", json!(user.display_name)),
        ("userPrincipalName", json!(user.email)),
        ("mail", json!(user.email)),
        ("accountEnabled", json!(user.enabled)),
        (
            "assignedLicenses",
            Value::Array(
                user.licenses
                    .into_iter()
                    .map(|l| json!({ "skuId": l.sku_id, "disabledPlans": l.disabled_plans }))
                    .collect(),
            ),
        ),
    ];
    for (name, value) in all {
        if select.contains(&name) {
            object.insert(name.to_owned(), value);
        }
    }
    Value::Object(object)
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

/// The `$skiptoken` for continuing after `user`: opaque to clients, checked when it returns.
fn skip_token(after: UserId) -> String {
    hex::encode(format!("after:{}", after.0))
}

fn after_of(token: &str) -> Result<UserId, ApiError> {
    hex::decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("after:")?.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .map(UserId)
        .ok_or_else(|| ApiError::BadRequest("The $skiptoken is not one this API gave.".into()))
}

fn option<'a>(options: &'a [(String, String)], name: &str) -> Option<&'a str> {
    options
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// GET /api/v1/users (`users.read`): `$top` from 1 to 999 (default 100), `$skiptoken` from
/// the last page's `@odata.nextLink`, `$select`.
pub async fn list(request: ApiRequest, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let options = super::query_options(&req)?;
    super::only_options(&options, &["$top", "$skiptoken", "$select"])?;
    let top = match option(&options, "$top") {
        None => DEFAULT_TOP,
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=DIRECTORY_PAGE_MAX).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "$top must be a whole number from 1 to {DIRECTORY_PAGE_MAX}."
                ))
            })?,
    };
    let after = option(&options, "$skiptoken").map(after_of).transpose()?;
    let select_text = option(&options, "$select").map(str::to_owned);
    let (select, narrowed) = selected(select_text.as_deref());
    let page = request
        .db(move |conn, actor, tenant, _| users::directory(conn, actor, tenant, top, after))
        .await?;
    let base = &request.state.api.base_url;
    let context = if narrowed {
        format!("{base}/$metadata#users({})", select.join(","))
    } else {
        format!("{base}/$metadata#users")
    };
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(context));
    body.insert(
        "value".into(),
        Value::Array(
            page.users
                .into_iter()
                .map(|u| user_json(u, &select))
                .collect(),
        ),
    );
    if let Some(after) = page.next {
        let mut link = format!("{base}/users?$top={top}&$skiptoken={}", skip_token(after));
        if narrowed {
            link.push_str(&format!("&$select={}", select.join(",")));
        }
        body.insert("@odata.nextLink".into(), json!(link));
    }
    super::json(&Value::Object(body))
}

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
    let mut body = match user_json(user, &select) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    body.insert("@odata.context".into(), json!(context));
    super::json(&Value::Object(body))
}
