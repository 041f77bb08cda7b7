//! `/Users`: the account's users as SCIM Users (RFC 7643 section 4.1).
//!
//! Mapping (`DESIGN.md` section 2): the primary email (or the first) is the user's
//! email, answered as the one `emails` value, of type work (`primary` is accepted and
//! not returned, a user having one email); a create or replace without a valid email
//! there takes `userName` as the email when it is one, and is refused otherwise.
//! `userName` is stored apart from the email, unique per account regardless of case;
//! a userName equal to the email is stored as "the email", and follows it when the
//! email changes, as it does for every user made through the account-users API.
//! `displayName` and `name.formatted` are the user's name (or `name.givenName` and
//! `name.familyName` joined, when only those are sent); `externalId` and `active` are
//! stored; `roles[0].value` sets the role, whose group is listed read-only in `groups`.
//! `password` is accepted and dropped. `meta.version` (and the `ETag`) counts the
//! record's changes.
//!
//! Known shortcoming, listed in the README too: given and family names are not kept
//! apart from the formatted name.

use std::collections::HashMap;

use axum::{
    extract::{Path, RawQuery},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use chrono::SecondsFormat;
use roster_core::{
    user::normalize_name, AccountUser, DirectoryError, Email, NewUser, Role, RoleName, UserChanges,
    UserName, UserQuery, DEFAULT_ROLE,
};
use serde_json::{json, Map, Value};

use super::{
    groups::group_id,
    if_match, openapi,
    patch::{as_bool, core_attribute, primary_value, read_operations, OpKind, Operation},
    resource::{list_response, matches, ListParams, Projection, USER_SCHEMA},
    resource_response, scim_response, JsonBody, Scim, ScimError,
};

/// How often a PATCH without `If-Match` re-reads and retries when the user changed
/// between its read and its write.
const PATCH_ATTEMPTS: usize = 3;

pub fn query_map(raw: Option<&str>) -> Result<HashMap<String, String>, ScimError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| {
            ScimError::bad_request(
                "invalidSyntax",
                "The query string could not be read; percent-encode its values",
            )
        })?;
    let mut map = HashMap::with_capacity(pairs.len());
    for (key, value) in pairs {
        map.entry(key).or_insert(value);
    }
    Ok(map)
}

fn parse_id(raw: &str) -> Result<i64, ScimError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ScimError::not_found(format!("User {raw} not found")))
}

fn version(user: &AccountUser) -> String {
    format!("W/\"{}\"", user.version)
}

/// The SCIM representation of `user`; `roles` is the account's catalogue, for the id of
/// the group the user's role is.
pub fn user_json(user: &AccountUser, roles: &[Role], base: &str) -> Value {
    let location = format!("{base}/Users/{}", user.id);
    let mut json = json!({
        "schemas": [USER_SCHEMA],
        "id": user.id.to_string(),
        "userName": user.user_name(),
        "emails": [{"value": user.email, "type": "work"}],
        "active": user.active,
        "meta": {
            "resourceType": "User",
            "created": user.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "lastModified": user.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "location": location,
            "version": version(user),
        },
    });
    if let Some(name) = &user.name {
        json["name"] = json!({"formatted": name});
        json["displayName"] = json!(name);
    }
    if let Some(external_id) = &user.external_id {
        json["externalId"] = json!(external_id);
    }
    if let Some(role) = roles.iter().find(|r| r.name == user.role) {
        let id = group_id(role.id);
        json["groups"] = json!([{
            "value": id,
            "display": role.name,
            "$ref": format!("{base}/Groups/{id}"),
        }]);
    }
    json
}

