//! `roster serve`: the account-users API on a socket.

use std::{future::Future, time::Duration};

use anyhow::Context;
use roster_server::{AppState, ServerConfig};
use roster_store::{Bootstrap, Store};
use tokio::net::TcpListener;

use super::{exit, DatabaseArgs, Exit};
use crate::console::{out, say};

/// Serve the account-users API.
///
/// With ROSTER_BOOTSTRAP_APP_KEY and ROSTER_BOOTSTRAP_SECRET set, that account is made
/// to exist at start-up (the app key of 1 to 64 characters of A-Z, a-z, 0-9, '_', '.'
/// and '-', the secret of at least 16). Otherwise the first start on an empty database
/// creates one account and prints its credentials once, on stdout.
#[derive(Clone, Debug, clap::Args)]
#[command(
    after_help = "Example:\n  ROSTER_BOOTSTRAP_APP_KEY=demo ROSTER_BOOTSTRAP_SECRET=demo-secret-0123456789 \\\n    roster serve --listen 127.0.0.1:8080"
)]
pub struct ServeArgs {
    /// Address and port to listen on, such as 127.0.0.1:8080 or localhost:8080; port 0
    /// picks a free one.
    #[arg(long, env = "ROSTER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Lifetime of issued access tokens, in seconds, from 1 to 10 years' worth
    /// (default: 14 days, as the vendor's).
    #[arg(long, env = "ROSTER_TOKEN_TTL", default_value_t = 14 * 24 * 60 * 60,
          value_parser = clap::value_parser!(u64).range(1..=10 * 365 * 24 * 60 * 60))]
    pub token_ttl: u64,

    /// Account-users requests a minute allowed for each app_key, over all nodes; 0 turns
    /// the limit off.
    #[arg(long, env = "ROSTER_RATE_LIMIT", default_value_t = 5000)]
    pub rate_limit: u32,

    /// /oauth/token requests a minute allowed for each client_id and for each source
    /// address, over all nodes; 0 turns the limit off.
    #[arg(long, env = "ROSTER_TOKEN_RATE_LIMIT", default_value_t = 60)]
    pub token_rate_limit: u32,

    /// How many servers share the load behind a balancer; each enforces 1/N of the
    /// rate limits, so that together they allow about the configured figure.
    #[arg(long, env = "ROSTER_NODES", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub nodes: u32,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    // Checked before the database is opened, so that a mistake creates nothing.
    let plan = bootstrap_plan()?;
    let store = args.database.open().await?;
    bootstrap(&store, plan).await?;
    let shutdown = shutdown_signal()?;

    let listener = bind(&args.listen).await?;

    let config = ServerConfig {
        token_ttl: Duration::from_secs(args.token_ttl),
        rate_limit: args.rate_limit,
        token_rate_limit: args.token_rate_limit,
        nodes: args.nodes,
    };
    roster_server::serve(listener, AppState::new(store, config), shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Binds the listener and says where, before serving: tests and scripts wait for the
/// "roster listening on" line on stderr.
pub(super) async fn bind(listen: &str) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    say!("roster listening on http://{address}");
    tracing::info!(%address, "listening");
    Ok(listener)
}

/// What the bootstrap variables ask for at start-up.
enum BootstrapPlan {
    /// Make sure this account exists.
    Account { app_key: String, secret: String },
    /// Create a first account if the database has none.
    FirstAccount,
}

const APP_KEY_VAR: &str = "ROSTER_BOOTSTRAP_APP_KEY";
const SECRET_VAR: &str = "ROSTER_BOOTSTRAP_SECRET";

/// Reads and checks the bootstrap variables. An empty variable counts as unset, as
/// container tools often pass one.
fn bootstrap_plan() -> Result<BootstrapPlan, Exit> {
    let usage = |message: String| Exit {
        code: exit::USAGE,
        message,
    };
    let read = |name: &str| match std::env::var(name) {
        Ok(value) if value.is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(usage(format!("{name} must be UTF-8"))),
    };
    match (read(APP_KEY_VAR)?, read(SECRET_VAR)?) {
        (Some(app_key), Some(secret)) => {
            roster_store::check_bootstrap(&app_key, &secret)
                .map_err(|e| usage(format!("{APP_KEY_VAR} and {SECRET_VAR}: {e}")))?;
            Ok(BootstrapPlan::Account { app_key, secret })
        }
        (None, None) => Ok(BootstrapPlan::FirstAccount),
        (Some(_), None) => Err(usage(format!(
            "{APP_KEY_VAR} is set but {SECRET_VAR} is not: set both, or neither"
        ))),
        (None, Some(_)) => Err(usage(format!(
            "{SECRET_VAR} is set but {APP_KEY_VAR} is not: set both, or neither"
        ))),
    }
}

/// Makes sure the account of the bootstrap variables exists, or on an empty database
/// creates a first account so that the server is usable at once.
async fn bootstrap(store: &Store, plan: BootstrapPlan) -> anyhow::Result<()> {
    match plan {
        BootstrapPlan::Account { app_key, secret } => {
            let found = store
                .ensure_account(&app_key, &secret)
                .await
                .with_context(|| format!("{APP_KEY_VAR} and {SECRET_VAR}"))?;
            match found {
                Bootstrap::Created => tracing::info!("bootstrap account created"),
                Bootstrap::Exists => tracing::info!("bootstrap account is ready"),
                Bootstrap::SecretDiffers => tracing::warn!(
                    "the bootstrap account exists with another secret, which is kept \
                     (it was rotated since); ROSTER_BOOTSTRAP_SECRET does not work for it"
                ),
            }
        }
        BootstrapPlan::FirstAccount => {
            if let Some(credentials) = store.create_first_account("default").await? {
                // The credentials are data, so they go to stdout: stderr is the log
                // stream, which must stay one JSON object a line with --log-format json.
                tracing::info!(
                    "created a first account; its app key and secret are on stdout, shown once"
                );
                out!(
                    "created a first account; keep these, the secret is not shown again:\n  \
                     app_key: {}\n  secret:  {}",
                    credentials.app_key,
                    credentials.secret
                )?;
            }
        }
    }
    Ok(())
}

/// Completes on SIGINT or SIGTERM; the server then drains in-flight requests.
///
/// The handlers are installed when this is called, not when the future is first
/// polled, so that a signal sent as soon as the server says it listens is not lost.
pub(super) fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
            signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
        )
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing in-flight requests");
    })
}
