//! The catalogue of `error_type` values.

/// Every `error_type` the service answers with, and the HTTP status each goes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    InvalidParameters,
    AccessDenied,
    RecordNotFound,
    MethodNotAllowed,
    RecordNotUnique,
    Conflict,
    PayloadTooLarge,
    RecordInvalid,
    TooManyRequests,
    InternalError,
}

impl ErrorType {
    pub const ALL: [ErrorType; 10] = [
        ErrorType::InvalidParameters,
        ErrorType::AccessDenied,
        ErrorType::RecordNotFound,
        ErrorType::MethodNotAllowed,
        ErrorType::RecordNotUnique,
        ErrorType::Conflict,
        ErrorType::PayloadTooLarge,
        ErrorType::RecordInvalid,
        ErrorType::TooManyRequests,
        ErrorType::InternalError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::InvalidParameters => "Exceptions::InvalidParameters",
            ErrorType::AccessDenied => "Exceptions::AccessDenied",
            ErrorType::RecordNotFound => "Exceptions::RecordNotFound",
            ErrorType::MethodNotAllowed => "Exceptions::MethodNotAllowed",
            ErrorType::RecordNotUnique => "Exceptions::RecordNotUnique",
            ErrorType::Conflict => "Exceptions::Conflict",
            ErrorType::PayloadTooLarge => "Exceptions::PayloadTooLarge",
            ErrorType::RecordInvalid => "Exceptions::RecordInvalid",
            ErrorType::TooManyRequests => "Exceptions::TooManyRequests",
            ErrorType::InternalError => "Exceptions::InternalError",
        }
    }

    pub fn parse(raw: &str) -> Option<ErrorType> {
        ErrorType::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    pub fn http_status(self) -> u16 {
        match self {
            ErrorType::InvalidParameters => 400,
            ErrorType::AccessDenied => 401,
            ErrorType::RecordNotFound => 404,
            ErrorType::MethodNotAllowed => 405,
            ErrorType::RecordNotUnique | ErrorType::Conflict => 409,
            ErrorType::PayloadTooLarge => 413,
            ErrorType::RecordInvalid => 422,
            ErrorType::TooManyRequests => 429,
            ErrorType::InternalError => 500,
        }
    }
}

/// The one message every authentication failure gets, so that callers learn nothing
/// about which part was wrong.
pub const ACCESS_DENIED_MESSAGE: &str = "You are not authorized to access this page.";
