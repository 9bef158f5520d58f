//! PATCH (RFC 7644 §3.5.2): `add`, `replace` and `remove` operations, in any case ("Replace",
//! as Entra ID sends them), with or without a path. A user's operations are applied, in order,
//! to the user as allot renders them, and the result is saved like a PUT: all or nothing. A
//! group's become one change of its name, externalId and members, so a group of 100,000 is
//! never read whole to add one member.

use serde_json::{Map, Value};

use super::errors::ScimError;
use super::resources::{bare_name, boolean, member, member_ids};
use crate::domain::provisioning::filter::{CompareOp, Filter, Literal, PatchPath};
use crate::domain::provisioning::{GroupChanges, MemberChange};

pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Operations one PATCH may carry.
const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub op: Op,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

fn invalid_path(e: impl std::fmt::Display) -> ScimError {
    ScimError::bad("invalidPath", e.to_string())
}

/// The operations of a PatchOp body.
pub fn operations(body: &Value) -> Result<Vec<Operation>, ScimError> {
    let object = body
        .as_object()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "The body must be a JSON object."))?;
    if let Some(schemas) = member(object, "schemas") {
        let names_patch = schemas
            .as_array()
            .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(PATCH_SCHEMA)));
        if !names_patch {
            return Err(ScimError::bad(
                "invalidSyntax",
                format!("A PATCH body has the schema {PATCH_SCHEMA}."),
            ));
        }
    }
    let list = member(object, "Operations")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| {
            ScimError::bad(
                "invalidSyntax",
                "Operations must list at least one operation.",
            )
        })?;
    if list.len() > MAX_OPERATIONS {
        return Err(ScimError::bad(
            "tooMany",
            format!("A PATCH carries at most {MAX_OPERATIONS} operations."),
        ));
    }
    list.iter()
        .map(|operation| {
            let operation = operation
                .as_object()
                .ok_or_else(|| ScimError::bad("invalidSyntax", "Each operation is an object."))?;
            let op = match member(operation, "op").and_then(Value::as_str) {
                Some(op) if op.eq_ignore_ascii_case("add") => Op::Add,
                Some(op) if op.eq_ignore_ascii_case("replace") => Op::Replace,
                Some(op) if op.eq_ignore_ascii_case("remove") => Op::Remove,
                _ => {
                    return Err(ScimError::bad(
                        "invalidSyntax",
                        "op is one of add, replace and remove.",
                    ));
                }
            };
            let path = match member(operation, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(path)) if path.trim().is_empty() => None,
                Some(Value::String(path)) => Some(parse_path(path)?),
                Some(_) => return Err(ScimError::bad("invalidPath", "path must be a string.")),
            };
            let value = member(operation, "value").cloned();
            if op == Op::Remove && path.is_none() {
                return Err(ScimError::bad("noTarget", "remove needs a path."));
            }
            if op != Op::Remove && value.is_none() {
                return Err(ScimError::bad(
                    "invalidValue",
                    "add and replace need a value.",
                ));
            }
            Ok(Operation { op, path, value })
        })
        .collect()
}

/// A path, its schema URN (`urn:…:User:name.givenName`) taken off; a path into an extension
/// allot keeps nothing of is `None`.
fn parse_path(text: &str) -> Result<PatchPath, ScimError> {
    PatchPath::parse(text).map_err(invalid_path)
}

/// What allot keeps of a user's attributes, by their lower-case name: the name it renders.
fn user_attribute(name: &str) -> Option<&'static str> {
    Some(match name {
        "username" => "userName",
        "displayname" => "displayName",
        "name" => "name",
        "externalid" => "externalId",
        "active" => "active",
        "emails" => "emails",
        "password" => "password",
        _ => return None,
    })
}

