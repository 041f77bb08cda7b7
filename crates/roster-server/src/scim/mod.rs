//! SCIM 2.0 (RFC 7643, RFC 7644) at `/scim/v2`, so that identity providers such as Okta
//! and Microsoft Entra ID can provision an account's users.
//!
//! Users are the account's users; Groups are its roles, members being the users holding
//! the role (`DESIGN.md` section 2). Every handler reaches the users through the
//! [`roster_core::Directory`] trait and never through SQL, so the same module can serve a
//! directory kept elsewhere.
//!
//! Layout: [`discovery`] answers `/ServiceProviderConfig`, `/ResourceTypes` and
//! `/Schemas`; [`users`] and [`groups`] own their resources; [`patch`] reads PATCH
//! requests in the forms identity providers really send; [`resource`] holds what the
//! resources share (listing parameters, `attributes`, filters over JSON, versions);
//! [`error`] is the one place failures become SCIM error responses.
//!
//! Requests are read whether they say `application/scim+json`, `application/json` or
//! nothing at all; every answer says `application/scim+json`.
//!
//! Which directory a request works on is up to a [`DirectoryProvider`] in the
//! [`ScimState`]: [`StoreDirectories`] opens the account of a SCIM token made by `roster
//! accounts scim-token` (what `roster serve` uses), and [`BridgeDirectory`] opens one
//! directory kept elsewhere, behind one bridge token (what `roster bridge` uses).

mod discovery;
mod error;
mod groups;
pub(crate) mod openapi;
mod patch;
mod resource;
mod users;

use async_trait::async_trait;
use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request},
    http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use roster_core::{Actor, Directory};
use roster_store::{secret, Store};
use serde_json::Value;
use std::sync::Arc;

pub use error::ScimError;

/// The media type of every SCIM body (RFC 7644 section 3.1).
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// The largest SCIM request body: larger than the account-users API's, because a group
/// replaced with PUT carries every member. Published as `bulk.maxPayloadSize`.
pub const SCIM_BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// The SCIM service provider, mounted at `/scim/v2`.
pub fn router() -> Router<ScimState> {
    let only = |method_router: axum::routing::MethodRouter<ScimState>| {
        method_router.fallback(method_not_allowed)
    };
    let scim = Router::new()
        .route(
            "/ServiceProviderConfig",
            only(get(discovery::get_service_provider_config)),
        )
        .route("/ResourceTypes", only(get(discovery::list_resource_types)))
        .route(
            "/ResourceTypes/{id}",
            only(get(discovery::get_resource_type)),
        )
        .route("/Schemas", only(get(discovery::list_schemas)))
        .route("/Schemas/{id}", only(get(discovery::get_schema)))
        .route(
            "/Users",
            only(get(users::list_users).post(users::create_user)),
        )
        .route("/Users/.search", only(post(users::search_users)))
        .route(
            "/Users/{id}",
            only(
                get(users::get_user)
                    .put(users::replace_user)
                    .patch(users::patch_user)
                    .delete(users::delete_user),
            ),
        )
        .route(
            "/Groups",
            only(get(groups::list_groups).post(groups::create_group)),
        )
        .route("/Groups/.search", only(post(groups::search_groups)))
        .route(
            "/Groups/{id}",
            only(
                get(groups::get_group)
                    .put(groups::replace_group)
                    .patch(groups::patch_group)
                    .delete(groups::delete_group),
            ),
        )
        .route("/.search", only(post(resource::search_everything)))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(SCIM_BODY_LIMIT_BYTES));
    Router::new().nest("/scim/v2", scim)
}

async fn not_found() -> ScimError {
    ScimError::not_found(
        "No SCIM endpoint at this path; see /scim/v2/ResourceTypes for Users and Groups",
    )
}

async fn method_not_allowed() -> ScimError {
    ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "This method is not allowed on this SCIM endpoint",
    )
}

/// Finds the directory a SCIM request works on, from its bearer token.
#[async_trait]
pub trait DirectoryProvider: Send + Sync {
    /// The directory `token` opens, or `None` when it opens none (a 401).
    async fn directory(&self, token: &str) -> Result<Option<Arc<dyn Directory>>, ScimError>;

    /// The 401 for a missing or refused token, saying where tokens come from.
    fn unauthorized(&self) -> ScimError {
        ScimError::unauthorized()
    }
}

/// What the SCIM router needs: where its directories come from.
#[derive(Clone)]
pub struct ScimState {
    pub provider: Arc<dyn DirectoryProvider>,
}

impl ScimState {
    pub fn new(provider: impl DirectoryProvider + 'static) -> ScimState {
        ScimState {
            provider: Arc::new(provider),
        }
    }
}

/// The store's accounts: a SCIM token opens the account it was made for.
pub struct StoreDirectories(pub Store);

#[async_trait]
impl DirectoryProvider for StoreDirectories {
    async fn directory(&self, token: &str) -> Result<Option<Arc<dyn Directory>>, ScimError> {
        let account = self
            .0
            .scim_account(token)
            .await
            .map_err(ScimError::internal)?;
        Ok(account.map(|account| {
            let actor = Actor(format!("scim:{}", account.app_key));
            Arc::new(self.0.directory(account.id, actor)) as Arc<dyn Directory>
        }))
    }
}

/// One directory kept elsewhere (the bridge's upstream account), opened by one token.
///
/// The token is held as its SHA-256 digest and compared in constant time, as the
/// store's credentials are.
pub struct BridgeDirectory {
    token_digest: String,
    directory: Arc<dyn Directory>,
}

