//! Users and groups as SCIM's JSON (RFC 7643 §4), both ways: what allot holds rendered as a
//! resource, and what a client sends read into the domain's attributes. Attribute names are
//! matched without case and with or without their schema's URN, as the RFC says; attributes
//! of the core schema allot doesn't keep (`title`, `phoneNumbers`…) and extensions are
//! accepted and not stored.

use serde_json::{Map, Value, json};

use super::errors::ScimError;
use crate::domain::provisioning::{
    GroupAttributes, Meta, ProvisionedGroup, ProvisionedUser, UserAttributes,
};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The weak ETag of a version: `W/"3"`.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

fn meta(kind: &str, location: String, meta: &Meta) -> Value {
    json!({
        "resourceType": kind,
        "created": meta.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "lastModified": meta.last_modified.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "location": location,
        "version": etag(meta.version),
    })
}

pub fn user_json(user: &ProvisionedUser, base: &str) -> Value {
    let mut name = Map::new();
    let formatted = format!("{} {}", user.given_name, user.family_name)
        .trim()
        .to_owned();
    if !user.given_name.is_empty() {
        name.insert("givenName".into(), json!(user.given_name));
    }
    if !user.family_name.is_empty() {
        name.insert("familyName".into(), json!(user.family_name));
    }
    if !formatted.is_empty() {
        name.insert("formatted".into(), json!(formatted));
    }
    let mut body = json!({
        "schemas": [USER_SCHEMA],
        "id": user.guid,
        "userName": user.user_name,
        "displayName": user.display_name,
        "active": user.active,
        "emails": [{ "value": user.email, "type": "work", "primary": true }],
        "meta": meta("User", format!("{base}/Users/{}", user.guid), &user.meta),
    });
    if !name.is_empty() {
        body["name"] = Value::Object(name);
    }
    if let Some(external_id) = &user.external_id {
        body["externalId"] = json!(external_id);
    }
    if !user.groups.is_empty() {
        body["groups"] = Value::Array(
            user.groups
                .iter()
                .map(|(guid, name)| {
                    json!({
                        "value": guid,
                        "display": name,
                        "$ref": format!("{base}/Groups/{guid}"),
                        "type": "direct",
                    })
                })
                .collect(),
        );
    }
    body
}

pub fn group_json(group: &ProvisionedGroup, base: &str) -> Value {
    let mut body = json!({
        "schemas": [GROUP_SCHEMA],
        "id": group.guid,
        "displayName": group.display_name,
        "meta": meta("Group", format!("{base}/Groups/{}", group.guid), &group.meta),
    });
    if let Some(external_id) = &group.external_id {
        body["externalId"] = json!(external_id);
    }
    if let Some(members) = &group.members {
        body["members"] = Value::Array(
            members
                .iter()
                .map(|(guid, name)| {
                    json!({
                        "value": guid,
                        "display": name,
                        "$ref": format!("{base}/Users/{guid}"),
                        "type": "User",
                    })
                })
                .collect(),
        );
    }
    body
}

/// The attribute's name without its schema's URN (`urn:…:User:userName` → `userName`); an
/// attribute of the enterprise extension keeps its URN, since allot keeps none of them.
pub fn bare_name(key: &str) -> Option<&str> {
    for schema in [USER_SCHEMA, GROUP_SCHEMA] {
        if key.len() > schema.len()
            && key[..schema.len()].eq_ignore_ascii_case(schema)
            && key.as_bytes()[schema.len()] == b':'
        {
            return Some(&key[schema.len() + 1..]);
        }
    }
    (!key.to_ascii_lowercase().starts_with("urn:")).then_some(key)
}

/// `object`'s member named `name` in any case.
pub fn member<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| bare_name(key).is_some_and(|k| k.eq_ignore_ascii_case(name)))
        .map(|(_, value)| value)
}

fn text(object: &Map<String, Value>, name: &str) -> Result<Option<String>, ScimError> {
    match member(object, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScimError::bad(
            "invalidValue",
            format!("{name} must be a string."),
        )),
    }
}

/// A boolean, also as the strings "True"/"False" that Entra ID sends.
pub fn boolean(value: &Value, name: &str) -> Result<bool, ScimError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::bad(
            "invalidValue",
            format!("{name} must be true or false."),
        )),
    }
}