fn sub_attribute(name: &str) -> Option<&'static str> {
    Some(match name {
        "givenname" => "givenName",
        "familyname" => "familyName",
        "formatted" => "formatted",
        "value" => "value",
        "type" => "type",
        "primary" => "primary",
        "display" => "display",
        _ => return None,
    })
}

fn read_only(name: &str) -> Option<ScimError> {
    matches!(name, "id" | "meta" | "schemas" | "groups").then(|| {
        ScimError::bad(
            "mutability",
            if name == "groups" {
                "A user's groups change through the groups (PATCH /Groups/{id} members).".to_owned()
            } else {
                format!("{name} can't be changed.")
            },
        )
    })
}

/// Applies `operations` to `user` (as rendered).
pub fn apply_to_user(user: &mut Value, operations: &[Operation]) -> Result<(), ScimError> {
    for operation in operations {
        match &operation.path {
            Some(path) => set(user, operation.op, path, operation.value.clone())?,
            None => {
                let Some(Value::Object(values)) = &operation.value else {
                    return Err(ScimError::bad(
                        "invalidValue",
                        "Without a path, the value is an object of attributes.",
                    ));
                };
                for (key, value) in values {
                    // An extension's attribute (enterprise): not kept.
                    let Some(bare) = bare_name(key) else { continue };
                    // Entra ID sends dotted keys without a path: {"name.givenName": "Alex"}.
                    let path = parse_path(bare)?;
                    set(user, operation.op, &path, Some(value.clone()))?;
                }
            }
        }
    }
    Ok(())
}

