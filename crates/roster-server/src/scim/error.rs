//! The SCIM error response (RFC 7644 section 3.12): every failure under `/scim/v2`,
//! including authentication, unknown paths and wrong methods, is answered in this shape
//! and never in the account-users envelope.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use roster_core::DirectoryError;
use serde_json::json;

use super::SCIM_CONTENT_TYPE;

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A failed SCIM request: its status, the `scimType` of section 3.12 table 9 when one
/// applies, and a detail that tells the client what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// A 400 with one of the `scimType` values of RFC 7644 table 9.
    pub fn bad_request(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        ScimError::bad_request("invalidValue", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::NOT_FOUND, None, detail)
    }

    pub fn unauthorized() -> Self {
        ScimError::new(
            StatusCode::UNAUTHORIZED,
            None,
            "Send a SCIM token as \"Authorization: Bearer <token>\"; operators make one with \
             roster accounts scim-token APP_KEY",
        )
    }

    /// The cause goes to the log; the client learns only that it was not its fault.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "SCIM request failed");
        ScimError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "Something went wrong on our side; the request may be retried",
        )
    }

    /// Maps a directory failure to its SCIM answer; `what` names the resource for 404s.
    pub fn from_directory(e: DirectoryError, what: &str) -> Self {
        match e {
            DirectoryError::UserNotFound | DirectoryError::RoleNotFound => {
                ScimError::not_found(format!("{what} not found"))
            }
            DirectoryError::EmailTaken => ScimError::new(
                StatusCode::CONFLICT,
                Some("uniqueness"),
                "Another user of this account already has this email address",
            ),
            DirectoryError::UserNameTaken => ScimError::new(
                StatusCode::CONFLICT,
                Some("uniqueness"),
                "Another user of this account already has this userName (compared without \
                 regard to case; a user without one has its email as userName)",
            ),
            DirectoryError::RoleTaken => ScimError::new(
                StatusCode::CONFLICT,
                Some("uniqueness"),
                "Another group of this account already has this displayName",
            ),
            DirectoryError::RoleInUse => ScimError::new(
                StatusCode::CONFLICT,
                None,
                "The group still has members, and its role would be left without a name; \
                 remove its members first",
            ),
            DirectoryError::UnknownRole { valid } => ScimError::invalid_value(format!(
                "Unknown role; valid roles are: {}",
                valid.join(", ")
            )),
            DirectoryError::LastAdmin => ScimError::new(
                StatusCode::CONFLICT,
                None,
                "This change would leave the account without an active admin; \
                 make another user admin first",
            ),
            DirectoryError::VersionMismatch => ScimError::new(
                StatusCode::PRECONDITION_FAILED,
                None,
                "The resource changed since the version in If-Match; read it again and retry",
            ),
            DirectoryError::Unsupported(message) => ScimError::bad_request("invalidValue", message),
            DirectoryError::Unavailable(cause) => ScimError::internal(cause),
        }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = scim_type.into();
        }
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(SCIM_CONTENT_TYPE),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"roster-scim\""),
            );
        }
        response
    }
}
