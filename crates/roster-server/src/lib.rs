//! Roster's HTTP service: the account-users API of the vendor, wire for wire, over the
//! directory in `roster-store`.
//!
//! Each resource module owns its router: [`oauth`] issues tokens, [`account_users`]
//! serves the users of an account, [`scim`] serves them to identity providers.
//! Everything a client of the account-users API can get wrong is answered in the API's
//! own envelope ([`error`]), including unknown routes, wrong methods, bodies over the
//! limit and panics; under `/scim/v2` the SCIM error format takes its place. This crate
//! depends on the store and the wire types, never on the client or the command line.

pub mod account_users;
mod auth;
pub mod error;
mod extract;
pub mod oauth;
mod observe;
pub mod scim;

use std::{
    future::{Future, IntoFuture},
    sync::Arc,
    time::Duration,
};

use axum::{extract::DefaultBodyLimit, routing::get, Router};
use roster_store::Store;
use tokio::net::TcpListener;
use tower_http::timeout::RequestBodyTimeoutLayer;

pub use error::ApiError;

/// The largest request body accepted, as the vendor's gateway does.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// What the service needs to answer requests.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// How long an issued access token stays valid.
    pub token_ttl: Duration,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            // The vendor documents two weeks.
            token_ttl: Duration::from_secs(14 * 24 * 60 * 60),
        }
    }
}

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    /// Where SCIM requests find their directory: the store's accounts, by SCIM token.
    pub scim: scim::ScimState,
}

impl AppState {
    pub fn new(store: Store, config: ServerConfig) -> AppState {
        AppState {
            scim: scim::ScimState::new(scim::StoreDirectories(store.clone())),
            store,
            config: Arc::new(config),
        }
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(oauth::router())
        .merge(account_users::router())
        .merge(scim::router().with_state(state.scim.clone()))
        .route("/healthz", get(healthz));

    finish(api.with_state(state))
}

/// `roster bridge`: only `/scim/v2` (over whatever directory `scim` provides) and
/// `/healthz`, with the same logging, limits and error answers as the full service.
pub fn bridge_router(scim: scim::ScimState) -> Router {
    let api = Router::new()
        .merge(scim::router().with_state(scim))
        .route("/healthz", get(healthz));
    finish(api)
}

/// The layers every surface shares.
fn finish(api: Router) -> Router {
    observe::layer(
        api.fallback(error::route_not_found)
            .method_not_allowed_fallback(error::method_not_allowed)
            .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
            .layer(RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT)),
    )
}

async fn healthz() -> &'static str {
    "ok"
}

/// How long a request may take to send its body, so that a stalled client cannot hold
/// a connection (and a graceful shutdown) forever.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long in-flight requests get to finish once shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves on `listener` until `shutdown` completes, then lets in-flight requests finish
/// for at most [`SHUTDOWN_GRACE`]: a client that stopped sending halfway through a
/// request does not keep the process alive.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, router(state), shutdown).await
}

/// [`serve`] for any router, such as [`bridge_router`]'s.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown.await;
        let _ = started_tx.send(());
    };
    let server = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .into_future();
    let grace_over = async move {
        match started_rx.await {
            Ok(()) => tokio::time::sleep(SHUTDOWN_GRACE).await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        result = server => result,
        () = grace_over => {
            tracing::warn!("requests still open after the shutdown grace period were dropped");
            Ok(())
        }
    }
}
