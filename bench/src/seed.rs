//! Seeding: a fresh SQLite database with many accounts and users, written in bulk.
//!
//! The schema comes from the store itself (`Store::open` migrates the new file) and so
//! does the benchmarked account, made with `Store::ensure_account`. Only the mass of
//! other accounts and users is inserted with plain SQL in one transaction, because the
//! directory's one-user-per-transaction path would take hours for two million users.
//! Seeded users have no audit events: they stand for users created before the run.

use std::path::Path;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use roster_core::DEFAULT_ROLES;
use roster_store::Store;
use rusqlite::{params, Connection};

/// The app key of the account every operation of the benchmark is sent to.
pub const BENCH_APP_KEY: &str = "bench";
/// Its secret, known to the harness only.
pub const BENCH_SECRET: &str = "bench-secret-0123456789";

/// How big a database to seed.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Accounts in all, the benchmarked one included.
    pub accounts: u64,
    /// Users in all.
    pub users: u64,
    /// Users of the benchmarked account.
    pub bench_users: u64,
}

/// What the harness needs to know of a seeded database.
#[derive(Clone, Debug)]
pub struct Seeded {
    pub shape: Shape,
    /// The ids of the benchmarked account's users: contiguous, since they were
    /// inserted first into an empty table.
    pub first_user_id: i64,
    pub last_user_id: i64,
    pub scim_token: String,
    pub seconds: f64,
}

/// The benchmarked account's users are `user0@bench.example`, `user1@...` and so on.
pub const BENCH_EMAIL_LOCAL_PREFIX: &str = "user";
pub const BENCH_EMAIL_DOMAIN: &str = "bench.example";

/// The email of the benchmarked account's `n`-th user (from 0).
pub fn bench_email(n: u64) -> String {
    format!("{BENCH_EMAIL_LOCAL_PREFIX}{n}@{BENCH_EMAIL_DOMAIN}")
}

pub fn seed(path: &Path, shape: Shape) -> Result<Seeded> {
    ensure!(shape.accounts >= 1, "a seeded database needs an account");
    ensure!(
        shape.bench_users <= shape.users,
        "the benchmarked account cannot hold more users than the database"
    );
    let started = Instant::now();
    if path.exists() {
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    }
    let url = format!("sqlite://{}", path.display());

    let runtime = tokio::runtime::Runtime::new()?;
    let scim_token = runtime.block_on(async {
        let store = Store::open(&url).await?;
        store.ensure_account(BENCH_APP_KEY, BENCH_SECRET).await?;
        let token = store.issue_scim_token(BENCH_APP_KEY).await?;
        anyhow::Ok(token)
    })?;
    drop(runtime);

    let mut conn = Connection::open(path)?;
    // Nothing here needs to survive a crash: a failed seeding starts again from an
    // empty file.
    conn.pragma_update(None, "synchronous", "OFF")?;
    let (first_user_id, last_user_id) = insert_bulk(&mut conn, shape)?;
    // No ANALYZE: a server's database has no statistics unless its operator made them,
    // and with the STAT4 statistics of the bundled SQLite every statement would be
    // planned again for each value bound to it, which halves the rate of point reads.
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;

    Ok(Seeded {
        shape,
        first_user_id,
        last_user_id,
        scim_token,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn insert_bulk(conn: &mut Connection, shape: Shape) -> Result<(i64, i64)> {
    let now = chrono::Utc::now().timestamp_millis();
    let tx = conn.transaction()?;
    let bench_account: i64 = tx.query_row(
        "SELECT id FROM accounts WHERE app_key = ?1",
        [BENCH_APP_KEY],
        |row| row.get(0),
    )?;
    {
        let mut account = tx.prepare(
            "INSERT INTO accounts (app_key, name, secret_digest, user_count, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut role = tx.prepare("INSERT INTO roles (account_id, name) VALUES (?1, ?2)")?;
        let mut user = tx.prepare(
            "INSERT INTO account_users \
             (account_id, email, email_normalized, name, role, created_at, updated_at) \
             VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?5)",
        )?;
        let mut insert_user = |account_id: i64, email: &str, n: u64| -> rusqlite::Result<()> {
            // Every fourth user an admin, so that no write of the run meets the rule
            // that keeps the last admin.
            let role = DEFAULT_ROLES[(n % DEFAULT_ROLES.len() as u64) as usize];
            user.execute(params![account_id, email, format!("User {n}"), role, now])?;
            Ok(())
        };

        for n in 0..shape.bench_users {
            insert_user(bench_account, &bench_email(n), n)?;
        }

        let others = shape.accounts - 1;
        let other_users = shape.users - shape.bench_users;
        // The unused secret digest of the other accounts: nobody signs in to them.
        let digest = roster_store::secret::digest("not a secret of any benchmark client");
        for a in 0..others {
            let users = other_users / others + u64::from(a < other_users % others);
            account.execute(params![
                format!("seeded-{a}"),
                format!("Seeded account {a}"),
                digest,
                users as i64,
                now
            ])?;
            let account_id = tx.last_insert_rowid();
            for name in DEFAULT_ROLES {
                role.execute(params![account_id, name])?;
            }
            for n in 0..users {
                insert_user(account_id, &format!("u{n}@a{a}.example"), n)?;
            }
        }
    }
    tx.execute(
        "UPDATE accounts SET user_count = ?2 WHERE id = ?1",
        params![bench_account, shape.bench_users as i64],
    )?;
    let (first, last) = tx.query_row(
        "SELECT min(id), max(id) FROM account_users WHERE account_id = ?1",
        [bench_account],
        |row| Ok((row.get::<_, Option<i64>>(0)?, row.get::<_, Option<i64>>(1)?)),
    )?;
    tx.commit()?;
    Ok((first.unwrap_or(0), last.unwrap_or(0)))
}
