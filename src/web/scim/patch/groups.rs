//! A group's PATCH as one change of its name, externalId and members.

use serde_json::Value;

use super::{Op, Operation, invalid_path, parse_path};
use crate::domain::provisioning::filter::{CompareOp, Filter, Literal, PatchPath};
use crate::domain::provisioning::{GroupChanges, MemberChange};
use crate::web::scim::errors::ScimError;
use crate::web::scim::resources::{bare_name, member_ids};
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
