//! What Users and Groups share: list parameters, list responses, `attributes` and
//! `excludedAttributes`, filters evaluated over a resource's JSON, and the search
//! across both resource types.

use std::collections::HashMap;

use axum::{http::StatusCode, response::Response};
use roster_core::filter::{self, AttrPath, CompareOp, Filter, Value as FilterValue};
use serde_json::{json, Map, Value};

use super::{
    discovery::MAX_RESULTS, groups, openapi, scim_response, users, JsonBody, Scim, ScimError,
};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// How many resources a list answers with when the client does not say.
const DEFAULT_COUNT: u64 = 100;

/// The query of a list or search (RFC 7644 sections 3.4.2 and 3.4.3).
#[derive(Debug, Default)]
pub struct ListParams {
    pub filter: Option<Filter>,
    /// 1-based, as SCIM counts.
    pub start_index: u64,
    pub count: u64,
    pub projection: Projection,
}

impl ListParams {
    /// From the query string of `GET /Users` or `GET /Groups`.
    pub fn from_query(query: &HashMap<String, String>) -> Result<ListParams, ScimError> {
        let number = |name: &str| -> Result<Option<i64>, ScimError> {
            query
                .get(name)
                .map(|raw| {
                    raw.trim().parse::<i64>().map_err(|_| {
                        ScimError::invalid_value(format!("{name} must be an integer, got {raw:?}"))
                    })
                })
                .transpose()
        };
        ListParams::new(
            query.get("filter").map(String::as_str),
            number("startIndex")?,
            number("count")?,
            Projection::from_query(query),
        )
    }

    /// From the body of a `POST .search` (RFC 7644 section 3.4.3).
    pub fn from_search(body: &Map<String, Value>) -> Result<ListParams, ScimError> {
        if let Some(schemas) = body.get("schemas") {
            let named = schemas
                .as_array()
                .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(SEARCH_REQUEST_SCHEMA)));
            if !named {
                return Err(ScimError::bad_request(
                    "invalidSyntax",
                    format!("A search request has the schema {SEARCH_REQUEST_SCHEMA}"),
                ));
            }
        }
        let number = |name: &str| -> Result<Option<i64>, ScimError> {
            match body.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ScimError::invalid_value(format!("{name} must be an integer"))),
            }
        };
        let filter = match body.get("filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(f)) => Some(f.as_str()),
            Some(_) => {
                return Err(ScimError::bad_request(
                    "invalidFilter",
                    "filter must be a string",
                ))
            }
        };
        ListParams::new(
            filter,
            number("startIndex")?,
            number("count")?,
            Projection::from_search(body),
        )
    }

    fn new(
        filter: Option<&str>,
        start_index: Option<i64>,
        count: Option<i64>,
        projection: Projection,
    ) -> Result<ListParams, ScimError> {
        let filter = filter
            .filter(|f| !f.trim().is_empty())
            .map(filter::parse)
            .transpose()
            .map_err(|e| ScimError::bad_request("invalidFilter", e.to_string()))?;
        // Section 3.4.2.4: a startIndex below 1 is read as 1, a negative count as 0,
        // and a count above maxResults as maxResults.
        Ok(ListParams {
            filter,
            start_index: start_index.unwrap_or(1).max(1) as u64,
            count: count
                .unwrap_or(DEFAULT_COUNT as i64)
                .clamp(0, MAX_RESULTS as i64) as u64,
            projection,
        })
    }

    pub fn offset(&self) -> u64 {
        self.start_index - 1
    }
}

/// A list response (RFC 7644 section 3.4.2). `Resources` is always there, empty when
/// nothing was asked for or found.
pub fn list_response(resources: Vec<Value>, total: u64, start_index: u64) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// `attributes` and `excludedAttributes` (RFC 7644 section 3.9), applied to a resource's
/// JSON. `id` and `schemas` are always returned.
#[derive(Debug, Default, Clone)]
pub struct Projection {
    attributes: Vec<(String, Option<String>)>,
    excluded: Vec<(String, Option<String>)>,
}

impl Projection {
    pub fn from_query(query: &HashMap<String, String>) -> Projection {
        let list = |name: &str| {
            query
                .get(name)
                .map(|raw| raw.split(',').filter_map(attribute_name).collect())
                .unwrap_or_default()
        };
        Projection {
            attributes: list("attributes"),
            excluded: list("excludedAttributes"),
        }
    }

    fn from_search(body: &Map<String, Value>) -> Projection {
        let list = |name: &str| match body.get(name) {
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(Value::as_str)
                .filter_map(attribute_name)
                .collect(),
            Some(Value::String(raw)) => raw.split(',').filter_map(attribute_name).collect(),
            _ => Vec::new(),
        };
        Projection {
            attributes: list("attributes"),
            excluded: list("excludedAttributes"),
        }
    }

