//! The wire contract of the account-users API: the JSON bodies that cross the network,
//! shared by the server that answers them and the client that sends them.
//!
//! Serde only. Validation lives in `roster-core`; these types carry what was sent,
//! however wrong, so that the server can say precisely what is wrong with it. With the
//! `openapi` feature, which only the server turns on, they also describe themselves as
//! JSON schemas for the server's OpenAPI document.

pub mod error;
pub mod oauth;
pub mod users;

pub use error::ErrorType;

use serde::{Deserialize, Serialize};

/// The `status` object every answer outside `/oauth/token` carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Status {
    pub code: u16,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
}

/// `{"status":{...},"response":{...}}`; errors carry no `response`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Envelope<T> {
    pub status: Status,
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub response: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

impl<T> Envelope<T> {
    pub fn ok(response: T) -> Envelope<T> {
        Envelope {
            status: Status {
                code: 200,
                message: "OK".to_owned(),
                error_type: None,
            },
            response: Some(response),
        }
    }
}

/// The body of an error answer.
pub type ErrorEnvelope = Envelope<serde_json::Value>;

impl ErrorEnvelope {
    pub fn error(code: u16, error_type: ErrorType, message: impl Into<String>) -> ErrorEnvelope {
        Envelope {
            status: Status {
                code,
                message: message.into(),
                error_type: Some(error_type.as_str().to_owned()),
            },
            response: None,
        }
    }
}

/// The empty object a successful DELETE answers with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Empty {}
