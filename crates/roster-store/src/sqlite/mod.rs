//! The embedded backend: one SQLite file in WAL mode, reached through rusqlite.
//!
//! rusqlite was chosen over sqlx for SQLite by measurement: sqlx runs each SQLite
//! connection on its own thread and hands every query across a channel, which cost more
//! than the query itself for the point reads this service lives on.
//!
//! Point reads (a token, an account, a user, a page) run on the calling task with a
//! pooled connection: they take microseconds from pages in memory, less than handing
//! them to another thread would cost, and WAL readers never wait for the writer. Reads
//! that may scan (filters, the audit log, listings of every account) go to tokio's
//! blocking pool. Every write goes through the [`writer`], which commits the writes
//! that arrive together in one durable transaction.

mod users;
mod writer;

use std::time::Duration;

use async_trait::async_trait;
use r2d2_sqlite::SqliteConnectionManager;
use roster_core::{
    AccountUser, DirectoryError, NewRole, NewUser, Role, RoleChanges, RoleName, UserChanges,
    UserPage, UserQuery, DEFAULT_ROLES,
};
use rusqlite::{config::DbConfig, params, Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};

use crate::{
    backend::{read_account, Backend, RowReader, UserWriteContext},
    now_millis, Account, AuditEvent, StoreError, StoredToken, TokenKind, TokenLookup,
};

type Pool = r2d2::Pool<SqliteConnectionManager>;

pub struct SqliteBackend {
    pool: Pool,
    writer: writer::Writer,
}

/// How long a writer waits for another writer's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../migrations/sqlite/0001_initial.sql")),
        M::up(include_str!(
            "../../migrations/sqlite/0002_user_names_and_group_details.sql"
        )),
        M::up(include_str!(
            "../../migrations/sqlite/0003_token_expiry.sql"
        )),
        M::up(include_str!(
            "../../migrations/sqlite/0004_role_member_counts.sql"
        )),
        M::up(include_str!("../../migrations/sqlite/0005_user_blocks.sql")),
    ])
}

impl SqliteBackend {
    pub async fn open(path: String) -> Result<SqliteBackend, StoreError> {
        tokio::task::spawn_blocking(move || SqliteBackend::open_blocking(&path))
            .await
            .map_err(|e| StoreError::Database(e.to_string()))?
    }

    fn open_blocking(path: &str) -> Result<SqliteBackend, StoreError> {
        let manager = SqliteConnectionManager::file(path).with_init(configure);
        let pool = r2d2::Pool::builder()
            .max_size(16)
            // The check runs a statement on every checkout; a file connection does not
            // go stale as a network one does.
            .test_on_check_out(false)
            .build(manager)
            .map_err(|e| StoreError::Database(format!("cannot open {path}: {e}")))?;
        let mut conn = pool.get().map_err(db_error)?;
        migrations()
            .to_latest(&mut conn)
            .map_err(|e| StoreError::Database(format!("cannot migrate {path}: {e}")))?;
        let writing = Connection::open(path)
            .and_then(|mut conn| configure(&mut conn).map(|()| conn))
            .map_err(|e| StoreError::Database(format!("cannot open {path}: {e}")))?;
        Ok(SqliteBackend {
            pool,
            writer: writer::Writer::start(writing)?,
        })
    }

    /// Runs a point read on the calling task.
    fn read<T, E>(&self, work: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let conn = self.pool.get().map_err(|e| E::from(db_error(e)))?;
        work(&conn)
    }

    /// Runs a read that may take long on a pooled connection on the blocking pool.
    async fn run<T, E>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| E::from(db_error(e)))?;
            work(&mut conn)
        })
        .await
        .map_err(|e| E::from(StoreError::Database(e.to_string())))?
    }
}

/// Settings of every connection, the writer's and the readers'.
fn configure(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Room for the fixed statements and the filter shapes identity providers send.
    conn.set_prepared_statement_cache_capacity(64);
    // Plans that do not depend on the values bound to them. Without this guarantee the
    // bundled SQLite plans a statement again each time a new value is bound to its
    // LIMIT, or to any parameter once ANALYZE has made statistics, which cost the
    // filtered listings as much as running them.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // WAL lets readers go on while the writer commits. FULL syncs the WAL on every
    // commit: an acknowledged write survives a power cut, not only a killed process.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

pub(crate) fn db_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

impl RowReader for rusqlite::Row<'_> {
    type Error = rusqlite::Error;

    fn int(&self, column: usize) -> rusqlite::Result<i64> {
        self.get(column)
    }

    fn text(&self, column: usize) -> rusqlite::Result<String> {
        self.get(column)
    }

    fn optional_text(&self, column: usize) -> rusqlite::Result<Option<String>> {
        self.get(column)
    }

    fn flag(&self, column: usize) -> rusqlite::Result<bool> {
        self.get(column)
    }
}

fn account_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    read_account(row)
}

#[async_trait]
impl Backend for SqliteBackend {
    fn pool_state(&self) -> crate::PoolState {
        let state = self.pool.state();
        crate::PoolState {
            connections: state.connections,
            idle: state.idle_connections,
        }
    }