    /// True unless `attr` (a top-level name) is left out of the answer, so that callers
    /// can skip work such as reading a group's members.
    pub fn wants(&self, attr: &str) -> bool {
        let named = |list: &[(String, Option<String>)]| {
            list.iter().any(|(a, _)| a.eq_ignore_ascii_case(attr))
        };
        let excluded_whole = self
            .excluded
            .iter()
            .any(|(a, sub)| sub.is_none() && a.eq_ignore_ascii_case(attr));
        (self.attributes.is_empty() || named(&self.attributes)) && !excluded_whole
    }

    pub fn apply(&self, resource: &mut Value) {
        let Some(object) = resource.as_object_mut() else {
            return;
        };
        let always = |key: &str| key == "id" || key == "schemas";
        if !self.attributes.is_empty() {
            object.retain(|key, value| {
                if always(key) {
                    return true;
                }
                let subs: Vec<&Option<String>> = self
                    .attributes
                    .iter()
                    .filter(|(a, _)| a.eq_ignore_ascii_case(key))
                    .map(|(_, sub)| sub)
                    .collect();
                if subs.is_empty() {
                    return false;
                }
                if subs.iter().all(|s| s.is_some()) {
                    let keep: Vec<&str> = subs.iter().filter_map(|s| s.as_deref()).collect();
                    retain_sub_attributes(value, |sub| {
                        keep.iter().any(|k| k.eq_ignore_ascii_case(sub))
                    });
                }
                true
            });
        }
        for (attr, sub) in &self.excluded {
            if always(attr) {
                continue;
            }
            let key = object
                .keys()
                .find(|k| k.eq_ignore_ascii_case(attr))
                .cloned();
            let Some(key) = key else { continue };
            match sub {
                None => {
                    object.remove(&key);
                }
                Some(sub) => {
                    if let Some(value) = object.get_mut(&key) {
                        retain_sub_attributes(value, |s| !s.eq_ignore_ascii_case(sub));
                    }
                }
            }
        }
    }
}

fn retain_sub_attributes(value: &mut Value, keep: impl Fn(&str) -> bool) {
    match value {
        Value::Object(map) => map.retain(|k, _| keep(k)),
        Value::Array(items) => {
            for item in items {
                if let Value::Object(map) = item {
                    map.retain(|k, _| keep(k));
                }
            }
        }
        _ => {}
    }
}

/// Splits `name.sub`, dropping a core schema prefix; extension attributes name nothing
/// Roster returns, so they are dropped.
fn attribute_name(raw: &str) -> Option<(String, Option<String>)> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let name = match raw.rsplit_once(':') {
        Some((schema, name))
            if schema.eq_ignore_ascii_case(USER_SCHEMA)
                || schema.eq_ignore_ascii_case(GROUP_SCHEMA) =>
        {
            name
        }
        Some(_) => return None,
        None => raw,
    };
    Some(match name.split_once('.') {
        Some((attr, sub)) => (attr.to_owned(), Some(sub.to_owned())),
        None => (name.to_owned(), None),
    })
}

/// Evaluates `filter` against a resource's JSON: the groups' filters, and the value
/// filters of PATCH paths (`members[value eq "12"]`). Attribute names and string values
/// compare case-insensitively, except `id`, `externalId` and `value`, which are exact
/// (RFC 7643 sections 3.1 and 4.2). An attribute the resource does not have matches
/// nothing but `ne` and `not`.
pub fn matches(filter: &Filter, resource: &Value) -> bool {
    match filter {
        Filter::And(terms) => terms.iter().all(|t| matches(t, resource)),
        Filter::Or(terms) => terms.iter().any(|t| matches(t, resource)),
        Filter::Not(inner) => !matches(inner, resource),
        Filter::Present(path) => values_at(resource, path).iter().any(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        }),
        Filter::Compare { path, op, value } => {
            let found = values_at(resource, path);
            if *op == CompareOp::Ne {
                return !found.iter().any(|v| compare(path, CompareOp::Eq, v, value));
            }
            found.iter().any(|v| compare(path, *op, v, value))
        }
        Filter::ValuePath { path, filter } => values_at(resource, path)
            .iter()
            .any(|element| matches(filter, element)),
    }
}

fn field<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Every value at `path`, with multi-valued attributes spread out.
fn values_at<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let Some(top) = field(resource, &path.attr) else {
        return Vec::new();
    };
    let spread = |v: &'a Value| -> Vec<&'a Value> {
        match v {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        }
    };
    match &path.sub_attr {
        None => spread(top),
        Some(sub) => spread(top)
            .into_iter()
            .filter_map(|element| field(element, sub))
            .flat_map(spread)
            .collect(),
    }
}

