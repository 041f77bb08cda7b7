//! The OpenAPI description of `/scim/v2`: its operations (from the `#[utoipa::path]`
//! annotations on the handlers), the shapes of its bodies, its error answers and its
//! security scheme, gathered in [`ApiDoc`] for `crate::openapi::document`.
//!
//! The handlers build their answers as `serde_json::Value`, so the types here only
//! describe them. They derive `Deserialize` as well, with unknown fields refused, so
//! that the tests below can read what the handlers really produce into them: a field
//! added to an answer and not here fails a test rather than the fuzzer.
//!
//! `attributes` and `excludedAttributes` (RFC 7644 section 3.9) may leave out any
//! attribute but `id` and `schemas`, and any sub-attribute, so those two are the only
//! required properties of a resource; everything else is described as what the
//! server returns when nothing is left out.

// The fields only describe: nothing reads them but the derived code.
#![allow(dead_code)]

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{
    openapi::{
        response::{Response, ResponseBuilder},
        schema::{ObjectBuilder, Type},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
        ContentBuilder, HeaderBuilder, OpenApi as Document, PathItem, Ref, RefOr,
    },
    Modify, OpenApi, ToResponse, ToSchema,
};

use super::{discovery, groups, resource, users, SCIM_CONTENT_TYPE};

/// The name of the SCIM token's security scheme.
pub const SCIM_BEARER: &str = "scim_bearer";

/// The tag of every SCIM operation.
pub const TAG_SCIM: &str = "scim";

#[derive(OpenApi)]
#[openapi(
    paths(
        discovery::get_service_provider_config,
        discovery::list_resource_types,
        discovery::get_resource_type,
        discovery::list_schemas,
        discovery::get_schema,
        users::list_users,
        users::create_user,
        users::search_users,
        users::get_user,
        users::replace_user,
        users::patch_user,
        users::delete_user,
        groups::list_groups,
        groups::create_group,
        groups::search_groups,
        groups::get_group,
        groups::replace_group,
        groups::patch_group,
        groups::delete_group,
        resource::search_everything,
    ),
    components(
        schemas(ScimErrorBody),
        responses(
            ScimBadRequest,
            ScimUnauthorized,
            ScimNotFound,
            ScimMethodNotAllowed,
            ScimConflict,
            ScimPreconditionFailed,
            ScimPayloadTooLarge,
            ScimUnsupportedMediaType,
            ScimInternalError,
        ),
    ),
    tags((
        name = "scim",
        description = "SCIM 2.0 (RFC 7643, RFC 7644) for identity providers: Users are the \
            account's users, Groups its roles. Bodies are application/scim+json (requests may \
            also say application/json); every error is a SCIM error (RFC 7644 section 3.12)."
    )),
    modifiers(&ScimSecurity, &DiscoveryIsReadOnly),
)]
pub struct ApiDoc;

/// The SCIM token is not the access token of `/oauth/token`: it is made per account by
/// `roster accounts scim-token`, and only `/scim/v2` takes it.
struct ScimSecurity;

impl Modify for ScimSecurity {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SCIM_BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A SCIM token of the account, made by `roster accounts scim-token \
                         APP_KEY`; the discovery endpoints need none",
                    ))
                    .build(),
            ),
        );
    }
}

/// The discovery endpoints answer every write with a 405 (they describe the software,
/// RFC 7644 section 4), and clients probe that; the operations say so.
struct DiscoveryIsReadOnly;

