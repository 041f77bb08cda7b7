//! `roster provision`: make sure a person has an account user, safe to run again.

use roster_client::{AccountUser, AccountUserFields, Client};

use super::{
    exit,
    output::{self, Format},
    remote::{failed, remote_help, RemoteArgs},
    Exit,
};

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
    let client = args.remote.client()?;
    let existing = client.find_by_email(&args.email).await.map_err(failed)?;

    let Some(user) = existing else {
        return create(&client, &args).await;
    };

    let changes = Changes::between(&user, &args);
    if changes.is_empty() {
        eprintln!(
            "{} is already user {} with role {}; nothing to change",
            user.email, user.id, user.role
        );
        return output::print_one(args.output, &user);
    }

    let described = changes.describe();
    if !args.update {
        return Err(Exit {
            code: exit::CONFLICT,
            message: format!(
                "{} is user {} but differs: {described}. Nothing was changed; run again \
                 with --update to apply this",
                user.email, user.id
            ),
        }
        .into());
    }
    if args.dry_run {
        eprintln!("dry run: would update user {}: {described}", user.id);
        return Ok(());
    }

    let updated = client
        .update_user(user.id, &changes.fields)
        .await
        .map_err(failed)?;
    eprintln!("updated user {}: {described}", updated.id);
    output::print_one(args.output, &updated)
}

async fn create(client: &Client, args: &ProvisionArgs) -> anyhow::Result<()> {
    let role = args.role.as_deref().unwrap_or("the server's default");
    if args.dry_run {
        eprintln!("dry run: would create {} with role {role}", args.email);
        return Ok(());
    }

    let fields = AccountUserFields {
        email: Some(args.email.clone()),
        name: args.name.clone().map(Some),
        role: args.role.clone(),
        active: None,
    };
    let user = client.create_user(&fields).await.map_err(failed)?;
    eprintln!(
        "created user {} ({}, role {})",
        user.id, user.email, user.role
    );
    output::print_one(args.output, &user)
}

/// What an update would have to change to match the flags.
struct Changes {
    fields: AccountUserFields,
    described: Vec<String>,
}

impl Changes {
    fn between(user: &AccountUser, args: &ProvisionArgs) -> Changes {
        let mut fields = AccountUserFields::default();
        let mut described = Vec::new();

        if let Some(role) = args.role.as_ref().filter(|r| **r != user.role) {
            described.push(format!("role is {}, not {role}", user.role));
            fields.role = Some(role.clone());
        }

        // The server stores a blank name as no name.
        let wanted_name = args.name.as_deref().map(str::trim);
        let current_name = user.name.as_deref().unwrap_or("");
        if let Some(name) = wanted_name.filter(|n| *n != current_name) {
            described.push(format!("name is {current_name:?}, not {name:?}"));
            fields.name = Some(Some(name.to_owned()));
        }

        if !user.active {
            described.push("the user is deactivated".to_owned());
            fields.active = Some(true);
        }

        Changes { fields, described }
    }

    fn is_empty(&self) -> bool {
        self.described.is_empty()
    }

    fn describe(&self) -> String {
        self.described.join("; ")
    }
}

/// The user with this email address, or the not-found exit code.
pub async fn find(client: &Client, email: &str) -> anyhow::Result<AccountUser> {
    match client.find_by_email(email).await.map_err(failed)? {
        Some(user) => Ok(user),
        None => Err(Exit {
            code: exit::NOT_FOUND,
            message: format!("no user has the email address {email}"),
        }
        .into()),
    }
}
