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
mod docs;
pub mod error;
mod extract;
pub mod limit;
pub mod metrics;
pub mod oauth;
mod observe;
pub mod openapi;
pub mod scim;

use std::{
    future::{Future, IntoFuture},
    net::SocketAddr,
    sync::Arc,
    time::Duration,
};

use axum::{extract::DefaultBodyLimit, middleware, routing::get, Router};
use limit::{Limits, PerMinute};
use metrics::Metrics;
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
    /// Account-users requests a minute for each `app_key`, over all nodes; 0 for no
    /// limit.
    pub rate_limit: u32,
    /// `/oauth/token` requests a minute for each client_id and for each source
    /// address, over all nodes; 0 for no limit.
    pub token_rate_limit: u32,
    /// How many servers share the load; each enforces its share of the limits.
    pub nodes: u32,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            // The vendor documents two weeks.
            token_ttl: Duration::from_secs(14 * 24 * 60 * 60),
            // The figure seen on the vendor's gateway.
            rate_limit: 5000,
            // A client that needs more than one token a second is broken or guessing.
            token_rate_limit: 60,
            nodes: 1,
        }
    }
}

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    pub limits: Arc<Limits>,
    pub metrics: Arc<Metrics>,
    /// Where SCIM requests find their directory: the store's accounts, by SCIM token.
    pub scim: scim::ScimState,
}

impl AppState {
    pub fn new(store: Store, config: ServerConfig) -> AppState {
        let limits = Limits::new(
            PerMinute::share(config.rate_limit, config.nodes),
            PerMinute::share(config.token_rate_limit, config.nodes),
        );
        AppState {
            scim: scim::ScimState::new(scim::StoreDirectories(store.clone())),
            store,
            config: Arc::new(config),
            limits: Arc::new(limits),
            metrics: Arc::new(Metrics::new()),
        }
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(oauth::router())
        .merge(
            account_users::router().route_layer(middleware::from_fn_with_state(
                state.clone(),
                limit::limit_by_app_key,
            )),
        )
        .merge(scim::router().with_state(state.scim.clone()))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::get_metrics))
        .route("/openapi.json", get(openapi::get_openapi))
        .route("/docs", get(docs::get_docs));

    let metrics = state.metrics.clone();
    finish(api.with_state(state), metrics)
}

/// `roster bridge`: only `/scim/v2` (over whatever directory `scim` provides) and
/// `/healthz`, with the same logging and error answers as the full service.
pub fn bridge_router(scim: scim::ScimState) -> Router {
    let api = Router::new()
        .merge(scim::router().with_state(scim))
        .route("/healthz", get(healthz));
    finish(api, Arc::new(Metrics::new()))
}

/// The layers every surface shares.
fn finish(api: Router, metrics: Arc<Metrics>) -> Router {
    observe::layer(
        api.fallback(error::route_not_found)
            .method_not_allowed_fallback(error::method_not_allowed)
            .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
            .layer(RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT)),
        metrics,
    )
}

/// Answers once the server accepts requests.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    responses((status = 200, description = "`ok`", body = String, content_type = "text/plain")),
)]
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
    // The peer address keys the rate limit of /oauth/token.
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, app)
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
