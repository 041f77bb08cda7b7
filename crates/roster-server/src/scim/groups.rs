//! `/Groups`: the account's roles as SCIM Groups (RFC 7643 section 4.2).
//!
//! A group is a role; its members are the users holding it (`DESIGN.md` section 2).
//! Adding a user to a group gives the user that role, which takes them out of the group
//! of their previous role, since a user holds one role. Removing a user gives them the
//! default role. Creating a group adds a role to the catalogue, renaming it renames the
//! role, and deleting it is refused while users hold the role. Unknown member ids are
//! accepted and ignored. A group's `displayName` is its role's name, as the identity
//! provider writes it (capitals and spaces included); `externalId` is stored with the
//! role; `meta.created` is when the role was made (the account's creation for the
//! default roles) and `meta.lastModified` when it was renamed or its members changed.
//!
//! A group's version (its `ETag`) covers its name, `externalId` and members, so every
//! group answer, even one with `excludedAttributes=members`, reads the members: one
//! query per role and per thousand members.
//!
//! Group ids are `role-<id>`, so that they never equal a user's id: RFC 7643 section 3.1
//! wants ids unique across all resources, and `POST /.search` returns both kinds.
//!
//! Known shortcoming, listed in the README too: a membership change touching several
//! users is applied user by user, so a failure half-way leaves the users before it
//! changed.

use std::collections::BTreeSet;

use axum::{
    extract::{Path, RawQuery},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use chrono::SecondsFormat;
use roster_core::{
    DirectoryError, NewRole, Role, RoleChanges, RoleName, UserChanges, UserQuery, DEFAULT_ROLE,
};
use serde_json::{json, Map, Value};

use super::{
    if_match, openapi,
    patch::{as_list, core_attribute, read_operations, OpKind},
    resource::{content_version, list_response, matches, ListParams, Projection, GROUP_SCHEMA},
    resource_response, scim_response,
    users::query_map,
    JsonBody, Scim, ScimError,
};

const ID_PREFIX: &str = "role-";

/// How many members are read per query while listing a group's members.
const MEMBER_PAGE: u64 = 1000;

pub fn group_id(role_id: i64) -> String {
    format!("{ID_PREFIX}{role_id}")
}

fn parse_group_id(raw: &str) -> Result<i64, ScimError> {
    raw.strip_prefix(ID_PREFIX)
        .and_then(|id| id.parse::<i64>().ok())
        .ok_or_else(|| ScimError::not_found(format!("Group {raw} not found")))
}

/// A role with the ids of the users holding it, in id order.
struct Group {
    role: Role,
    members: Vec<i64>,
}

impl Group {
    fn json(&self, base: &str) -> Value {
        let id = group_id(self.role.id);
        let members: Vec<Value> = self
            .members
            .iter()
            .map(|user| {
                json!({
                    "value": user.to_string(),
                    "$ref": format!("{base}/Users/{user}"),
                    "type": "User",
                })
            })
            .collect();
        let mut json = json!({
            "schemas": [GROUP_SCHEMA],
            "id": id,
            "displayName": self.role.name,
            "members": members,
            "meta": {
                "resourceType": "Group",
                "location": format!("{base}/Groups/{id}"),
                "version": self.version(),
            },
        });
        if let Some(external_id) = &self.role.external_id {
            json["externalId"] = json!(external_id);
        }
        // RFC 7643 section 3.1; a directory that keeps no dates (the bridge's) leaves
        // them out rather than invent them.
        let instant = |t: &chrono::DateTime<chrono::Utc>| {
            json!(t.to_rfc3339_opts(SecondsFormat::Millis, true))
        };
        if let Some(created) = &self.role.created_at {
            json["meta"]["created"] = instant(created);
        }
        if let Some(modified) = &self.role.updated_at {
            json["meta"]["lastModified"] = instant(modified);
        }
        json
    }

    /// Changes whenever the name, the externalId or the membership does.
    fn version(&self) -> String {
        let ids: Vec<String> = self.members.iter().map(i64::to_string).collect();
        // The externalId goes last and tagged, so that it cannot pass for a member id.
        let external_id = self.role.external_id.as_deref().map(|x| format!("x:{x}"));
        let mut parts = vec![self.role.name.as_str()];
        parts.extend(ids.iter().map(String::as_str));
        parts.extend(external_id.as_deref());
        content_version(&parts)
    }
}

async fn load(scim: &Scim, role: Role) -> Result<Group, ScimError> {
    let mut members = Vec::new();
    loop {
        let page = scim
            .directory
            .list_users(&UserQuery {
                role: Some(role.name.clone()),
                offset: members.len() as u64,
                limit: MEMBER_PAGE,
                ..UserQuery::default()
            })
            .await
            .map_err(|e| ScimError::from_directory(e, "Group members"))?;
        let done = (page.users.len() as u64) < MEMBER_PAGE;
        members.extend(page.users.iter().map(|u| u.id));
        if done {
            break;
        }
    }
    Ok(Group { role, members })
}

async fn roles(scim: &Scim) -> Result<Vec<Role>, ScimError> {
    scim.directory
        .list_roles()
        .await
        .map_err(|e| ScimError::from_directory(e, "Group"))
}

async fn load_by_id(scim: &Scim, raw_id: &str) -> Result<Group, ScimError> {
    let id = parse_group_id(raw_id)?;
    let role = roles(scim)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ScimError::not_found(format!("Group {raw_id} not found")))?;
    load(scim, role).await
}

