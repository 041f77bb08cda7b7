//! Request ids, the one log line per request, and the request metrics.
//!
//! The line names the matched route (`/apps/{app_key}/account_users/{id}`), never the
//! URI, whose query may carry a token or an email address.
//!
//! The request id is always the server's own: an `X-Request-Id` sent by the client is
//! dropped, since it could carry anything (an address, a token) into the logs at info
//! level. The server's id is returned in `x-request-id`.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    extract::{MatchedPath, Request},
    http::HeaderName,
    middleware::{self, Next},
    response::Response,
    Router,
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    trace::TraceLayer,
};
use tracing::Span;

use crate::metrics::Metrics;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn layer(router: Router, metrics: Arc<Metrics>) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let route = matched_route(request);
            let request_id = request
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or_default();
            tracing::info_span!(
                "request",
                method = %request.method(),
                route,
                request_id,
            )
        })
        .on_request(())
        .on_response(
            |response: &axum::http::Response<_>, latency: Duration, _: &Span| {
                tracing::info!(
                    status = response.status().as_u16(),
                    latency_us = latency.as_micros() as u64,
                    "request finished"
                );
            },
        )
        .on_failure(());

    router.layer(
        ServiceBuilder::new()
            .map_request(drop_client_request_id)
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(trace)
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(middleware::from_fn(move |request, next| {
                count(metrics.clone(), request, next)
            }))
            .layer(CatchPanicLayer::custom(crate::error::panic_response)),
    )
}

/// Removes the client's `X-Request-Id`, so that the id set next is always generated.
fn drop_client_request_id(mut request: Request) -> Request {
    request.headers_mut().remove(REQUEST_ID);
    request
}

/// Counts the request by matched route, method and status, panics included.
async fn count(metrics: Arc<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = matched_route(&request).to_owned();

    let response = next.run(request).await;

    metrics.observe_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// The route template the request matched; unknown paths share one label.
fn matched_route(request: &Request) -> &str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
}
