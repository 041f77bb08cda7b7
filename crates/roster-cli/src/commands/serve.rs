//! `roster serve`: the account-users API on a socket.

use std::{future::Future, time::Duration};

use anyhow::Context;
use roster_server::{AppState, ServerConfig};
use roster_store::{Bootstrap, Store};
use tokio::net::TcpListener;

use super::DatabaseArgs;

/// Serve the account-users API.
///
/// With ROSTER_BOOTSTRAP_APP_KEY and ROSTER_BOOTSTRAP_SECRET set, that account is made
/// to exist at start-up. Otherwise the first start on an empty database creates one
/// account and prints its credentials once.
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
    let store = args.database.open().await?;
    bootstrap(&store).await?;
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
    eprintln!("roster listening on http://{address}");
    tracing::info!(%address, "listening");
    Ok(listener)
}

/// Makes sure the account of the bootstrap variables exists, or on an empty database
/// creates a first account so that the server is usable at once.
async fn bootstrap(store: &Store) -> anyhow::Result<()> {
    let app_key = std::env::var("ROSTER_BOOTSTRAP_APP_KEY").ok();
    let secret = std::env::var("ROSTER_BOOTSTRAP_SECRET").ok();
    match (app_key, secret) {
        (Some(app_key), Some(secret)) => {
            let found = store
                .ensure_account(&app_key, &secret)
                .await
                .context("ROSTER_BOOTSTRAP_APP_KEY and ROSTER_BOOTSTRAP_SECRET")?;
            match found {
                Bootstrap::Created => tracing::info!("bootstrap account created"),
                Bootstrap::Exists => tracing::info!("bootstrap account is ready"),
                Bootstrap::SecretDiffers => tracing::warn!(
                    "the bootstrap account exists with another secret, which is kept \
                     (it was rotated since); ROSTER_BOOTSTRAP_SECRET does not work for it"
                ),
            }
        }
        (None, None) => {
            if store.list_accounts().await?.is_empty() {
                let credentials = store.create_account("default").await?;
                eprintln!(
                    "created a first account; keep these, the secret is not shown again:\n  \
                     app_key: {}\n  secret:  {}",
                    credentials.app_key, credentials.secret
                );
            }
        }
        _ => anyhow::bail!(
            "set both ROSTER_BOOTSTRAP_APP_KEY and ROSTER_BOOTSTRAP_SECRET, or neither"
        ),
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
