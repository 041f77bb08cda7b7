//! `roster accounts`: operator commands on the database directly, no server needed.

use roster_core::RoleName;

use super::{exit, DatabaseArgs, Exit};
use crate::console::{out, say};

#[derive(Debug, clap::Subcommand)]
pub enum AccountsCommand {
    /// Create an account and print its app key and secret (the secret is shown once).
    #[command(after_help = "Example:\n  roster accounts create --name \"Acme Inc\"")]
    Create {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List accounts with their user counts.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Replace an account's secret and revoke its tokens; prints the new secret.
    RotateSecret {
        app_key: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke every access token of an account at once.
    RevokeTokens {
        app_key: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Print a new SCIM bearer token for the account, or revoke all of them with --revoke.
    ///
    /// The token does not expire; give each identity provider its own. It is stored
    /// only as a digest, so it is shown once.
    #[command(after_help = "Example:\n  roster accounts scim-token APP_KEY > okta-token.txt")]
    ScimToken {
        app_key: String,
        /// Revoke every SCIM token of the account instead of issuing one.
        #[arg(long)]
        revoke: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Show an account's role catalogue, or replace it with --set.
    #[command(
        after_help = "Example:\n  roster accounts roles APP_KEY --set admin,staff,viewer,billing"
    )]
    Roles {
        app_key: String,
        /// The whole new catalogue, comma-separated; must keep `admin` and `viewer`
        /// (the role of users created without one).
        #[arg(long, value_delimiter = ',')]
        set: Option<Vec<String>>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// Account names are shown in tables and logs, so they must be printable.
fn check_account_name(name: &str) -> Result<&str, Exit> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(Exit {
            code: exit::USAGE,
            message: "--name must be 1 to 255 printable characters".to_owned(),
        });
    }
    Ok(name)
}

pub async fn run(command: AccountsCommand) -> anyhow::Result<()> {
    // Each command finishes its work before it prints, so that a failure leaves stdout
    // empty and a script never reads a header or half a table as a result.
    match command {
        AccountsCommand::Create { name, database } => {
            let name = check_account_name(&name)?;
            // The one operator command that may start a new database.
            let store = database.open().await?;
            let credentials = store.create_account(name).await?;
            out!(
                "app_key: {}\nsecret:  {}",
                credentials.app_key,
                credentials.secret
            )?;
        }
        AccountsCommand::List { database } => {
            let store = database.open_existing().await?;
            let accounts = store.list_accounts().await?;
            let mut table = format!("{:<42} {:>8}  name", "APP_KEY", "USERS");
            for account in accounts {
                table.push_str(&format!(
                    "\n{:<42} {:>8}  {}",
                    account.app_key, account.user_count, account.name
                ));
            }
            out!("{table}")?;
        }
        AccountsCommand::RotateSecret { app_key, database } => {
            let store = database.open_existing().await?;
            let credentials = store.rotate_secret(&app_key).await?;
            out!("secret:  {}", credentials.secret)?;
            say!("the old secret and every token issued under it no longer work");
        }
        AccountsCommand::RevokeTokens { app_key, database } => {
            let store = database.open_existing().await?;
            let revoked = store.revoke_tokens(&app_key).await?;
            say!("revoked {revoked} tokens");
        }
        AccountsCommand::ScimToken {
            app_key,
            revoke,
            database,
        } => {
            let store = database.open().await?;
            if revoke {
                let revoked = store.revoke_scim_tokens(&app_key).await?;
                say!("revoked {revoked} SCIM tokens");
            } else {
                let token = store.issue_scim_token(&app_key).await?;
                out!("{token}")?;
                say!(
                    "send it as \"Authorization: Bearer <token>\" to /scim/v2; it is not shown again"
                );
            }
        }
        AccountsCommand::Roles {
            app_key,
            set,
            database,
        } => {
            let store = database.open_existing().await?;
            if let Some(names) = set {
                let roles = names
                    .iter()
                    .map(|n| {
                        RoleName::parse(n.trim()).map_err(|e| Exit {
                            code: exit::USAGE,
                            message: format!("invalid role {n:?}: {e}"),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                store.set_roles(&app_key, &roles).await?;
            }
            let roles = store.roles(&app_key).await?;
            let mut table = format!("{:<32} {:>8}", "ROLE", "USERS");
            for role in roles {
                table.push_str(&format!("\n{:<32} {:>8}", role.name, role.members));
            }
            out!("{table}")?;
        }
    }
    Ok(())
}