fn object_of(body: &Value) -> Result<&Map<String, Value>, ScimError> {
    body.as_object()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "The body must be a JSON object."))
}

/// A client's user (POST, PUT, or the result of a PATCH) as the domain's attributes.
pub fn user_attributes(body: &Value) -> Result<UserAttributes, ScimError> {
    let object = object_of(body)?;
    let user_name = text(object, "userName")?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ScimError::bad("invalidValue", "userName is required."))?;
    let (mut given_name, mut family_name) = (String::new(), String::new());
    match member(object, "name") {
        None | Some(Value::Null) => {}
        Some(Value::Object(name)) => {
            given_name = text(name, "givenName")?.unwrap_or_default();
            family_name = text(name, "familyName")?.unwrap_or_default();
        }
        Some(_) => return Err(ScimError::bad("invalidValue", "name must be an object.")),
    }
    let email = match member(object, "emails") {
        None | Some(Value::Null) => None,
        Some(Value::Array(emails)) => {
            // The primary one, else the work one, else the first.
            let pick = |want: &dyn Fn(&Map<String, Value>) -> bool| {
                emails
                    .iter()
                    .filter_map(Value::as_object)
                    .find(|e| want(e))
                    .cloned()
            };
            let chosen = pick(&|e| {
                member(e, "primary").is_some_and(|p| boolean(p, "primary").unwrap_or(false))
            })
            .or_else(|| {
                pick(&|e| {
                    member(e, "type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.eq_ignore_ascii_case("work"))
                })
            })
            .or_else(|| pick(&|_| true));
            match chosen {
                Some(email) => text(&email, "value")?,
                None => None,
            }
        }
        Some(_) => return Err(ScimError::bad("invalidValue", "emails must be an array.")),
    };
    let active = match member(object, "active") {
        None | Some(Value::Null) => true,
        Some(value) => boolean(value, "active")?,
    };
    Ok(UserAttributes {
        user_name,
        display_name: text(object, "displayName")?,
        given_name,
        family_name,
        external_id: text(object, "externalId")?,
        email,
        active,
        password: text(object, "password")?,
    })
}

/// The ids of `members` (`[{"value": id}, …]`).
pub fn member_ids(value: &Value) -> Result<Vec<String>, ScimError> {
    let bad = || ScimError::bad("invalidValue", "members must be a list of {\"value\": id}.");
    let list = match value {
        Value::Array(list) => list.clone(),
        Value::Object(_) => vec![value.clone()],
        Value::Null => Vec::new(),
        _ => return Err(bad()),
    };
    list.iter()
        .map(|m| {
            m.as_object()
                .and_then(|m| member(m, "value"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(bad)
        })
        .collect()
}

/// A client's group (POST, PUT).
pub fn group_attributes(body: &Value) -> Result<GroupAttributes, ScimError> {
    let object = object_of(body)?;
    let display_name = text(object, "displayName")?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ScimError::bad("invalidValue", "displayName is required."))?;
    let members = match member(object, "members") {
        None => Vec::new(),
        Some(value) => member_ids(value)?,
    };
    Ok(GroupAttributes {
        display_name,
        external_id: text(object, "externalId")?,
        members,
    })
}

/// `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5), applied to a rendered resource.
/// `id` and `schemas` are always returned, and `meta` unless excluded by name.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    only: Vec<(String, Option<String>)>,
    without: Vec<(String, Option<String>)>,
}

fn names(list: Option<&str>) -> Vec<(String, Option<String>)> {
    list.map(|l| {
        l.split(',')
            .filter_map(|name| {
                let name = bare_name(name.trim())?.to_ascii_lowercase();
                if name.is_empty() {
                    return None;
                }
                Some(match name.split_once('.') {
                    Some((a, b)) => (a.to_owned(), Some(b.to_owned())),
                    None => (name, None),
                })
            })
            .collect()
    })
    .unwrap_or_default()
}

impl Projection {
    pub fn new(attributes: Option<&str>, excluded: Option<&str>) -> Projection {
        Projection {
            only: names(attributes),
            without: names(excluded),
        }
    }

    /// Whether the resource's `attribute` is sent (to skip loading a big group's members).
    pub fn includes(&self, attribute: &str) -> bool {
        let attribute = attribute.to_ascii_lowercase();
        if self
            .without
            .iter()
            .any(|(a, sub)| *a == attribute && sub.is_none())
        {
            return false;
        }
        self.only.is_empty() || self.only.iter().any(|(a, _)| *a == attribute)
    }

