//! Roles: the per-account catalogue of values a user's `role` may take.

use std::fmt;

/// The catalogue a new account starts with: the vendor's dashboard roles plus the
/// read-only role its API guides use.
pub const DEFAULT_ROLES: [&str; 4] = ["admin", "staff", "insights_only", "viewer"];

/// The role a user gets when none is given, and falls back to when removed from a group.
pub const DEFAULT_ROLE: &str = "viewer";

/// The role that keeps an account manageable; see the last-admin rule on [`crate::Directory`].
pub const ADMIN_ROLE: &str = "admin";

pub const ROLE_MAX_LEN: usize = 64;

/// A well-formed role name: 1 to 64 characters of lower-case letters, digits, `_`, `-`.
///
/// Whether the role exists in an account's catalogue is the store's question; this type
/// only guarantees the name can be stored and shown safely.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("role names are 1 to {ROLE_MAX_LEN} characters of a-z, 0-9, '_' and '-'")]
    Malformed,
}

impl RoleName {
    pub fn parse(raw: &str) -> Result<RoleName, RoleError> {
        let ok = !raw.is_empty()
            && raw.len() <= ROLE_MAX_LEN
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
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
    fn role_names_with_spaces_or_capitals_are_refused() {
        for raw in ["", "Admin", "super user", "x".repeat(65).as_str()] {
            assert_eq!(RoleName::parse(raw), Err(RoleError::Malformed), "{raw}");
        }
    }
}