impl Modify for DiscoveryIsReadOnly {
    fn modify(&self, document: &mut Document) {
        for (path, item) in document.paths.paths.iter_mut() {
            let discovery = ["/ScimServiceProviderConfig", "/ResourceTypes", "/Schemas"]
                .iter()
                .any(|p| path.starts_with(&format!("/scim/v2{p}")));
            let Some(get) = item.get.clone().filter(|_| discovery) else {
                continue;
            };
            let id = get.operation_id.clone().unwrap_or_default();
            let refused = |method: &str| {
                let mut operation = get.clone();
                operation.operation_id = Some(format!("{method}_{id}"));
                operation.summary = Some("Refused: the discovery endpoints are read-only".into());
                operation.description = None;
                operation.request_body = None;
                operation.responses = utoipa::openapi::ResponsesBuilder::new()
                    .response("405", Ref::from_response_name("ScimMethodNotAllowed"))
                    .build();
                Some(operation)
            };
            let PathItem {
                post,
                put,
                patch,
                delete,
                ..
            } = item;
            *post = refused("post");
            *put = refused("put");
            *patch = refused("patch");
            *delete = refused("delete");
        }
    }
}

/// `urn:ietf:params:scim:api:messages:2.0:Error`, the one value of an error's `schemas`.
#[derive(ToSchema, Deserialize)]
pub enum ScimErrorUrn {
    #[serde(rename = "urn:ietf:params:scim:api:messages:2.0:Error")]
    Error,
}

/// The `scimType` values of RFC 7644 section 3.12, table 9.
#[derive(ToSchema, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScimErrorType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

/// A SCIM error (RFC 7644 section 3.12): every failure under `/scim/v2`, including a
/// missing token, an unknown path and a wrong method.
#[derive(ToSchema, Deserialize)]
#[schema(as = ScimError)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScimErrorBody {
    #[schema(min_items = 1, max_items = 1)]
    schemas: Vec<ScimErrorUrn>,
    /// The HTTP status of the answer, as a string.
    #[schema(pattern = "^[1-5][0-9][0-9]$", example = "400")]
    status: String,
    /// Present on a 400 when the cause has a name in table 9 (and on a 409 for
    /// `uniqueness`, a 413 for `tooMany`).
    #[serde(default)]
    #[schema(nullable = false)]
    scim_type: Option<ScimErrorType>,
    /// What went wrong and what to change.
    detail: String,
}

/// Declares a reusable SCIM error response: a [`ScimErrorBody`] in
/// `application/scim+json`.
macro_rules! scim_error_responses {
    ($($name:ident: $status:ident, $description:literal,)*) => {$(
        #[doc = $description]
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), error_response(StatusCode::$status, $description))
            }
        }
    )*};
}

scim_error_responses! {
    ScimBadRequest: BAD_REQUEST, "The request is malformed: an unreadable body, query or filter \
        (`invalidSyntax`, `invalidFilter`), a value of the wrong type or out of range \
        (`invalidValue`), a PATCH path that names nothing (`invalidPath`, `noTarget`) or a \
        read-only attribute (`mutability`)",
    ScimUnauthorized: UNAUTHORIZED, "No SCIM token, or one that opens no account",
    ScimNotFound: NOT_FOUND, "No resource has this id",
    ScimMethodNotAllowed: METHOD_NOT_ALLOWED, "This endpoint does not take this method",
    ScimConflict: CONFLICT, "`uniqueness`: another resource has this userName, email or \
        displayName; or the change would leave the account without an active admin, or the \
        group to delete still has members",
    ScimPreconditionFailed: PRECONDITION_FAILED, "The resource changed since the version in \
        If-Match (RFC 7644 section 3.14); read it again",
    ScimPayloadTooLarge: PAYLOAD_TOO_LARGE, "`tooMany`: the body is over 1 MiB",
    ScimUnsupportedMediaType: UNSUPPORTED_MEDIA_TYPE, "The body is neither \
        application/scim+json nor application/json",
    ScimInternalError: INTERNAL_SERVER_ERROR, "Something failed on the server; the request may \
        be retried",
}

fn error_response(status: StatusCode, description: &str) -> RefOr<Response> {
    let mut response = ResponseBuilder::new()
        .description(description)
        .content(
            SCIM_CONTENT_TYPE,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ScimError")))
                .build(),
        )
        .build();
    if status == StatusCode::UNAUTHORIZED {
        response.headers.insert(
            "WWW-Authenticate".to_owned(),
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::String))
                .description(Some("Bearer realm=\"roster-scim\""))
                .build(),
        );
    }
    RefOr::T(response)
}

