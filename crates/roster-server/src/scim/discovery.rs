//! The discovery endpoints (RFC 7644 section 4): what this service provider supports,
//! which resource types it serves and which attributes they have.
//!
//! `/Schemas` advertises only attributes Roster really stores, because conformance tools
//! and identity providers write into every advertised attribute and read it back. What
//! is accepted but not stored (`name.givenName`, `roles`, the enterprise extension,
//! `password`'s value) is read on input and left out here, except `password`, which is
//! advertised as write-only so that clients know they may send it.
//!
//! These endpoints need no token: they describe the software, not an account.

use axum::{
    extract::Path,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde_json::{json, Value};

use super::{
    base_url, openapi,
    resource::{list_response, GROUP_SCHEMA, USER_SCHEMA},
    scim_response, ScimError, SCIM_BODY_LIMIT_BYTES,
};

const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The most resources one list answers with; a larger `count` is lowered to it
/// (RFC 7644 section 3.4.2.4).
pub const MAX_RESULTS: u64 = 1000;

/// What this service provider supports (RFC 7644 section 4).
#[utoipa::path(
    get,
    path = "/scim/v2/ServiceProviderConfig",
    tag = "scim",
    responses(
        (status = 200, description = "What this service provider supports", body = openapi::ScimServiceProviderConfig, content_type = "application/scim+json"),
    ),
)]
pub async fn get_service_provider_config(headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    // Every key is filled in, as Okta's spec test requires, including those of
    // features Roster does not offer (bulk, sorting, password change).
    let config = json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": true},
        "bulk": {
            "supported": false,
            "maxOperations": 0,
            "maxPayloadSize": SCIM_BODY_LIMIT_BYTES,
        },
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A long-lived token per account, made by \
                            `roster accounts scim-token APP_KEY`, sent as \
                            \"Authorization: Bearer <token>\"",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    });
    scim_response(StatusCode::OK, &config)
}

fn resource_types(base: &str) -> Vec<Value> {
    let resource_type = |name: &str, endpoint: &str, schema: &str, description: &str| {
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": name,
            "name": name,
            "endpoint": endpoint,
            "description": description,
            "schema": schema,
            "schemaExtensions": [],
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base}/ResourceTypes/{name}"),
            },
        })
    };
    vec![
        resource_type("User", "/Users", USER_SCHEMA, "The users of the account"),
        resource_type(
            "Group",
            "/Groups",
            GROUP_SCHEMA,
            "The account's roles; members are the users holding the role",
        ),
    ]
}

/// The resource types served: User and Group.
#[utoipa::path(
    get,
    path = "/scim/v2/ResourceTypes",
    tag = "scim",
    responses(
        (status = 200, description = "User and Group", body = openapi::ScimListResponse<openapi::ScimResourceType>, content_type = "application/scim+json"),
    ),
)]
pub async fn list_resource_types(headers: HeaderMap) -> Response {
    let all = resource_types(&base_url(&headers));
    let total = all.len() as u64;
    scim_response(StatusCode::OK, &list_response(all, total, 1))
}

/// One resource type.
#[utoipa::path(
    get,
    path = "/scim/v2/ResourceTypes/{id}",
    tag = "scim",
    params(
        ("id" = String, Path, description = "`User` or `Group`, in any case"),
    ),
    responses(
        (status = 200, description = "The resource type", body = openapi::ScimResourceType, content_type = "application/scim+json"),
        (status = 404, response = openapi::ScimNotFound),
    ),
)]
pub async fn get_resource_type(
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    resource_types(&base_url(&headers))
        .into_iter()
        .find(|r| {
            r["id"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(&id))
        })
        .map(|r| scim_response(StatusCode::OK, &r))
        .ok_or_else(|| {
            ScimError::not_found(format!("No resource type {id}; there are User and Group"))
        })
}

/// An attribute definition (RFC 7643 section 7) with the characteristics spelled out,
/// since clients do not all apply the defaults of section 2.2.
#[derive(Clone, Copy)]
struct Attr {
    name: &'static str,
    kind: &'static str,
    description: &'static str,
    multi_valued: bool,
    required: bool,
    case_exact: bool,
    mutability: &'static str,
    returned: &'static str,
    uniqueness: &'static str,
}

impl Attr {
    const fn new(name: &'static str, kind: &'static str, description: &'static str) -> Attr {
        Attr {
            name,
            kind,
            description,
            multi_valued: false,
            required: false,
            case_exact: false,
            mutability: "readWrite",
            returned: "default",
            uniqueness: "none",
        }
    }

    const fn required(self) -> Attr {
        Attr {
            required: true,
            ..self
        }
    }

    const fn multi(self) -> Attr {
        Attr {
            multi_valued: true,
            ..self
        }
    }

    const fn mutability(self, mutability: &'static str) -> Attr {
        Attr { mutability, ..self }
    }

    fn json(self) -> Value {
        json!({
            "name": self.name,
            "type": self.kind,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        })
    }

