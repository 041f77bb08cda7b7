//! The backend conformance suite: every check runs against SQLite, in a file of its own,
//! and against PostgreSQL, in a database of its own, when `ROSTER_TEST_POSTGRES_URL`
//! names a server that the suite may create databases on (`scripts/with-postgres`
//! starts one). Without it the PostgreSQL runs are reported as ignored, never passed.
//!
//! A check is an `async fn(Db)`; it opens as many stores on its database as it needs,
//! each standing for one server node.

use std::{future::Future, pin::Pin, sync::Arc};

use libtest_mimic::{Arguments, Failed, Trial};
use roster_core::{
    AccountUser, Actor, Directory, Email, NewUser, RoleName, UserChanges, UserName, UserQuery,
};
use roster_store::{Store, StoreDirectory};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// Lists `async fn(Db)` checks by name.
macro_rules! checks {
    ($($check:ident),* $(,)?) => {
        vec![$((
            stringify!($check),
            (|db| -> crate::CheckFuture { Box::pin($check(db)) }) as crate::Check,
        )),*]
    };
}

mod accounts;
mod roles;
mod users;

const POSTGRES_URL_VAR: &str = "ROSTER_TEST_POSTGRES_URL";

type CheckFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type Check = fn(Db) -> CheckFuture;

#[derive(Clone)]
enum Backend {
    Sqlite,
    /// The server's URL, on which each check creates and drops a database of its own.
    Postgres(Option<String>),
}

/// The database of one check, removed when the check ends.
#[derive(Clone)]
pub struct Db(Arc<DbInner>);

struct DbInner {
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Folder(#[allow(dead_code)] tempfile::TempDir),
    Database { server_url: String, name: String },
}

impl Db {
    async fn create(backend: &Backend) -> Result<Db, Failed> {
        let inner = match backend {
            Backend::Sqlite => {
                let folder = tempfile::tempdir()?;
                DbInner {
                    url: format!("sqlite://{}", folder.path().join("roster.db").display()),
                    cleanup: Cleanup::Folder(folder),
                }
            }
            Backend::Postgres(None) => {
                return Err(format!("{POSTGRES_URL_VAR} is not set").into());
            }
            Backend::Postgres(Some(server_url)) => {
                let name = format!("roster_test_{:016x}", rand::random::<u64>());
                let mut conn = PgConnection::connect(server_url).await?;
                sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await?;
                DbInner {
                    url: with_database(server_url, &name),
                    cleanup: Cleanup::Database {
                        server_url: server_url.clone(),
                        name,
                    },
                }
            }
        };
        Ok(Db(Arc::new(inner)))
    }

    /// Opens a store on this check's database: each call is another server node.
    /// The database's URL, for checks that prepare it before a store opens it.
    pub fn url(&self) -> &str {
        &self.0.url
    }

    pub async fn open(&self) -> Store {
        Store::open(&self.0.url).await.expect("the store opens")
    }

    async fn remove(&self) {
        if let Cleanup::Database { server_url, name } = &self.0.cleanup {
            // FORCE ends the connections that pools of the check still hold.
            if let Ok(mut conn) = PgConnection::connect(server_url).await {
                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = sqlx::raw_sql(AssertSqlSafe(drop)).execute(&mut conn).await;
            }
        }
    }
}

/// `url` with its database name replaced by `name`, keeping any `?options`.
fn with_database(url: &str, name: &str) -> String {
    let (base, options) = url
        .split_once('?')
        .map_or((url, None), |(b, o)| (b, Some(o)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match options {
        Some(options) => format!("{server}/{name}?{options}"),
        None => format!("{server}/{name}"),
    }
}

/// Runs one check on a fresh database of `backend`, in a runtime of its own.
fn run(backend: &Backend, check: Check) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let db = Db::create(backend).await?;
        let outcome = tokio::spawn(check(db.clone())).await;
        db.remove().await;
        match outcome {
            Ok(()) => Ok(()),
            Err(e) if e.is_panic() => Err(panic_message(e.into_panic()).into()),
            Err(e) => Err(e.to_string().into()),
        }
    })
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "the check panicked".into())
}

fn main() {
    let args = Arguments::from_args();
    let server = std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|url| !url.is_empty());
    let not_run = server.is_none();

    let groups = [
        ("users", users::checks()),
        ("roles", roles::checks()),
        ("accounts", accounts::checks()),
    ];
    let mut trials = Vec::new();
    for (group, checks) in groups {
        for (name, check) in checks {
            trials.push(Trial::test(format!("sqlite::{group}::{name}"), move || {
                run(&Backend::Sqlite, check)
            }));
            let postgres = Backend::Postgres(server.clone());
            trials.push(
                Trial::test(format!("postgres::{group}::{name}"), move || {
                    run(&postgres, check)
                })
                .with_ignored_flag(not_run),
            );
        }
    }
    trials.push(Trial::test(
        "postgres::an_unreachable_server_is_a_database_error",
        || {
            tokio::runtime::Runtime::new()?
                .block_on(accounts::an_unreachable_server_is_a_database_error());
            Ok(())
        },
    ));

    let conclusion = libtest_mimic::run(&args, trials);
    if not_run {
        eprintln!(
            "The PostgreSQL checks were not run: set {POSTGRES_URL_VAR} to a server's URL, \
             or run the tests under scripts/with-postgres."
        );
    }
    conclusion.exit();
}

/// A new account on `store`; its id and app key.
pub async fn account(store: &Store) -> (i64, String) {
    let credentials = store.create_account("Acme").await.unwrap();
    let account = store.account(&credentials.app_key).await.unwrap();
    (account.id, credentials.app_key)
}

/// The users of an account, changed by the actor `tester`.
pub fn directory(store: &Store, account_id: i64) -> StoreDirectory {
    store.directory(account_id, Actor("tester".into()))
}

pub fn email(raw: &str) -> Email {
    Email::parse(raw).unwrap()
}

pub fn user_name(raw: &str) -> UserName {
    UserName::parse(raw).unwrap()
}

pub fn role(raw: &str) -> RoleName {
    RoleName::parse(raw).unwrap()
}

pub fn user(raw_email: &str, role_name: &str) -> NewUser {
    NewUser {
        role: Some(role(role_name)),
        ..NewUser::with_email(email(raw_email))
    }
}

/// Creates a user that the check needs to exist.
pub async fn add(users: &StoreDirectory, raw_email: &str, role_name: &str) -> AccountUser {
    users.create_user(user(raw_email, role_name)).await.unwrap()
}

pub fn email_change(raw: &str) -> UserChanges {
    UserChanges {
        email: Some(email(raw)),
        ..UserChanges::default()
    }
}

pub fn role_change(raw: &str) -> UserChanges {
    UserChanges {
        role: Some(role(raw)),
        ..UserChanges::default()
    }
}

pub fn deactivation() -> UserChanges {
    UserChanges {
        active: Some(false),
        ..UserChanges::default()
    }
}

/// Every user of the account, first page of a thousand.
pub fn everyone() -> UserQuery {
    UserQuery {
        limit: 1000,
        ..UserQuery::default()
    }
}
