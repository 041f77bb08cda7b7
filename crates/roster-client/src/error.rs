//! What can go wrong with a call, typed so that callers can act on it.

use std::time::Duration;

use roster_api::{oauth::OAuthError, ErrorEnvelope, ErrorType};

/// Everything a call of [`Client`](crate::Client) can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with the error envelope of the account-users API.
    #[error(transparent)]
    Api(#[from] ApiError),

    /// `/oauth/token` refused the credentials or the request (RFC 6749 section 5.2).
    #[error("token request refused ({status}): {error}{}", describe(.description))]
    OAuth {
        status: u16,
        /// The RFC 6749 error code, e.g. `invalid_client`.
        error: String,
        description: Option<String>,
    },

    /// The request never got a complete answer: connection refused or reset, timeout,
    /// or a body cut short. The URL is left out, since it may hold an email address.
    #[error("transport error: {0}")]
    Transport(#[source] reqwest::Error),

    /// The server answered, but not with JSON of the expected shape.
    #[error("unexpected answer ({status}) to {what}: {detail}")]
    Decode {
        status: u16,
        what: &'static str,
        detail: String,
    },

    /// Retrying stopped at the configured number of attempts or total time; `last` is
    /// the failure of the final attempt.
    #[error("gave up after {attempts} attempts in {elapsed:?}: {last}")]
    GaveUp {
        attempts: u32,
        elapsed: Duration,
        last: Box<Error>,
    },

    /// Listing stopped because the server kept answering pages with nothing new, which
    /// happens when it ignores the `page` parameter.
    #[error("pagination is not advancing: page {page} held no user not seen before")]
    PaginationStalled { page: u64 },

    /// The call cannot be made as asked, e.g. a create without an email address.
    #[error("{0}")]
    Usage(String),

    /// The configuration cannot work, e.g. a base URL that is not a URL.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

fn describe(description: &Option<String>) -> String {
    match description {
        Some(text) => format!(" ({text})"),
        None => String::new(),
    }
}

/// An error answer in the envelope of DESIGN section 1.3.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status} {}: {message}", .error_type.as_deref().unwrap_or("(no error_type)"))]
pub struct ApiError {
    /// The HTTP status, which the service keeps equal to `status.code`.
    pub status: u16,
    /// `status.error_type` as sent, e.g. `Exceptions::RecordNotFound`.
    pub error_type: Option<String>,
    /// `status.message` as sent.
    pub message: String,
}

impl ApiError {
    /// The `error_type` when it is one of the catalogue's.
    pub fn kind(&self) -> Option<ErrorType> {
        self.error_type.as_deref().and_then(ErrorType::parse)
    }

    /// Reads an error answer; a body that is not the envelope (a proxy's HTML page, say)
    /// still gives an error with the HTTP status and the start of the body.
    pub(crate) fn from_body(status: u16, body: &[u8]) -> ApiError {
        match serde_json::from_slice::<ErrorEnvelope>(body) {
            Ok(envelope) => ApiError {
                status,
                error_type: envelope.status.error_type,
                message: envelope.status.message,
            },
            Err(_) => ApiError {
                status,
                error_type: None,
                message: snippet(body),
            },
        }
    }
}

impl Error {
    /// The server's error when this is one, looking through [`Error::GaveUp`].
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            Error::GaveUp { last, .. } => last.api(),
            _ => None,
        }
    }

    /// The HTTP status the server answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::OAuth { status, .. } | Error::Decode { status, .. } => Some(*status),
            Error::GaveUp { last, .. } => last.status(),
            _ => None,
        }
    }

    /// The catalogued `error_type`, if the server sent one.
    pub fn kind(&self) -> Option<ErrorType> {
        self.api().and_then(ApiError::kind)
    }

    /// True for a 404: the user (or the account) does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True for a 409: the email is taken, or the change would leave no admin.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    pub(crate) fn oauth(status: u16, body: &[u8]) -> Error {
        if let Ok(refusal) = serde_json::from_slice::<OAuthError>(body) {
            return Error::OAuth {
                status,
                error: refusal.error,
                description: refusal.error_description,
            };
        }

        // A gateway in front of the token endpoint (or Roster's own rate limiter) may
        // answer with the envelope instead.
        Error::Api(ApiError::from_body(status, body))
    }
}

/// The start of a body that could not be read, for the error message.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_gives_status_type_and_message() {
        let body = br#"{"status":{"code":404,"message":"Couldn't find AccountUser with id = 9","error_type":"Exceptions::RecordNotFound"}}"#;
        let error = ApiError::from_body(404, body);
        assert_eq!(error.kind(), Some(ErrorType::RecordNotFound));
        assert_eq!(error.message, "Couldn't find AccountUser with id = 9");
    }

    #[test]
    fn a_body_that_is_not_the_envelope_still_gives_the_status() {
        let error = ApiError::from_body(502, b"<html>Bad Gateway</html>");
        assert_eq!(error.status, 502);
        assert_eq!(error.error_type, None);
        assert_eq!(error.message, "<html>Bad Gateway</html>");
    }

    #[test]
    fn a_token_refusal_is_read_as_rfc_6749() {
        let body = br#"{"error":"invalid_client","error_description":"unknown client"}"#;
        match Error::oauth(401, body) {
            Error::OAuth { status, error, .. } => {
                assert_eq!((status, error.as_str()), (401, "invalid_client"));
            }
            other => panic!("expected an OAuth error, got {other:?}"),
        }
    }

    #[test]
    fn gave_up_still_tells_the_status() {
        let last = Error::Api(ApiError::from_body(429, b"{}"));
        let error = Error::GaveUp {
            attempts: 3,
            elapsed: Duration::from_secs(1),
            last: Box::new(last),
        };
        assert_eq!(error.status(), Some(429));
    }
}
