//! PATCH requests (RFC 7644 section 3.5.2) read in every form identity providers send:
//! `op` in any case (Entra ID's `Replace`, `Add`), booleans written as strings
//! (`"False"`), and path-less operations whose value holds attribute names, including
//! dotted ones (`"name.givenName"`) and extension URNs. Path-less operations are spread
//! here into one operation per key, so the resources see only operations with a path.

use roster_core::filter::{parse_path, PatchPath};
use serde_json::{Map, Value};

use super::ScimError;

const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Remove,
    Replace,
}

#[derive(Debug)]
pub struct Operation {
    pub kind: OpKind,
    pub path: PatchPath,
    pub value: Option<Value>,
}

/// The operations of a PATCH body, each with a path.
pub fn read_operations(body: &Map<String, Value>) -> Result<Vec<Operation>, ScimError> {
    if let Some(schemas) = body.get("schemas") {
        let named = schemas
            .as_array()
            .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(PATCH_SCHEMA)));
        if !named {
            return Err(ScimError::bad_request(
                "invalidSyntax",
                format!("A PATCH body has the schema {PATCH_SCHEMA}"),
            ));
        }
    }
    let operations = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .and_then(|(_, v)| v.as_array())
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| {
            ScimError::bad_request(
                "invalidSyntax",
                "A PATCH body needs a non-empty Operations array",
            )
        })?;

    let mut read = Vec::new();
    for operation in operations {
        let field = |name: &str| {
            operation
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .map(|(_, v)| v)
        };
        let kind = match field("op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
        {
            Some(op) if op == "add" => OpKind::Add,
            Some(op) if op == "remove" => OpKind::Remove,
            Some(op) if op == "replace" => OpKind::Replace,
            other => {
                return Err(ScimError::bad_request(
                    "invalidSyntax",
                    format!("op must be add, remove or replace, not {other:?}"),
                ))
            }
        };
        let value = field("value").cloned();
        match field("path")
            .and_then(Value::as_str)
            .filter(|p| !p.trim().is_empty())
        {
            Some(path) => read.push(Operation {
                kind,
                path: read_path(path)?,
                value,
            }),
            None if kind == OpKind::Remove => {
                return Err(ScimError::bad_request(
                    "noTarget",
                    "A remove operation needs a path",
                ))
            }
            None => {
                let Some(Value::Object(attributes)) = value else {
                    return Err(ScimError::bad_request(
                        "invalidValue",
                        "An add or replace without a path needs an object of attributes as its value",
                    ));
                };
                for (name, value) in attributes {
                    read.push(Operation {
                        kind,
                        path: read_path(&name)?,
                        value: Some(value),
                    });
                }
            }
        }
    }
    Ok(read)
}

fn read_path(raw: &str) -> Result<PatchPath, ScimError> {
    parse_path(raw).map_err(|e| ScimError::bad_request("invalidPath", format!("path {raw:?}: {e}")))
}

/// A boolean, also when written as a string in any case (Entra ID's `"False"`).
pub fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The values of a multi-valued attribute as given: a list, or one value alone.
pub fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The `value` of the element a multi-valued attribute marks primary, or of its first:
/// `[{"value": "a", "primary": true}]`, `{"value": "a"}` or plain `"a"`.
pub fn primary_value(value: &Value) -> Option<String> {
    let items = as_list(value);
    let primary = items
        .iter()
        .find(|item| item.get("primary").and_then(as_bool) == Some(true))
        .or_else(|| items.first())?;
    match primary {
        Value::String(s) => Some(s.clone()),
        Value::Object(_) => primary.get("value")?.as_str().map(str::to_owned),
        _ => None,
    }
}

/// The attribute an operation names, lower-cased, with the core schema prefix of
/// `resource_schema` dropped; `None` for an attribute of another schema (an extension
/// Roster does not store).
pub fn core_attribute(path: &PatchPath, resource_schema: &str) -> Option<(String, Option<String>)> {
    if path
        .path
        .schema
        .as_deref()
        .is_some_and(|s| !s.eq_ignore_ascii_case(resource_schema))
    {
        return None;
    }
    let sub = path.path.sub_attr.as_ref().or(path.sub_attr.as_ref());
    Some((
        path.path.attr.to_ascii_lowercase(),
        sub.map(|s| s.to_ascii_lowercase()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ops(body: Value) -> Result<Vec<Operation>, ScimError> {
        read_operations(body.as_object().unwrap())
    }

    #[test]
    fn capitalised_ops_and_path_less_dotted_keys_are_read() {
        let read = ops(json!({
            "schemas": [PATCH_SCHEMA],
            "Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "replace", "value": {"name.givenName": "Ana", "active": true}},
            ]
        }))
        .unwrap();
        assert_eq!(read.len(), 3);
        assert_eq!(read[0].kind, OpKind::Replace);
        assert_eq!(read[0].value.as_ref().and_then(as_bool), Some(false));
        // The keys of one path-less value come out in no particular order: JSON objects
        // have none.
        let given = read.iter().find(|op| op.path.path.attr == "name").unwrap();
        assert_eq!(given.path.path.sub_attr.as_deref(), Some("givenName"));
        assert!(read[1..].iter().any(|op| op.path.path.attr == "active"));
    }

    #[test]
    fn malformed_patch_bodies_are_refused() {
        for body in [
            json!({}),
            json!({"Operations": []}),
            json!({"Operations": [{"op": "move", "path": "a"}]}),
            json!({"Operations": [{"op": "remove"}]}),
            json!({"Operations": [{"op": "add", "value": 5}]}),
            json!({"Operations": [{"op": "add", "path": "members[", "value": 5}]}),
            json!({"schemas": ["x"], "Operations": [{"op": "add", "path": "a", "value": 1}]}),
        ] {
            assert!(ops(body.clone()).is_err(), "{body}");
        }
    }

    #[test]
    fn primary_values_are_found_in_every_shape() {
        assert_eq!(
            primary_value(&json!([{"value": "a"}, {"value": "b", "primary": "True"}])),
            Some("b".into())
        );
        assert_eq!(primary_value(&json!({"value": "a"})), Some("a".into()));
        assert_eq!(primary_value(&json!("a")), Some("a".into()));
        assert_eq!(primary_value(&json!([])), None);
    }
}
