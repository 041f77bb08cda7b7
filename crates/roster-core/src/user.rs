//! The account user and the shapes of writes to it.

use chrono::{DateTime, Utc};

use crate::{Email, RoleName};

/// Display names longer than this are refused rather than cut, so nothing is lost silently.
pub const NAME_MAX_CHARS: usize = 255;

/// The longest SCIM `userName`, in characters.
pub const USER_NAME_MAX_CHARS: usize = 255;

/// A SCIM `userName` (RFC 7643 section 4.1.1) that is not simply the user's email: any
/// text of 1 to 255 characters without control characters or spaces at either end.
///
/// Unique per account on [`UserName::normalized`], like emails, since RFC 7643 makes
/// `userName` case-insensitive.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UserName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserNameError {
    #[error("userName is required")]
    Empty,
    #[error("userName must be at most {USER_NAME_MAX_CHARS} characters")]
    TooLong,
    #[error("userName must not contain control characters or start or end with a space")]
    Malformed,
}

impl UserName {
    pub fn parse(raw: &str) -> Result<UserName, UserNameError> {
        if raw.trim().is_empty() {
            return Err(UserNameError::Empty);
        }
        if raw.chars().count() > USER_NAME_MAX_CHARS {
            return Err(UserNameError::TooLong);
        }
        if raw.trim() != raw || raw.chars().any(char::is_control) {
            return Err(UserNameError::Malformed);
        }
        Ok(UserName(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness and `userName eq` filters work on: lower case, folded the
    /// same way as [`Email::normalized`], so that a userName equal to an email has the
    /// same key as that email.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A team member of one account, as the directory holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountUser {
    /// Assigned by the directory, never reused within it.
    pub id: i64,
    /// As the user or their administrator typed it; see [`Email::normalized`] for identity.
    pub email: String,
    /// The SCIM `userName` when it is not the email; `None` means it is the email, and
    /// follows it when the email changes. See [`AccountUser::user_name`].
    pub user_name: Option<String>,
    pub name: Option<String>,
    pub role: String,
    /// False once deactivated: the user stays listed but should not be let in.
    pub active: bool,
    /// The identity provider's own id for the user, kept for SCIM clients.
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Counts the changes made to the record; SCIM uses it as the ETag.
    pub version: i64,
}

/// What a create needs; everything but the email has a default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    pub email: Email,
    /// The SCIM `userName`; `None`, or the email itself, makes it follow the email.
    pub user_name: Option<UserName>,
    pub name: Option<String>,
    /// `None` gives the default role.
    pub role: Option<RoleName>,
    pub active: bool,
    pub external_id: Option<String>,
}

impl NewUser {
    pub fn with_email(email: Email) -> NewUser {
        NewUser {
            email,
            user_name: None,
            name: None,
            role: None,
            active: true,
            external_id: None,
        }
    }
}

/// A merge update: `None` leaves a field alone, `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserChanges {
    pub email: Option<Email>,
    /// `Some(None)`, or the (new) email itself, makes the userName follow the email.
    pub user_name: Option<Option<UserName>>,
    pub name: Option<Option<String>>,
    pub role: Option<RoleName>,
    pub active: Option<bool>,
    pub external_id: Option<Option<String>>,
}

impl UserChanges {
    pub fn is_empty(&self) -> bool {
        *self == UserChanges::default()
    }

    /// Drops the fields that would not change `user`, so that a client sending back what
    /// it read does not bump `updated_at` or trip the last-admin rule.
    pub fn relative_to(mut self, user: &AccountUser) -> UserChanges {
        if self
            .email
            .as_ref()
            .is_some_and(|e| e.as_str() == user.email)
        {
            self.email = None;
        }
        if let Some(wanted) = &self.user_name {
            let email = self
                .email
                .as_ref()
                .map_or(user.email.as_str(), Email::as_str);
            if stored_user_name(wanted.as_ref(), email) == user.user_name {
                self.user_name = None;
            }
        }
        if self.name.as_ref().is_some_and(|n| *n == user.name) {
            self.name = None;
        }
        if self.role.as_ref().is_some_and(|r| r.as_str() == user.role) {
            self.role = None;
        }
        if self.active == Some(user.active) {
            self.active = None;
        }
        if self
            .external_id
            .as_ref()
            .is_some_and(|x| *x == user.external_id)
        {
            self.external_id = None;
        }
        self
    }