    async fn insert_account(
        &self,
        app_key: &str,
        name: &str,
        secret_digest: &str,
    ) -> Result<(), StoreError> {
        let (app_key, name, digest) = (
            app_key.to_owned(),
            name.to_owned(),
            secret_digest.to_owned(),
        );
        self.writer.write(move |tx| {
            tx.execute(
                "INSERT INTO accounts (app_key, name, secret_digest, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![app_key, name, digest, now_millis()],
            )
            .map_err(db_error)?;
            let account_id = tx.last_insert_rowid();
            for role in DEFAULT_ROLES {
                tx.execute(
                    "INSERT INTO roles (account_id, name) VALUES (?1, ?2)",
                    params![account_id, role],
                )
                .map_err(db_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn account_by_app_key(&self, app_key: &str) -> Result<Option<Account>, StoreError> {
        let app_key = app_key.to_owned();
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT id, app_key, name, user_count FROM accounts WHERE app_key = ?1",
            )
            .and_then(|mut stmt| stmt.query_row([app_key], account_from_row).optional())
            .map_err(db_error)
        })
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn
                .prepare("SELECT id, app_key, name, user_count FROM accounts ORDER BY id")
                .map_err(db_error)?;
            let rows = stmt.query_map([], account_from_row).map_err(db_error)?;
            rows.collect::<Result<_, _>>().map_err(db_error)
        })
        .await
    }

    async fn secret_digest(&self, app_key: &str) -> Result<Option<(i64, String)>, StoreError> {
        let app_key = app_key.to_owned();
        self.read(|conn| {
            conn.prepare_cached("SELECT id, secret_digest FROM accounts WHERE app_key = ?1")
                .and_then(|mut stmt| {
                    stmt.query_row([app_key], |row| Ok((row.get(0)?, row.get(1)?)))
                        .optional()
                })
                .map_err(db_error)
        })
    }