/// `urn:ietf:params:scim:schemas:core:2.0:User`.
#[derive(ToSchema, Deserialize)]
pub enum ScimUserUrn {
    #[serde(rename = "urn:ietf:params:scim:schemas:core:2.0:User")]
    User,
}

/// `urn:ietf:params:scim:schemas:core:2.0:Group`.
#[derive(ToSchema, Deserialize)]
pub enum ScimGroupUrn {
    #[serde(rename = "urn:ietf:params:scim:schemas:core:2.0:Group")]
    Group,
}

/// A resource's `meta` (RFC 7643 section 3.1).
#[derive(ToSchema, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScimMeta {
    /// `User` or `Group`.
    #[serde(default)]
    resource_type: String,
    /// Left out by a directory that keeps no dates (`roster bridge`'s) for groups.
    #[serde(default)]
    #[schema(format = DateTime)]
    created: String,
    #[serde(default)]
    #[schema(format = DateTime)]
    last_modified: String,
    /// The URL of the resource.
    #[serde(default)]
    location: String,
    /// A weak entity tag, equal to the `ETag` header.
    #[serde(default)]
    #[schema(example = "W/\"3\"")]
    version: String,
}

/// A User as the server answers it (RFC 7643 section 4.1).
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScimUser {
    #[schema(min_items = 1, max_items = 1)]
    schemas: Vec<ScimUserUrn>,
    /// The user's id, a positive integer written as a string.
    #[schema(example = "12")]
    id: String,
    /// Unique per account regardless of case; the email unless set to something else.
    #[serde(default)]
    user_name: String,
    /// Present when the user has a name.
    #[serde(default)]
    name: ScimUserName,
    /// The same value as `name.formatted`.
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    external_id: String,
    /// The user's one email address.
    #[serde(default)]
    #[schema(max_items = 1)]
    emails: Vec<ScimEmail>,
    /// False once deactivated.
    #[serde(default)]
    active: bool,
    /// The group of the user's role; read-only.
    #[serde(default)]
    #[schema(max_items = 1)]
    groups: Vec<ScimUserGroup>,
    #[serde(default)]
    meta: ScimMeta,
}

#[derive(ToSchema, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ScimUserName {
    #[serde(default)]
    formatted: String,
}

#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimEmail {
    #[serde(default)]
    value: String,
    /// Always `work`.
    #[serde(default, rename = "type")]
    kind: ScimEmailType,
}

#[derive(ToSchema, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ScimEmailType {
    #[default]
    Work,
}

#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimUserGroup {
    /// The group's id, `role-<n>`.
    #[serde(default)]
    value: String,
    /// The role's name.
    #[serde(default)]
    display: String,
    #[serde(default, rename = "$ref")]
    reference: String,
}

/// A Group as the server answers it (RFC 7643 section 4.2): a role of the account,
/// its members the users holding it.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScimGroup {
    #[schema(min_items = 1, max_items = 1)]
    schemas: Vec<ScimGroupUrn>,
    /// `role-<n>`, so that it never equals a user's id.
    #[schema(example = "role-1")]
    id: String,
    /// The role's name.
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    external_id: String,
    /// The users holding the role, by id.
    #[serde(default)]
    members: Vec<ScimMember>,
    #[serde(default)]
    meta: ScimMeta,
}

#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimMember {
    /// The user's id.
    #[serde(default)]
    value: String,
    #[serde(default, rename = "$ref")]
    reference: String,
    /// Always `User`.
    #[serde(default, rename = "type")]
    kind: ScimMemberType,
}

#[derive(ToSchema, Deserialize, Default)]
pub enum ScimMemberType {
    #[default]
    User,
}

/// A User or a Group, as `POST /.search` returns both; `schemas` tells them apart.
#[derive(ToSchema, Deserialize)]
#[serde(untagged)]
pub enum ScimResource {
    User(ScimUser),
    Group(ScimGroup),
}

