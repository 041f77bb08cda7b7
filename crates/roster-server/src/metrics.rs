//! `GET /metrics`: counters and histograms in the Prometheus text format.
//!
//! Each server has its own registry, so that servers built side by side (as tests do)
//! count apart. Labels are bounded: the matched route (never the URI, which holds app
//! keys, ids and tokens), the method from a fixed list, and the status code.

use std::time::Duration;

use axum::{
    extract::State,
    http::{header, Method},
    response::IntoResponse,
};
use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::AppState;

/// What a Prometheus server scrapes.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Which limiter turned a request away.
#[derive(Clone, Copy, Debug)]
pub enum Limiter {
    AppKey,
    TokenClient,
    TokenAddress,
}

impl Limiter {
    fn label(self) -> &'static str {
        match self {
            Limiter::AppKey => "app_key",
            Limiter::TokenClient => "token_client",
            Limiter::TokenAddress => "token_address",
        }
    }
}

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    tokens_issued: IntCounter,
    rate_limited: IntCounterVec,
    limiter_keys: IntGaugeVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let labels = ["method", "route", "status"];
        let requests = IntCounterVec::new(
            Opts::new("roster_http_requests_total", "HTTP requests answered"),
            &labels,
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "roster_http_request_duration_seconds",
                "Time from receiving a request to having its answer ready",
            ),
            &labels,
        )
        .expect("valid metric");
        let tokens_issued = IntCounter::new("roster_tokens_issued_total", "Access tokens issued")
            .expect("valid metric");
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "roster_rate_limited_total",
                "Requests refused with 429, by the limiter that refused them",
            ),
            &["limiter"],
        )
        .expect("valid metric");
        let limiter_keys = IntGaugeVec::new(
            Opts::new(
                "roster_rate_limiter_keys",
                "Keys that have a rate-limit bucket in memory",
            ),
            &["limiter"],
        )
        .expect("valid metric");
        let pool_connections = IntGauge::new(
            "roster_db_pool_connections",
            "Database connections open, in use or idle",
        )
        .expect("valid metric");
        let pool_idle = IntGauge::new(
            "roster_db_pool_idle_connections",
            "Database connections open and idle",
        )
        .expect("valid metric");

        let registry = Registry::new();
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(tokens_issued.clone()),
            Box::new(rate_limited.clone()),
            Box::new(limiter_keys.clone()),
            Box::new(pool_connections.clone()),
            Box::new(pool_idle.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        Metrics {
            registry,
            requests,
            latency,
            tokens_issued,
            rate_limited,
            limiter_keys,
            pool_connections,
            pool_idle,
        }
    }

    /// Counts one answered request.
    pub fn observe_request(&self, method: &Method, route: &str, status: u16, took: Duration) {
        let status = status.to_string();
        let labels = [method_label(method), route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency
            .with_label_values(&labels)
            .observe(took.as_secs_f64());
    }

    pub fn token_issued(&self) {
        self.tokens_issued.inc();
    }

    pub fn rate_limited(&self, limiter: Limiter) {
        self.rate_limited
            .with_label_values(&[limiter.label()])
            .inc();
    }

    /// Everything in the text format, with the gauges read now.
    pub fn render(&self, state: &AppState) -> String {
        let pool = state.store.pool_state();
        self.pool_connections.set(pool.connections.into());
        self.pool_idle.set(pool.idle.into());
        let limits = &state.limits;
        for (limiter, keyed) in [
            (Limiter::AppKey, &limits.app_key),
            (Limiter::TokenClient, &limits.token_client),
            (Limiter::TokenAddress, &limits.token_address),
        ] {
            let keys = i64::try_from(keyed.keys()).unwrap_or(i64::MAX);
            self.limiter_keys
                .with_label_values(&[limiter.label()])
                .set(keys);
        }

        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// The method as a label; anything outside the standard set is `other`, so a client
/// cannot add label values at will.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The server's metrics in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    responses((status = 200, description = "Counters, gauges and histograms", body = String,
               content_type = "text/plain; version=0.0.4; charset=utf-8")),
)]
pub async fn get_metrics(State(state): State<AppState>) -> impl IntoResponse {
    let body = state.metrics.render(&state);
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        let made_up = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&made_up), "other");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
    }

    #[test]
    fn requests_are_counted_by_method_route_and_status() {
        let metrics = Metrics::new();
        let route = "/apps/{app_key}/account_users";
        metrics.observe_request(&Method::GET, route, 200, Duration::from_millis(3));
        metrics.observe_request(&Method::GET, route, 200, Duration::from_millis(4));
        let text = TextEncoder::new()
            .encode_to_string(&metrics.registry.gather())
            .unwrap();
        let line = r#"roster_http_requests_total{method="GET",route="/apps/{app_key}/account_users",status="200"} 2"#;
        assert!(text.contains(line), "{text}");
        assert!(
            text.contains("roster_http_request_duration_seconds_bucket{"),
            "{text}"
        );
    }
}