/// The groups matching the filter, `room` of them after skipping `skip`, as SCIM JSON,
/// and the number matching. Roles are few, so the filter runs here over their JSON.
pub async fn find(
    scim: &Scim,
    params: &ListParams,
    skip: u64,
    room: u64,
) -> Result<(Vec<Value>, u64), ScimError> {
    let mut matching = Vec::new();
    for role in roles(scim).await? {
        let json = load(scim, role).await?.json(&scim.base);
        if params.filter.as_ref().is_none_or(|f| matches(f, &json)) {
            matching.push(json);
        }
    }
    let total = matching.len() as u64;
    let page = matching
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(room).unwrap_or(usize::MAX))
        .map(|mut json| {
            params.projection.apply(&mut json);
            json
        })
        .collect();
    Ok((page, total))
}

async fn list(scim: Scim, params: ListParams) -> Result<Response, ScimError> {
    let (resources, total) = find(&scim, &params, params.offset(), params.count).await?;
    let body = list_response(resources, total, params.start_index);
    Ok(scim_response(StatusCode::OK, &body))
}

/// Lists the account's groups (its roles), optionally filtered.
#[utoipa::path(
    get,
    path = "/scim/v2/Groups",
    tag = "scim",
    security(("scim_bearer" = [])),
    params(
        openapi::ListQuery,
    ),
    responses(
        (status = 200, description = "A page of the groups matching the filter", body = openapi::ScimListResponse<openapi::ScimGroup>, content_type = "application/scim+json"),
        (status = 400, response = openapi::ScimBadRequest),
        (status = 401, response = openapi::ScimUnauthorized),
        (status = 500, response = openapi::ScimInternalError),
    ),
)]
pub async fn list_groups(scim: Scim, RawQuery(raw): RawQuery) -> Result<Response, ScimError> {
    let params = ListParams::from_query(&query_map(raw.as_deref())?)?;
    list(scim, params).await
}

/// Lists groups with the query in the body (RFC 7644 section 3.4.3).
#[utoipa::path(
    post,
    path = "/scim/v2/Groups/.search",
    tag = "scim",
    security(("scim_bearer" = [])),
    request_body(content = openapi::ScimSearchRequest, content_type = "application/scim+json", description = "The query, as GET /Groups takes it"),
    responses(
        (status = 200, description = "A page of the groups matching the filter", body = openapi::ScimListResponse<openapi::ScimGroup>, content_type = "application/scim+json"),
        (status = 400, response = openapi::ScimBadRequest),
        (status = 401, response = openapi::ScimUnauthorized),
        (status = 413, response = openapi::ScimPayloadTooLarge),
        (status = 415, response = openapi::ScimUnsupportedMediaType),
        (status = 500, response = openapi::ScimInternalError),
    ),
)]
pub async fn search_groups(scim: Scim, JsonBody(body): JsonBody) -> Result<Response, ScimError> {
    let params = ListParams::from_search(&body)?;
    list(scim, params).await
}

fn respond(
    scim: &Scim,
    status: StatusCode,
    group: &Group,
    raw: Option<&str>,
) -> Result<Response, ScimError> {
    let projection = Projection::from_query(&query_map(raw)?);
    Ok(resource_response(
        status,
        group.json(&scim.base),
        &projection,
    ))
}

