//! A user's PATCH: each operation applied, in order, to the user as rendered (attributes,
//! sub-attributes, values of `emails` picked by a filter).

use serde_json::{Map, Value};

use super::{Op, Operation, invalid_path, parse_path};
use crate::domain::provisioning::filter::{CompareOp, Filter, Literal, PatchPath};
use crate::web::scim::errors::ScimError;
use crate::web::scim::resources::{bare_name, boolean, member};
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
        .is_some_and(|s| !s.eq_ignore_ascii_case(crate::web::scim::resources::USER_SCHEMA))
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
fn element_matches(filter: &Filter, element: &Value) -> bool {
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
