//! Reading requests so that bad input gets the API's own envelope, never the
//! framework's plain-text rejections.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Request},
    http::{header, request::Parts, HeaderMap, StatusCode},
};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// The raw body, with an oversized one answered as 413 in the envelope.
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Body, ApiError> {
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(Body(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge)
            }
            Err(rejection) => Err(ApiError::InvalidParameters(format!(
                "The request body could not be read: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// The parameters of the matched path, with a path that cannot be decoded (a
/// percent-encoded byte that is not UTF-8) answered as 400 in the envelope.
pub struct PathParams<T>(pub T);

impl<T, S> FromRequestParts<S> for PathParams<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(params)) => Ok(PathParams(params)),
            Err(_) => Err(ApiError::InvalidParameters(
                "The path could not be read; percent-encode its segments as UTF-8".to_owned(),
            )),
        }
    }
}

/// Parses a JSON body into `T`, naming the field at fault when the shape is wrong.
pub fn json_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Serde would read an array as the fields of a struct in order; no client means that.
    if bytes.trim_ascii_start().starts_with(b"[") {
        return Err(ApiError::InvalidParameters(
            "The request body must be a JSON object, not an array".to_owned(),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer);
    let value: T = value.map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::InvalidParameters(format!(
                "The request body is not valid JSON (line {}, column {}); send a JSON object",
                inner.line(),
                inner.column()
            ))
        } else if e.path().to_string() == "." {
            ApiError::InvalidParameters(format!("The request body has the wrong shape: {inner}"))
        } else {
            ApiError::InvalidParameters(format!(
                "The request body has a wrong value at {}: {}",
                e.path(),
                plain_message(&inner.to_string())
            ))
        }
    })?;
    deserializer.end().map_err(|_| {
        ApiError::InvalidParameters(
            "The request body has text after its JSON value; send one JSON object".to_owned(),
        )
    })?;
    Ok(value)
}

/// Parses a body that must be JSON, whatever its shape, saying where it stops being
/// JSON when it is not.
pub fn readable_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::InvalidParameters(format!(
                "The request body is not valid JSON (line {}, column {}); send one JSON object",
                e.line(),
                e.column()
            ))
        } else {
            ApiError::InvalidParameters(format!(
                "The request body has the wrong shape: {}",
                plain_message(&e.to_string())
            ))
        }
    })
}

/// Serde's message without what only a Rust programmer reads: the position (the path
/// says more) and the names of our types ("expected struct AccountUserFields").
fn plain_message(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    match message.split_once(", expected struct ") {
        Some((found, _)) => format!("{found}, expected a JSON object"),
        None => message.to_owned(),
    }
}

/// The query string as a map. A repeated key is refused: which of two counts or emails
/// the caller meant cannot be guessed.
pub fn query_map(raw: Option<&str>) -> Result<HashMap<String, String>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| {
            ApiError::InvalidParameters(
                "The query string could not be read; percent-encode its values".to_owned(),
            )
        })?;
    let mut map = HashMap::with_capacity(pairs.len());
    for (key, value) in pairs {
        if map.contains_key(&key) {
            return Err(ApiError::InvalidParameters(format!(
                "The query parameter {key} is given more than once; give it once"
            )));
        }
        map.insert(key, value);
    }
    Ok(map)
}

/// True when the body was declared as a form rather than JSON.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        email: String,
    }

    #[test]
    fn a_wrong_type_is_reported_with_its_path() {
        let Err(ApiError::InvalidParameters(message)) =
            json_body::<Outer>(br#"{"inner":{"email":5}}"#)
        else {
            panic!("expected an error")
        };
        assert!(message.contains("inner.email"), "{message}");
        assert!(!message.contains("line 1"), "{message}");
    }

    #[test]
    fn broken_json_is_reported_as_such() {
        let Err(ApiError::InvalidParameters(message)) = json_body::<Outer>(b"{\"inner\":") else {
            panic!("expected an error")
        };
        assert!(message.contains("not valid JSON"), "{message}");
    }

    #[test]
    fn type_names_do_not_reach_the_message() {
        let Err(ApiError::InvalidParameters(message)) = json_body::<Outer>(br#"{"inner":null}"#)
        else {
            panic!("expected an error")
        };
        assert!(!message.contains("struct"), "{message}");
        assert!(message.contains("expected a JSON object"), "{message}");
        assert!(json_body::<Outer>(b"[]").is_err());
    }

    #[test]
    fn a_repeated_query_parameter_is_refused() {
        assert!(query_map(Some("count=1&count=200")).is_err());
        assert_eq!(query_map(Some("page=2&count=5")).unwrap().len(), 2);
    }

    #[test]
    fn trailing_garbage_is_refused() {
        assert!(json_body::<serde_json::Value>(b"{} x").is_err());
    }

    proptest::proptest! {
        #[test]
        fn reading_arbitrary_bytes_never_panics(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
            text in ".{0,256}",
        ) {
            let _ = json_body::<serde_json::Value>(&bytes);
            let _ = json_body::<Outer>(&bytes);
            let _ = json_body::<roster_api::users::AccountUserRequest>(text.as_bytes());
            let _ = query_map(Some(&text));
            let _ = query_map(Some(&String::from_utf8_lossy(&bytes)));
            let mut headers = HeaderMap::new();
            if let Ok(value) = axum::http::HeaderValue::from_bytes(&bytes) {
                headers.insert(header::CONTENT_TYPE, value);
            }
            let _ = is_form(&headers);
        }
    }
}