/// One page of users as SCIM JSON, and the number matching. With `lenient`, a filter on
/// attributes users do not have matches none instead of failing (for the root search).
pub async fn find(
    scim: &Scim,
    params: &ListParams,
    lenient: bool,
) -> Result<(Vec<Value>, u64), ScimError> {
    let query = UserQuery {
        filter: params.filter.clone(),
        offset: params.offset(),
        limit: params.count,
        ..UserQuery::default()
    };
    let page = match scim.directory.list_users(&query).await {
        Ok(page) => page,
        Err(DirectoryError::Unsupported(_)) if lenient => return Ok((Vec::new(), 0)),
        Err(DirectoryError::Unsupported(message)) => {
            return Err(ScimError::bad_request("invalidFilter", message))
        }
        Err(e) => return Err(ScimError::from_directory(e, "User")),
    };
    let roles = roles(scim).await?;
    let resources = page
        .users
        .iter()
        .map(|user| {
            let mut json = user_json(user, &roles, &scim.base);
            params.projection.apply(&mut json);
            json
        })
        .collect();
    Ok((resources, page.total))
}

async fn roles(scim: &Scim) -> Result<Vec<Role>, ScimError> {
    scim.directory
        .list_roles()
        .await
        .map_err(|e| ScimError::from_directory(e, "Role"))
}

async fn list(scim: Scim, params: ListParams) -> Result<Response, ScimError> {
    let (resources, total) = find(&scim, &params, false).await?;
    let body = list_response(resources, total, params.start_index);
    Ok(scim_response(StatusCode::OK, &body))
}

/// Lists the account's users, a page at a time, optionally filtered.
#[utoipa::path(
    get,
    path = "/scim/v2/Users",
    tag = "scim",
    security(("scim_bearer" = [])),
    params(
        openapi::ListQuery,
    ),
    responses(
        (status = 200, description = "A page of the users matching the filter, by id", body = openapi::ScimListResponse<openapi::ScimUser>, content_type = "application/scim+json"),
        (status = 400, response = openapi::ScimBadRequest),
        (status = 401, response = openapi::ScimUnauthorized),
        (status = 500, response = openapi::ScimInternalError),
    ),
)]
pub async fn list_users(scim: Scim, RawQuery(raw): RawQuery) -> Result<Response, ScimError> {
    let params = ListParams::from_query(&query_map(raw.as_deref())?)?;
    list(scim, params).await
}

/// Lists users with the query in the body (RFC 7644 section 3.4.3).
#[utoipa::path(
    post,
    path = "/scim/v2/Users/.search",
    tag = "scim",
    security(("scim_bearer" = [])),
    request_body(content = openapi::ScimSearchRequest, content_type = "application/scim+json", description = "The query, as GET /Users takes it"),
    responses(
        (status = 200, description = "A page of the users matching the filter, by id", body = openapi::ScimListResponse<openapi::ScimUser>, content_type = "application/scim+json"),
        (status = 400, response = openapi::ScimBadRequest),
        (status = 401, response = openapi::ScimUnauthorized),
        (status = 413, response = openapi::ScimPayloadTooLarge),
        (status = 415, response = openapi::ScimUnsupportedMediaType),
        (status = 500, response = openapi::ScimInternalError),
    ),
)]
pub async fn search_users(scim: Scim, JsonBody(body): JsonBody) -> Result<Response, ScimError> {
    let params = ListParams::from_search(&body)?;
    list(scim, params).await
}

/// Answers with `user` as it now is, honouring `attributes` and `excludedAttributes`.
async fn respond(
    scim: &Scim,
    status: StatusCode,
    user: &AccountUser,
    raw_query: Option<&str>,
) -> Result<Response, ScimError> {
    let projection = Projection::from_query(&query_map(raw_query)?);
    let json = user_json(user, &roles(scim).await?, &scim.base);
    Ok(resource_response(status, json, &projection))
}