/// Reads one group.
#[utoipa::path(
    get,
    path = "/scim/v2/Groups/{id}",
    tag = "scim",
    security(("scim_bearer" = [])),
    params(
        ("id" = String, Path, description = "The group's id, `role-<n>`"),
        openapi::ProjectionQuery,
    ),
    responses(
        (status = 200, description = "The group", body = openapi::ScimGroup, content_type = "application/scim+json", headers(("ETag" = String, description = "The version, as `meta.version`"))),
        (status = 400, response = openapi::ScimBadRequest),
        (status = 401, response = openapi::ScimUnauthorized),
        (status = 404, response = openapi::ScimNotFound),
        (status = 500, response = openapi::ScimInternalError),
    ),
)]
pub async fn get_group(
    scim: Scim,
    Path(raw_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ScimError> {
    let group = load_by_id(&scim, &raw_id).await?;
    respond(&scim, StatusCode::OK, &group, raw.as_deref())
}

fn role_name(raw: Option<&Value>) -> Result<RoleName, ScimError> {
    let raw = raw
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
    RoleName::parse(raw).map_err(|e| {
        ScimError::invalid_value(format!(
            "displayName {raw:?} cannot name a role: {e}; Roster's groups are its roles"
        ))
    })
}

/// `externalId`: a string, or absent (or null) for none.
fn external_id(raw: Option<&Value>) -> Result<Option<String>, ScimError> {
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScimError::invalid_value("externalId must be a string")),
    }
}

fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The user ids in a `members` value; values that are not user ids are ignored, since
/// no user has them.
fn member_ids(value: Option<&Value>) -> BTreeSet<i64> {
    value
        .map(as_list)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|member| match member {
            Value::Object(_) => member.get("value")?.as_str().map(str::to_owned),
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .filter_map(|id| id.trim().parse::<i64>().ok())
        .collect()
}

/// Gives `role` to the users in `wanted` who lack it and the default role to those in
/// `current` who are not wanted. Additions come first, so that a group's last member can
/// be replaced (the last admin rule would refuse the removal first).
async fn set_members(
    scim: &Scim,
    role: &str,
    current: &[i64],
    wanted: &BTreeSet<i64>,
) -> Result<(), ScimError> {
    let assign = |name: &str| UserChanges {
        role: RoleName::parse(name).ok(),
        ..UserChanges::default()
    };
    for id in wanted.iter().filter(|id| !current.contains(id)) {
        match scim.directory.update_user(*id, assign(role), None).await {
            Ok(_) | Err(DirectoryError::UserNotFound) => {}
            Err(e) => return Err(ScimError::from_directory(e, &format!("User {id}"))),
        }
    }
    if role == DEFAULT_ROLE {
        // Everyone without another role holds the default one; leaving it is not a thing.
        return Ok(());
    }
    for id in current.iter().filter(|id| !wanted.contains(id)) {
        match scim
            .directory
            .update_user(*id, assign(DEFAULT_ROLE), None)
            .await
        {
            Ok(_) | Err(DirectoryError::UserNotFound) => {}
            Err(e) => return Err(ScimError::from_directory(e, &format!("User {id}"))),
        }
    }
    Ok(())
}

fn check_schemas(body: &Map<String, Value>) -> Result<(), ScimError> {
    match body.get("schemas") {
        Some(schemas)
            if !schemas.as_array().is_some_and(|s| {
                s.iter().any(|u| {
                    u.as_str()
                        .is_some_and(|u| u.eq_ignore_ascii_case(GROUP_SCHEMA))
                })
            }) =>
        {
            Err(ScimError::bad_request(
                "invalidSyntax",
                format!("A Group has the schema {GROUP_SCHEMA}"),
            ))
        }
        _ => Ok(()),
    }
}

/// Creates a group: a new role, given to the members listed.
#[utoipa::path(
    post,
    path = "/scim/v2/Groups",
    tag = "scim",
    security(("scim_bearer" = [])),
    params(
        openapi::ProjectionQuery,
    ),
    request_body(content = openapi::ScimGroupRequest, content_type = "application/scim+json", description = "The new group"),
    responses(
        (status = 201, description = "The group as created", body = openapi::ScimGroup, content_type = "application/scim+json", headers(("ETag" = String, description = "The version, as `meta.version`"), ("Location" = String, description = "The URL of the new resource, as `meta.location`"))),
        (status = 400, response = openapi::ScimBadRequest),
        (status = 401, response = openapi::ScimUnauthorized),
        (status = 409, response = openapi::ScimConflict),
        (status = 413, response = openapi::ScimPayloadTooLarge),
        (status = 415, response = openapi::ScimUnsupportedMediaType),
        (status = 500, response = openapi::ScimInternalError),
    ),
)]
pub async fn create_group(
    scim: Scim,
    RawQuery(raw): RawQuery,
    JsonBody(body): JsonBody,
) -> Result<Response, ScimError> {
    check_schemas(&body)?;
    let role = NewRole {
        name: role_name(field(&body, "displayName"))?,
        external_id: external_id(field(&body, "externalId"))?,
    };
    let wanted = member_ids(field(&body, "members"));

    let role = scim
        .directory
        .create_role(role)
        .await
        .map_err(|e| ScimError::from_directory(e, "Group"))?;
    set_members(&scim, &role.name, &[], &wanted).await?;
    tracing::info!(role_id = role.id, "SCIM group created");

    let group = load(&scim, role).await?;
    respond(&scim, StatusCode::CREATED, &group, raw.as_deref())
}