    pub fn apply(&self, resource: Value) -> Value {
        let Value::Object(object) = resource else {
            return resource;
        };
        let always = |key: &str| key == "id" || key == "schemas";
        let mut out = Map::new();
        for (key, value) in object {
            let lower = key.to_ascii_lowercase();
            if always(&lower) {
                out.insert(key, value);
                continue;
            }
            let value = if self.only.is_empty() {
                Some(value)
            } else {
                let subs: Vec<&String> = self
                    .only
                    .iter()
                    .filter(|(a, _)| *a == lower)
                    .filter_map(|(_, sub)| sub.as_ref())
                    .collect();
                let whole = self
                    .only
                    .iter()
                    .any(|(a, sub)| *a == lower && sub.is_none());
                if whole {
                    Some(value)
                } else if subs.is_empty() {
                    None
                } else {
                    Some(keep_subs(value, &subs))
                }
            };
            let Some(mut value) = value else { continue };
            if self
                .without
                .iter()
                .any(|(a, sub)| *a == lower && sub.is_none())
            {
                continue;
            }
            let dropped: Vec<&String> = self
                .without
                .iter()
                .filter(|(a, _)| *a == lower)
                .filter_map(|(_, sub)| sub.as_ref())
                .collect();
            if !dropped.is_empty() {
                value = drop_subs(value, &dropped);
            }
            out.insert(key, value);
        }
        Value::Object(out)
    }
}

fn keep_subs(value: Value, subs: &[&String]) -> Value {
    map_objects(value, &|object| {
        object
            .into_iter()
            .filter(|(k, _)| subs.iter().any(|s| s.eq_ignore_ascii_case(k)))
            .collect()
    })
}

fn drop_subs(value: Value, subs: &[&String]) -> Value {
    map_objects(value, &|object| {
        object
            .into_iter()
            .filter(|(k, _)| !subs.iter().any(|s| s.eq_ignore_ascii_case(k)))
            .collect()
    })
}

/// `f` applied to a complex attribute's object, or to each object of a multi-valued one.
fn map_objects(value: Value, f: &dyn Fn(Map<String, Value>) -> Map<String, Value>) -> Value {
    match value {
        Value::Object(object) => Value::Object(f(object)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| match item {
                    Value::Object(object) => Value::Object(f(object)),
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_keep_what_is_asked_and_what_is_always_returned() {
        let resource = json!({
            "schemas": [USER_SCHEMA], "id": "1", "userName": "a@b.c",
            "name": {"givenName": "A", "familyName": "B"}, "meta": {"version": "W/\"1\""}
        });
        let shown = Projection::new(Some("userName,name.givenName"), None).apply(resource.clone());
        assert_eq!(
            shown,
            json!({"schemas": [USER_SCHEMA], "id": "1", "userName": "a@b.c", "name": {"givenName": "A"}})
        );
        let without = Projection::new(None, Some("name.familyName,meta")).apply(resource);
        assert_eq!(
            without,
            json!({"schemas": [USER_SCHEMA], "id": "1", "userName": "a@b.c", "name": {"givenName": "A"}})
        );
    }

    #[test]
    fn a_user_is_read_from_entra_ids_shapes() {
        let body = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "externalId": "alex",
            "UserName": "Alex@Contoso.example",
            "active": "False",
            "name": {"givenName": "Alex", "familyName": "Wilber", "formatted": "Alex Wilber"},
            "emails": [{"primary": true, "type": "work", "value": "alex.w@contoso.example"}],
            "title": "Designer",
            ENTERPRISE_SCHEMA: {"department": "Design"}
        });
        let user = user_attributes(&body).unwrap();
        assert_eq!(user.user_name, "Alex@Contoso.example");
        assert!(!user.active);
        assert_eq!(user.given_name, "Alex");
        assert_eq!(user.email.as_deref(), Some("alex.w@contoso.example"));
        assert_eq!(user.external_id.as_deref(), Some("alex"));
        assert!(user_attributes(&json!({"displayName": "x"})).is_err());
        assert!(user_attributes(&json!({"userName": "a@b.c", "active": "maybe"})).is_err());
    }
}
