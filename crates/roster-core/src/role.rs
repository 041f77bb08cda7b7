//! Roles: the per-account catalogue of values a user's `role` may take.

use std::fmt;

use chrono::{DateTime, Utc};

/// The catalogue a new account starts with: the vendor's dashboard roles plus the
/// read-only role its API guides use.
pub const DEFAULT_ROLES: [&str; 4] = ["admin", "staff", "insights_only", "viewer"];

/// The role a user gets when none is given, and falls back to when removed from a group.
pub const DEFAULT_ROLE: &str = "viewer";

/// The role that keeps an account manageable; see the last-admin rule on [`crate::Directory`].
pub const ADMIN_ROLE: &str = "admin";

/// The longest role name, in characters: as long as a display name, since SCIM groups
/// are roles and identity providers name groups in free text ("Sales Team EMEA").
pub const ROLE_MAX_CHARS: usize = 255;

/// A well-formed role name: 1 to 255 characters, no control characters, and no spaces
/// at either end.
///
/// Any other text is allowed, capitals and spaces included, because a SCIM group's
/// `displayName` is the role's name and identity providers send what their
/// administrators typed. Names compare exactly: `Staff` and `staff` are two roles.
/// Whether the role exists in an account's catalogue is the store's question; this type
/// only guarantees the name can be stored and shown safely.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error(
        "role names are 1 to {ROLE_MAX_CHARS} characters, without control characters or \
         spaces at either end"
    )]
    Malformed,
}

impl RoleName {
    pub fn parse(raw: &str) -> Result<RoleName, RoleError> {
        let ok = !raw.is_empty()
            && raw.trim() == raw
            && raw.chars().count() <= ROLE_MAX_CHARS
            && !raw.chars().any(char::is_control);
        if ok {
            Ok(RoleName(raw.to_owned()))
        } else {
            Err(RoleError::Malformed)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_admin(&self) -> bool {
        self.0 == ADMIN_ROLE
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A role of an account's catalogue, with the stable id SCIM uses for the matching group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub id: i64,
    pub name: String,
    /// How many users hold the role now.
    pub members: u64,
    /// The identity provider's own id for the group, kept for SCIM clients.
    pub external_id: Option<String>,
    /// When the role was made; `None` where the directory keeps no such date (the
    /// bridge's upstream).
    pub created_at: Option<DateTime<Utc>>,
    /// When the role was renamed, or its holders changed, last.
    pub updated_at: Option<DateTime<Utc>>,
}

/// What a role create needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRole {
    pub name: RoleName,
    pub external_id: Option<String>,
}

impl NewRole {
    pub fn named(name: RoleName) -> NewRole {
        NewRole {
            name,
            external_id: None,
        }
    }
}

/// A merge update of a role: `None` leaves a field alone, `Some(None)` clears one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleChanges {
    /// A rename: the holders keep the role under its new name.
    pub name: Option<RoleName>,
    pub external_id: Option<Option<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_catalogue_names_are_well_formed() {
        for name in DEFAULT_ROLES {
            RoleName::parse(name).unwrap();
        }
        assert!(DEFAULT_ROLES.contains(&DEFAULT_ROLE));
        assert!(DEFAULT_ROLES.contains(&ADMIN_ROLE));
    }

    #[test]
    fn role_names_are_free_text_without_control_characters_or_surrounding_spaces() {
        for raw in ["Updated-role-16", "Sales Team EMEA", "Zoë 李"] {
            assert_eq!(RoleName::parse(raw).unwrap().as_str(), raw);
        }
        for raw in ["", " staff", "staff ", "a\tb", "x".repeat(256).as_str()] {
            assert_eq!(RoleName::parse(raw), Err(RoleError::Malformed), "{raw:?}");
        }
    }
}
