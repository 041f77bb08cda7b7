//! The one place where failures become HTTP answers, in the envelope of the wire
//! contract: `{"status":{"code":N,"message":"...","error_type":"Exceptions::..."}}`.

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use roster_api::{error::ACCESS_DENIED_MESSAGE, ErrorEnvelope, ErrorType};
use roster_core::DirectoryError;

/// A failure a request can end in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Unreadable or ill-typed input; the message says which field and how to fix it.
    InvalidParameters(String),
    AccessDenied,
    AccountNotFound(String),
    UserNotFound(String),
    RouteNotFound,
    MethodNotAllowed,
    EmailTaken,
    /// The email is the SCIM userName of another user, which SCIM keeps unique too.
    UserNameTaken,
    Conflict(String),
    PayloadTooLarge,
    RecordInvalid(String),
    /// A rate limit was reached; the headers of [`crate::limit::Decision`] go with it.
    TooManyRequests {
        per_minute: u32,
        retry_after_secs: u64,
    },
    /// The cause goes to the log; the caller learns only that it was not their fault.
    Internal(String),
}

impl ApiError {
    pub fn error_type(&self) -> ErrorType {
        match self {
            ApiError::InvalidParameters(_) => ErrorType::InvalidParameters,
            ApiError::AccessDenied => ErrorType::AccessDenied,
            ApiError::AccountNotFound(_) | ApiError::UserNotFound(_) | ApiError::RouteNotFound => {
                ErrorType::RecordNotFound
            }
            ApiError::MethodNotAllowed => ErrorType::MethodNotAllowed,
            ApiError::EmailTaken | ApiError::UserNameTaken => ErrorType::RecordNotUnique,
            ApiError::Conflict(_) => ErrorType::Conflict,
            ApiError::PayloadTooLarge => ErrorType::PayloadTooLarge,
            ApiError::RecordInvalid(_) => ErrorType::RecordInvalid,
            ApiError::TooManyRequests { .. } => ErrorType::TooManyRequests,
            ApiError::Internal(_) => ErrorType::InternalError,
        }
    }

    pub fn message(&self) -> String {
        match self {
            ApiError::InvalidParameters(m) | ApiError::Conflict(m) | ApiError::RecordInvalid(m) => {
                m.clone()
            }
            ApiError::AccessDenied => ACCESS_DENIED_MESSAGE.to_owned(),
            ApiError::AccountNotFound(app_key) => {
                format!("Couldn't find Account with app_key = {app_key}")
            }
            ApiError::UserNotFound(id) => format!("Couldn't find AccountUser with id = {id}"),
            ApiError::RouteNotFound => {
                "No route matches this path; account users live under /apps/{app_key}/account_users"
                    .to_owned()
            }
            ApiError::MethodNotAllowed => {
                "This method is not allowed on this path; see the Allow header".to_owned()
            }
            ApiError::EmailTaken => {
                "Email has already been taken by another user of this account".to_owned()
            }
            ApiError::UserNameTaken => {
                "Email is the SCIM userName of another user of this account; change that \
                 user's userName first"
                    .to_owned()
            }
            ApiError::PayloadTooLarge => format!(
                "Request body is larger than the limit of {} bytes",
                crate::BODY_LIMIT_BYTES
            ),
            ApiError::TooManyRequests {
                per_minute,
                retry_after_secs,
            } => format!(
                "Too many requests for this app_key: at most {per_minute} a minute; \
                 retry in {retry_after_secs} seconds"
            ),
            ApiError::Internal(_) => {
                "Something went wrong on our side; the request may be retried".to_owned()
            }
        }
    }

    /// Maps a directory failure about user `id` to its answer.
    pub fn from_directory(e: DirectoryError, id: Option<&str>) -> ApiError {
        match e {
            DirectoryError::UserNotFound => ApiError::UserNotFound(id.unwrap_or("?").to_owned()),
            DirectoryError::EmailTaken => ApiError::EmailTaken,
            DirectoryError::UserNameTaken => ApiError::UserNameTaken,
            DirectoryError::UnknownRole { valid } => ApiError::RecordInvalid(format!(
                "Role is not valid for this account; valid roles are: {}",
                valid.join(", ")
            )),
            DirectoryError::LastAdmin => ApiError::Conflict(
                "This change would leave the account without an active admin; \
                 make another user admin first"
                    .to_owned(),
            ),
            DirectoryError::VersionMismatch => ApiError::Conflict(
                "The user changed while this request was made; read it again and retry".to_owned(),
            ),
            DirectoryError::Unsupported(message) => ApiError::InvalidParameters(message),
            e @ (DirectoryError::RoleNotFound
            | DirectoryError::RoleTaken
            | DirectoryError::RoleInUse
            | DirectoryError::Unavailable(_)) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<roster_store::StoreError> for ApiError {
    fn from(e: roster_store::StoreError) -> ApiError {
        ApiError::Internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let error_type = self.error_type();
        let code = error_type.http_status();
        let body = ErrorEnvelope::error(code, error_type, self.message());
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(body)).into_response();
        if matches!(self, ApiError::AccessDenied) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("static"));
        }
        response
    }
}

pub async fn route_not_found() -> ApiError {
    ApiError::RouteNotFound
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The answer to a handler that panicked: the envelope, without the panic's text.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("handler panicked".to_owned()).into_response()
}