    fn with(self, key: &str, value: Value) -> Value {
        let mut json = self.json();
        json[key] = value;
        json
    }
}

fn user_attributes() -> Vec<Value> {
    let user_name = Attr {
        uniqueness: "server",
        ..Attr::new(
            "userName",
            "string",
            "The name the user signs in with; unique per account regardless of case. \
             The user's email address unless set to something else",
        )
        .required()
    };
    let formatted = Attr::new("formatted", "string", "The full name, as displayed");
    let password = Attr {
        returned: "never",
        ..Attr::new(
            "password",
            "string",
            "Accepted so that clients may send it; never stored or returned",
        )
        .mutability("writeOnly")
    };
    let group_ref = Attr::new("$ref", "reference", "The URI of the group").mutability("readOnly");
    vec![
        user_name.json(),
        Attr::new("name", "complex", "The user's name")
            .with("subAttributes", json!([formatted.json()])),
        Attr::new(
            "displayName",
            "string",
            "The user's name; the same value as name.formatted",
        )
        .json(),
        // `primary` is left out: a user has one email, so the flag could only ever be
        // true, and clients that set it false on write would read back something else.
        Attr::new(
            "emails",
            "complex",
            "The user's one email address, always of type work; a create without one \
             takes userName as the email when it is an address",
        )
        .multi()
        .required()
        .with(
            "subAttributes",
            json!([
                Attr::new("value", "string", "The email address")
                    .required()
                    .json(),
                Attr::new("type", "string", "Always work").with("canonicalValues", json!(["work"])),
            ]),
        ),
        // Required because every Roster user has an active state: it can be set to
        // false, never removed.
        Attr::new(
            "active",
            "boolean",
            "False once deactivated; inactive users stay listed",
        )
        .required()
        .json(),
        password.json(),
        Attr::new(
            "groups",
            "complex",
            "The group of the user's role; change it through the group's members",
        )
        .multi()
        .mutability("readOnly")
        .with(
            "subAttributes",
            json!([
                Attr::new("value", "string", "The id of the group")
                    .mutability("readOnly")
                    .json(),
                group_ref.with("referenceTypes", json!(["Group"])),
                Attr::new("display", "string", "The role's name")
                    .mutability("readOnly")
                    .json(),
            ]),
        ),
    ]
}

fn group_attributes() -> Vec<Value> {
    let display_name = Attr {
        uniqueness: "server",
        ..Attr::new(
            "displayName",
            "string",
            "The role's name: 1 to 255 characters, without control characters or spaces \
             at either end",
        )
        .required()
    };
    vec![
        display_name.json(),
        Attr::new(
            "members",
            "complex",
            "The users holding the role; a user holds one role at a time",
        )
        .multi()
        .with(
            "subAttributes",
            json!([
                Attr::new("value", "string", "The id of the user")
                    .mutability("immutable")
                    .json(),
                Attr::new("$ref", "reference", "The URI of the user")
                    .mutability("immutable")
                    .with("referenceTypes", json!(["User"])),
                Attr::new("type", "string", "Always User")
                    .mutability("immutable")
                    .with("canonicalValues", json!(["User"])),
            ]),
        ),
    ]
}

fn schemas(base: &str) -> Vec<Value> {
    let schema = |id: &str, name: &str, description: &str, attributes: Vec<Value>| {
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": id,
            "name": name,
            "description": description,
            "attributes": attributes,
            "meta": {
                "resourceType": "Schema",
                "location": format!("{base}/Schemas/{id}"),
            },
        })
    };
    vec![
        schema(USER_SCHEMA, "User", "An account user", user_attributes()),
        schema(
            GROUP_SCHEMA,
            "Group",
            "A role of the account",
            group_attributes(),
        ),
    ]
}

/// The schemas of the resources, with the attributes Roster stores.
#[utoipa::path(
    get,
    path = "/scim/v2/Schemas",
    tag = "scim",
    responses(
        (status = 200, description = "The User and Group schemas", body = openapi::ScimListResponse<openapi::ScimSchema>, content_type = "application/scim+json"),
    ),
)]
pub async fn list_schemas(headers: HeaderMap) -> Response {
    let all = schemas(&base_url(&headers));
    let total = all.len() as u64;
    scim_response(StatusCode::OK, &list_response(all, total, 1))
}

/// One schema, by its URN.
#[utoipa::path(
    get,
    path = "/scim/v2/Schemas/{id}",
    tag = "scim",
    params(
        ("id" = String, Path, description = "The schema's URN, in any case"),
    ),
    responses(
        (status = 200, description = "The schema", body = openapi::ScimSchema, content_type = "application/scim+json"),
        (status = 404, response = openapi::ScimNotFound),
    ),
)]
pub async fn get_schema(headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ScimError> {
    schemas(&base_url(&headers))
        .into_iter()
        .find(|s| {
            s["id"]
                .as_str()
                .is_some_and(|u| u.eq_ignore_ascii_case(&id))
        })
        .map(|s| scim_response(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::not_found(format!("No schema {id}")))
}