    /// The record as it will be once these changes are applied.
    pub fn apply_to(&self, user: &AccountUser) -> AccountUser {
        let mut next = user.clone();
        if let Some(email) = &self.email {
            next.email = email.as_str().to_owned();
        }
        if let Some(user_name) = &self.user_name {
            next.user_name = user_name.as_ref().map(|u| u.as_str().to_owned());
        }
        // A userName that has become the email is stored as following it.
        next.user_name = stored_user_name(next.user_name.as_deref(), &next.email);
        if let Some(name) = &self.name {
            next.name = name.clone();
        }
        if let Some(role) = &self.role {
            next.role = role.as_str().to_owned();
        }
        if let Some(active) = self.active {
            next.active = active;
        }
        if let Some(external_id) = &self.external_id {
            next.external_id = external_id.clone();
        }
        next
    }
}

/// What the store keeps of a userName next to `email`: nothing when it is the email
/// itself (exactly; a spelling in other case is kept), so that it follows the email.
pub fn stored_user_name<U: AsRef<str>>(user_name: Option<U>, email: &str) -> Option<String> {
    user_name
        .map(|u| u.as_ref().to_owned())
        .filter(|u| u != email)
}

impl AsRef<str> for UserName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AccountUser {
    /// The SCIM `userName`: the one set through SCIM, else the email.
    pub fn user_name(&self) -> &str {
        self.user_name.as_deref().unwrap_or(&self.email)
    }

    /// True when this user counts towards keeping the account administrable.
    pub fn is_active_admin(&self) -> bool {
        self.active && self.role == crate::role::ADMIN_ROLE
    }
}

/// Checks a display name: at most [`NAME_MAX_CHARS`] characters and no control characters.
/// An empty or blank name is taken as no name.
pub fn normalize_name(raw: Option<&str>) -> Result<Option<String>, &'static str> {
    let Some(raw) = raw else { return Ok(None) };
    if raw.trim().is_empty() {
        return Ok(None);
    }
    if raw.chars().count() > NAME_MAX_CHARS {
        return Err("name must be at most 255 characters");
    }
    if raw.chars().any(char::is_control) {
        return Err("name must not contain control characters");
    }
    Ok(Some(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ana() -> AccountUser {
        AccountUser {
            id: 1,
            email: "ana@example.com".into(),
            user_name: None,
            name: Some("Ana".into()),
            role: "admin".into(),
            active: true,
            external_id: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 1,
        }
    }

    #[test]
    fn changes_that_repeat_the_record_are_dropped() {
        let changes = UserChanges {
            email: Some(Email::parse("ana@example.com").unwrap()),
            user_name: Some(Some(UserName::parse("ana@example.com").unwrap())),
            name: Some(Some("Ana".into())),
            role: Some(RoleName::parse("admin").unwrap()),
            active: Some(true),
            external_id: Some(None),
        };
        assert!(changes.relative_to(&ana()).is_empty());
    }

    #[test]
    fn applying_a_name_clear_removes_the_name() {
        let changes = UserChanges {
            name: Some(None),
            ..UserChanges::default()
        };
        assert_eq!(changes.apply_to(&ana()).name, None);
    }

    #[test]
    fn a_user_name_equal_to_the_email_follows_the_email() {
        let pinned = UserChanges {
            user_name: Some(Some(UserName::parse("ana-s").unwrap())),
            ..UserChanges::default()
        }
        .apply_to(&ana());
        assert_eq!(pinned.user_name(), "ana-s");

        let moved = UserChanges {
            email: Some(Email::parse("ana.silva@example.com").unwrap()),
            ..UserChanges::default()
        }
        .apply_to(&ana());
        assert_eq!(
            (moved.user_name, moved.email.as_str()),
            (None, "ana.silva@example.com")
        );

        // Setting the userName to the new email stores nothing: it follows from then on.
        let same = UserChanges {
            email: Some(Email::parse("bo@example.com").unwrap()),
            user_name: Some(Some(UserName::parse("bo@example.com").unwrap())),
            ..UserChanges::default()
        }
        .relative_to(&pinned);
        assert_eq!(same.apply_to(&pinned).user_name, None);
    }

    #[test]
    fn user_names_are_any_text_without_control_characters() {
        assert_eq!(
            UserName::parse("Ana Silva").unwrap().normalized(),
            "ana silva"
        );
        assert_eq!(UserName::parse("  "), Err(UserNameError::Empty));
        assert_eq!(UserName::parse(" ana"), Err(UserNameError::Malformed));
        assert_eq!(UserName::parse("a\nb"), Err(UserNameError::Malformed));
        assert_eq!(
            UserName::parse(&"x".repeat(256)),
            Err(UserNameError::TooLong)
        );
    }

    #[test]
    fn names_are_checked_for_length_and_control_characters() {
        assert_eq!(normalize_name(Some("  ")), Ok(None));
        assert_eq!(normalize_name(Some("Zoë 李")), Ok(Some("Zoë 李".into())));
        assert!(normalize_name(Some(&"x".repeat(256))).is_err());
        assert!(normalize_name(Some("a\u{7}b")).is_err());
    }
}