/// `urn:ietf:params:scim:api:messages:2.0:ListResponse`.
#[derive(ToSchema, Deserialize)]
pub enum ScimListResponseUrn {
    #[serde(rename = "urn:ietf:params:scim:api:messages:2.0:ListResponse")]
    ListResponse,
}

/// A list response (RFC 7644 section 3.4.2); `Resources` is there even when empty.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScimListResponse<T> {
    #[schema(min_items = 1, max_items = 1)]
    schemas: Vec<ScimListResponseUrn>,
    /// How many match, over all pages.
    #[schema(minimum = 0)]
    total_results: u64,
    /// The 1-based index of the first resource of this page.
    #[schema(minimum = 1)]
    start_index: u64,
    /// How many this page holds.
    #[schema(minimum = 0)]
    items_per_page: u64,
    #[serde(rename = "Resources")]
    resources: Vec<T>,
}

/// The body of a create or replace of a User. Attribute names are read without regard
/// to case; read-only attributes (`id`, `meta`, `groups`) and unknown ones are ignored.
#[derive(ToSchema, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimUserRequest {
    /// Must include the User schema when present.
    #[serde(default)]
    schemas: Vec<String>,
    #[schema(min_length = 1)]
    user_name: String,
    /// The primary value (or the first) is the user's email; without a valid one,
    /// `userName` is taken when it is an address.
    #[serde(default)]
    emails: Vec<ScimEmailRequest>,
    /// `displayName`, else `name.formatted`, else the given and family names joined, is
    /// the user's name.
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    name: ScimNameRequest,
    /// True when absent; `"True"` and `"False"` are read too.
    #[serde(default)]
    active: bool,
    #[serde(default)]
    external_id: String,
    /// The primary value (or the first) is the user's role.
    #[serde(default)]
    roles: Vec<ScimRoleRequest>,
    /// Accepted and dropped.
    #[schema(write_only)]
    #[serde(default)]
    password: String,
}

#[derive(ToSchema, Deserialize)]
pub struct ScimEmailRequest {
    #[schema(format = Email)]
    value: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    primary: bool,
}

#[derive(ToSchema, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ScimNameRequest {
    #[serde(default)]
    formatted: String,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
}

#[derive(ToSchema, Deserialize)]
pub struct ScimRoleRequest {
    value: String,
    #[serde(default)]
    primary: bool,
}

/// The body of a create or replace of a Group. A replace sets the members to those
/// listed; member ids that are no user's are ignored.
#[derive(ToSchema, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimGroupRequest {
    /// Must include the Group schema when present.
    #[serde(default)]
    schemas: Vec<String>,
    /// The role's name: 1 to 255 characters, without control characters or spaces at
    /// either end.
    #[schema(min_length = 1, max_length = 255)]
    display_name: String,
    #[serde(default)]
    external_id: String,
    #[serde(default)]
    members: Vec<ScimMemberRequest>,
}

#[derive(ToSchema, Deserialize)]
pub struct ScimMemberRequest {
    /// The user's id.
    value: String,
    #[serde(default, rename = "$ref")]
    reference: String,
    #[serde(default, rename = "type")]
    kind: String,
}

/// A PATCH body (RFC 7644 section 3.5.2). `op` is read without regard to case, and an
/// `add` or `replace` without a path takes an object of attributes as its value.
#[derive(ToSchema, Deserialize)]
pub struct ScimPatchOp {
    /// Must include `urn:ietf:params:scim:api:messages:2.0:PatchOp` when present.
    #[serde(default)]
    schemas: Vec<String>,
    #[serde(rename = "Operations")]
    #[schema(min_items = 1)]
    operations: Vec<ScimPatchOperation>,
}

#[derive(ToSchema, Deserialize)]
pub struct ScimPatchOperation {
    op: ScimPatchOpKind,
    /// An attribute path with an optional value filter (`members[value eq "12"]`);
    /// required for `remove`.
    #[serde(default)]
    path: String,
    #[serde(default)]
    value: Value,
}