/// Reads one user.
#[utoipa::path(
    get,
    path = "/scim/v2/Users/{id}",
    tag = "scim",
    security(("scim_bearer" = [])),
    params(
        ("id" = String, Path, description = "The user's id"),
        openapi::ProjectionQuery,
    ),
    responses(
        (status = 200, description = "The user", body = openapi::ScimUser, content_type = "application/scim+json", headers(("ETag" = String, description = "The version, as `meta.version`"))),
        (status = 400, response = openapi::ScimBadRequest),
        (status = 401, response = openapi::ScimUnauthorized),
        (status = 404, response = openapi::ScimNotFound),
        (status = 500, response = openapi::ScimInternalError),
    ),
)]
pub async fn get_user(
    scim: Scim,
    Path(raw_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ScimError> {
    let id = parse_id(&raw_id)?;
    let user = scim
        .directory
        .get_user(id)
        .await
        .map_err(|e| ScimError::from_directory(e, &format!("User {raw_id}")))?;
    respond(&scim, StatusCode::OK, &user, raw.as_deref()).await
}

/// What a POST or PUT body says about a user.
struct UserInput {
    user_name: UserName,
    email: Email,
    name: Option<String>,
    active: bool,
    external_id: Option<String>,
    role: Option<RoleName>,
}

fn string_field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn read_user(body: &Map<String, Value>) -> Result<UserInput, ScimError> {
    if let Some(schemas) = body.get("schemas") {
        let named = schemas.as_array().is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(USER_SCHEMA))
            })
        });
        if !named {
            return Err(ScimError::bad_request(
                "invalidSyntax",
                format!("A User has the schema {USER_SCHEMA}"),
            ));
        }
    }
    let user_name = string_field(body, "userName")
        .and_then(Value::as_str)
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
    let user_name = parse_user_name(user_name)?;

    // The user's email: the primary email, else userName when it is an address.
    let email = string_field(body, "emails")
        .and_then(primary_value)
        .and_then(|e| Email::parse(e.trim()).ok())
        .or_else(|| Email::parse(user_name.as_str()).ok())
        .ok_or_else(|| {
            ScimError::invalid_value(
                "Every Roster user has an email address: send it as the primary value of \
                 emails ([{\"value\": \"ana@example.com\", \"primary\": true}]), or as \
                 userName",
            )
        })?;

    let active = match string_field(body, "active") {
        None | Some(Value::Null) => true,
        Some(v) => {
            as_bool(v).ok_or_else(|| ScimError::invalid_value("active must be true or false"))?
        }
    };
    let external_id = match string_field(body, "externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ScimError::invalid_value("externalId must be a string")),
    };
    let role = match string_field(body, "roles").and_then(primary_value) {
        Some(role) => Some(parse_role(&role)?),
        None => None,
    };
    Ok(UserInput {
        user_name,
        email,
        name: read_name(body)?,
        active,
        external_id,
        role,
    })
}

/// A userName as sent, without the spaces around it.
fn parse_user_name(raw: &str) -> Result<UserName, ScimError> {
    UserName::parse(raw.trim()).map_err(|e| ScimError::invalid_value(e.to_string()))
}

fn parse_role(raw: &str) -> Result<RoleName, ScimError> {
    RoleName::parse(raw).map_err(|e| ScimError::invalid_value(format!("role {raw:?}: {e}")))
}

/// `displayName`, else `name.formatted`, else the given and family names joined.
fn read_name(body: &Map<String, Value>) -> Result<Option<String>, ScimError> {
    fn text(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
    let name = string_field(body, "name");
    let sub = |key: &str| {
        name.and_then(|n| n.as_object())
            .and_then(|n| string_field(n, key))
    };
    let joined = [text(sub("givenName")), text(sub("familyName"))]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let chosen = text(string_field(body, "displayName"))
        .or_else(|| text(sub("formatted")))
        .or((!joined.is_empty()).then_some(joined.as_str()));
    normalize_name(chosen).map_err(ScimError::invalid_value)
}

/// Creates a user.
#[utoipa::path(
    post,
    path = "/scim/v2/Users",
    tag = "scim",
    security(("scim_bearer" = [])),
    params(
        openapi::ProjectionQuery,
    ),
    request_body(content = openapi::ScimUserRequest, content_type = "application/scim+json", description = "The new user"),
    responses(
        (status = 201, description = "The user as created", body = openapi::ScimUser, content_type = "application/scim+json", headers(("ETag" = String, description = "The version, as `meta.version`"), ("Location" = String, description = "The URL of the new resource, as `meta.location`"))),
        (status = 400, response = openapi::ScimBadRequest),
        (status = 401, response = openapi::ScimUnauthorized),
        (status = 409, response = openapi::ScimConflict),
        (status = 413, response = openapi::ScimPayloadTooLarge),
        (status = 415, response = openapi::ScimUnsupportedMediaType),
        (status = 500, response = openapi::ScimInternalError),
    ),
)]
pub async fn create_user(
    scim: Scim,
    RawQuery(raw): RawQuery,
    JsonBody(body): JsonBody,
) -> Result<Response, ScimError> {
    let input = read_user(&body)?;

    let user = NewUser {
        email: input.email,
        user_name: Some(input.user_name),
        name: input.name,
        role: input.role,
        active: input.active,
        external_id: input.external_id,
    };
    let created = scim
        .directory
        .create_user(user)
        .await
        .map_err(|e| ScimError::from_directory(e, "User"))?;
    tracing::info!(user_id = created.id, "SCIM user created");
    respond(&scim, StatusCode::CREATED, &created, raw.as_deref()).await
}

