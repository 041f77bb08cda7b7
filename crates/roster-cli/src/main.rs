//! `roster`: the account-users service, the operator commands that work on its database
//! directly, and the lifecycle toolkit that talks to any account-users API.
//!
//! Data goes to stdout and everything else (progress, warnings, logs) to stderr, so the
//! output of any command can be piped or redirected.

mod commands;
mod logging;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "roster",
    version,
    about = "Account users: the service and the toolkit"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(
        long,
        global = true,
        env = "ROSTER_LOG_FORMAT",
        value_enum,
        default_value_t
    )]
    log_format: logging::LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Serve(commands::serve::ServeArgs),
    /// Create the database if needed and bring its schema up to date, then exit.
    Migrate(commands::DatabaseArgs),
    #[command(subcommand)]
    Accounts(commands::accounts::AccountsCommand),
    /// Print the OpenAPI 3.1 document of the HTTP API, as `GET /openapi.json` serves it.
    Openapi,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);

    let result = match cli.command {
        Command::Serve(args) => commands::serve::run(args).await,
        Command::Migrate(args) => commands::migrate(args).await,
        Command::Accounts(command) => commands::accounts::run(command).await,
        Command::Openapi => {
            print!("{}", roster_server::openapi::document_json());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            commands::exit_code(&e)
        }
    }
}
