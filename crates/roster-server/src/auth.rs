//! Authentication of account-users calls by the access token ("utoken").

use axum::http::{header, HeaderMap};

use crate::{ApiError, AppState};
use roster_store::TokenCheck;

/// The header some vendor clients send the token in.
const YOTPO_TOKEN_HEADER: &str = "x-yotpo-token";

/// Finds the token a request presents, in the order the vendor documents: the `utoken`
/// query parameter, a `utoken` field of the JSON body, `X-Yotpo-Token`, then
/// `Authorization: Bearer`. Empty values count as absent.
pub fn presented_token(
    query_token: Option<&str>,
    body_token: Option<&str>,
    headers: &HeaderMap,
) -> Option<String> {
    let header_token = headers
        .get(YOTPO_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok());
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(token.trim())
        });
    [query_token, body_token, header_token, bearer]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The id of the account `app_key` names, if `token` grants access to it.
///
/// An unknown app key is a 404 before the token is looked at, as the vendor answers;
/// every other failure is the same 401, so a caller cannot tell an expired token from
/// another account's.
pub async fn authorize(
    state: &AppState,
    app_key: &str,
    token: Option<String>,
) -> Result<i64, ApiError> {
    let token = token.unwrap_or_default();
    match state.store.check_token(app_key, &token).await? {
        TokenCheck::UnknownAccount => Err(ApiError::AccountNotFound(app_key.to_owned())),
        TokenCheck::Denied => Err(ApiError::AccessDenied),
        TokenCheck::Granted { account_id } => Ok(account_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_query_parameter_wins_over_every_other_place() {
        let h = headers(&[("x-yotpo-token", "h"), ("authorization", "Bearer b")]);
        assert_eq!(
            presented_token(Some("q"), Some("j"), &h).as_deref(),
            Some("q")
        );
        assert_eq!(presented_token(None, Some("j"), &h).as_deref(), Some("j"));
        assert_eq!(presented_token(None, None, &h).as_deref(), Some("h"));
    }

    #[test]
    fn bearer_is_read_case_insensitively_and_other_schemes_are_not() {
        let h = headers(&[("authorization", "bearer b")]);
        assert_eq!(presented_token(None, None, &h).as_deref(), Some("b"));
        let h = headers(&[("authorization", "Basic xyz")]);
        assert_eq!(presented_token(None, None, &h), None);
    }

    #[test]
    fn empty_values_do_not_hide_later_ones() {
        let h = headers(&[("authorization", "Bearer b")]);
        assert_eq!(
            presented_token(Some(""), Some(" "), &h).as_deref(),
            Some("b")
        );
    }

    proptest::proptest! {
        #[test]
        fn finding_the_token_never_panics_on_arbitrary_headers(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
            query in proptest::option::of(".{0,64}"),
            body in proptest::option::of(".{0,64}"),
        ) {
            let mut headers = HeaderMap::new();
            if let Ok(value) = axum::http::HeaderValue::from_bytes(&bytes) {
                headers.insert("x-yotpo-token", value.clone());
                headers.insert(header::AUTHORIZATION, value);
            }
            let _ = presented_token(query.as_deref(), body.as_deref(), &headers);
        }
    }
}