/// The version `If-Match` asks for, checked against the user as read: a stale one is
/// a 412 before anything is written.
fn expected_version(headers: &HeaderMap, user: &AccountUser) -> Result<Option<i64>, ScimError> {
    match if_match(headers) {
        None => Ok(None),
        Some(tags) if tags.iter().any(|t| *t == user.version.to_string()) => Ok(Some(user.version)),
        Some(_) => Err(ScimError::from_directory(
            DirectoryError::VersionMismatch,
            "User",
        )),
    }
}

/// Replaces a user.
///
/// PUT replaces what the body holds; read-only attributes (`id`, `meta`, `groups`) are
/// ignored, and a body without `roles` leaves the role alone, since roles are managed
/// through groups.
#[utoipa::path(
    put,
    path = "/scim/v2/Users/{id}",
    tag = "scim",
    security(("scim_bearer" = [])),
    params(
        ("id" = String, Path, description = "The user's id"),
        openapi::ProjectionQuery,
        ("If-Match" = Option<String>, Header, nullable = false, description = "Only if the resource is at one of these versions (`W/\"3\"`, or `*` for any); else 412"),
    ),
    request_body(content = openapi::ScimUserRequest, content_type = "application/scim+json", description = "The user as it is to be"),
    responses(
        (status = 200, description = "The user as it now is", body = openapi::ScimUser, content_type = "application/scim+json", headers(("ETag" = String, description = "The version, as `meta.version`"))),
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
pub async fn replace_user(
    scim: Scim,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    JsonBody(body): JsonBody,
) -> Result<Response, ScimError> {
    let id = parse_id(&raw_id)?;
    let input = read_user(&body)?;
    let what = format!("User {raw_id}");
    let current = scim
        .directory
        .get_user(id)
        .await
        .map_err(|e| ScimError::from_directory(e, &what))?;
    let expected = expected_version(&headers, &current)?.or(Some(current.version));

    let changes = UserChanges {
        email: Some(input.email),
        user_name: Some(Some(input.user_name)),
        name: Some(input.name),
        role: input.role,
        active: Some(input.active),
        external_id: Some(input.external_id),
    };
    let updated = scim
        .directory
        .update_user(id, changes, expected)
        .await
        .map_err(|e| ScimError::from_directory(e, &what))?;
    respond(&scim, StatusCode::OK, &updated, raw.as_deref()).await
}

/// The writable state of a user while PATCH operations apply to it.
struct Draft {
    /// The userName an operation set; `None` leaves it as it is, so that the userName of
    /// a user whose userName is its email follows an email change.
    user_name: Option<String>,
    email: String,
    name: Option<String>,
    given: Option<Option<String>>,
    family: Option<Option<String>>,
    active: bool,
    external_id: Option<String>,
    role: String,
}

impl Draft {
    fn of(user: &AccountUser) -> Draft {
        Draft {
            user_name: None,
            email: user.email.clone(),
            name: user.name.clone(),
            given: None,
            family: None,
            active: user.active,
            external_id: user.external_id.clone(),
            role: user.role.clone(),
        }
    }

    fn apply(&mut self, op: &Operation) -> Result<(), ScimError> {
        let Some((attr, sub)) = core_attribute(&op.path, USER_SCHEMA) else {
            // An extension attribute (Entra ID's enterprise employeeNumber, say):
            // accepted and not stored.
            return Ok(());
        };
        let value = op.value.as_ref().unwrap_or(&Value::Null);
        let remove = op.kind == OpKind::Remove;
        let text = |v: &Value| -> Result<Option<String>, ScimError> {
            match v {
                Value::Null => Ok(None),
                Value::String(s) => Ok(Some(s.clone())),
                _ => Err(ScimError::invalid_value(format!(
                    "{} must be a string",
                    op_path_name(op)
                ))),
            }
        };
        match (attr.as_str(), sub.as_deref()) {
            ("username", None) => {
                if remove {
                    return Err(ScimError::bad_request(
                        "mutability",
                        "userName cannot be removed",
                    ));
                }
                self.user_name = Some(
                    text(value)?
                        .ok_or_else(|| ScimError::invalid_value("userName cannot be null"))?,
                );
            }
            ("displayname", None) | ("name", Some("formatted")) => {
                self.name = if remove { None } else { text(value)? };
            }
            ("name", None) => {
                self.name = None;
                self.given = Some(None);
                self.family = Some(None);
                if !remove {
                    let sub = |key: &str| {
                        value
                            .as_object()
                            .and_then(|o| string_field(o, key))
                            .map(text)
                            .transpose()
                    };
                    self.name = sub("formatted")?.flatten();
                    self.given = Some(sub("givenName")?.flatten());
                    self.family = Some(sub("familyName")?.flatten());
                }
            }
            ("name", Some("givenname")) => {
                self.given = Some(if remove { None } else { text(value)? })
            }
            ("name", Some("familyname")) => {
                self.family = Some(if remove { None } else { text(value)? })
            }
            ("active", None) => {
                if remove {
                    return Err(ScimError::bad_request(
                        "mutability",
                        "active cannot be removed; replace it with false to deactivate",
                    ));
                }
                self.active = as_bool(value)
                    .ok_or_else(|| ScimError::invalid_value("active must be true or false"))?;
            }
            ("externalid", None) => self.external_id = if remove { None } else { text(value)? },
            ("emails", sub) => self.apply_email(op, sub, value)?,
            ("roles", _) => {
                let selected = op
                    .path
                    .filter
                    .as_ref()
                    .is_none_or(|f| matches(f, &json!({"value": self.role, "primary": true})));
                if remove && selected {
                    self.role = DEFAULT_ROLE.to_owned();
                } else if !remove {
                    let role = match &op.path.sub_attr {
                        Some(_) => text(value)?,
                        None => primary_value(value),
                    };
                    if let Some(role) = role {
                        self.role = role;
                    }
                }
            }
            // Read-only or not stored: accepted and ignored, as PUT ignores them, so
            // that a client sending back what it read does not fail.
            _ => {}
        }
        Ok(())
    }

    /// Roster keeps one email, of type work and primary: an operation selecting another
    /// (`emails[type eq "home"]`) is ignored, and the email cannot be removed.
    fn apply_email(
        &mut self,
        op: &Operation,
        sub: Option<&str>,
        value: &Value,
    ) -> Result<(), ScimError> {
        let ours = json!({"value": self.email, "type": "work", "primary": true});
        if op.path.filter.as_ref().is_some_and(|f| !matches(f, &ours)) && op.kind != OpKind::Add {
            return Ok(());
        }
        if op.kind == OpKind::Remove {
            return Err(ScimError::bad_request(
                "mutability",
                "A Roster user keeps one email; replace it instead of removing it",
            ));
        }
        let email = match sub {
            Some("value") => value.as_str().map(str::to_owned),
            Some(_) => return Ok(()),
            None => primary_value(value),
        };
        if let Some(email) = email {
            self.email = email;
        }
        Ok(())
    }

    /// The changes this draft makes to `user`.
    fn changes(self, user: &AccountUser) -> Result<UserChanges, ScimError> {
        let email = if self.email == user.email {
            None
        } else {
            Some(Email::parse(self.email.trim()).map_err(|e| {
                ScimError::invalid_value(format!("emails must hold an email address: {e}"))
            })?)
        };
        let user_name = self
            .user_name
            .as_deref()
            .map(parse_user_name)
            .transpose()?
            .map(Some);
        let name = if self.given.is_some() || self.family.is_some() {
            let joined = [self.given.flatten(), self.family.flatten()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            self.name.or((!joined.is_empty()).then_some(joined))
        } else {
            self.name
        };
        let role = if self.role == user.role {
            None
        } else {
            Some(parse_role(&self.role)?)
        };
        Ok(UserChanges {
            email,
            user_name,
            name: Some(normalize_name(name.as_deref()).map_err(ScimError::invalid_value)?),
            role,
            active: Some(self.active),
            external_id: Some(self.external_id),
        })
    }
}

fn op_path_name(op: &Operation) -> String {
    let mut name = op.path.path.to_string();
    if let Some(sub) = &op.path.sub_attr {
        name = format!("{name}[...].{sub}");
    }
    name
}

/// Changes a user with PATCH operations.
///
/// PATCH (RFC 7644 section 3.5.2): the operations apply in order to the user as read,
/// and the result is written in one update guarded by the version read, so a
/// concurrent change is never overwritten. Answers 200 with the whole user.
#[utoipa::path(
    patch,
    path = "/scim/v2/Users/{id}",
    tag = "scim",
    security(("scim_bearer" = [])),
    params(
        ("id" = String, Path, description = "The user's id"),
        openapi::ProjectionQuery,
        ("If-Match" = Option<String>, Header, nullable = false, description = "Only if the resource is at one of these versions (`W/\"3\"`, or `*` for any); else 412"),
    ),
    request_body(content = openapi::ScimPatchOp, content_type = "application/scim+json", description = "The operations, applied in order"),
    responses(
        (status = 200, description = "The user as it now is", body = openapi::ScimUser, content_type = "application/scim+json", headers(("ETag" = String, description = "The version, as `meta.version`"))),
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
pub async fn patch_user(
    scim: Scim,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    JsonBody(body): JsonBody,
) -> Result<Response, ScimError> {
    let id = parse_id(&raw_id)?;
    let operations = read_operations(&body)?;
    let what = format!("User {raw_id}");

    let mut attempt = 0;
    let updated = loop {
        attempt += 1;
        let current = scim
            .directory
            .get_user(id)
            .await
            .map_err(|e| ScimError::from_directory(e, &what))?;
        let pinned = expected_version(&headers, &current)?;

        let mut draft = Draft::of(&current);
        for op in &operations {
            draft.apply(op)?;
        }
        let changes = draft.changes(&current)?;

        match scim
            .directory
            .update_user(id, changes, Some(current.version))
            .await
        {
            Ok(user) => break user,
            Err(DirectoryError::VersionMismatch)
                if pinned.is_none() && attempt < PATCH_ATTEMPTS =>
            {
                continue
            }
            Err(e) => return Err(ScimError::from_directory(e, &what)),
        }
    };
    respond(&scim, StatusCode::OK, &updated, raw.as_deref()).await
}

/// Deletes a user.
#[utoipa::path(
    delete,
    path = "/scim/v2/Users/{id}",
    tag = "scim",
    security(("scim_bearer" = [])),
    params(
        ("id" = String, Path, description = "The user's id"),
        ("If-Match" = Option<String>, Header, nullable = false, description = "Only if the resource is at one of these versions (`W/\"3\"`, or `*` for any); else 412"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = openapi::ScimUnauthorized),
        (status = 404, response = openapi::ScimNotFound),
        (status = 409, response = openapi::ScimConflict),
        (status = 412, response = openapi::ScimPreconditionFailed),
        (status = 500, response = openapi::ScimInternalError),
    ),
)]
pub async fn delete_user(
    scim: Scim,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let id = parse_id(&raw_id)?;
    let what = format!("User {raw_id}");
    if if_match(&headers).is_some() {
        let current = scim
            .directory
            .get_user(id)
            .await
            .map_err(|e| ScimError::from_directory(e, &what))?;
        expected_version(&headers, &current)?;
    }
    scim.directory
        .delete_user(id)
        .await
        .map_err(|e| ScimError::from_directory(e, &what))?;
    tracing::info!(user_id = id, "SCIM user deleted");
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::NO_CONTENT,
    ))
}