    async fn set_secret_digest(
        &self,
        app_key: &str,
        digest: &str,
        revoke: bool,
    ) -> Result<(), StoreError> {
        let (app_key, digest) = (app_key.to_owned(), digest.to_owned());
        self.writer
            .write(move |tx| {
                let account_id: Option<i64> = tx
                    .query_row(
                        "UPDATE accounts SET secret_digest = ?2 WHERE app_key = ?1 RETURNING id",
                        params![app_key, digest],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(db_error)?;
                let account_id = account_id.ok_or(StoreError::AccountNotFound(app_key))?;
                if revoke {
                    tx.execute(
                        "DELETE FROM tokens WHERE account_id = ?1 AND kind = 'oauth'",
                        [account_id],
                    )
                    .map_err(db_error)?;
                }
                Ok(())
            })
            .await
    }

    async fn insert_token(
        &self,
        account_id: i64,
        digest: &str,
        kind: TokenKind,
        created_at: i64,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let digest = digest.to_owned();
        self.writer.write(move |tx| {
            // Expired tokens are swept here, where the account's tokens are touched
            // anyway, so that the table does not grow without bound.
            tx.prepare_cached(
                "DELETE FROM tokens WHERE account_id = ?1 AND expires_at IS NOT NULL AND expires_at <= ?2",
            )
            .and_then(|mut stmt| stmt.execute(params![account_id, created_at]))
            .map_err(db_error)?;
            tx.prepare_cached(
                "INSERT INTO tokens (digest, account_id, kind, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![digest, account_id, kind.as_str(), created_at, expires_at])
            })
            .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn find_token(
        &self,
        app_key: &str,
        digest: &str,
        kind: TokenKind,
    ) -> Result<Option<TokenLookup>, StoreError> {
        let (app_key, digest) = (app_key.to_owned(), digest.to_owned());
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT a.id, t.digest, t.expires_at FROM accounts a \
                 LEFT JOIN tokens t ON t.digest = ?2 AND t.account_id = a.id AND t.kind = ?3 \
                 WHERE a.app_key = ?1",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![app_key, digest, kind.as_str()], |row| {
                    let digest: Option<String> = row.get(1)?;
                    Ok(TokenLookup {
                        account_id: row.get(0)?,
                        token: digest.map(|digest| StoredToken {
                            digest,
                            expires_at: row.get(2).ok().flatten(),
                        }),
                    })
                })
                .optional()
            })
            .map_err(db_error)
        })
    }

    async fn account_for_token(
        &self,
        digest: &str,
        kind: TokenKind,
    ) -> Result<Option<Account>, StoreError> {
        let digest = digest.to_owned();
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT a.id, a.app_key, a.name, a.user_count FROM tokens t \
                 JOIN accounts a ON a.id = t.account_id \
                 WHERE t.digest = ?1 AND t.kind = ?2 AND (t.expires_at IS NULL OR t.expires_at > ?3)",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![digest, kind.as_str(), now_millis()], account_from_row)
                    .optional()
            })
            .map_err(db_error)
        })
    }

    async fn delete_tokens(&self, account_id: i64, kind: TokenKind) -> Result<u64, StoreError> {
        self.writer
            .write(move |tx| {
                tx.execute(
                    "DELETE FROM tokens WHERE account_id = ?1 AND kind = ?2",
                    params![account_id, kind.as_str()],
                )
                .map(|n| n as u64)
                .map_err(db_error)
            })
            .await
    }

    async fn audit_events(&self, account_id: i64) -> Result<Vec<AuditEvent>, StoreError> {
        self.run(move |conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT id, user_id, actor, action, at, before, after FROM audit_events \
                     WHERE account_id = ?1 ORDER BY id",
                )
                .map_err(db_error)?;
            let rows = stmt
                .query_map([account_id], |row| {
                    let json = |i: usize| -> rusqlite::Result<Option<serde_json::Value>> {
                        let text: Option<String> = row.get(i)?;
                        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
                    };
                    Ok(AuditEvent {
                        id: row.get(0)?,
                        user_id: row.get(1)?,
                        actor: row.get(2)?,
                        action: row.get(3)?,
                        at: crate::backend::millis_to_time(row.get(4)?),
                        before: json(5)?,
                        after: json(6)?,
                    })
                })
                .map_err(db_error)?;
            rows.collect::<Result<_, _>>().map_err(db_error)
        })
        .await
    }

    async fn set_roles(&self, account_id: i64, roles: &[RoleName]) -> Result<(), StoreError> {
        let roles: Vec<String> = roles.iter().map(|r| r.as_str().to_owned()).collect();
        self.writer
            .write(move |tx| users::set_roles(tx, account_id, &roles))
            .await
    }

    async fn list_users(
        &self,
        account_id: i64,
        query: &UserQuery,
    ) -> Result<UserPage, DirectoryError> {
        // A page in id order is a walk along an index, and so is a filter that pins one
        // user; any other filter may scan the whole account.
        if query
            .filter
            .as_ref()
            .is_none_or(crate::filter_sql::pins_one_user)
        {
            return self.read(|conn| users::list(conn, account_id, query));
        }
        let query = query.clone();
        self.run(move |conn| users::list(conn, account_id, &query))
            .await
    }

    async fn get_user(&self, account_id: i64, id: i64) -> Result<AccountUser, DirectoryError> {
        self.read(|conn| users::get(conn, account_id, id)?.ok_or(DirectoryError::UserNotFound))
    }

    async fn create_user(
        &self,
        context: &UserWriteContext,
        user: NewUser,
    ) -> Result<AccountUser, DirectoryError> {
        let context = context.clone();
        self.writer
            .write(move |tx| users::create(tx, &context, user))
            .await
    }

    async fn update_user(
        &self,
        context: &UserWriteContext,
        id: i64,
        changes: UserChanges,
        expected_version: Option<i64>,
    ) -> Result<AccountUser, DirectoryError> {
        let context = context.clone();
        self.writer
            .write(move |tx| users::update(tx, &context, id, changes, expected_version))
            .await
    }

    async fn delete_user(&self, context: &UserWriteContext, id: i64) -> Result<(), DirectoryError> {
        let context = context.clone();
        self.writer
            .write(move |tx| users::delete(tx, &context, id))
            .await
    }

    async fn list_roles(&self, account_id: i64) -> Result<Vec<Role>, DirectoryError> {
        self.read(|conn| users::list_roles(conn, account_id).map_err(DirectoryError::from))
    }

    async fn create_role(&self, account_id: i64, role: NewRole) -> Result<Role, DirectoryError> {
        self.writer
            .write(move |tx| users::create_role(tx, account_id, &role))
            .await
    }

    async fn update_role(
        &self,
        context: &UserWriteContext,
        id: i64,
        changes: RoleChanges,
    ) -> Result<Role, DirectoryError> {
        let context = context.clone();
        self.writer
            .write(move |tx| users::update_role(tx, &context, id, changes))
            .await
    }

    async fn delete_role(&self, account_id: i64, id: i64) -> Result<(), DirectoryError> {
        self.writer
            .write(move |tx| users::delete_role(tx, account_id, id))
            .await
    }
}

/// Opens the file once without a pool, so that a path that cannot be a database fails
/// at once with SQLite's reason, instead of after the pool's connection timeout.
pub(crate) fn check_openable(path: &str) -> Result<(), StoreError> {
    let explain = |e: rusqlite::Error| {
        StoreError::Invalid(format!(
            "cannot open the database {path}: {e}; Roster needs a writable SQLite file \
             in a writable folder"
        ))
    };
    let conn = Connection::open(path).map_err(explain)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(explain)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    #[test]
    fn cached_statements_are_not_planned_again_for_new_bound_values() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("q.db")).unwrap();
        configure(&mut conn).unwrap();
        migrations().to_latest(&mut conn).unwrap();
        let sql = "SELECT id FROM account_users WHERE account_id = ?1 AND (user_name_key = ?2) \
                   ORDER BY id LIMIT ?3 OFFSET ?4";

        for limit in 1..=20_i64 {
            let mut stmt = conn.prepare_cached(sql).unwrap();
            let mut rows = stmt.query(params![1, "a@example.com", limit, 0]).unwrap();
            while rows.next().unwrap().is_some() {}
        }

        let stmt = conn.prepare_cached(sql).unwrap();
        assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0);
    }
}
