//! The directory over SQL: accounts and their credentials, users, roles, and the audit
//! log. SQLite (through rusqlite) is the embedded default; PostgreSQL serves several
//! nodes sharing one database.
//!
//! [`Store`] is the one entry point. Each backend keeps the rules of
//! [`roster_core::Directory`] inside its own transactions, so they hold under concurrent
//! writers and across processes. This crate knows nothing of HTTP.

mod backend;
pub mod filter_sql;
mod postgres;
mod rules;
pub mod secret;
mod sqlite;

use std::sync::Arc;

use roster_core::{
    filter::{Filter, Value},
    AccountUser, Actor, Directory, DirectoryError, NewRole, NewUser, Role, RoleChanges, RoleName,
    UserChanges, UserPage, UserQuery,
};

pub use backend::{Backend, PoolState, UserWriteContext};

/// An account as operators see it. Secrets are never part of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub app_key: String,
    pub name: String,
    pub user_count: u64,
}

/// What [`Store::ensure_account`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bootstrap {
    Created,
    Exists,
    /// The account exists with another secret, which was kept.
    SecretDiffers,
}

/// The credentials of a new account or a rotated secret, shown once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub app_key: String,
    pub secret: String,
}

/// What a presented access token proves about a request to an account's `app_key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenCheck {
    /// No account has this app key.
    UnknownAccount,
    /// The token is missing, unknown, expired, revoked, or another account's.
    Denied,
    Granted {
        account_id: i64,
    },
}

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEvent {
    pub id: i64,
    pub user_id: i64,
    pub actor: String,
    pub action: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("no account has the app key {0}")]
    AccountNotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(String),
}

impl From<StoreError> for DirectoryError {
    fn from(e: StoreError) -> DirectoryError {
        match e {
            StoreError::Invalid(message) => DirectoryError::Unsupported(message),
            other => DirectoryError::Unavailable(other.to_string()),
        }
    }
}

/// The database behind Roster, shared by every request of a server.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    /// The SQLite file, locked while deciding whether the database needs a first
    /// account; `None` on PostgreSQL, whose backend takes a lock of its own.
    first_account_lock: Option<std::path::PathBuf>,
}

