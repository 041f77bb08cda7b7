//! One module per command.

pub mod accounts;
pub mod audit;
pub mod bridge;
mod confirm;
pub mod deprovision;
pub mod login;
mod output;
mod profile;
pub mod provision;
mod remote;
pub mod roles;
pub mod serve;
pub mod users;

use std::process::ExitCode;

use roster_store::{Store, StoreError};

use crate::console::say;

/// Exit codes, so scripts can tell what went wrong without reading messages.
pub mod exit {
    /// Bad flags or arguments (clap uses the same).
    pub const USAGE: u8 = 2;
    pub const NOT_FOUND: u8 = 3;
    /// The change was refused as things stand: the email is taken, the last admin would
    /// go, or `roster provision` found a user who differs and was not told `--update`.
    pub const CONFLICT: u8 = 4;
    /// Anything else: the server, the database or the network failed.
    pub const FAILURE: u8 = 1;
}

/// A failure that knows its exit code.
#[derive(Debug)]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

pub fn exit_code(e: &anyhow::Error) -> ExitCode {
    if let Some(exit) = e.downcast_ref::<Exit>() {
        return ExitCode::from(exit.code);
    }
    match e.downcast_ref::<StoreError>() {
        Some(StoreError::AccountNotFound(_)) => ExitCode::from(exit::NOT_FOUND),
        Some(StoreError::Invalid(_)) => ExitCode::from(exit::USAGE),
        _ => ExitCode::from(exit::FAILURE),
    }
}

/// Where the directory lives.
#[derive(Clone, Debug, clap::Args)]
pub struct DatabaseArgs {
    /// The database: sqlite://PATH (created on first start) or postgres://USER@HOST/DB.
    // The URL may hold a password, so --help does not show the variable's value.
    #[arg(
        long,
        env = "ROSTER_DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite://roster.db"
    )]
    pub database_url: String,
}

impl DatabaseArgs {
    /// Opens the database, creating and migrating it when needed.
    pub async fn open(&self) -> anyhow::Result<Store> {
        Ok(Store::open(&self.database_url).await?)
    }

    /// Opens a database that must exist already, as operator commands need.
    pub async fn open_existing(&self) -> anyhow::Result<Store> {
        Ok(Store::open_existing(&self.database_url).await?)
    }
}

pub async fn migrate(args: DatabaseArgs) -> anyhow::Result<()> {
    args.open().await?;
    say!("database is up to date");
    Ok(())
}