#[derive(ToSchema, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScimPatchOpKind {
    Add,
    Remove,
    Replace,
}

/// A search (RFC 7644 section 3.4.3): the query of a list, as a body.
#[derive(ToSchema, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimSearchRequest {
    /// Must include `urn:ietf:params:scim:api:messages:2.0:SearchRequest` when present.
    #[serde(default)]
    schemas: Vec<String>,
    /// A filter (RFC 7644 section 3.4.2.2).
    #[serde(default)]
    filter: String,
    /// 1-based; a value below 1 is read as 1.
    #[serde(default)]
    start_index: i64,
    /// A negative count is read as 0, one over 1000 as 1000; 100 when absent.
    #[serde(default)]
    count: i64,
    /// A list of names, or one comma-separated string.
    #[serde(default)]
    attributes: Vec<String>,
    #[serde(default)]
    excluded_attributes: Vec<String>,
}

/// `/ServiceProviderConfig` (RFC 7643 section 5).
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScimServiceProviderConfig {
    schemas: Vec<String>,
    patch: ScimSupported,
    bulk: ScimBulk,
    filter: ScimFilterConfig,
    change_password: ScimSupported,
    sort: ScimSupported,
    etag: ScimSupported,
    authentication_schemes: Vec<ScimAuthenticationScheme>,
    meta: ScimDiscoveryMeta,
}

#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimSupported {
    supported: bool,
}

#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScimBulk {
    supported: bool,
    max_operations: u64,
    max_payload_size: u64,
}

#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScimFilterConfig {
    supported: bool,
    max_results: u64,
}

#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimAuthenticationScheme {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    description: String,
    primary: bool,
}

/// The `meta` of a discovery resource.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScimDiscoveryMeta {
    resource_type: String,
    location: String,
}

/// A resource type (RFC 7643 section 6).
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScimResourceType {
    schemas: Vec<String>,
    id: String,
    name: String,
    endpoint: String,
    description: String,
    schema: String,
    schema_extensions: Vec<Value>,
    meta: ScimDiscoveryMeta,
}

/// A schema (RFC 7643 section 7), listing only the attributes Roster stores.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScimSchema {
    schemas: Vec<String>,
    id: String,
    name: String,
    description: String,
    attributes: Vec<ScimAttribute>,
    meta: ScimDiscoveryMeta,
}

/// An attribute definition with every characteristic spelled out.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScimAttribute {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    multi_valued: bool,
    description: String,
    required: bool,
    case_exact: bool,
    mutability: String,
    returned: String,
    uniqueness: String,
    #[serde(default)]
    canonical_values: Vec<String>,
    #[serde(default)]
    reference_types: Vec<String>,
    /// One level deep, as in RFC 7643.
    #[serde(default)]
    sub_attributes: Vec<ScimSubAttribute>,
}

#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScimSubAttribute {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    multi_valued: bool,
    description: String,
    required: bool,
    case_exact: bool,
    mutability: String,
    returned: String,
    uniqueness: String,
    #[serde(default)]
    canonical_values: Vec<String>,
    #[serde(default)]
    reference_types: Vec<String>,
}

/// The query of `GET /Users` and `GET /Groups` (RFC 7644 section 3.4.2).
#[derive(utoipa::IntoParams, Deserialize)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// A filter (RFC 7644 section 3.4.2.2), such as `userName eq "ana@example.com"`.
    filter: Option<String>,
    /// The 1-based index of the first resource; a value below 1 is read as 1.
    start_index: Option<i64>,
    /// How many resources a page holds: 100 when absent; a negative count is read as
    /// 0, one over 1000 as 1000.
    count: Option<i64>,
    /// Only these attributes (comma-separated), besides `id` and `schemas`.
    attributes: Option<String>,
    /// Not these attributes (comma-separated); `id` and `schemas` stay.
    excluded_attributes: Option<String>,
}

