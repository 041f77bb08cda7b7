//! Request ids and the one log line per request.
//!
//! The line names the matched route (`/apps/{app_key}/account_users/{id}`), never the
//! URI, whose query may carry a token or an email address.

use std::time::Duration;

use axum::{
    extract::{MatchedPath, Request},
    http::HeaderName,
    Router,
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    trace::TraceLayer,
};
use tracing::Span;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn layer(router: Router) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
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
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(trace)
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(CatchPanicLayer::custom(crate::error::panic_response)),
    )
}