fn compare(path: &AttrPath, op: CompareOp, found: &Value, wanted: &FilterValue) -> bool {
    let name = path.sub_attr.as_deref().unwrap_or(&path.attr);
    let exact = ["id", "externalId", "value"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name));
    match (found, wanted) {
        (Value::Bool(b), FilterValue::Bool(w)) => match op {
            CompareOp::Eq => b == w,
            _ => false,
        },
        (Value::Number(n), FilterValue::Number(w)) => {
            let n = n.as_f64().unwrap_or(f64::NAN);
            ordering_holds(op, n.partial_cmp(w))
        }
        (Value::String(s), wanted) => {
            let wanted = match wanted {
                FilterValue::String(w) => w.clone(),
                FilterValue::Number(n) => n.to_string(),
                FilterValue::Bool(b) => b.to_string(),
                FilterValue::Null => return false,
            };
            let (s, w) = if exact {
                (s.clone(), wanted)
            } else {
                (s.to_lowercase(), wanted.to_lowercase())
            };
            match op {
                CompareOp::Co => s.contains(&w),
                CompareOp::Sw => s.starts_with(&w),
                CompareOp::Ew => s.ends_with(&w),
                _ => ordering_holds(op, Some(s.cmp(&w))),
            }
        }
        _ => false,
    }
}

fn ordering_holds(op: CompareOp, ordering: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    matches!(
        (op, ordering),
        (CompareOp::Eq, Some(Equal))
            | (CompareOp::Ne, Some(Less | Greater))
            | (CompareOp::Gt, Some(Greater))
            | (CompareOp::Ge, Some(Greater | Equal))
            | (CompareOp::Lt, Some(Less))
            | (CompareOp::Le, Some(Less | Equal))
    )
}

/// A weak entity tag over the parts of a resource that have no version of their own.
pub fn content_version(parts: &[&str]) -> String {
    // FNV-1a: stable across processes and releases, unlike the standard library's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("W/\"{hash:016x}\"")
}

/// Searches Users and Groups together.
///
/// `POST /.search` at the root (RFC 7644 section 3.4.3): Users, then Groups, paged as one
/// list. A filter naming an attribute one type lacks simply matches none of that type.
#[utoipa::path(
    post,
    path = "/scim/v2/.search",
    tag = "scim",
    security(("scim_bearer" = [])),
    request_body(content = openapi::ScimSearchRequest, content_type = "application/scim+json", description = "The query"),
    responses(
        (status = 200, description = "A page of the users, then the groups, matching the filter", body = openapi::ScimListResponse<openapi::ScimResource>, content_type = "application/scim+json"),
        (status = 400, response = openapi::ScimBadRequest),
        (status = 401, response = openapi::ScimUnauthorized),
        (status = 413, response = openapi::ScimPayloadTooLarge),
        (status = 415, response = openapi::ScimUnsupportedMediaType),
        (status = 500, response = openapi::ScimInternalError),
    ),
)]
pub async fn search_everything(
    scim: Scim,
    JsonBody(body): JsonBody,
) -> Result<Response, ScimError> {
    let params = ListParams::from_search(&body)?;

    let (users, user_total) = users::find(&scim, &params, true).await?;
    let skipped_into_groups = params.offset().saturating_sub(user_total);
    let room = params.count - users.len() as u64;
    let (groups, group_total) = groups::find(&scim, &params, skipped_into_groups, room).await?;

    let mut resources = users;
    resources.extend(groups);
    let body = list_response(resources, user_total + group_total, params.start_index);
    Ok(scim_response(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn projected(query: &[(&str, &str)], mut resource: Value) -> Value {
        let query = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Projection::from_query(&query).apply(&mut resource);
        resource
    }

    #[test]
    fn attributes_keep_only_what_is_named_and_the_id() {
        let user = json!({"id": "1", "schemas": [], "userName": "a", "name": {"formatted": "A", "x": 1}, "active": true});
        assert_eq!(
            projected(&[("attributes", "name.formatted,USERNAME")], user.clone()),
            json!({"id": "1", "schemas": [], "userName": "a", "name": {"formatted": "A"}})
        );
        assert_eq!(
            projected(&[("excludedAttributes", "name,id")], user),
            json!({"id": "1", "schemas": [], "userName": "a", "active": true})
        );
    }

    #[test]
    fn filters_over_json_follow_multi_valued_attributes() {
        let group = json!({"displayName": "Staff", "members": [{"value": "12"}, {"value": "13"}]});
        let check = |f: &str| matches(&filter::parse(f).unwrap(), &group);
        assert!(check(r#"displayName eq "staff""#));
        assert!(check(r#"members[value eq "13"]"#));
        assert!(check(r#"members.value eq "12""#));
        assert!(!check(r#"members[value eq "14"]"#));
        assert!(check(r#"externalId ne "x""#));
        assert!(!check("externalId pr"));
        assert!(check("not (externalId pr) and members pr"));
    }

    #[test]
    fn content_versions_change_with_the_content() {
        assert_eq!(content_version(&["a", "b"]), content_version(&["a", "b"]));
        assert_ne!(content_version(&["a", "b"]), content_version(&["ab"]));
    }
}