/// `attributes` and `excludedAttributes` on the answer of a single resource
/// (RFC 7644 section 3.9).
#[derive(utoipa::IntoParams, Deserialize)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionQuery {
    /// Only these attributes (comma-separated), besides `id` and `schemas`.
    attributes: Option<String>,
    /// Not these attributes (comma-separated); `id` and `schemas` stay.
    excluded_attributes: Option<String>,
}

#[cfg(test)]
mod tests {
    use axum::{
        body::Body,
        http::{header, Method, Request},
        Router,
    };
    use serde::de::DeserializeOwned;
    use serde_json::json;
    use tower::ServiceExt;

    use super::*;
    use crate::{AppState, ServerConfig};

    struct Fixture {
        router: Router,
        token: String,
        _dir: tempfile::TempDir,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("roster.db").display());
        let store = roster_store::Store::open(&url).await.unwrap();
        let credentials = store.create_account("acme").await.unwrap();
        let token = store.issue_scim_token(&credentials.app_key).await.unwrap();
        Fixture {
            router: crate::router(AppState::new(store, ServerConfig::default())),
            token,
            _dir: dir,
        }
    }

    impl Fixture {
        /// The body of the answer, read into `T`, which fails on any field `T` lacks.
        async fn read<T: DeserializeOwned>(
            &self,
            method: Method,
            path: &str,
            body: Option<Value>,
        ) -> T {
            let request = Request::builder()
                .method(method)
                .uri(format!("/scim/v2{path}"))
                .header(header::HOST, "127.0.0.1")
                .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
                .header(header::CONTENT_TYPE, SCIM_CONTENT_TYPE)
                .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
                .unwrap();
            let response = self.router.clone().oneshot(request).await.unwrap();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            let value: Value = serde_json::from_slice(&bytes).unwrap();
            serde_json::from_value(value.clone())
                .unwrap_or_else(|e| panic!("{path}: {e}: {value:#}"))
        }
    }

    #[tokio::test]
    async fn every_answer_the_handlers_build_fits_its_documented_type() {
        let scim = fixture().await;
        let user: ScimUser = scim
            .read(
                Method::POST,
                "/Users",
                Some(json!({
                    "userName": "ana@example.com",
                    "name": {"givenName": "Ana", "familyName": "Lima"},
                    "externalId": "okta-1",
                })),
            )
            .await;
        let group: ScimGroup = scim
            .read(
                Method::POST,
                "/Groups",
                Some(json!({
                    "displayName": "Support",
                    "externalId": "g-1",
                    "members": [{"value": user.id}],
                })),
            )
            .await;
        let _: ScimUser = scim
            .read(Method::GET, &format!("/Users/{}", user.id), None)
            .await;
        let _: ScimGroup = scim
            .read(Method::GET, &format!("/Groups/{}", group.id), None)
            .await;
        let _: ScimListResponse<ScimUser> = scim.read(Method::GET, "/Users", None).await;
        let _: ScimListResponse<ScimGroup> = scim.read(Method::GET, "/Groups", None).await;
        let everything: ScimListResponse<ScimResource> =
            scim.read(Method::POST, "/.search", Some(json!({}))).await;
        assert!(everything.resources.len() > 2);

        let _: ScimServiceProviderConfig =
            scim.read(Method::GET, "/ServiceProviderConfig", None).await;
        let _: ScimListResponse<ScimResourceType> =
            scim.read(Method::GET, "/ResourceTypes", None).await;
        let _: ScimListResponse<ScimSchema> = scim.read(Method::GET, "/Schemas", None).await;

        for (method, path) in [
            (Method::GET, "/Users/0"),
            (Method::POST, "/Users"),
            (Method::POST, "/Schemas"),
        ] {
            let error: ScimErrorBody = scim.read(method, path, Some(json!({}))).await;
            assert!(error.status.starts_with('4'));
        }
    }
}
