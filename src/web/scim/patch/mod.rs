//! PATCH (RFC 7644 §3.5.2): `add`, `replace` and `remove` operations, in any case ("Replace",
//! as Entra ID sends them), with or without a path. A user's operations are applied, in order,
//! to the user as allot renders them, and the result is saved like a PUT: all or nothing. A
//! group's become one change of its name, externalId and members, so a group of 100,000 is
//! never read whole to add one member.

use serde_json::Value;

mod groups;
mod users;

pub use groups::group_changes;
pub use users::apply_to_user;

use super::errors::ScimError;
use super::resources::member;
use crate::domain::provisioning::filter::PatchPath;

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

pub(super) fn invalid_path(e: impl std::fmt::Display) -> ScimError {
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
pub(super) fn parse_path(text: &str) -> Result<PatchPath, ScimError> {
    PatchPath::parse(text).map_err(invalid_path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::provisioning::MemberChange;
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
