//! The OpenAPI 3.1 document of the whole HTTP surface, generated from the code.
//!
//! Each resource module describes its own operations with `#[utoipa::path]` on its
//! handlers and lists them in its own `ApiDoc`; [`document`] merges those under one
//! roof with what every module shares: the security schemes, the error responses in
//! the envelope, and the rate-limit headers. SCIM brings its own error responses, its
//! own security scheme and its own tag (`scim`), since nothing under `/scim/v2` answers
//! in the envelope or is rate limited.
//!
//! The account-users paths are described twice, bare and under `/v1`, because clients
//! call both; the `/v1` copies have operation ids ending in `_v1`.
//!
//! The document is served at `GET /openapi.json`, printed by `roster openapi`, and kept
//! in the repository as `openapi.json`, which a test compares with what the code makes.

use std::borrow::Cow;

use axum::{http::header, response::IntoResponse};
use roster_api::ErrorType;
use utoipa::{
    openapi::{
        path::Operation,
        response::{Response, ResponseBuilder},
        schema::{ObjectBuilder, Schema, Type},
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        HeaderBuilder, OpenApi as Document, PathItem, Ref, RefOr,
    },
    Modify, OpenApi, PartialSchema, ToResponse, ToSchema,
};

use crate::{account_users, docs, metrics, oauth, scim};

/// The names of the security schemes, as operations refer to them.
pub const UTOKEN_QUERY: &str = "utoken";
pub const YOTPO_TOKEN_HEADER: &str = "x_yotpo_token";
pub const BEARER: &str = "bearer";

/// The tag of each module's operations.
pub const TAG_TOKENS: &str = "tokens";
pub const TAG_ACCOUNT_USERS: &str = "account users";
pub const TAG_SERVICE: &str = "service";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roster",
        description = "The account-users API of Yotpo, wire for wire: OAuth2 client-credentials \
tokens, and create, read, update and delete of the users of an account; and SCIM 2.0 at \
`/scim/v2` for identity providers.\n\n\
Every answer but those of `/oauth/token` and `/scim/v2` is an envelope, `{\"status\":{\"code\":200,\"message\":\"OK\"},\
\"response\":{...}}`; errors carry `status.error_type` and no `response`, and the HTTP status \
always equals `status.code`. Unknown paths get 404 and known paths called with another method \
get 405, both in the envelope (under `/scim/v2`, in the SCIM error format).\n\n\
SCIM takes its own token, made per account by `roster accounts scim-token APP_KEY`, as \
`Authorization: Bearer`; its bodies are `application/scim+json`, and it is not rate limited.\n\n\
The access token (\"utoken\") may be sent as the `utoken` query parameter, a `utoken` field \
of a JSON body, the `X-Yotpo-Token` header, or `Authorization: Bearer`, tried in that order.\n\n\
Requests are rate limited per `app_key` and, on `/oauth/token`, per client_id and source \
address. Answers carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; a 429 \
also carries `Retry-After`.",
        license(name = "MIT"),
    ),
    paths(
        crate::healthz,
        metrics::get_metrics,
        get_openapi,
        docs::get_docs,
    ),
    components(
        schemas(ErrorEnvelope),
        responses(
            InvalidParameters,
            AccessDenied,
            RecordNotFound,
            Conflict,
            PayloadTooLarge,
            RecordInvalid,
            TooManyRequests,
            InternalError,
        ),
    ),
    tags(
        (name = "tokens", description = "OAuth2 client credentials (RFC 6749 section 4.4)"),
        (name = "account users", description = "The users of an account"),
        (name = "service", description = "Health, metrics and this document"),
    ),
    modifiers(&SecuritySchemes),
)]
struct Shared;

/// The whole document.
pub fn document() -> Document {
    let mut document = Shared::openapi();
    document.merge(oauth::ApiDoc::openapi());

    let account_users = account_users::ApiDoc::openapi();
    document.merge(account_users.clone());
    document.merge(under_v1(account_users));
    document.merge(scim::openapi::ApiDoc::openapi());

    add_rate_limit_headers(&mut document);
    document
}

/// The document as served and committed: pretty JSON ending in a newline.
pub fn document_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .expect("the document serializes");
    json.push('\n');
    json
}

/// The OpenAPI document of this server.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    responses((status = 200, description = "This document", content_type = "application/json")),
)]
pub async fn get_openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
}

/// The paths of `api` again under `/v1`, with their operation ids made unique.
fn under_v1(api: Document) -> Document {
    let mut nested = api.clone();
    nested.paths.paths.clear();
    for (path, mut item) in api.paths.paths {
        for operation in operations(&mut item) {
            if let Some(id) = &mut operation.operation_id {
                id.push_str("_v1");
            }
        }
        nested.paths.paths.insert(format!("/v1{path}"), item);
    }
    nested
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// Every operation's answers, but those of the service and SCIM tags (which are not
/// limited), carry the `RateLimit-*` headers (when limits are on), and its 429 carries
/// `Retry-After`.
fn add_rate_limit_headers(document: &mut Document) {
    for item in document.paths.paths.values_mut() {
        for operation in operations(item) {
            let limited = operation.tags.as_ref().is_some_and(|tags| {
                !tags
                    .iter()
                    .any(|t| t == TAG_SERVICE || t == scim::openapi::TAG_SCIM)
            });
            if !limited {
                continue;
            }
            for response in operation.responses.responses.values_mut() {
                if let RefOr::T(response) = response {
                    for (name, description) in rate_limit_headers() {
                        response
                            .headers
                            .insert(name.to_owned(), integer_header(description));
                    }
                }
            }
        }
    }
}

fn rate_limit_headers() -> [(&'static str, &'static str); 3] {
    [
        (
            "RateLimit-Limit",
            "Requests a minute this key may make on this server",
        ),
        (
            "RateLimit-Remaining",
            "Requests left before this key is limited",
        ),
        (
            "RateLimit-Reset",
            "Seconds until this key's allowance is whole again",
        ),
    ]
}

fn integer_header(description: &str) -> utoipa::openapi::Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        )
        .description(Some(description))
        .build()
}