fn check_version(headers: &HeaderMap, group: &Group) -> Result<(), ScimError> {
    match if_match(headers) {
        Some(tags) if !tags.iter().any(|t| format!("W/\"{t}\"") == group.version()) => Err(
            ScimError::from_directory(DirectoryError::VersionMismatch, "Group"),
        ),
        _ => Ok(()),
    }
}

/// Renames the role when `name` differs and sets its externalId, then sets the members;
/// answers the group as it now is.
async fn write(
    scim: &Scim,
    group: Group,
    name: RoleName,
    external_id: Option<String>,
    wanted: &BTreeSet<i64>,
) -> Result<Group, ScimError> {
    let what = format!("Group {}", group_id(group.role.id));
    let changes = RoleChanges {
        name: (name.as_str() != group.role.name).then_some(name),
        external_id: (external_id != group.role.external_id).then_some(external_id),
    };
    let role = if changes == RoleChanges::default() {
        group.role.clone()
    } else {
        scim.directory
            .update_role(group.role.id, changes)
            .await
            .map_err(|e| match e {
                DirectoryError::Unsupported(message) => {
                    ScimError::bad_request("mutability", message)
                }
                other => ScimError::from_directory(other, &what),
            })?
    };
    set_members(scim, &role.name, &group.members, wanted).await?;
    load(scim, role).await
}

/// Replaces a group.
///
/// PUT replaces the name, the externalId and the members; `id` and `meta` are ignored.
#[utoipa::path(
    put,
    path = "/scim/v2/Groups/{id}",
    tag = "scim",
    security(("scim_bearer" = [])),
    params(
        ("id" = String, Path, description = "The group's id, `role-<n>`"),
        openapi::ProjectionQuery,
        ("If-Match" = Option<String>, Header, nullable = false, description = "Only if the resource is at one of these versions (`W/\"3\"`, or `*` for any); else 412"),
    ),
    request_body(content = openapi::ScimGroupRequest, content_type = "application/scim+json", description = "The group as it is to be"),
    responses(
        (status = 200, description = "The group as it now is", body = openapi::ScimGroup, content_type = "application/scim+json", headers(("ETag" = String, description = "The version, as `meta.version`"))),
        (status = 400, response = openapi::ScimBadRequest),
        (status = 401, response = openapi::ScimUnauthorized),
        (status = 404, response = openapi::ScimNotFound),
        (status = 409, response = openapi::ScimConflict),
        (status = 412, response = openapi::ScimPreconditionFailed),
        (status = 413, response = openapi::ScimPayloadTooLarge),
        (status = 415, response = openapi::ScimUnsupportedMediaType),
        (status = 500, response = openapi::ScimInternalError),
    ),
)]
pub async fn replace_group(
    scim: Scim,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    JsonBody(body): JsonBody,
) -> Result<Response, ScimError> {
    check_schemas(&body)?;
    let name = role_name(field(&body, "displayName"))?;
    let external_id = external_id(field(&body, "externalId"))?;
    let wanted = member_ids(field(&body, "members"));
    let group = load_by_id(&scim, &raw_id).await?;
    check_version(&headers, &group)?;

    let group = write(&scim, group, name, external_id, &wanted).await?;
    respond(&scim, StatusCode::OK, &group, raw.as_deref())
}

