//! `roster roles`: the role values in use, counted over every user.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    audit::walk,
    output::{self, Format, Record},
    remote::{remote_help, RemoteArgs},
};

/// Count the users of each role, over every user of the account.
///
/// The vendor publishes no list of role values; this shows the ones in use, which are
/// the ones known to be accepted. (On a Roster server, an operator sees the whole
/// catalogue with `roster accounts roles`.)
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n  roster roles\n  roster roles --output json\n\n",
    remote_help!()
))]
pub struct RolesArgs {
    /// How to print the counts on stdout.
    #[arg(long, value_enum, default_value_t)]
    output: Format,

    #[command(flatten)]
    remote: RemoteArgs,
}

#[derive(Debug, Serialize)]
struct RoleCount {
    role: String,
    users: u64,
}

impl Record for RoleCount {
    const HEADERS: &'static [&'static str] = &["role", "users"];

    fn cells(&self) -> Vec<String> {
        vec![self.role.clone(), self.users.to_string()]
    }
}

pub async fn run(args: RolesArgs) -> anyhow::Result<()> {
    let client = args.remote.client()?;
    let users = walk(&client).await?;

    let mut counts = BTreeMap::<String, u64>::new();
    for user in users {
        *counts.entry(user.role).or_default() += 1;
    }
    let mut roles: Vec<RoleCount> = counts
        .into_iter()
        .map(|(role, users)| RoleCount { role, users })
        .collect();
    roles.sort_by(|a, b| b.users.cmp(&a.users).then_with(|| a.role.cmp(&b.role)));

    output::print_many(args.output, &roles)
}
