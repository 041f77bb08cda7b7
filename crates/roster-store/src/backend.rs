//! The operations every database backend provides.
//!
//! Each write is one transaction that also keeps the account's user count and writes
//! the audit event, so nothing is acknowledged half-done.

use async_trait::async_trait;
use roster_core::{
    AccountUser, Actor, DirectoryError, NewUser, Role, RoleName, UserChanges, UserPage, UserQuery,
};

use crate::{Account, AuditEvent, StoreError, TokenKind, TokenLookup};

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
    /// The state of the connection pool; all zero for a backend that does not say.
    fn pool_state(&self) -> PoolState {
        PoolState::default()
    }

    /// Creates an account holding the default role catalogue.
    async fn insert_account(
        &self,
        app_key: &str,
        name: &str,
        secret_digest: &str,
    ) -> Result<(), StoreError>;
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
    async fn create_role(&self, account_id: i64, name: RoleName) -> Result<Role, DirectoryError>;
    async fn rename_role(
        &self,
        context: &UserWriteContext,
        id: i64,
        name: RoleName,
    ) -> Result<Role, DirectoryError>;
    async fn delete_role(&self, account_id: i64, id: i64) -> Result<(), DirectoryError>;
}

/// The JSON snapshot of a user kept in the audit log.
pub fn audit_snapshot(user: &AccountUser) -> serde_json::Value {
    serde_json::json!({
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "active": user.active,
        "external_id": user.external_id,
        "created_at": user.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "updated_at": user.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "version": user.version,
    })
}
