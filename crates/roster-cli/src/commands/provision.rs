//! `roster provision`: make sure a person has an account user, safe to run again.

use roster_client::{AccountUser, AccountUserFields, Client, ErrorType};

use super::{
    exit,
    output::{self, Format},
    remote::{failed, remote_help, RemoteArgs},
    Exit,
};
use crate::console::say;

/// Create a user unless one with this email exists; change an existing one only with
/// --update.
///
/// Running it again is safe: an existing user that already matches is reported and left
/// alone (exit 0). One whose role or name differs, or who was deactivated, is left
/// alone too, with what differs on stderr and exit code 4, unless --update is given.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n  roster provision --email ana@example.com --role admin --name \"Ana Silva\"\n  \
     roster provision --email ana@example.com --role staff --update\n  \
     roster provision --email ana@example.com --role staff --dry-run\n\n",
    remote_help!()
))]
pub struct ProvisionArgs {
    #[arg(long)]
    email: String,

    /// The role; the server's default (viewer on Roster) when a new user is created
    /// without one.
    #[arg(long)]
    role: Option<String>,

    #[arg(long)]
    name: Option<String>,

    /// Bring an existing user's role and name in line with the ones given, and
    /// reactivate a deactivated user.
    #[arg(long)]
    update: bool,

    /// Say what would be done, and change nothing.
    #[arg(long)]
    dry_run: bool,

    /// How to print the user on stdout.
    #[arg(long, value_enum, default_value_t)]
    output: Format,

    #[command(flatten)]
    remote: RemoteArgs,
}

pub async fn run(args: ProvisionArgs) -> anyhow::Result<()> {
    let email = email_flag(&args.email)?;
    let client = args.remote.client()?;

    let user = match client.find_by_email(email).await.map_err(failed)? {
        Some(user) => user,
        None => match create(&client, &args).await? {
            Created::Done => return Ok(()),
            // Another run (or anyone) created it between the look-up and the create;
            // provisioning is about the user existing, so this run goes on with that one.
            Created::Taken => match client.find_by_email(email).await.map_err(failed)? {
                Some(user) => {
                    say!("{} was created meanwhile, as user {}", user.email, user.id);
                    user
                }
                None => {
                    return Err(Exit {
                        code: exit::CONFLICT,
                        message: format!(
                            "the server says {email} is taken, but no user with it can be \
                             found; nothing was changed"
                        ),
                    }
                    .into())
                }
            },
        },
    };

    let changes = Changes::between(&user, &args);
    if changes.is_empty() {
        say!(
            "{} is already user {} with role {}; nothing to change",
            user.email,
            user.id,
            user.role
        );
        return output::print_one(args.output, &user);
    }

    if !args.update {
        return Err(Exit {
            code: exit::CONFLICT,
            message: format!(
                "{} is user {} but differs: {}. Nothing was changed; run again \
                 with --update to apply this",
                user.email,
                user.id,
                changes.differences()
            ),
        }
        .into());
    }
    if args.dry_run {
        say!(
            "dry run: would update user {}: {}",
            user.id,
            changes.applied()
        );
        return Ok(());
    }

    let updated = client
        .update_user(user.id, &changes.fields)
        .await
        .map_err(failed)?;
    say!("updated user {}: {}", updated.id, changes.applied());
    output::print_one(args.output, &updated)
}

/// How a create ended.
enum Created {
    /// Created and printed, or described by a dry run.
    Done,
    /// The server already holds a user with this email.
    Taken,
}

async fn create(client: &Client, args: &ProvisionArgs) -> anyhow::Result<Created> {
    let role = args.role.as_deref().unwrap_or("the server's default");
    if args.dry_run {
        say!("dry run: would create {} with role {role}", args.email);
        return Ok(Created::Done);
    }

    let fields = AccountUserFields {
        email: Some(args.email.clone()),
        name: args.name.clone().map(Some),
        role: args.role.clone(),
        active: None,
    };
    let user = match client.create_user(&fields).await {
        Ok(user) => user,
        Err(e) if e.kind() == Some(ErrorType::RecordNotUnique) => return Ok(Created::Taken),
        Err(e) => return Err(failed(e)),
    };
    say!(
        "created user {} ({}, role {})",
        user.id,
        user.email,
        user.role
    );
    output::print_one(args.output, &user)?;
    Ok(Created::Done)
}

/// What an update would have to change to match the flags.
struct Changes {
    fields: AccountUserFields,
    /// How the user differs, as "role is staff, not admin".
    differences: Vec<String>,
    /// What an update changes, as "role staff -> admin".
    applied: Vec<String>,
}

impl Changes {
    fn between(user: &AccountUser, args: &ProvisionArgs) -> Changes {
        let mut changes = Changes {
            fields: AccountUserFields::default(),
            differences: Vec::new(),
            applied: Vec::new(),
        };

        if let Some(role) = args.role.as_ref().filter(|r| **r != user.role) {
            changes
                .differences
                .push(format!("role is {}, not {role}", user.role));
            changes
                .applied
                .push(format!("role {} -> {role}", user.role));
            changes.fields.role = Some(role.clone());
        }

        // The server stores a blank name as no name.
        let wanted_name = args.name.as_deref().map(str::trim);
        let current_name = user.name.as_deref().unwrap_or("");
        if let Some(name) = wanted_name.filter(|n| *n != current_name) {
            changes
                .differences
                .push(format!("name is {current_name:?}, not {name:?}"));
            changes
                .applied
                .push(format!("name {current_name:?} -> {name:?}"));
            changes.fields.name = Some(Some(name.to_owned()));
        }

        if !user.active {
            changes
                .differences
                .push("the user is deactivated".to_owned());
            changes.applied.push("reactivated".to_owned());
            changes.fields.active = Some(true);
        }

        changes
    }

    fn is_empty(&self) -> bool {
        self.differences.is_empty()
    }

    fn differences(&self) -> String {
        self.differences.join("; ")
    }

    fn applied(&self) -> String {
        self.applied.join("; ")
    }
}

/// An `--email` as given, refused before any request when it is empty or has spaces
/// around it: the server would answer about a query parameter the user never wrote.
pub fn email_flag(raw: &str) -> Result<&str, Exit> {
    let usage = |message: String| Exit {
        code: exit::USAGE,
        message,
    };
    if raw.trim().is_empty() {
        return Err(usage("--email must not be empty".to_owned()));
    }
    if raw.trim() != raw {
        return Err(usage(format!(
            "--email {raw:?} has spaces around it; remove them"
        )));
    }
    Ok(raw)
}

/// The user with this email address, or the not-found exit code.
pub async fn find(client: &Client, email: &str) -> anyhow::Result<AccountUser> {
    let email = email_flag(email)?;
    match client.find_by_email(email).await.map_err(failed)? {
        Some(user) => Ok(user),
        None => Err(Exit {
            code: exit::NOT_FOUND,
            message: format!("no user has the email address {email}"),
        }
        .into()),
    }
}