impl BridgeDirectory {
    pub fn new(token: &str, directory: Arc<dyn Directory>) -> BridgeDirectory {
        BridgeDirectory {
            token_digest: secret::digest(token),
            directory,
        }
    }
}

#[async_trait]
impl DirectoryProvider for BridgeDirectory {
    async fn directory(&self, token: &str) -> Result<Option<Arc<dyn Directory>>, ScimError> {
        let matches = secret::digests_match(&secret::digest(token), &self.token_digest);
        Ok(matches.then(|| self.directory.clone()))
    }

    fn unauthorized(&self) -> ScimError {
        ScimError::new(
            StatusCode::UNAUTHORIZED,
            None,
            "Send the bridge token as \"Authorization: Bearer <token>\"; it is the \
             ROSTER_BRIDGE_TOKEN the bridge was started with",
        )
    }
}

/// What every resource request starts with: the directory its bearer token opens, and
/// the base URL that `meta.location` and `$ref` values start with.
pub struct Scim {
    pub directory: Arc<dyn Directory>,
    /// `http://host/scim/v2`, without a trailing slash.
    pub base: String,
}

impl FromRequestParts<ScimState> for Scim {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &ScimState) -> Result<Scim, ScimError> {
        let provider = &state.provider;
        let token = bearer_token(&parts.headers).ok_or_else(|| provider.unauthorized())?;
        let directory = provider
            .directory(token)
            .await?
            .ok_or_else(|| provider.unauthorized())?;
        Ok(Scim {
            directory,
            base: base_url(&parts.headers),
        })
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The public base of the SCIM endpoint, from the headers a reverse proxy sets or the
/// `Host` the client used, so that `meta.location` is a URL the client can follow.
fn base_url(headers: &HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let proto = header("x-forwarded-proto").unwrap_or("http");
    let host = header("x-forwarded-host")
        .or_else(|| header("host"))
        .unwrap_or("localhost");
    format!("{proto}://{host}/scim/v2")
}

/// A JSON object body, read with or without a JSON content type.
pub struct JsonBody(pub serde_json::Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ScimError;

    async fn from_request(req: Request, state: &S) -> Result<JsonBody, ScimError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
        if let Some(content_type) = content_type.filter(|c| !c.is_empty()) {
            if content_type != SCIM_CONTENT_TYPE && content_type != "application/json" {
                return Err(ScimError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    None,
                    format!(
                        "Send the body as {SCIM_CONTENT_TYPE} or application/json, not {content_type}"
                    ),
                ));
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ScimError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    Some("tooMany"),
                    format!("The body is larger than {SCIM_BODY_LIMIT_BYTES} bytes"),
                )
            } else {
                ScimError::bad_request("invalidSyntax", "The request body could not be read")
            }
        })?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(JsonBody(map)),
            Ok(_) => Err(ScimError::bad_request(
                "invalidSyntax",
                "The body must be a JSON object",
            )),
            Err(e) => Err(ScimError::bad_request(
                "invalidSyntax",
                format!(
                    "The body is not valid JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )),
        }
    }
}

/// A SCIM JSON answer.
pub fn scim_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    response
}

/// A resource answer: its body, cut down by `projection`, with `ETag` equal to
/// `meta.version` (RFC 7644 section 3.14) and, for a 201, `Location` equal to
/// `meta.location` (section 3.3). The headers are set even when `meta` is left out.
pub fn resource_response(
    status: StatusCode,
    mut resource: Value,
    projection: &resource::Projection,
) -> Response {
    let header_value = |v: &Value| v.as_str().and_then(|v| HeaderValue::from_str(v).ok());
    let version = header_value(&resource["meta"]["version"]);
    let location = header_value(&resource["meta"]["location"]);
    projection.apply(&mut resource);

    let mut response = scim_response(status, &resource);
    let headers = response.headers_mut();
    if let Some(version) = version {
        headers.insert(header::ETAG, version);
    }
    if let Some(location) = location.filter(|_| status == StatusCode::CREATED) {
        headers.insert(header::LOCATION, location);
    }
    response
}

/// The versions `If-Match` accepts: `None` when absent or `*`, else each entity tag
/// with its weak prefix and quotes removed.
pub fn if_match(headers: &HeaderMap) -> Option<Vec<String>> {
    let raw = headers.get(header::IF_MATCH)?.to_str().ok()?.trim();
    if raw == "*" {
        return None;
    }
    Some(
        raw.split(',')
            .map(|tag| {
                let tag = tag.trim();
                let tag = tag.strip_prefix("W/").unwrap_or(tag);
                tag.trim_matches('"').to_owned()
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_reads_weak_and_strong_tags_and_star() {
        let mut headers = HeaderMap::new();
        assert_eq!(if_match(&headers), None);
        headers.insert(header::IF_MATCH, HeaderValue::from_static("W/\"3\", \"4\""));
        assert_eq!(if_match(&headers), Some(vec!["3".into(), "4".into()]));
        headers.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert_eq!(if_match(&headers), None);
    }

    #[test]
    fn the_base_url_follows_the_proxy_headers_when_there_are_any() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert_eq!(base_url(&headers), "http://127.0.0.1:8080/scim/v2");
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        headers.insert(
            "x-forwarded-host",
            HeaderValue::from_static("id.example.com"),
        );
        assert_eq!(base_url(&headers), "https://id.example.com/scim/v2");
    }

    #[test]
    fn only_bearer_tokens_are_taken() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
    }
}
