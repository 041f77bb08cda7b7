//! Rate limits (DESIGN 1.6): a token bucket per key, answered with the `RateLimit-*`
//! headers of the IETF draft on successful and limited requests alike.
//!
//! Each node enforces its share of the configured limit: with `nodes` servers behind
//! a load balancer, each lets through `limit / nodes` a minute, so the whole lets
//! through about `limit`. The buckets live in memory; keys whose bucket has filled up
//! again are dropped every few seconds, so spraying made-up keys costs memory only for
//! that long.

use std::{
    num::NonZeroU32,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

use crate::{metrics::Limiter, ApiError, AppState};
use axum::{
    extract::{rejection::RawPathParamsRejection, RawPathParams, Request, State},
    http::{HeaderMap, HeaderName, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
    Quota, RateLimiter,
};

/// How often buckets that have filled up again are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

pub const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
pub const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
pub const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// How many requests a minute a key may make on one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PerMinute(pub u32);

impl PerMinute {
    /// This node's share of `limit` when `nodes` servers share the load; zero stays
    /// zero (no limit), and a share never rounds down to nothing.
    pub fn share(limit: u32, nodes: u32) -> PerMinute {
        if limit == 0 {
            return PerMinute(0);
        }
        PerMinute((limit / nodes.max(1)).max(1))
    }
}

type Buckets =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// The answer a limiter gives a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
    /// Seconds until the next request would be let through; zero when allowed.
    pub retry_after_secs: u64,
}

impl Decision {
    /// Writes `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`, and on a
    /// refusal `Retry-After`.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert(RATELIMIT_LIMIT, HeaderValue::from(self.limit));
        headers.insert(RATELIMIT_REMAINING, HeaderValue::from(self.remaining));
        headers.insert(RATELIMIT_RESET, HeaderValue::from(self.reset_secs));
        if !self.allowed {
            headers.insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from(self.retry_after_secs),
            );
        }
    }

    /// Of two decisions about one request, the one a client should heed: a refusal,
    /// or else the one with fewer requests left.
    pub fn stricter(self, other: Decision) -> Decision {
        match (self.allowed, other.allowed) {
            (true, false) => other,
            (false, true) => self,
            _ if other.remaining < self.remaining => other,
            _ => self,
        }
    }
}

/// A token bucket per key, or nothing at all when the limit is zero.
pub struct KeyedLimiter {
    buckets: Option<Buckets>,
    limit: u32,
    started: Instant,
    /// Milliseconds after `started` of the last sweep.
    last_sweep: AtomicU64,
    sweeping: Mutex<()>,
}

impl KeyedLimiter {
    pub fn new(per_minute: PerMinute) -> KeyedLimiter {
        let buckets = NonZeroU32::new(per_minute.0).map(|n| {
            RateLimiter::dashmap(Quota::per_minute(n))
                .with_middleware::<StateInformationMiddleware>()
        });
        KeyedLimiter {
            buckets,
            limit: per_minute.0,
            started: Instant::now(),
            last_sweep: AtomicU64::new(0),
            sweeping: Mutex::new(()),
        }
    }

    /// Takes one request from `key`'s bucket; `None` when this limiter is off.
    pub fn check(&self, key: &str) -> Option<Decision> {
        let buckets = self.buckets.as_ref()?;
        self.sweep_now_and_then(buckets);

        let key = key.to_owned();
        let decision = match buckets.check_key(&key) {
            Ok(snapshot) => {
                let interval = snapshot.quota().replenish_interval();
                let remaining = snapshot.remaining_burst_capacity();
                Decision {
                    allowed: true,
                    limit: self.limit,
                    remaining,
                    reset_secs: ceil_secs(interval * (self.limit - remaining)),
                    retry_after_secs: 0,
                }
            }
            Err(not_until) => {
                let interval = not_until.quota().replenish_interval();
                let wait = not_until.wait_time_from(buckets.clock().now());
                Decision {
                    allowed: false,
                    limit: self.limit,
                    remaining: 0,
                    reset_secs: ceil_secs(wait + interval * (self.limit - 1)),
                    retry_after_secs: ceil_secs(wait).max(1),
                }
            }
        };
        Some(decision)
    }

    /// How many keys have a bucket in memory.
    pub fn keys(&self) -> usize {
        self.buckets.as_ref().map_or(0, |b| b.len())
    }

    /// Forgets the buckets that are full again, at most once every [`SWEEP_EVERY`],
    /// by whichever request comes first after that.
    fn sweep_now_and_then(&self, buckets: &Buckets) {
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now.saturating_sub(last) < SWEEP_EVERY.as_millis() as u64 {
            return;
        }
        let Ok(_guard) = self.sweeping.try_lock() else {
            return;
        };
        self.last_sweep.store(now, Ordering::Relaxed);
        buckets.retain_recent();
        buckets.shrink_to_fit();
    }

