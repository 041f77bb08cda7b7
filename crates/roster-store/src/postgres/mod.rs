//! The backend for several nodes: one PostgreSQL database shared by every server,
//! reached through a sqlx connection pool.
//!
//! The rules are the SQLite backend's, kept by the same constraints; what differs is
//! how writers are kept apart. SQLite has one writer at a time per file. Here every
//! write of an account's users or roles first locks that account's row, so writes to
//! one account queue behind each other whichever node they arrive at, while different
//! accounts proceed in parallel.

mod users;

use std::time::Duration;

use async_trait::async_trait;
use roster_core::{
    AccountUser, DirectoryError, NewRole, NewUser, Role, RoleChanges, RoleName, UserChanges,
    UserPage, UserQuery, DEFAULT_ROLES,
};
use sqlx::{
    postgres::{PgPoolOptions, PgRow},
    Connection, PgConnection, PgPool, Row,
};

use crate::{
    backend::{millis_to_time, read_account, Backend, RowReader, UserWriteContext},
    now_millis, Account, AuditEvent, StoreError, StoredToken, TokenKind, TokenLookup,
};

pub struct PostgresBackend {
    pool: PgPool,
}

/// Connections per server process. Several processes share the database, so their
/// sum must stay under the server's `max_connections` (100 by default).
const POOL_SIZE: u32 = 16;

/// How long a request waits for a free connection before it is answered as unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The advisory lock that nodes starting together take in turn to decide whether the
/// database still needs a first account. Any fixed number does, as long as nothing else
/// in the database uses it; this one spells "rostr1" in ASCII.
const FIRST_ACCOUNT_LOCK: i64 = 0x726f_7374_7231;

impl PostgresBackend {
    /// Connects to the database at `url` and brings its schema up to date.
    ///
    /// Migrations take a database-wide advisory lock, so nodes starting together do
    /// not apply them twice.
    pub async fn open(url: &str) -> Result<PostgresBackend, StoreError> {
        let cannot_connect = |e| StoreError::Database(format!("cannot connect to PostgreSQL: {e}"));
        // One plain connection first: it fails at once with the cause (refused, wrong
        // password, no such database), where the pool would retry until its timeout
        // and then report only that it timed out.
        PgConnection::connect(url)
            .await
            .map_err(cannot_connect)?
            .close()
            .await
            .map_err(cannot_connect)?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(cannot_connect)?;
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(format!("cannot migrate PostgreSQL: {e}")))?;
        Ok(PostgresBackend { pool })
    }
}

pub(crate) fn db_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

impl RowReader for PgRow {
    type Error = sqlx::Error;

    fn int(&self, column: usize) -> Result<i64, sqlx::Error> {
        self.try_get(column)
    }

    fn text(&self, column: usize) -> Result<String, sqlx::Error> {
        self.try_get(column)
    }

    fn optional_text(&self, column: usize) -> Result<Option<String>, sqlx::Error> {
        self.try_get(column)
    }

    fn flag(&self, column: usize) -> Result<bool, sqlx::Error> {
        self.try_get(column)
    }
}

