//! `roster bridge`: SCIM 2.0 in front of a remote account-users API that has none.
//!
//! The SCIM module of `roster serve` runs unchanged over a
//! [`roster_client::RemoteDirectory`], which turns each SCIM call into account-users
//! calls with the client's token refresh, pacing and retries. Identity providers
//! authenticate with one bridge token (`ROSTER_BRIDGE_TOKEN`); the upstream account's
//! app key and secret come from `ROSTER_APP_KEY` and `ROSTER_SECRET`, never from flags.
//! What the upstream cannot hold (inactive users, `externalId`, its role catalogue) is
//! described in the client's `directory` module and the README.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use roster_client::{Client, ClientConfig, Deactivation, RemoteDirectory};
use roster_core::RoleName;
use roster_server::scim::{BridgeDirectory, ScimState};

use super::{
    exit,
    serve::{bind, shutdown_signal},
    Exit,
};

/// The shortest bridge token accepted: it is the only thing between the internet and
/// the upstream account.
const MIN_TOKEN_LEN: usize = 20;

/// Serve SCIM 2.0 at /scim/v2 in front of a remote account-users API.
///
/// Every SCIM call becomes calls of the upstream's account-users API. The upstream has
/// no inactive state: a SCIM deactivation deletes the user there unless
/// `--deactivate keep`. It keeps no externalId, and its roles cannot be created,
/// renamed or deleted through the bridge.
#[derive(Clone, Debug, clap::Args)]
#[command(
    after_help = "Environment (never flags, so they stay out of shell history):\n  \
    ROSTER_APP_KEY, ROSTER_SECRET   the upstream account's credentials\n  \
    ROSTER_BRIDGE_TOKEN             the bearer token identity providers must send \
    (at least 20 characters)\n\n\
    Example:\n  ROSTER_APP_KEY=... ROSTER_SECRET=... ROSTER_BRIDGE_TOKEN=$(openssl rand -hex 24) \\\n    \
    roster bridge --upstream https://api.yotpo.com --listen 127.0.0.1:8090 --pace 50"
)]
pub struct BridgeArgs {
    /// The upstream account-users API's root URL, e.g. https://api.yotpo.com.
    // A URL may hold credentials, so --help does not show the variable's value.
    #[arg(long, env = "ROSTER_UPSTREAM", hide_env_values = true)]
    pub upstream: String,

    /// Address and port to listen on; port 0 picks a free one.
    #[arg(long, env = "ROSTER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// The upstream's role catalogue, comma-separated, since it does not publish one.
    /// Roles seen in use are added to it.
    #[arg(
        long,
        env = "ROSTER_BRIDGE_ROLES",
        default_value = "admin,staff,insights_only,viewer",
        value_delimiter = ',',
        value_parser = parse_role
    )]
    pub roles: Vec<RoleName>,

    /// What a SCIM deactivation (active: false) does: delete the user upstream, or keep
    /// them (they stay active upstream and are reported active).
    #[arg(long, env = "ROSTER_BRIDGE_DEACTIVATE", value_enum, default_value_t)]
    pub deactivate: DeactivateMode,

    /// Requests a second never to exceed upstream, set below its known limit (0: no
    /// pacing).
    #[arg(long, env = "ROSTER_PACE", default_value_t = 0)]
    pub pace: u32,

    /// Attempts per upstream call, the first included, on 429s, 5xx and connection
    /// errors.
    #[arg(long, env = "ROSTER_MAX_ATTEMPTS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_attempts: u32,

    /// Seconds an upstream call may spend retrying, waits included, before giving up.
    #[arg(long, env = "ROSTER_MAX_RETRY_TIME", default_value_t = 30)]
    pub max_retry_time: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DeactivateMode {
    /// Delete the user upstream.
    #[default]
    Delete,
    /// Keep the user upstream, still active.
    Keep,
}

fn parse_role(raw: &str) -> Result<RoleName, String> {
    RoleName::parse(raw.trim()).map_err(|e| format!("{raw:?}: {e}"))
}

/// A required variable, or a usage error that says how to set it.
fn required_env(name: &str, what: &str) -> anyhow::Result<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Exit {
                code: exit::USAGE,
                message: format!("{name} is not set: {what}"),
            }
            .into()
        })
}

pub async fn run(args: BridgeArgs) -> anyhow::Result<()> {
    let bridge_token = required_env(
        "ROSTER_BRIDGE_TOKEN",
        "set it to the bearer token identity providers will send (at least 20 characters)",
    )?;
    if bridge_token.trim().len() < MIN_TOKEN_LEN {
        return Err(Exit {
            code: exit::USAGE,
            message: format!(
                "ROSTER_BRIDGE_TOKEN must be at least {MIN_TOKEN_LEN} characters; \
                 make one with `openssl rand -hex 24`"
            ),
        }
        .into());
    }
    let app_key = required_env("ROSTER_APP_KEY", "set it to the upstream account's app key")?;
    let secret = required_env("ROSTER_SECRET", "set it to the upstream account's secret")?;

    let config = ClientConfig::new(&args.upstream, app_key, secret)
        .with_pace(args.pace)
        .with_retry_limits(args.max_attempts, Duration::from_secs(args.max_retry_time));
    let client = Client::new(config).map_err(|e| Exit {
        code: exit::USAGE,
        message: e.to_string(),
    })?;

    // Fail at start-up, not on the identity provider's first call, when the upstream
    // or the credentials are wrong.
    client
        .list_page(1, 1)
        .await
        .context("cannot reach the upstream account-users API with these credentials")?;

    let deactivation = match args.deactivate {
        DeactivateMode::Delete => Deactivation::Delete,
        DeactivateMode::Keep => Deactivation::Keep,
    };
    let directory = RemoteDirectory::new(client, &args.roles, deactivation);
    let scim = ScimState::new(BridgeDirectory::new(
        bridge_token.trim(),
        Arc::new(directory),
    ));

    let shutdown = shutdown_signal()?;
    let listener = bind(&args.listen).await?;
    tracing::info!(?deactivation, "serving SCIM in front of the upstream");

    roster_server::serve_router(listener, roster_server::bridge_router(scim), shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}
