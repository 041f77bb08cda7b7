//! `roster users`: one account-users call each, against any server.

use futures::TryStreamExt;
use roster_client::AccountUserFields;

use super::{
    confirm::{ask, ensure_someone_to_ask},
    exit,
    output::{self, Format},
    provision::email_flag,
    remote::{failed, remote_help, RemoteArgs},
    Exit,
};
use crate::console::say;

#[derive(Debug, clap::Args)]
pub struct UsersArgs {
    #[command(subcommand)]
    command: UsersCommand,

    #[command(flatten)]
    remote: RemoteArgs,

    /// How to print users on stdout.
    #[arg(long, global = true, value_enum, default_value_t)]
    output: Format,
}

#[derive(Debug, clap::Subcommand)]
enum UsersCommand {
    /// List every user (all pages), or one page with --page.
    #[command(after_help = concat!(
        "Examples:\n  roster users list\n  roster users list --output csv > users.csv\n  \
         roster users list --page 2 --count 50 --output json\n\n",
        remote_help!()
    ))]
    List {
        /// Only this page, from 1.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        page: Option<u64>,
        /// Users per page, from 1 to 100.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100))]
        count: u64,
    },
    /// Show one user by id, or by email with --email.
    #[command(after_help = concat!(
        "Examples:\n  roster users get 42\n  roster users get --email ana@example.com --output json\n\n",
        remote_help!()
    ))]
    Get {
        #[arg(required_unless_present = "email", conflicts_with = "email")]
        id: Option<i64>,
        #[arg(long)]
        email: Option<String>,
    },
    /// Create a user (one call; see `roster provision` for an idempotent create).
    #[command(after_help = concat!(
        "Example:\n  roster users create --email ana@example.com --name \"Ana Silva\" --role admin\n\n",
        remote_help!()
    ))]
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// The role; the server's default (viewer on Roster) when left out.
        #[arg(long)]
        role: Option<String>,
    },
    /// Change some fields of a user; the others are kept.
    #[command(after_help = concat!(
        "Examples:\n  roster users update 42 --role staff\n  roster users update 42 --active false\n\n",
        remote_help!()
    ))]
    Update {
        id: i64,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        active: Option<bool>,
    },
    /// Delete a user; asks first on a terminal, and needs --yes otherwise.
    #[command(after_help = concat!(
        "Example:\n  roster users delete 42 --yes\n\n",
        remote_help!()
    ))]
    Delete {
        id: i64,
        /// Delete without asking.
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(args: UsersArgs) -> anyhow::Result<()> {
    let client = args.remote.client()?;
    let format = args.output;

    match args.command {
        UsersCommand::List {
            page: Some(page),
            count,
        } => {
            let list = client.list_page(page, count).await.map_err(failed)?;
            output::print_many(format, &list.account_users)?;
            say!(
                "page {page}: {} users of {}",
                list.account_users.len(),
                list.pagination.total
            );
        }
        UsersCommand::List { page: None, count } => {
            let users: Vec<_> = client
                .list_all_by(count)
                .try_collect()
                .await
                .map_err(failed)?;
            output::print_many(format, &users)?;
        }
        UsersCommand::Get { id: Some(id), .. } => {
            let user = client.get_user(id).await.map_err(failed)?;
            output::print_one(format, &user)?;
        }
        UsersCommand::Get { email, .. } => {
            let email = email.expect("clap requires an id or --email");
            let user = super::provision::find(&client, &email).await?;
            output::print_one(format, &user)?;
        }
        UsersCommand::Create { email, name, role } => {
            let fields = AccountUserFields {
                email: Some(email_flag(&email)?.to_owned()),
                name: name.map(Some),
                role,
                active: None,
            };
            let user = client.create_user(&fields).await.map_err(failed)?;
            output::print_one(format, &user)?;
        }
        UsersCommand::Update {
            id,
            email,
            name,
            role,
            active,
        } => {
            let fields = AccountUserFields {
                email: email
                    .as_deref()
                    .map(email_flag)
                    .transpose()?
                    .map(str::to_owned),
                name: name.map(Some),
                role,
                active,
            };
            if fields == AccountUserFields::default() {
                return Err(Exit {
                    code: exit::USAGE,
                    message: "nothing to change: give --email, --name, --role or --active".into(),
                }
                .into());
            }
            let user = client.update_user(id, &fields).await.map_err(failed)?;
            output::print_one(format, &user)?;
        }
        UsersCommand::Delete { id, yes } => {
            if !yes {
                ensure_someone_to_ask(&format!("delete user {id}"))?;

                // Show whom the answer is about; an unknown id stops here.
                let user = client.get_user(id).await.map_err(failed)?;
                ask(&format!(
                    "delete user {id} ({}, role {})",
                    user.email, user.role
                ))?;
            }
            client.delete_user(id).await.map_err(failed)?;
            say!("deleted user {id}");
        }
    }
    Ok(())
}