/// Inserts an account and its default role catalogue inside `conn`'s transaction.
async fn insert_account_in(
    conn: &mut PgConnection,
    app_key: &str,
    name: &str,
    secret_digest: &str,
) -> Result<(), StoreError> {
    let account_id: i64 = sqlx::query_scalar(
        "INSERT INTO accounts (app_key, name, secret_digest, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(app_key)
    .bind(name)
    .bind(secret_digest)
    .bind(now_millis())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_error)?;
    for role in DEFAULT_ROLES {
        sqlx::query("INSERT INTO roles (account_id, name) VALUES ($1, $2)")
            .bind(account_id)
            .bind(role)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

fn account_from_row(row: &PgRow) -> Result<Account, sqlx::Error> {
    read_account(row)
}

#[async_trait]
impl Backend for PostgresBackend {
    fn pool_state(&self) -> crate::PoolState {
        crate::PoolState {
            connections: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
        }
    }

    async fn insert_account(
        &self,
        app_key: &str,
        name: &str,
        secret_digest: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        insert_account_in(&mut tx, app_key, name, secret_digest).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn insert_first_account(
        &self,
        app_key: &str,
        name: &str,
        secret_digest: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // Held until the transaction ends, so another node's check waits for this
        // insert to commit and then sees the account.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FIRST_ACCOUNT_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM accounts)")
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        if exists {
            return Ok(false);
        }
        insert_account_in(&mut tx, app_key, name, secret_digest).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    async fn account_by_app_key(&self, app_key: &str) -> Result<Option<Account>, StoreError> {
        sqlx::query("SELECT id, app_key, name, user_count FROM accounts WHERE app_key = $1")
            .bind(app_key)
            .fetch_optional(&self.pool)
            .await
            .and_then(|row| row.as_ref().map(account_from_row).transpose())
            .map_err(db_error)
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        sqlx::query("SELECT id, app_key, name, user_count FROM accounts ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .and_then(|rows| rows.iter().map(account_from_row).collect())
            .map_err(db_error)
    }

    async fn secret_digest(&self, app_key: &str) -> Result<Option<(i64, String)>, StoreError> {
        sqlx::query_as("SELECT id, secret_digest FROM accounts WHERE app_key = $1")
            .bind(app_key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)
    }

    async fn set_secret_digest(
        &self,
        app_key: &str,
        digest: &str,
        revoke: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let account_id: Option<i64> = sqlx::query_scalar(
            "UPDATE accounts SET secret_digest = $2 WHERE app_key = $1 RETURNING id",
        )
        .bind(app_key)
        .bind(digest)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        let account_id = account_id.ok_or_else(|| StoreError::AccountNotFound(app_key.into()))?;
        if revoke {
            sqlx::query("DELETE FROM tokens WHERE account_id = $1 AND kind = 'oauth'")
                .bind(account_id)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    async fn insert_token(
        &self,
        account_id: i64,
        digest: &str,
        kind: TokenKind,
        created_at: i64,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // Expired tokens are swept here, where the account's tokens are touched anyway,
        // so that the table does not grow without bound. Rows another node is sweeping
        // at the same moment are skipped rather than waited for.
        sqlx::query(
            "DELETE FROM tokens WHERE digest IN (SELECT digest FROM tokens \
             WHERE account_id = $1 AND expires_at IS NOT NULL AND expires_at <= $2 \
             FOR UPDATE SKIP LOCKED)",
        )
        .bind(account_id)
        .bind(created_at)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        sqlx::query(
            "INSERT INTO tokens (digest, account_id, kind, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(digest)
        .bind(account_id)
        .bind(kind.as_str())
        .bind(created_at)
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    async fn find_token(
        &self,
        app_key: &str,
        digest: &str,
        kind: TokenKind,
    ) -> Result<Option<TokenLookup>, StoreError> {
        let found: Option<(i64, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT a.id, t.digest, t.expires_at FROM accounts a \
             LEFT JOIN tokens t ON t.digest = $2 AND t.account_id = a.id AND t.kind = $3 \
             WHERE a.app_key = $1",
        )
        .bind(app_key)
        .bind(digest)
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(found.map(|(account_id, digest, expires_at)| TokenLookup {
            account_id,
            token: digest.map(|digest| StoredToken { digest, expires_at }),
        }))
    }

    async fn account_for_token(
        &self,
        digest: &str,
        kind: TokenKind,
    ) -> Result<Option<Account>, StoreError> {
        sqlx::query(
            "SELECT a.id, a.app_key, a.name, a.user_count FROM tokens t \
             JOIN accounts a ON a.id = t.account_id \
             WHERE t.digest = $1 AND t.kind = $2 AND (t.expires_at IS NULL OR t.expires_at > $3)",
        )
        .bind(digest)
        .bind(kind.as_str())
        .bind(now_millis())
        .fetch_optional(&self.pool)
        .await
        .and_then(|row| row.as_ref().map(account_from_row).transpose())
        .map_err(db_error)
    }

    async fn delete_tokens(&self, account_id: i64, kind: TokenKind) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM tokens WHERE account_id = $1 AND kind = $2")
            .bind(account_id)
            .bind(kind.as_str())
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(db_error)
    }

    async fn audit_events(&self, account_id: i64) -> Result<Vec<AuditEvent>, StoreError> {
        // Ordered by id: ids follow commit order within an account, because its writes
        // hold the account's lock until they commit.
        let rows = sqlx::query(
            "SELECT id, user_id, actor, action, at, before::text, after::text \
             FROM audit_events WHERE account_id = $1 ORDER BY id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let json = |i: usize| -> Result<Option<serde_json::Value>, sqlx::Error> {
                    let text: Option<String> = row.try_get(i)?;
                    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
                };
                Ok(AuditEvent {
                    id: row.try_get(0)?,
                    user_id: row.try_get(1)?,
                    actor: row.try_get(2)?,
                    action: row.try_get(3)?,
                    at: millis_to_time(row.try_get(4)?),
                    before: json(5)?,
                    after: json(6)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db_error)
    }

    async fn set_roles(&self, account_id: i64, roles: &[RoleName]) -> Result<(), StoreError> {
        let roles: Vec<String> = roles.iter().map(|r| r.as_str().to_owned()).collect();
        users::set_roles(&self.pool, account_id, &roles).await
    }

    async fn list_users(
        &self,
        account_id: i64,
        query: &UserQuery,
    ) -> Result<UserPage, DirectoryError> {
        users::list(&self.pool, account_id, query).await
    }

    async fn get_user(&self, account_id: i64, id: i64) -> Result<AccountUser, DirectoryError> {
        let mut conn = self.pool.acquire().await.map_err(users::unavailable)?;
        users::get(&mut conn, account_id, id)
            .await?
            .ok_or(DirectoryError::UserNotFound)
    }

    async fn create_user(
        &self,
        context: &UserWriteContext,
        user: NewUser,
    ) -> Result<AccountUser, DirectoryError> {
        users::create(&self.pool, context, user).await
    }

    async fn update_user(
        &self,
        context: &UserWriteContext,
        id: i64,
        changes: UserChanges,
        expected_version: Option<i64>,
    ) -> Result<AccountUser, DirectoryError> {
        users::update(&self.pool, context, id, changes, expected_version).await
    }

    async fn delete_user(&self, context: &UserWriteContext, id: i64) -> Result<(), DirectoryError> {
        users::delete(&self.pool, context, id).await
    }

    async fn list_roles(&self, account_id: i64) -> Result<Vec<Role>, DirectoryError> {
        let mut conn = self.pool.acquire().await.map_err(users::unavailable)?;
        Ok(users::list_roles(&mut conn, account_id).await?)
    }

    async fn create_role(&self, account_id: i64, role: NewRole) -> Result<Role, DirectoryError> {
        users::create_role(&self.pool, account_id, &role).await
    }

    async fn update_role(
        &self,
        context: &UserWriteContext,
        id: i64,
        changes: RoleChanges,
    ) -> Result<Role, DirectoryError> {
        users::update_role(&self.pool, context, id, changes).await
    }

    async fn delete_role(&self, account_id: i64, id: i64) -> Result<(), DirectoryError> {
        users::delete_role(&self.pool, account_id, id).await
    }
}