/// Changes a group with PATCH operations.
///
/// PATCH on `displayName` and `members`, in the forms Okta and Entra ID send:
/// `remove` on `members[value eq "ID"]`, `remove` on `members` with a list of values,
/// `add` on `members` with a list (`$ref` may be null), and path-less replaces whose
/// value repeats the read-only `id`.
#[utoipa::path(
    patch,
    path = "/scim/v2/Groups/{id}",
    tag = "scim",
    security(("scim_bearer" = [])),
    params(
        ("id" = String, Path, description = "The group's id, `role-<n>`"),
        openapi::ProjectionQuery,
        ("If-Match" = Option<String>, Header, nullable = false, description = "Only if the resource is at one of these versions (`W/\"3\"`, or `*` for any); else 412"),
    ),
    request_body(content = openapi::ScimPatchOp, content_type = "application/scim+json", description = "The operations, applied in order"),
    responses(
        (status = 200, description = "The group as it now is", body = openapi::ScimGroup, content_type = "application/scim+json", headers(("ETag" = String, description = "The version, as `meta.version`"))),
        (status = 400, response = openapi::ScimBadRequest),
        (status = 401, response = openapi::ScimUnauthorized),
        (status = 404, response = openapi::ScimNotFound),
        (status = 409, response = openapi::ScimConflict),
        (status = 412, response = openapi::ScimPreconditionFailed),
        (status = 413, response = openapi::ScimPayloadTooLarge),
        (status = 415, response = openapi::ScimUnsupportedMediaType),
        (status = 500, response = openapi::ScimInternalError),
    ),
)]
pub async fn patch_group(
    scim: Scim,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    JsonBody(body): JsonBody,
) -> Result<Response, ScimError> {
    let operations = read_operations(&body)?;
    let group = load_by_id(&scim, &raw_id).await?;
    check_version(&headers, &group)?;

    let mut name = Some(group.role.name.clone());
    let mut external = group.role.external_id.clone();
    let mut members: BTreeSet<i64> = group.members.iter().copied().collect();
    for op in &operations {
        let Some((attr, _)) = core_attribute(&op.path, GROUP_SCHEMA) else {
            continue;
        };
        match attr.as_str() {
            "displayname" if op.kind == OpKind::Remove => {
                return Err(ScimError::bad_request(
                    "mutability",
                    "displayName cannot be removed",
                ))
            }
            "displayname" => name = op.value.as_ref().and_then(Value::as_str).map(str::to_owned),
            "externalid" if op.kind == OpKind::Remove => external = None,
            "externalid" => external = external_id(op.value.as_ref())?,
            "members" => {
                let given = member_ids(op.value.as_ref());
                if let Some(filter) = &op.path.filter {
                    let selected: Vec<i64> = members
                        .iter()
                        .copied()
                        .filter(|id| {
                            matches(filter, &json!({"value": id.to_string(), "type": "User"}))
                        })
                        .collect();
                    if op.kind != OpKind::Add {
                        members.retain(|id| !selected.contains(id));
                    }
                    if op.kind != OpKind::Remove {
                        members.extend(given);
                    }
                    continue;
                }
                match op.kind {
                    OpKind::Add => members.extend(given),
                    OpKind::Replace => members = given,
                    // Entra ID's older format names the members to remove in `value`.
                    OpKind::Remove if op.value.is_some() => {
                        members.retain(|id| !given.contains(id))
                    }
                    OpKind::Remove => members.clear(),
                }
            }
            // `id`, `meta` and `schemas`: read-only.
            _ => {}
        }
    }

    let name = role_name(name.map(Value::String).as_ref())?;
    let group = write(&scim, group, name, external, &members).await?;
    respond(&scim, StatusCode::OK, &group, raw.as_deref())
}

/// Deletes a group; refused while users hold its role.
#[utoipa::path(
    delete,
    path = "/scim/v2/Groups/{id}",
    tag = "scim",
    security(("scim_bearer" = [])),
    params(
        ("id" = String, Path, description = "The group's id, `role-<n>`"),
        ("If-Match" = Option<String>, Header, nullable = false, description = "Only if the resource is at one of these versions (`W/\"3\"`, or `*` for any); else 412"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = openapi::ScimBadRequest),
        (status = 401, response = openapi::ScimUnauthorized),
        (status = 404, response = openapi::ScimNotFound),
        (status = 409, response = openapi::ScimConflict),
        (status = 412, response = openapi::ScimPreconditionFailed),
        (status = 500, response = openapi::ScimInternalError),
    ),
)]
pub async fn delete_group(
    scim: Scim,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let group = load_by_id(&scim, &raw_id).await?;
    check_version(&headers, &group)?;
    scim.directory
        .delete_role(group.role.id)
        .await
        .map_err(|e| match e {
            DirectoryError::Unsupported(message) => ScimError::bad_request("mutability", message),
            other => ScimError::from_directory(other, &format!("Group {raw_id}")),
        })?;
    tracing::info!(role_id = group.role.id, "SCIM group deleted");
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::NO_CONTENT,
    ))
}
