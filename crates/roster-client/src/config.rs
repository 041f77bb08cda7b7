//! How to reach a server, and how patient to be with it.

use std::{num::NonZeroU32, time::Duration};

use secrecy::SecretString;

/// Where the token goes on each call. The service accepts all three (DESIGN 1.2); pick
/// the one a given vendor endpoint is known to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenPlacement {
    /// `Authorization: Bearer <token>`.
    #[default]
    Bearer,
    /// `X-Yotpo-Token: <token>`.
    Header,
    /// The `utoken` query parameter. Proxies tend to log URLs, so prefer a header.
    Query,
}

/// Everything a [`Client`](crate::Client) needs. Build it with [`ClientConfig::new`] and
/// adjust with the `with_*` methods; the defaults suit the vendor's production API.
///
/// The secret is held as a [`SecretString`]: `{:?}` prints it redacted.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The server's root, e.g. `https://api.yotpo.com` or `http://127.0.0.1:8080`; paths
    /// are appended to it, so a base with a path prefix works too.
    pub base_url: String,
    /// The account's app key, which is also the OAuth `client_id`.
    pub app_key: String,
    /// The account's secret, the OAuth `client_secret`.
    pub secret: SecretString,
    /// How long to use a token when the server says nothing of its lifetime (no
    /// `expires_in`). A 401 refreshes it earlier in any case.
    pub token_max_age: Duration,
    /// How long before `expires_in` runs out to fetch the next token.
    pub token_refresh_margin: Duration,
    /// Attempts per call, the first included, before giving up on 429s, 5xx and
    /// connection errors.
    pub max_attempts: u32,
    /// Total time per call, waits included, after which no further attempt starts.
    pub max_retry_time: Duration,
    /// The first backoff ceiling; it doubles with each retry up to `backoff_max`, and
    /// the wait is drawn uniformly below it ("full jitter").
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Requests per second never to exceed, token requests included. `None` sends as
    /// fast as answers come.
    pub pace: Option<NonZeroU32>,
    /// Timeout of one HTTP exchange.
    pub request_timeout: Duration,
    pub token_placement: TokenPlacement,
}

impl ClientConfig {
    pub fn new(
        base_url: impl Into<String>,
        app_key: impl Into<String>,
        secret: impl Into<String>,
    ) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into(),
            app_key: app_key.into(),
            secret: SecretString::from(secret.into()),
            token_max_age: Duration::from_secs(60 * 60),
            token_refresh_margin: Duration::from_secs(60),
            max_attempts: 8,
            max_retry_time: Duration::from_secs(120),
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            pace: None,
            request_timeout: Duration::from_secs(30),
            token_placement: TokenPlacement::Bearer,
        }
    }

    pub fn with_token_max_age(mut self, age: Duration) -> ClientConfig {
        self.token_max_age = age;
        self
    }

    pub fn with_token_refresh_margin(mut self, margin: Duration) -> ClientConfig {
        self.token_refresh_margin = margin;
        self
    }

    /// Bounds retrying: at most `attempts` attempts (at least 1) and `total` time.
    pub fn with_retry_limits(mut self, attempts: u32, total: Duration) -> ClientConfig {
        self.max_attempts = attempts.max(1);
        self.max_retry_time = total;
        self
    }

    pub fn with_backoff(mut self, base: Duration, max: Duration) -> ClientConfig {
        self.backoff_base = base;
        self.backoff_max = max.max(base);
        self
    }

    /// Paces requests to at most `per_second`; zero turns pacing off.
    pub fn with_pace(mut self, per_second: u32) -> ClientConfig {
        self.pace = NonZeroU32::new(per_second);
        self
    }

    pub fn with_request_timeout(mut self, timeout: Duration) -> ClientConfig {
        self.request_timeout = timeout;
        self
    }

    pub fn with_token_placement(mut self, placement: TokenPlacement) -> ClientConfig {
        self.token_placement = placement;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_does_not_show_in_debug_output() {
        let config = ClientConfig::new("http://127.0.0.1:1", "app", "s3cr3t-value");
        assert!(!format!("{config:?}").contains("s3cr3t-value"));
    }
}