impl Store {
    /// Opens the database named by `url`, creating and migrating it when needed.
    ///
    /// `sqlite://PATH` (or `sqlite:PATH`) opens an embedded database; `postgres://` or
    /// `postgresql://` connects to a PostgreSQL database that several servers may share.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, true).await
    }

    /// Opens a database that must already exist, for commands that work on the data
    /// of a server: a mistyped path is then an error instead of a new, empty database.
    pub async fn open_existing(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, false).await
    }

    async fn open_with(url: &str, create: bool) -> Result<Store, StoreError> {
        let mut first_account_lock = None;
        let backend: Arc<dyn Backend> =
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                Arc::new(postgres::PostgresBackend::open(url).await?)
            } else {
                let path = sqlite_path(url)?;
                if !create && !std::path::Path::new(&path).is_file() {
                    return Err(StoreError::Invalid(format!(
                        "there is no database at {path}; check --database-url, or create \
                         it with `roster migrate` or by starting `roster serve`"
                    )));
                }
                // Processes opening one new file together would each run the migrations,
                // and all but the first would fail on the tables it made (or find the file
                // locked): they take turns, on the same lock as the first account.
                let _turn = lock_exclusively(path.clone().into()).await?;
                let checked = path.clone();
                tokio::task::spawn_blocking(move || sqlite::check_openable(&checked))
                    .await
                    .map_err(|e| StoreError::Database(e.to_string()))??;
                first_account_lock = Some(path.clone().into());
                Arc::new(sqlite::SqliteBackend::open(path).await?)
            };
        Ok(Store {
            backend,
            first_account_lock,
        })
    }

    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// The state of the database connection pool, for metrics.
    pub fn pool_state(&self) -> PoolState {
        self.backend.pool_state()
    }

    /// The users of one account, with `actor` recorded on every change.
    pub fn directory(&self, account_id: i64, actor: Actor) -> StoreDirectory {
        StoreDirectory {
            backend: self.backend.clone(),
            context: UserWriteContext { account_id, actor },
        }
    }

    pub async fn create_account(&self, name: &str) -> Result<Credentials, StoreError> {
        let credentials = Credentials {
            app_key: secret::generate(),
            secret: secret::generate(),
        };
        self.backend
            .insert_account(
                &credentials.app_key,
                name,
                &secret::digest(&credentials.secret),
            )
            .await?;
        Ok(credentials)
    }

    /// Creates an account named `name` unless the database holds one already, and
    /// returns its credentials when it did. Nodes starting together on an empty
    /// database make one account between them, not one each.
    pub async fn create_first_account(
        &self,
        name: &str,
    ) -> Result<Option<Credentials>, StoreError> {
        // Processes sharing one SQLite file take turns on an exclusive lock of the file.
        // It is a flock, which SQLite's own (fcntl) locks do not see; it goes when the
        // file is dropped.
        let _turn = match &self.first_account_lock {
            Some(path) => Some(lock_exclusively(path.clone()).await?),
            None => None,
        };
        let credentials = Credentials {
            app_key: secret::generate(),
            secret: secret::generate(),
        };
        let created = self
            .backend
            .insert_first_account(
                &credentials.app_key,
                name,
                &secret::digest(&credentials.secret),
            )
            .await?;
        Ok(created.then_some(credentials))
    }

    /// Makes sure an account with this app key exists, creating it with `secret` when
    /// absent. For scripts that start a server with known keys.
    ///
    /// An existing account keeps its secret: a restart must not undo a
    /// `rotate-secret`. Returns [`Bootstrap::SecretDiffers`] so the caller can warn.
    pub async fn ensure_account(
        &self,
        app_key: &str,
        secret: &str,
    ) -> Result<Bootstrap, StoreError> {
        check_bootstrap(app_key, secret)?;
        let digest = secret::digest(secret);
        let stored = match self.backend.secret_digest(app_key).await? {
            Some((_, stored)) => stored,
            None => match self.backend.insert_account(app_key, app_key, &digest).await {
                Ok(()) => return Ok(Bootstrap::Created),
                // Another node starting at the same moment inserted it between the look-up
                // and the insert, and the unique app key refused this one: it exists now.
                Err(e) => match self.backend.secret_digest(app_key).await? {
                    Some((_, stored)) => stored,
                    None => return Err(e),
                },
            },
        };
        if secret::digests_match(&stored, &digest) {
            Ok(Bootstrap::Exists)
        } else {
            Ok(Bootstrap::SecretDiffers)
        }
    }

    pub async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.backend.list_accounts().await
    }

    pub async fn account(&self, app_key: &str) -> Result<Account, StoreError> {
        let not_found = || StoreError::AccountNotFound(app_key.to_owned());
        if names_nothing(app_key) {
            return Err(not_found());
        }
        self.backend
            .account_by_app_key(app_key)
            .await?
            .ok_or_else(not_found)
    }

    /// Replaces the account's secret and revokes every token issued under the old one.
    pub async fn rotate_secret(&self, app_key: &str) -> Result<Credentials, StoreError> {
        if names_nothing(app_key) {
            return Err(StoreError::AccountNotFound(app_key.to_owned()));
        }
        let secret = secret::generate();
        self.backend
            .set_secret_digest(app_key, &secret::digest(&secret), true)
            .await?;
        Ok(Credentials {
            app_key: app_key.to_owned(),
            secret,
        })
    }

    /// Revokes every OAuth token of the account; returns how many were live.
    pub async fn revoke_tokens(&self, app_key: &str) -> Result<u64, StoreError> {
        let account = self.account(app_key).await?;
        self.backend
            .delete_tokens(account.id, TokenKind::OAuth)
            .await
    }

    /// Issues a SCIM bearer token for the account. It does not expire; it works until
    /// [`Store::revoke_scim_tokens`]. Earlier SCIM tokens stay valid, so that each
    /// identity provider can be given its own.
    pub async fn issue_scim_token(&self, app_key: &str) -> Result<String, StoreError> {
        let account = self.account(app_key).await?;
        let token = secret::generate();
        self.backend
            .insert_token(
                account.id,
                &secret::digest(&token),
                TokenKind::Scim,
                now_millis(),
                None,
            )
            .await?;
        Ok(token)
    }

    /// Revokes every SCIM token of the account; returns how many there were.
    pub async fn revoke_scim_tokens(&self, app_key: &str) -> Result<u64, StoreError> {
        let account = self.account(app_key).await?;
        self.backend
            .delete_tokens(account.id, TokenKind::Scim)
            .await
    }

    /// The account a SCIM bearer token belongs to, if it is one of its live tokens.
    ///
    /// The token is found by its digest through the index; the digest of a random
    /// 40-character token gives nothing away, so the lookup need not be constant-time.
    pub async fn scim_account(&self, token: &str) -> Result<Option<Account>, StoreError> {
        self.backend
            .account_for_token(&secret::digest(token), TokenKind::Scim)
            .await
    }

    /// The account whose app key and secret these are, if they match.
    pub async fn verify_client(
        &self,
        app_key: &str,
        secret: &str,
    ) -> Result<Option<i64>, StoreError> {
        if names_nothing(app_key) {
            return Ok(None);
        }
        let Some((account_id, stored)) = self.backend.secret_digest(app_key).await? else {
            return Ok(None);
        };
        Ok(secret::digests_match(&stored, &secret::digest(secret)).then_some(account_id))
    }

    /// Issues an access token for the account, valid for `ttl`.
    pub async fn issue_token(
        &self,
        account_id: i64,
        ttl: std::time::Duration,
    ) -> Result<String, StoreError> {
        let token = secret::generate();
        let now = now_millis();
        let expires_at = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        self.backend
            .insert_token(
                account_id,
                &secret::digest(&token),
                TokenKind::OAuth,
                now,
                Some(expires_at),
            )
            .await?;
        Ok(token)
    }

    /// Decides whether `token` grants access to the account `app_key`.
    pub async fn check_token(&self, app_key: &str, token: &str) -> Result<TokenCheck, StoreError> {
        if names_nothing(app_key) {
            return Ok(TokenCheck::UnknownAccount);
        }
        let digest = secret::digest(token);
        let found = self
            .backend
            .find_token(app_key, &digest, TokenKind::OAuth)
            .await?;
        Ok(match found {
            None => TokenCheck::UnknownAccount,
            Some(TokenLookup { account_id, token }) => match token {
                Some(t) if t.is_live(now_millis()) && secret::digests_match(&t.digest, &digest) => {
                    TokenCheck::Granted { account_id }
                }
                _ => TokenCheck::Denied,
            },
        })
    }

    /// The audit log of one account, oldest first.
    pub async fn audit_events(&self, account_id: i64) -> Result<Vec<AuditEvent>, StoreError> {
        self.backend.audit_events(account_id).await
    }

    /// The role catalogue of an account.
    pub async fn roles(&self, app_key: &str) -> Result<Vec<Role>, StoreError> {
        let account = self.account(app_key).await?;
        self.directory(account.id, Actor("operator".into()))
            .list_roles()
            .await
            .map_err(|e| StoreError::Database(e.to_string()))
    }

    /// Replaces the role catalogue of an account. `admin` and the default role must
    /// stay, and roles that users hold cannot be dropped.
    pub async fn set_roles(&self, app_key: &str, roles: &[RoleName]) -> Result<(), StoreError> {
        rules::check_catalogue(roles)?;
        let account = self.account(app_key).await?;
        self.backend.set_roles(account.id, roles).await
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    OAuth,
    Scim,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::OAuth => "oauth",
            TokenKind::Scim => "scim",
        }
    }
}

