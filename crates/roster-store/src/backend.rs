//! The operations every database backend provides.
//!
//! Each write is one transaction that also keeps the account's user count and writes
//! the audit event, so nothing is acknowledged half-done.

use async_trait::async_trait;
use roster_core::{
    AccountUser, Actor, DirectoryError, NewRole, NewUser, Role, RoleChanges, RoleName, UserChanges,
    UserPage, UserQuery,
};

use crate::{Account, AuditEvent, StoreError, TokenKind, TokenLookup};

/// The columns of a user in the order [`read_user`] takes them, as a literal for
/// `concat!` (sqlx takes only static strings as SQL).
macro_rules! user_columns {
    () => {
        "id, email, name, role, active, external_id, created_at, updated_at, version, user_name"
    };
}
pub(crate) use user_columns;

/// A row as a backend's driver returns it, read by column position.
pub(crate) trait RowReader {
    type Error;
    fn int(&self, column: usize) -> Result<i64, Self::Error>;
    fn text(&self, column: usize) -> Result<String, Self::Error>;
    fn optional_text(&self, column: usize) -> Result<Option<String>, Self::Error>;
    fn flag(&self, column: usize) -> Result<bool, Self::Error>;
}

/// A user from a row of [`user_columns`].
pub(crate) fn read_user<R: RowReader>(row: &R) -> Result<AccountUser, R::Error> {
    Ok(AccountUser {
        id: row.int(0)?,
        email: row.text(1)?,
        name: row.optional_text(2)?,
        role: row.text(3)?,
        active: row.flag(4)?,
        external_id: row.optional_text(5)?,
        created_at: millis_to_time(row.int(6)?),
        updated_at: millis_to_time(row.int(7)?),
        version: row.int(8)?,
        user_name: row.optional_text(9)?,
    })
}

/// The columns of a role (`r`, joined with its account `a`) in the order [`read_role`]
/// takes them. Roles without dates are as old as their account (see the migration).
macro_rules! role_columns {
    () => {
        "r.id, r.name, r.member_count, r.external_id, \
         coalesce(r.created_at, a.created_at), coalesce(r.updated_at, r.created_at, a.created_at)"
    };
}
pub(crate) use role_columns;

/// A role from a row of [`role_columns`].
pub(crate) fn read_role<R: RowReader>(row: &R) -> Result<Role, R::Error> {
    Ok(Role {
        id: row.int(0)?,
        name: row.text(1)?,
        members: u64::try_from(row.int(2)?).unwrap_or_default(),
        external_id: row.optional_text(3)?,
        created_at: Some(millis_to_time(row.int(4)?)),
        updated_at: Some(millis_to_time(row.int(5)?)),
    })
}

/// An account from a row of `id, app_key, name, user_count`.
pub(crate) fn read_account<R: RowReader>(row: &R) -> Result<Account, R::Error> {
    Ok(Account {
        id: row.int(0)?,
        app_key: row.text(1)?,
        name: row.text(2)?,
        user_count: u64::try_from(row.int(3)?).unwrap_or_default(),
    })
}

/// Which account a user write is for, and who is making it.
#[derive(Clone, Debug)]
pub struct UserWriteContext {
    pub account_id: i64,
    pub actor: Actor,
}

/// The connection pool of a backend, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolState {
    /// Connections open, in use or idle.
    pub connections: u32,
    pub idle: u32,
}

#[async_trait]
pub trait Backend: Send + Sync {
    /// The state of the connection pool, for metrics.
    fn pool_state(&self) -> PoolState;

    /// Creates an account holding the default role catalogue.
    async fn insert_account(
        &self,
        app_key: &str,
        name: &str,
        secret_digest: &str,
    ) -> Result<(), StoreError>;
    /// Creates an account as [`Backend::insert_account`] does, unless the database
    /// holds one already; true when it did.
    ///
    /// The default checks and then inserts, which is enough where one process owns the
    /// database. A backend that several processes share makes the check and the insert
    /// one step, so that nodes starting together make one account between them.
    async fn insert_first_account(
        &self,
        app_key: &str,
        name: &str,
        secret_digest: &str,
    ) -> Result<bool, StoreError> {
        if !self.list_accounts().await?.is_empty() {
            return Ok(false);
        }
        self.insert_account(app_key, name, secret_digest).await?;
        Ok(true)
    }
    async fn account_by_app_key(&self, app_key: &str) -> Result<Option<Account>, StoreError>;
    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError>;
    async fn secret_digest(&self, app_key: &str) -> Result<Option<(i64, String)>, StoreError>;
    /// Replaces the secret; with `revoke`, deletes the account's OAuth tokens in the same
    /// transaction so that no token outlives the secret it was issued under.
    async fn set_secret_digest(
        &self,
        app_key: &str,
        digest: &str,
        revoke: bool,
    ) -> Result<(), StoreError>;

    async fn insert_token(
        &self,
        account_id: i64,
        digest: &str,
        kind: TokenKind,
        created_at: i64,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError>;
    /// The account with `app_key` (None when there is none) and its token with `digest`.
    async fn find_token(
        &self,
        app_key: &str,
        digest: &str,
        kind: TokenKind,
    ) -> Result<Option<TokenLookup>, StoreError>;
    /// The account whose token of `kind` has this digest and has not expired.
    async fn account_for_token(
        &self,
        digest: &str,
        kind: TokenKind,
    ) -> Result<Option<Account>, StoreError>;
    async fn delete_tokens(&self, account_id: i64, kind: TokenKind) -> Result<u64, StoreError>;

    async fn audit_events(&self, account_id: i64) -> Result<Vec<AuditEvent>, StoreError>;
    async fn set_roles(&self, account_id: i64, roles: &[RoleName]) -> Result<(), StoreError>;

    async fn list_users(
        &self,
        account_id: i64,
        query: &UserQuery,
    ) -> Result<UserPage, DirectoryError>;
    async fn get_user(&self, account_id: i64, id: i64) -> Result<AccountUser, DirectoryError>;
    async fn create_user(
        &self,
        context: &UserWriteContext,
        user: NewUser,
    ) -> Result<AccountUser, DirectoryError>;
    async fn update_user(
        &self,
        context: &UserWriteContext,
        id: i64,
        changes: UserChanges,
        expected_version: Option<i64>,
    ) -> Result<AccountUser, DirectoryError>;
    async fn delete_user(&self, context: &UserWriteContext, id: i64) -> Result<(), DirectoryError>;

    async fn list_roles(&self, account_id: i64) -> Result<Vec<Role>, DirectoryError>;
    async fn create_role(&self, account_id: i64, role: NewRole) -> Result<Role, DirectoryError>;
    async fn update_role(
        &self,
        context: &UserWriteContext,
        id: i64,
        changes: RoleChanges,
    ) -> Result<Role, DirectoryError>;
    async fn delete_role(&self, account_id: i64, id: i64) -> Result<(), DirectoryError>;
}

/// A stored timestamp (milliseconds since the Unix epoch) as a time.
pub(crate) fn millis_to_time(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The JSON snapshot of a user kept in the audit log.
pub fn audit_snapshot(user: &AccountUser) -> serde_json::Value {
    serde_json::json!({
        "id": user.id,
        "email": user.email,
        "user_name": user.user_name,
        "name": user.name,
        "role": user.role,
        "active": user.active,
        "external_id": user.external_id,
        "created_at": user.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "updated_at": user.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "version": user.version,
    })
}
