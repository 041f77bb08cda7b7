//! `/oauth/token`: client credentials exchanged for an access token (RFC 6749 section
//! 4.4). Answers are bare JSON, not the envelope, as the vendor's are.
//!
//! Requests are rate limited per source address and per client_id, to slow down the
//! guessing of secrets. A limited request gets 429 in the same RFC 6749 shape as every
//! other answer here, with the error code `slow_down` (registered by RFC 8628 section
//! 3.5 for a client that asks too often), `Retry-After` and the `RateLimit-*` headers.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, RawQuery, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Extension, Json, Router,
};
use roster_api::oauth::{OAuthError, TokenRequest, TokenResponse, GRANT_TYPE};

use crate::{
    extract::{is_form, Body},
    limit::Decision,
    metrics::Limiter,
    AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/oauth/token", get(issue_token_by_get).post(issue_token))
}

/// The operations of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(issue_token, issue_token_by_get), modifiers(&BodyIsOptional))]
pub struct ApiDoc;

/// The POST body may be left out when the fields come in the query string.
struct BodyIsOptional;

impl utoipa::Modify for BodyIsOptional {
    fn modify(&self, document: &mut utoipa::openapi::OpenApi) {
        let body = document
            .paths
            .paths
            .get_mut("/oauth/token")
            .and_then(|item| item.post.as_mut())
            .and_then(|post| post.request_body.as_mut());
        if let Some(body) = body {
            body.required = Some(utoipa::openapi::Required::False);
        }
    }
}

/// The error answers of RFC 6749 section 5.2.
#[derive(Debug)]
enum TokenError {
    InvalidRequest(String),
    UnsupportedGrantType,
    InvalidClient,
    SlowDown { retry_after_secs: u64 },
    Internal(String),
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let (status, error, description) = match self {
            TokenError::InvalidRequest(d) => (StatusCode::BAD_REQUEST, "invalid_request", d),
            TokenError::UnsupportedGrantType => (
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type must be {GRANT_TYPE}"),
            ),
            TokenError::InvalidClient => (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed: unknown client_id or wrong client_secret".to_owned(),
            ),
            TokenError::SlowDown { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "slow_down",
                format!(
                    "Too many token requests from this client or address; \
                     retry in {retry_after_secs} seconds"
                ),
            ),
            TokenError::Internal(cause) => {
                tracing::error!(%cause, "token request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "Something went wrong on our side; the request may be retried".to_owned(),
                )
            }
        };
        let body = OAuthError {
            error: error.to_owned(),
            error_description: Some(description),
        };
        (status, no_store(), Json(body)).into_response()
    }
}

/// Token answers must not be cached (RFC 6749 section 5.1).
fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ]
}

/// Reads the request from the query string and, over it, from the body: JSON, or a
/// form when declared so. Some public clients send a GET with a JSON body.
fn read_request(
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenRequest, TokenError> {
    let unreadable = |what: &str| {
        TokenError::InvalidRequest(format!(
            "The {what} could not be read; send client_id, client_secret and grant_type \
             as JSON or as an application/x-www-form-urlencoded form"
        ))
    };
    let mut request: TokenRequest = match query {
        Some(q) if !q.is_empty() => {
            serde_urlencoded::from_str(q).map_err(|_| unreadable("query string"))?
        }
        _ => TokenRequest::default(),
    };
    let body = body.trim_ascii();
    if !body.is_empty() {
        let from_body: TokenRequest = if is_form(headers) || !body.starts_with(b"{") {
            serde_urlencoded::from_bytes(body).map_err(|_| unreadable("form body"))?
        } else {
            serde_json::from_slice(body).map_err(|_| unreadable("JSON body"))?
        };
        request.client_id = from_body.client_id.or(request.client_id);
        request.client_secret = from_body.client_secret.or(request.client_secret);
        request.grant_type = from_body.grant_type.or(request.grant_type);
    }
    if let Some((client_id, client_secret)) = basic_credentials(headers) {
        request.client_id = request.client_id.or(Some(client_id));
        request.client_secret = request.client_secret.or(Some(client_secret));
    }
    Ok(request)
}

/// Client credentials sent as HTTP Basic authentication, which RFC 6749 section 2.3.1
/// requires servers to accept: each part form-encoded, then `id:secret` in base64.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;

    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |part: &str| -> Option<String> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={part}")).ok()?;
        pairs.into_iter().next().map(|(_, v)| v)
    };
    Some((unescape(id)?, unescape(secret)?))
}

fn required(value: Option<String>, name: &str) -> Result<String, TokenError> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(TokenError::InvalidRequest(format!("{name} is required"))),
    }
}

/// Exchanges client credentials for an access token.
///
/// `client_id` is the account's app key and `client_secret` its secret. The fields may
/// come as JSON or as a form, and also in the query string; the body wins. Errors are
/// those of RFC 6749 section 5.2, without the envelope; an unknown client_id and a
/// wrong secret get the same 401.
#[utoipa::path(
    post,
    path = "/oauth/token",
    tag = "tokens",
    request_body(
        description = "The client credentials; they may also come in the query string",
        content(
            (TokenRequest = "application/json"),
            (TokenRequest = "application/x-www-form-urlencoded"),
        ),
    ),
    responses(
        (status = 200, description = "A token, good for `expires_in` seconds", body = TokenResponse),
        (status = 400, description = "`invalid_request`: a field is missing or the body is unreadable; \
            `unsupported_grant_type`: grant_type is not client_credentials", body = OAuthError),
        (status = 401, description = "`invalid_client`: unknown client_id or wrong secret", body = OAuthError),
        (status = 429, description = "`slow_down`: too many token requests from this client_id or \
            address; wait Retry-After seconds", body = OAuthError,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "`server_error`", body = OAuthError),
    ),
)]
async fn issue_token(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Body, crate::ApiError>,
) -> Response {
    let address = peer.map(|Extension(ConnectInfo(peer))| peer.ip().to_string());
    let mut limit = address.and_then(|address| state.limits.token_address.check(&address));

    let result = match limit {
        Some(decision) if !decision.allowed => {
            state.metrics.rate_limited(Limiter::TokenAddress);
            Err(TokenError::SlowDown {
                retry_after_secs: decision.retry_after_secs,
            })
        }
        _ => grant(&state, query.as_deref(), &headers, body, &mut limit).await,
    };

    let mut response = result.into_response();
    if let Some(decision) = limit {
        decision.write_headers(response.headers_mut());
    }
    response
}

