//! `/apps/{app_key}/account_users`: the account user on the wire.

use serde::{Deserialize, Deserializer, Serialize};

/// An account user as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountUser {
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    /// ISO 8601 UTC with milliseconds, e.g. `2026-12-03T18:02:46.123Z`.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
    /// Roster's addition: false once the user was deactivated. Absent from the vendor's
    /// answers, where every listed user is active.
    #[serde(default = "active_by_default")]
    pub active: bool,
}

fn active_by_default() -> bool {
    true
}

/// The fields a create or update may carry; each may be left out. A `name` sent as
/// `null` clears the name (it is `Some(None)` here, and `None` when left out).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountUserFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: Option<String>,
    #[serde(
        default,
        deserialize_with = "present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub name: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// Tells a field sent as `null` from one not sent at all.
fn present_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The body of a create or update: `{"utoken":"...","account_user":{...}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountUserRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utoken: Option<String>,
    pub account_user: AccountUserFields,
}

/// `{"account_user":{...}}`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountUserResponse {
    pub account_user: AccountUser,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pagination {
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

/// `{"account_users":[...],"pagination":{...}}`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountUserList {
    pub account_users: Vec<AccountUser>,
    pub pagination: Pagination,
}

/// The largest `count` a list request may ask for.
pub const MAX_PER_PAGE: u64 = 100;
pub const DEFAULT_PER_PAGE: u64 = 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_name_is_told_apart_from_a_missing_one() {
        let null: AccountUserFields = serde_json::from_str(r#"{"name":null}"#).unwrap();
        let missing: AccountUserFields = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(null.name, Some(None));
        assert_eq!(missing.name, None);
    }

    #[test]
    fn read_only_fields_sent_back_are_ignored() {
        let body = r#"{"id":7,"email":"a@b.co","created_at":"x","updated_at":"y"}"#;
        let fields: AccountUserFields = serde_json::from_str(body).unwrap();
        assert_eq!(fields.email.as_deref(), Some("a@b.co"));
    }
}