/// A stored token as a backend finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredToken {
    pub digest: String,
    pub expires_at: Option<i64>,
}

impl StoredToken {
    fn is_live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// The account behind an app key, and the matching token of that account if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenLookup {
    pub account_id: i64,
    pub token: Option<StoredToken>,
}

/// The [`Directory`] of one account in a [`Store`].
#[derive(Clone)]
pub struct StoreDirectory {
    backend: Arc<dyn Backend>,
    context: UserWriteContext,
}

#[async_trait::async_trait]
impl Directory for StoreDirectory {
    async fn list_users(&self, query: &UserQuery) -> Result<UserPage, DirectoryError> {
        if query.email.as_deref().is_some_and(names_nothing) {
            return Ok(UserPage::default());
        }
        if query.filter.as_ref().is_some_and(filter_holds_nul) {
            return Err(DirectoryError::Unsupported(
                "a filter value must not contain a NUL character".into(),
            ));
        }
        self.backend
            .list_users(self.context.account_id, query)
            .await
    }

    async fn get_user(&self, id: i64) -> Result<AccountUser, DirectoryError> {
        self.backend.get_user(self.context.account_id, id).await
    }

    async fn create_user(&self, user: NewUser) -> Result<AccountUser, DirectoryError> {
        refuse_nul("name", user.name.as_deref())?;
        refuse_nul("externalId", user.external_id.as_deref())?;
        self.backend.create_user(&self.context, user).await
    }

    async fn update_user(
        &self,
        id: i64,
        changes: UserChanges,
        expected_version: Option<i64>,
    ) -> Result<AccountUser, DirectoryError> {
        refuse_nul("name", changes.name.as_ref().and_then(Option::as_deref))?;
        refuse_nul(
            "externalId",
            changes.external_id.as_ref().and_then(Option::as_deref),
        )?;
        self.backend
            .update_user(&self.context, id, changes, expected_version)
            .await
    }

    async fn delete_user(&self, id: i64) -> Result<(), DirectoryError> {
        self.backend.delete_user(&self.context, id).await
    }

    async fn list_roles(&self) -> Result<Vec<Role>, DirectoryError> {
        self.backend.list_roles(self.context.account_id).await
    }