/// Exchanges client credentials, sent in the query string, for an access token.
///
/// Some public clients send a GET, with the fields in the query string or in a JSON
/// body; the answers are those of the POST.
#[utoipa::path(
    get,
    path = "/oauth/token",
    tag = "tokens",
    params(
        ("client_id" = Option<String>, Query, description = "The account's app key"),
        ("client_secret" = Option<String>, Query, description = "The account's secret"),
        ("grant_type" = Option<String>, Query, description = "Must be client_credentials"),
    ),
    responses(
        (status = 200, description = "A token, good for `expires_in` seconds", body = TokenResponse),
        (status = 400, description = "`invalid_request` or `unsupported_grant_type`", body = OAuthError),
        (status = 401, description = "`invalid_client`: unknown client_id or wrong secret", body = OAuthError),
        (status = 429, description = "`slow_down`: too many token requests; wait Retry-After seconds",
            body = OAuthError, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "`server_error`", body = OAuthError),
    ),
)]
async fn issue_token_by_get(
    state: State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    query: RawQuery,
    headers: HeaderMap,
    body: Result<Body, crate::ApiError>,
) -> Response {
    issue_token(state, peer, query, headers, body).await
}

/// Checks the request and the client's credentials, and issues a token. `limit` ends
/// up as the stricter of the address's and the client's rate-limit decisions.
async fn grant(
    state: &AppState,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Result<Body, crate::ApiError>,
    limit: &mut Option<Decision>,
) -> Result<Response, TokenError> {
    let body = body.map_err(|e| TokenError::InvalidRequest(e.message()))?;
    let request = read_request(query, headers, &body.0)?;

    let grant_type = required(request.grant_type, "grant_type")?;
    let client_id = required(request.client_id, "client_id")?;
    let client_secret = required(request.client_secret, "client_secret")?;
    if grant_type != GRANT_TYPE {
        return Err(TokenError::UnsupportedGrantType);
    }

    if let Some(client) = state.limits.token_client.check(&client_id) {
        let stricter = limit.map_or(client, |address| address.stricter(client));
        *limit = Some(stricter);
        if !client.allowed {
            state.metrics.rate_limited(Limiter::TokenClient);
            return Err(TokenError::SlowDown {
                retry_after_secs: client.retry_after_secs,
            });
        }
    }

    let account_id = state
        .store
        .verify_client(&client_id, &client_secret)
        .await
        .map_err(|e| TokenError::Internal(e.to_string()))?
        .ok_or(TokenError::InvalidClient)?;
    let ttl = state.config.token_ttl;
    let access_token = state
        .store
        .issue_token(account_id, ttl)
        .await
        .map_err(|e| TokenError::Internal(e.to_string()))?;
    state.metrics.token_issued();
    tracing::debug!(account_id, "token issued");

    let body = TokenResponse {
        access_token,
        token_type: "bearer".to_owned(),
        expires_in: Some(ttl.as_secs()),
    };
    Ok((no_store(), Json(body)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_fields_override_query_fields() {
        let request = read_request(
            Some("client_id=q&grant_type=client_credentials"),
            &HeaderMap::new(),
            br#"{"client_id":"b","client_secret":"s"}"#,
        )
        .unwrap();
        assert_eq!(request.client_id.as_deref(), Some("b"));
        assert_eq!(request.client_secret.as_deref(), Some("s"));
        assert_eq!(request.grant_type.as_deref(), Some("client_credentials"));
    }

    #[test]
    fn an_undeclared_form_body_is_still_read() {
        let request =
            read_request(None, &HeaderMap::new(), b"client_id=a&client_secret=b").unwrap();
        assert_eq!(request.client_id.as_deref(), Some("a"));
    }

    #[test]
    fn http_basic_client_credentials_are_read() {
        use base64::Engine;

        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("demo:s%3Acret");
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {encoded}").parse().unwrap(),
        );
        let request = read_request(None, &headers, b"grant_type=client_credentials").unwrap();
        assert_eq!(request.client_id.as_deref(), Some("demo"));
        assert_eq!(request.client_secret.as_deref(), Some("s:cret"));
    }

    #[test]
    fn broken_json_is_an_invalid_request() {
        let result = read_request(None, &HeaderMap::new(), b"{\"client_id\":");
        assert!(matches!(result, Err(TokenError::InvalidRequest(_))));
    }

    proptest::proptest! {
        #[test]
        fn reading_a_token_request_never_panics_on_arbitrary_bytes(
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
            query in proptest::option::of(".{0,128}"),
            form in proptest::bool::ANY,
        ) {
            let mut headers = HeaderMap::new();
            if form {
                headers.insert(
                    header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded".parse().unwrap(),
                );
            }
            let _ = read_request(query.as_deref(), &headers, &body);
        }
    }
}
