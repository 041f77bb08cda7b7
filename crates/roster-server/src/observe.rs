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

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request, routing::get};
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_is_answered_with_the_500_envelope_and_no_internals() {
        let app = layer(Router::new().route(
            "/boom",
            get(|| async {
                panic!("secret internals");
                #[allow(unreachable_code)]
                ""
            }),
        ));
        let response = app
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
        assert!(response.headers().contains_key("x-request-id"));
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["status"]["code"], 500);
        assert_eq!(body["status"]["error_type"], "Exceptions::InternalError");
        assert!(!body.to_string().contains("secret internals"));
    }
}
