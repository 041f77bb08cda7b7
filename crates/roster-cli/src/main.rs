//! `roster`: the account-users service, the operator commands that work on its database
//! directly, and the lifecycle toolkit that talks to any account-users API.
//!
//! Data goes to stdout and everything else (progress, warnings, logs) to stderr, so the
//! output of any command can be piped or redirected.

// Every line goes through `console`, which does not panic on a closed stream.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod commands;
mod console;
mod logging;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "roster",
    version,
    about = "Account users: the service and the toolkit",
    after_help = "Exit codes: 0 done, 1 failure, 2 usage, 3 not found, 4 conflict."
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
    Bridge(commands::bridge::BridgeArgs),
    /// Create the database if needed and bring its schema up to date, then exit.
    Migrate(commands::DatabaseArgs),
    /// Operator commands on the database directly: accounts, secrets, tokens, roles.
    #[command(subcommand)]
    Accounts(commands::accounts::AccountsCommand),
    /// Account users on any server, one call each: list, get, create, update, delete.
    Users(commands::users::UsersArgs),
    Provision(commands::provision::ProvisionArgs),
    Deprovision(commands::deprovision::DeprovisionArgs),
    Audit(commands::audit::AuditArgs),
    Roles(commands::roles::RolesArgs),
    Login(commands::login::LoginArgs),
    /// Print the OpenAPI 3.1 document of the HTTP API, as `GET /openapi.json` serves it.
    Openapi,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);

    let result = match cli.command {
        Command::Serve(args) => commands::serve::run(args).await,
        Command::Bridge(args) => commands::bridge::run(args).await,
        Command::Migrate(args) => commands::migrate(args).await,
        Command::Accounts(command) => commands::accounts::run(command).await,
        Command::Users(args) => commands::users::run(args).await,
        Command::Provision(args) => commands::provision::run(args).await,
        Command::Deprovision(args) => commands::deprovision::run(args).await,
        Command::Audit(args) => commands::audit::run(args).await,
        Command::Roles(args) => commands::roles::run(args).await,
        Command::Login(args) => commands::login::run(args).await,
        Command::Openapi => console::data_text(&roster_server::openapi::document_json()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            console::say!("error: {e:#}");
            commands::exit_code(&e)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every argument of `command` and its subcommands, with the command's name.
    fn arguments(command: &clap::Command, found: &mut Vec<(String, clap::Arg)>) {
        for arg in command.get_arguments() {
            found.push((command.get_name().to_owned(), arg.clone()));
        }
        for sub in command.get_subcommands() {
            arguments(sub, found);
        }
    }

    #[test]
    fn every_flag_whose_variable_may_hold_a_password_hides_its_value_in_help() {
        let mut found = Vec::new();
        arguments(&Cli::command(), &mut found);

        let mut checked = 0;
        for (command, arg) in found {
            let Some(variable) = arg.get_env().and_then(|v| v.to_str()) else {
                continue;
            };
            // URLs may carry user:password; secrets should never be flags at all, but
            // one that became a flag must not show either.
            if variable
                .split('_')
                .any(|word| ["URL", "UPSTREAM", "SECRET", "PASSWORD"].contains(&word))
            {
                assert!(
                    arg.is_hide_env_values_set(),
                    "{command} --{}: {variable}",
                    arg.get_id()
                );
                checked += 1;
            }
        }
        assert!(checked >= 3, "the database URL, base URL and upstream");
    }
}