fn set(user: &mut Value, op: Op, path: &PatchPath, value: Option<Value>) -> Result<(), ScimError> {
    if path
        .attr
        .schema
        .as_deref()
        .is_some_and(|s| !s.eq_ignore_ascii_case(super::resources::USER_SCHEMA))
    {
        return Ok(());
    }
    if let Some(error) = read_only(&path.attr.name) {
        return Err(error);
    }
    // An attribute of the core schema allot doesn't keep (title, phoneNumbers…): accepted.
    let Some(name) = user_attribute(&path.attr.name) else {
        return Ok(());
    };
    let Some(object) = user.as_object_mut() else {
        return Err(ScimError::internal("a user that is not an object"));
    };
    if let Some(filter) = &path.filter {
        return set_values(object, name, op, filter, path.sub.as_deref(), value);
    }
    match (&path.attr.sub, op) {
        (Some(sub), _) => {
            let Some(sub) = sub_attribute(sub) else {
                return Ok(());
            };
            if name == "emails" {
                // emails.value: the primary email's.
                return set_values(object, name, op, &primary(), Some(sub), value);
            }
            let entry = object
                .entry(name.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let complex = entry.as_object_mut().expect("made an object");
            match op {
                Op::Remove => {
                    complex.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                }
                Op::Add | Op::Replace => {
                    complex.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                    complex.insert(sub.to_owned(), value.unwrap_or(Value::Null));
                }
            }
        }
        (None, Op::Remove) => {
            object.retain(|k, _| !k.eq_ignore_ascii_case(name));
        }
        (None, Op::Add) if name == "emails" || name == "name" => {
            let current = object.remove(name);
            object.insert(
                name.to_owned(),
                merged(current, value.unwrap_or(Value::Null)),
            );
        }
        (None, _) => {
            let value = value.unwrap_or(Value::Null);
            if name == "active" && !value.is_null() {
                // "False" as a string (Entra ID): kept as the boolean it means.
                object.insert(name.to_owned(), Value::Bool(boolean(&value, "active")?));
            } else {
                object.retain(|k, _| !k.eq_ignore_ascii_case(name));
                object.insert(name.to_owned(), value);
            }
        }
    }
    Ok(())
}

/// `primary eq true`: the filter that picks the one email allot renders.
fn primary() -> Filter {
    Filter::Compare {
        path: crate::domain::provisioning::filter::AttrPath {
            schema: None,
            name: "primary".into(),
            sub: None,
        },
        op: CompareOp::Eq,
        value: Literal::Bool(true),
    }
}

/// `add` of a complex or multi-valued attribute: merged into what is there (RFC 7644
/// §3.5.2.1), a multi-valued one without repeating a value.
fn merged(current: Option<Value>, value: Value) -> Value {
    match (current, value) {
        (Some(Value::Object(mut have)), Value::Object(more)) => {
            for (k, v) in more {
                have.retain(|key, _| !key.eq_ignore_ascii_case(&k));
                have.insert(k, v);
            }
            Value::Object(have)
        }
        (Some(Value::Array(mut have)), more) => {
            let more = match more {
                Value::Array(items) => items,
                one => vec![one],
            };
            for item in more {
                if !have.contains(&item) {
                    have.push(item);
                }
            }
            Value::Array(have)
        }
        (_, value) => value,
    }
}

/// `emails[type eq "work"].value`: the values of a multi-valued attribute that match.
fn set_values(
    object: &mut Map<String, Value>,
    name: &str,
    op: Op,
    filter: &Filter,
    sub: Option<&str>,
    value: Option<Value>,
) -> Result<(), ScimError> {
    if name != "emails" {
        return Err(invalid_path(format!("{name} has no values to filter.")));
    }
    let list = object
        .entry(name.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    let items = list.as_array_mut().expect("made an array");
    let matching: Vec<usize> = (0..items.len())
        .filter(|i| element_matches(filter, &items[*i]))
        .collect();
    match op {
        Op::Remove => match sub {
            None => {
                let mut i = 0;
                items.retain(|_| {
                    let keep = !matching.contains(&i);
                    i += 1;
                    keep
                });
            }
            Some(sub) => {
                for i in matching {
                    if let Some(item) = items[i].as_object_mut() {
                        item.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                    }
                }
            }
        },
        Op::Add | Op::Replace => {
            let value = value.unwrap_or(Value::Null);
            if matching.is_empty() {
                // Nothing matches yet: a new value, made from the filter's `eq`s (Entra ID
                // replaces emails[type eq "work"].value on a user without one).
                let mut item = Map::new();
                defaults_of(filter, &mut item);
                match sub {
                    Some(sub) => {
                        item.insert(sub.to_owned(), value);
                    }
                    None => {
                        if let Value::Object(more) = value {
                            item.extend(more);
                        }
                    }
                }
                items.push(Value::Object(item));
            } else {
                for i in matching {
                    let Some(item) = items[i].as_object_mut() else {
                        continue;
                    };
                    match sub {
                        Some(sub) => {
                            item.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                            item.insert(sub.to_owned(), value.clone());
                        }
                        None => {
                            if let Value::Object(more) = &value {
                                for (k, v) in more {
                                    item.retain(|key, _| !key.eq_ignore_ascii_case(k));
                                    item.insert(k.clone(), v.clone());
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// The `sub eq value` parts of a filter, as the attributes of a value made for it.
fn defaults_of(filter: &Filter, item: &mut Map<String, Value>) {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } => {
            let value = match value {
                Literal::Text(t) => Value::String(t.clone()),
                Literal::Bool(b) => Value::Bool(*b),
                Literal::Number(n) => {
                    serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number)
                }
                Literal::Null => Value::Null,
            };
            item.insert(path.name.clone(), value);
        }
        Filter::And(a, b) => {
            defaults_of(a, item);
            defaults_of(b, item);
        }
        _ => {}
    }
}

/// Whether one value of a multi-valued attribute (`{"type": "work", "value": …}`) matches a
/// bracket's filter. Texts compare without case, as emails and their types do.
pub fn element_matches(filter: &Filter, element: &Value) -> bool {
    let object = match element.as_object() {
        Some(o) => o,
        None => return false,
    };
    match filter {
        Filter::And(a, b) => element_matches(a, element) && element_matches(b, element),
        Filter::Or(a, b) => element_matches(a, element) || element_matches(b, element),
        Filter::Not(inner) => !element_matches(inner, element),
        Filter::Present(path) => member(object, &path.name).is_some_and(|v| !v.is_null()),
        Filter::ValuePath { .. } => false,
        Filter::Compare { path, op, value } => {
            let have = member(object, &path.name);
            match (have, value) {
                (Some(Value::String(have)), Literal::Text(want)) => {
                    let (have, want) = (have.to_lowercase(), want.to_lowercase());
                    match op {
                        CompareOp::Eq => have == want,
                        CompareOp::Ne => have != want,
                        CompareOp::Co => have.contains(&want),
                        CompareOp::Sw => have.starts_with(&want),
                        CompareOp::Ew => have.ends_with(&want),
                        CompareOp::Gt => have > want,
                        CompareOp::Ge => have >= want,
                        CompareOp::Lt => have < want,
                        CompareOp::Le => have <= want,
                    }
                }
                (Some(have), Literal::Bool(want)) => match boolean(have, "") {
                    Ok(have) => match op {
                        CompareOp::Eq => have == *want,
                        CompareOp::Ne => have != *want,
                        _ => false,
                    },
                    Err(_) => false,
                },
                (None | Some(Value::Null), _) => *op == CompareOp::Ne,
                _ => false,
            }
        }
    }
}

/// A group's PATCH as one change of the group.
pub fn group_changes(operations: &[Operation]) -> Result<GroupChanges, ScimError> {
    let mut changes = GroupChanges::default();
    for operation in operations {
        match &operation.path {
            None => {
                let Some(Value::Object(values)) = &operation.value else {
                    return Err(ScimError::bad(
                        "invalidValue",
                        "Without a path, the value is an object of attributes.",
                    ));
                };
                for (key, value) in values {
                    let Some(bare) = bare_name(key) else { continue };
                    let path = parse_path(bare)?;
                    group_change(&mut changes, operation.op, &path, Some(value))?;
                }
            }
            Some(path) => group_change(&mut changes, operation.op, path, operation.value.as_ref())?,
        }
    }
    Ok(changes)
}

fn group_change(
    changes: &mut GroupChanges,
    op: Op,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let text = |value: Option<&Value>, name: &str| match value {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(ScimError::bad(
            "invalidValue",
            format!("{name} must be a string."),
        )),
    };
    match path.attr.name.as_str() {
        "members" => {
            let change = match (&path.filter, op) {
                (Some(filter), Op::Remove) => MemberChange::Remove(ids_in(filter)?),
                (Some(_), _) => {
                    return Err(invalid_path(
                        "Members are added by value: {\"op\": \"add\", \"path\": \"members\", \
                         \"value\": [{\"value\": id}]}.",
                    ));
                }
                (None, Op::Remove) => match value {
                    // Entra ID: remove with the members named in the value.
                    Some(value) if !value.is_null() => MemberChange::Remove(member_ids(value)?),
                    _ => MemberChange::Replace(Vec::new()),
                },
                (None, Op::Add) => MemberChange::Add(member_ids(value.unwrap_or(&Value::Null))?),
                (None, Op::Replace) => {
                    MemberChange::Replace(member_ids(value.unwrap_or(&Value::Null))?)
                }
            };
            changes.members.push(change);
        }
        "displayname" => match op {
            Op::Remove => {
                return Err(ScimError::bad(
                    "mutability",
                    "A group must keep a displayName.",
                ));
            }
            _ => changes.display_name = Some(text(value, "displayName")?),
        },
        "externalid" => {
            changes.external_id = Some(match op {
                Op::Remove => None,
                _ => match value {
                    Some(Value::Null) | None => None,
                    other => Some(text(other, "externalId")?),
                },
            });
        }
        "id" | "meta" | "schemas" => {
            return Err(ScimError::bad(
                "mutability",
                format!("{} can't be changed.", path.attr.name),
            ));
        }
        // Nothing else is kept of a group.
        _ => {}
    }
    Ok(())
}

/// The ids of `value eq "…"` filters joined by `or`: `members[value eq "a" or value eq "b"]`.
fn ids_in(filter: &Filter) -> Result<Vec<String>, ScimError> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: Literal::Text(id),
        } if path.dotted() == "value" => Ok(vec![id.clone()]),
        Filter::Or(a, b) => {
            let mut ids = ids_in(a)?;
            ids.extend(ids_in(b)?);
            Ok(ids)
        }
        _ => Err(invalid_path(
            "Members are removed by id: members[value eq \"id\"].",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [super::super::resources::USER_SCHEMA],
            "id": "u1",
            "userName": "alex@contoso.example",
            "displayName": "Alex",
            "active": true,
            "name": {"givenName": "Alex"},
            "emails": [{"value": "alex@contoso.example", "type": "work", "primary": true}],
        })
    }

    fn patch(ops: Value) -> Vec<Operation> {
        operations(&json!({"schemas": [PATCH_SCHEMA], "Operations": ops})).unwrap()
    }

    #[test]
    fn entra_ids_replace_shapes_change_the_user() {
        let mut u = user();
        apply_to_user(
            &mut u,
            &patch(json!([
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "a.w@contoso.example"},
                {"op": "Replace", "value": {"name.familyName": "Wilber", "displayName": "Alex Wilber"}},
                {"op": "Add", "path": "title", "value": "Designer"},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Design"}
            ])),
        )
        .unwrap();
        assert_eq!(u["active"], json!(false));
        assert_eq!(u["emails"][0]["value"], json!("a.w@contoso.example"));
        assert_eq!(u["name"]["familyName"], json!("Wilber"));
        assert_eq!(u["name"]["givenName"], json!("Alex"));
        assert_eq!(u["displayName"], json!("Alex Wilber"));
        assert!(u.get("title").is_none(), "not kept");
    }

    #[test]
    fn remove_takes_an_attribute_away_and_read_only_ones_are_refused() {
        let mut u = user();
        apply_to_user(
            &mut u,
            &patch(json!([{"op": "remove", "path": "name.givenName"}])),
        )
        .unwrap();
        assert_eq!(u["name"], json!({}));
        let error = apply_to_user(
            &mut u,
            &patch(json!([{"op": "replace", "path": "id", "value": "x"}])),
        )
        .unwrap_err();
        assert_eq!(error.scim_type, Some("mutability"));
        let error = operations(&json!({"Operations": [{"op": "remove"}]})).unwrap_err();
        assert_eq!(error.scim_type, Some("noTarget"));
        let error = operations(&json!({"Operations": [{"op": "move", "path": "x"}]})).unwrap_err();
        assert_eq!(error.scim_type, Some("invalidSyntax"));
        let error = operations(&json!({"Operations": [{"op": "add", "path": "emails[type eq"}]}))
            .unwrap_err();
        assert_eq!(error.scim_type, Some("invalidPath"));
    }

    #[test]
    fn group_member_operations_in_every_shape_clients_send() {
        let changes = group_changes(&patch(json!([
            {"op": "Add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "a"}]},
            {"op": "remove", "path": "members[value eq \"b\"]"},
            {"op": "replace", "value": {"displayName": "Sales", "externalId": "s1"}},
            {"op": "remove", "path": "members"}
        ])))
        .unwrap();
        assert_eq!(
            changes.members,
            vec![
                MemberChange::Add(vec!["a".into(), "b".into()]),
                MemberChange::Remove(vec!["a".into()]),
                MemberChange::Remove(vec!["b".into()]),
                MemberChange::Replace(Vec::new()),
            ]
        );
        assert_eq!(changes.display_name.as_deref(), Some("Sales"));
        assert_eq!(changes.external_id, Some(Some("s1".into())));
    }
}
