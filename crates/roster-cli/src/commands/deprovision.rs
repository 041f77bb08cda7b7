//! `roster deprovision`: remove the account user of someone who left.

use super::{
    confirm::confirm,
    output::{self, Format},
    provision::find,
    remote::{failed, remote_help, RemoteArgs},
};
use crate::console::say;

/// Find the user by email and delete them, after asking.
///
/// On a terminal it asks first; in a script, --yes says yes (without it, and without a
/// terminal, nothing is deleted). The deleted user is printed on stdout, for the record.
/// Deleting the account user does not end the person's sessions at your identity
/// provider: do that there.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n  roster deprovision --email bo@example.com\n  \
     roster deprovision --email bo@example.com --yes --output json >> deprovisioned.log\n  \
     roster deprovision --email bo@example.com --dry-run\n\n",
    remote_help!()
))]
pub struct DeprovisionArgs {
    #[arg(long)]
    email: String,

    /// Delete without asking.
    #[arg(long)]
    yes: bool,

    /// Say who would be deleted, and delete nobody.
    #[arg(long)]
    dry_run: bool,

    /// How to print the deleted user on stdout.
    #[arg(long, value_enum, default_value_t)]
    output: Format,

    #[command(flatten)]
    remote: RemoteArgs,
}

pub async fn run(args: DeprovisionArgs) -> anyhow::Result<()> {
    let client = args.remote.client()?;
    let user = find(&client, &args.email).await?;
    let who = format!("user {} ({}, role {})", user.id, user.email, user.role);

    if args.dry_run {
        say!("dry run: would delete {who}");
        return output::print_one(args.output, &user);
    }
    confirm(args.yes, &format!("delete {who}"))?;

    match client.delete_user(user.id).await {
        Ok(()) => say!("deleted {who}"),
        // Someone else (or a retry of this very delete whose answer was lost) got there
        // first: the user is gone either way.
        Err(e) if e.is_not_found() => say!("{who} was already gone"),
        Err(e) => return Err(failed(e)),
    }
    say!(
        "note: this does not end {}'s sessions at your identity provider (Okta, Entra ID, \
         Google...); end them there, or they last until they expire",
        user.email
    );
    output::print_one(args.output, &user)
}