    async fn create_role(&self, role: NewRole) -> Result<Role, DirectoryError> {
        self.backend
            .create_role(self.context.account_id, role)
            .await
    }

    async fn update_role(&self, id: i64, changes: RoleChanges) -> Result<Role, DirectoryError> {
        self.backend.update_role(&self.context, id, changes).await
    }

    async fn delete_role(&self, id: i64) -> Result<(), DirectoryError> {
        self.backend.delete_role(self.context.account_id, id).await
    }
}

/// Opens the SQLite file at `path`, creating it empty (which SQLite reads as an empty
/// database) when there is none, and waits for an exclusive lock on it, held until the
/// file is dropped.
async fn lock_exclusively(path: std::path::PathBuf) -> Result<std::fs::File, StoreError> {
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || {
        let file = match std::fs::File::open(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)?,
            other => other?,
        };
        file.lock()?;
        Ok(file)
    })
    .await
    .map_err(|e| StoreError::Database(e.to_string()))?
    .map_err(|e: std::io::Error| {
        StoreError::Invalid(format!(
            "cannot open the database {shown}: {e}; Roster needs a writable SQLite file in \
             a writable folder"
        ))
    })
}

/// PostgreSQL's text cannot hold a NUL character, so no stored key holds one: a key
/// that does names nothing, and is answered so on both backends without asking the
/// database (whose query would fail on PostgreSQL).
fn names_nothing(key: &str) -> bool {
    key.contains('\0')
}

/// Refuses a value that could not be stored on PostgreSQL, with the same answer on
/// SQLite, so that both backends accept the same writes.
fn refuse_nul(field: &str, value: Option<&str>) -> Result<(), DirectoryError> {
    if value.is_some_and(names_nothing) {
        return Err(DirectoryError::Unsupported(format!(
            "{field} must not contain a NUL character"
        )));
    }
    Ok(())
}

/// True when a string compared by the filter holds a NUL character, which PostgreSQL
/// could not bind as text.
fn filter_holds_nul(filter: &Filter) -> bool {
    match filter {
        Filter::Compare {
            value: Value::String(text),
            ..
        } => names_nothing(text),
        Filter::Compare { .. } | Filter::Present(_) => false,
        Filter::And(operands) | Filter::Or(operands) => operands.iter().any(filter_holds_nul),
        Filter::Not(inner) => filter_holds_nul(inner),
        Filter::ValuePath { filter, .. } => filter_holds_nul(filter),
    }
}

/// The longest app key a bootstrap may choose; generated ones have 40 characters.
pub const APP_KEY_MAX_LEN: usize = 64;

/// The shortest secret a bootstrap may choose.
pub const SECRET_MIN_CHARS: usize = 16;

/// Checks the credentials of a bootstrap account before anything is written.
///
/// The app key is a segment of every account-users path, so it is limited to
/// characters that need no percent-encoding there, and may not be `.` or `..`, which
/// clients resolve away as relative paths.
pub fn check_bootstrap(app_key: &str, secret: &str) -> Result<(), StoreError> {
    let key_ok = !app_key.is_empty()
        && app_key.len() <= APP_KEY_MAX_LEN
        && app_key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && app_key != "."
        && app_key != "..";
    if !key_ok {
        return Err(StoreError::Invalid(format!(
            "the bootstrap app key {app_key:?} cannot be used in a URL path: give 1 to \
             {APP_KEY_MAX_LEN} characters of A-Z, a-z, 0-9, '_', '.' and '-' (not only dots)"
        )));
    }
    if secret.chars().count() < SECRET_MIN_CHARS {
        return Err(StoreError::Invalid(format!(
            "the bootstrap secret must have at least {SECRET_MIN_CHARS} characters"
        )));
    }
    Ok(())
}

pub(crate) fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Accepts `sqlite://PATH`, `sqlite:PATH` or a bare path, with any `?options` dropped.
fn sqlite_path(url: &str) -> Result<String, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || !url.starts_with("sqlite:") {
        return Err(StoreError::Invalid(format!(
            "cannot use database URL {url:?}: give sqlite://PATH or postgres://USER@HOST/DB"
        )));
    }
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_a_file() {
        assert_eq!(sqlite_path("sqlite://roster.db").unwrap(), "roster.db");
        assert_eq!(
            sqlite_path("sqlite:///tmp/r.db?mode=rwc").unwrap(),
            "/tmp/r.db"
        );
        assert!(
            sqlite_path("roster.db").is_err(),
            "a bare path may be a typo"
        );
        assert!(sqlite_path("mysql://x").is_err());
        assert!(sqlite_path("sqlite://").is_err());
    }
}