/// Describes PATCH on every path that has a PUT, as the same operation: the
/// account-users routes accept both for an update.
pub struct PatchLikePut;

impl Modify for PatchLikePut {
    fn modify(&self, document: &mut Document) {
        for item in document.paths.paths.values_mut() {
            let Some(put) = &item.put else { continue };
            let mut patch = put.clone();
            patch.operation_id = put.operation_id.as_ref().map(|id| format!("{id}_by_patch"));
            item.patch = Some(patch);
        }
    }
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            UTOKEN_QUERY,
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "utoken",
                "The access token as a query parameter, as the vendor's clients send it",
            ))),
        );
        components.add_security_scheme(
            YOTPO_TOKEN_HEADER,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Yotpo-Token",
                "The access token in a header",
            ))),
        );
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The access token from /oauth/token"))
                    .build(),
            ),
        );
    }
}

/// `{"status":{"code":N,"message":"...","error_type":"Exceptions::..."}}`, the body
/// of every error outside `/oauth/token`.
pub struct ErrorEnvelope;

impl ToSchema for ErrorEnvelope {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorEnvelope")
    }
}

impl PartialSchema for ErrorEnvelope {
    fn schema() -> RefOr<Schema> {
        let error_types: Vec<&str> = ErrorType::ALL.iter().map(|t| t.as_str()).collect();
        let status = ObjectBuilder::new()
            .property(
                "code",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .description(Some("The HTTP status of the answer")),
            )
            .required("code")
            .property(
                "message",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("What went wrong and how to fix it")),
            )
            .required("message")
            .property(
                "error_type",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(error_types)),
            )
            .required("error_type");
        ObjectBuilder::new()
            .property("status", status)
            .required("status")
            .description(Some("An error answer: a status and no response"))
            .into()
    }
}

/// Declares a reusable error response whose body is the [`ErrorEnvelope`].
macro_rules! error_responses {
    ($($name:ident: $description:literal,)*) => {$(
        #[doc = $description]
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), error_response($description, stringify!($name)))
            }
        }
    )*};
}

error_responses! {
    InvalidParameters: "Exceptions::InvalidParameters: the request could not be read, or a \
        parameter is of the wrong type or out of range; the message names it",
    AccessDenied: "Exceptions::AccessDenied: the token is missing, unknown, expired, revoked \
        or another account's",
    RecordNotFound: "Exceptions::RecordNotFound: no account has this app_key, or no user of \
        the account has this id",
    Conflict: "Exceptions::RecordNotUnique when the email is another user's in this account; \
        Exceptions::Conflict when the change would leave the account without an active admin",
    PayloadTooLarge: "Exceptions::PayloadTooLarge: the body is over 64 KiB",
    RecordInvalid: "Exceptions::RecordInvalid: an invalid email, an unknown role (the message \
        lists the valid ones) or a field too long",
    TooManyRequests: "Exceptions::TooManyRequests: this app_key made too many requests; wait \
        Retry-After seconds",
    InternalError: "Exceptions::InternalError: something failed on the server; the request \
        may be retried",
}

fn error_response(description: &str, name: &str) -> RefOr<Response> {
    let mut response = ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ErrorEnvelope::name())))
                .build(),
        )
        .build();
    if name == "TooManyRequests" {
        response.headers.insert(
            "Retry-After".to_owned(),
            integer_header("Seconds to wait before the next request is let through"),
        );
    }
    if name == "AccessDenied" {
        response.headers.insert(
            "WWW-Authenticate".to_owned(),
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::String))
                .description(Some("Bearer"))
                .build(),
        );
    }
    RefOr::T(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_account_users_path_is_described_bare_and_under_v1() {
        let document = document();
        let paths: Vec<&String> = document.paths.paths.keys().collect();
        for path in [
            "/apps/{app_key}/account_users",
            "/apps/{app_key}/account_users/{id}",
        ] {
            assert!(paths.iter().any(|p| *p == path), "{paths:?}");
            assert!(
                paths.iter().any(|p| **p == format!("/v1{path}")),
                "{paths:?}"
            );
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        let mut document = document();
        let mut ids = Vec::new();
        for item in document.paths.paths.values_mut() {
            for operation in operations(item) {
                ids.push(operation.operation_id.clone().unwrap());
            }
        }
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count);
    }

    #[test]
    fn every_error_response_points_at_a_declared_component() {
        let json: serde_json::Value = serde_json::from_str(&document_json()).unwrap();
        let declared = json["components"]["responses"].as_object().unwrap();
        let text = json["paths"].to_string();
        for reference in text.split("#/components/responses/").skip(1) {
            let name = reference.split('"').next().unwrap();
            assert!(declared.contains_key(name), "{name} is not declared");
        }
        assert_eq!(json["openapi"], "3.1.0");
    }
}