    #[cfg(test)]
    fn sweep(&self) {
        if let Some(buckets) = &self.buckets {
            buckets.retain_recent();
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Every limiter of a server.
pub struct Limits {
    /// Account-users calls, by the `app_key` of the path.
    pub app_key: KeyedLimiter,
    /// `/oauth/token`, by `client_id`.
    pub token_client: KeyedLimiter,
    /// `/oauth/token`, by the address the request came from.
    pub token_address: KeyedLimiter,
}

impl Limits {
    pub fn new(app_key: PerMinute, token: PerMinute) -> Limits {
        Limits {
            app_key: KeyedLimiter::new(app_key),
            token_client: KeyedLimiter::new(token),
            token_address: KeyedLimiter::new(token),
        }
    }
}

/// Middleware of the account-users routes: one bucket per `app_key` of the path, the
/// bare and the `/v1` paths alike. It runs before authentication, so that a flood of
/// requests is turned away before it reaches the database.
pub async fn limit_by_app_key(
    State(state): State<AppState>,
    params: Result<RawPathParams, RawPathParamsRejection>,
    request: Request,
    next: Next,
) -> Response {
    // A path that cannot be decoded is refused by the handler before any work is done.
    let app_key = params.ok().and_then(|params| {
        params
            .iter()
            .find(|(name, _)| *name == "app_key")
            .map(|(_, value)| value.to_owned())
    });
    let Some(decision) = app_key.and_then(|key| state.limits.app_key.check(&key)) else {
        return next.run(request).await;
    };

    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        state.metrics.rate_limited(Limiter::AppKey);
        ApiError::TooManyRequests {
            per_minute: decision.limit,
            retry_after_secs: decision.retry_after_secs,
        }
        .into_response()
    };
    decision.write_headers(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_node_takes_its_share_and_zero_stays_off() {
        assert_eq!(PerMinute::share(5000, 1), PerMinute(5000));
        assert_eq!(PerMinute::share(5000, 4), PerMinute(1250));
        assert_eq!(PerMinute::share(3, 10), PerMinute(1));
        assert_eq!(PerMinute::share(0, 3), PerMinute(0));
        assert_eq!(PerMinute::share(10, 0), PerMinute(10));
    }

    #[test]
    fn the_request_after_the_limit_is_refused_with_a_wait() {
        let limiter = KeyedLimiter::new(PerMinute(3));
        let decisions: Vec<Decision> = (0..4).map(|_| limiter.check("a").unwrap()).collect();

        assert_eq!(
            decisions.iter().map(|d| d.remaining).collect::<Vec<_>>(),
            [2, 1, 0, 0]
        );
        assert!(decisions[..3].iter().all(|d| d.allowed));
        let refused = decisions[3];
        assert!(!refused.allowed);
        assert!((1..=20).contains(&refused.retry_after_secs), "{refused:?}");
        assert!((21..=60).contains(&refused.reset_secs), "{refused:?}");
        assert!(
            limiter.check("b").unwrap().allowed,
            "another key is unaffected"
        );
    }

    #[test]
    fn a_limit_of_zero_checks_nothing() {
        let limiter = KeyedLimiter::new(PerMinute(0));
        assert_eq!(limiter.check("a"), None);
        assert_eq!(limiter.keys(), 0);
    }

    #[test]
    fn a_refused_decision_writes_retry_after_too() {
        let limiter = KeyedLimiter::new(PerMinute(1));
        let mut headers = HeaderMap::new();
        limiter.check("a").unwrap().write_headers(&mut headers);
        assert_eq!(headers["ratelimit-limit"], "1");
        assert_eq!(headers["ratelimit-remaining"], "0");
        assert!(!headers.contains_key("retry-after"));

        limiter.check("a").unwrap().write_headers(&mut headers);
        assert!(headers.contains_key("retry-after"));
    }

    #[test]
    fn buckets_that_filled_up_again_are_forgotten() {
        // A burst of 60000 a minute refills one request in a millisecond.
        let limiter = KeyedLimiter::new(PerMinute(60_000));
        for key in 0..100 {
            limiter.check(&key.to_string());
        }
        assert_eq!(limiter.keys(), 100);

        std::thread::sleep(Duration::from_millis(20));
        limiter.sweep();
        assert_eq!(limiter.keys(), 0);
    }

    #[test]
    fn the_stricter_decision_is_the_refusal_or_the_one_with_less_left() {
        let allowed = |remaining| Decision {
            allowed: true,
            limit: 10,
            remaining,
            reset_secs: 1,
            retry_after_secs: 0,
        };
        let refused = Decision {
            allowed: false,
            remaining: 0,
            ..allowed(0)
        };
        assert_eq!(allowed(5).stricter(allowed(2)), allowed(2));
        assert_eq!(allowed(0).stricter(refused), refused);
        assert_eq!(refused.stricter(allowed(9)), refused);
    }
}
