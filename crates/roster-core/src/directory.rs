//! The [`Directory`] trait: one account's users, whatever holds them.

use async_trait::async_trait;

use crate::{filter::Filter, AccountUser, NewRole, NewUser, Role, RoleChanges, UserChanges};

/// Who made a change, as recorded in the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor(pub String);

/// Which users to list, and which page of them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserQuery {
    /// Exact, case-insensitive match on the email address.
    pub email: Option<String>,
    /// Exact match on the role's name: the members of one group.
    pub role: Option<String>,
    /// A SCIM filter over the user's attributes.
    pub filter: Option<Filter>,
    /// How many users to skip, in ascending id order.
    pub offset: u64,
    /// How many users to return at most.
    pub limit: u64,
}

/// One page of users, with the number matching the query across all pages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserPage {
    pub users: Vec<AccountUser>,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("no such user")]
    UserNotFound,
    #[error("no such role")]
    RoleNotFound,
    #[error("a user with this email already exists")]
    EmailTaken,
    /// Another user's SCIM userName (or email, which is the userName of a user without
    /// one) is the same, compared case-insensitively.
    #[error("a user with this userName already exists")]
    UserNameTaken,
    #[error("a role with this name already exists")]
    RoleTaken,
    #[error("the role is still held by users")]
    RoleInUse,
    #[error("unknown role; valid roles are: {}", valid.join(", "))]
    UnknownRole { valid: Vec<String> },
    #[error("the account must keep at least one active admin")]
    LastAdmin,
    #[error("the record changed since it was read")]
    VersionMismatch,
    /// The query or change cannot be expressed here; the message says why.
    #[error("{0}")]
    Unsupported(String),
    /// The backing store or upstream service failed; the message is for the log only.
    #[error("directory unavailable: {0}")]
    Unavailable(String),
}

/// The users and roles of one account.
///
/// Implemented over SQL by the store and over a remote account-users API by the client,
/// so the SCIM module serves either without knowing which.
///
/// Every implementation keeps these rules:
/// - email addresses are unique per account, compared case-insensitively, and so are
///   userNames (a user's userName being its email unless set apart);
/// - a user's role is one of the account's catalogue;
/// - once the account has an active admin it keeps one: deleting, demoting or
///   deactivating the last one fails with [`DirectoryError::LastAdmin`].
#[async_trait]
pub trait Directory: Send + Sync {
    /// Users in ascending id order.
    async fn list_users(&self, query: &UserQuery) -> Result<UserPage, DirectoryError>;

    async fn get_user(&self, id: i64) -> Result<AccountUser, DirectoryError>;

    async fn create_user(&self, user: NewUser) -> Result<AccountUser, DirectoryError>;

    /// Merges `changes` into the user. With `expected_version`, fails with
    /// [`DirectoryError::VersionMismatch`] unless the record is still at that version.
    async fn update_user(
        &self,
        id: i64,
        changes: UserChanges,
        expected_version: Option<i64>,
    ) -> Result<AccountUser, DirectoryError>;

    async fn delete_user(&self, id: i64) -> Result<(), DirectoryError>;

    /// The account's role catalogue with member counts, in id order.
    async fn list_roles(&self) -> Result<Vec<Role>, DirectoryError>;

    async fn create_role(&self, role: NewRole) -> Result<Role, DirectoryError>;

    /// Merges `changes` into a role. A rename keeps the holders in the role under its
    /// new name.
    async fn update_role(&self, id: i64, changes: RoleChanges) -> Result<Role, DirectoryError>;

    /// Removes an unused role; fails with [`DirectoryError::RoleInUse`] while users hold it.
    async fn delete_role(&self, id: i64) -> Result<(), DirectoryError>;
}
