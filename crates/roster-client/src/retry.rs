//! When to try again and how long to wait first.
//!
//! A 429 is waited out as the server says (`Retry-After`, then `RateLimit-Reset`); with
//! no hint, and for 5xx and connection errors, the wait is exponential backoff with
//! "full jitter": uniform between zero and a ceiling that doubles on each failure, so
//! that many clients throttled together do not come back together.

use std::time::{Duration, Instant, SystemTime};

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::ClientConfig;

/// A `RateLimit-Reset` this large is a Unix time, as some gateways send, not a delay.
const UNIX_TIME_THRESHOLD: u64 = 1_000_000_000;

/// The attempts and time one call may still spend.
#[derive(Debug)]
pub(crate) struct Budget {
    started: Instant,
    attempts: u32,
    failures: u32,
    max_attempts: u32,
    max_time: Duration,
    base: Duration,
    cap: Duration,
}

impl Budget {
    pub(crate) fn new(config: &ClientConfig) -> Budget {
        Budget {
            started: Instant::now(),
            attempts: 0,
            failures: 0,
            max_attempts: config.max_attempts.max(1),
            max_time: config.max_retry_time,
            base: config.backoff_base,
            cap: config.backoff_max,
        }
    }

    pub(crate) fn start_attempt(&mut self) {
        self.attempts += 1;
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The wait before the next attempt, or `None` when no attempt is left or the wait
    /// would end past the time allowed. `hint` is what the server asked for.
    pub(crate) fn next_wait(&mut self, hint: Option<Duration>) -> Option<Duration> {
        if self.attempts >= self.max_attempts {
            return None;
        }

        let wait = hint.unwrap_or_else(|| self.jittered());
        self.failures += 1;

        if self.elapsed() + wait > self.max_time {
            return None;
        }
        Some(wait)
    }

    fn jittered(&self) -> Duration {
        let ceiling = backoff_ceiling(self.base, self.cap, self.failures);
        let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(rand::thread_rng().gen_range(0..=micros))
    }
}

/// `base * 2^failures`, never above `cap`.
fn backoff_ceiling(base: Duration, cap: Duration, failures: u32) -> Duration {
    let factor = 1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(cap)
}

/// How long a throttled server asked us to wait, if it said.
pub(crate) fn wait_hint(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name| headers.get(name).and_then(|value| value.to_str().ok());

    if let Some(raw) = text(RETRY_AFTER.as_str()) {
        if let Some(wait) = parse_retry_after(raw, now) {
            return Some(wait);
        }
    }
    text("ratelimit-reset").and_then(|raw| parse_reset(raw, now))
}

/// RFC 9110 section 10.2.3: delay-seconds or an HTTP-date.
fn parse_retry_after(raw: &str, now: SystemTime) -> Option<Duration> {
    let raw = raw.trim();
    if let Ok(seconds) = raw.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }

    let at = httpdate::parse_http_date(raw).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The IETF RateLimit header draft sends seconds until the window resets.
fn parse_reset(raw: &str, now: SystemTime) -> Option<Duration> {
    let seconds = raw.trim().parse::<u64>().ok()?;
    if seconds < UNIX_TIME_THRESHOLD {
        return Some(Duration::from_secs(seconds));
    }

    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(seconds);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_in_seconds_is_read() {
        let hint = wait_hint(&headers(&[("retry-after", "7")]), SystemTime::now());
        assert_eq!(hint, Some(Duration::from_secs(7)));
    }

    #[test]
    fn retry_after_as_an_http_date_is_read() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let map = headers(&[("retry-after", "Sun, 06 Nov 1994 08:49:52 GMT")]);
        assert_eq!(wait_hint(&map, now), Some(Duration::from_secs(15)));
    }

    #[test]
    fn a_retry_after_date_in_the_past_means_now() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let map = headers(&[("retry-after", "Sun, 06 Nov 1994 08:00:00 GMT")]);
        assert_eq!(wait_hint(&map, now), Some(Duration::ZERO));
    }

    #[test]
    fn ratelimit_reset_is_used_when_retry_after_is_absent() {
        let hint = wait_hint(&headers(&[("ratelimit-reset", "3")]), SystemTime::now());
        assert_eq!(hint, Some(Duration::from_secs(3)));
    }

    #[test]
    fn a_ratelimit_reset_that_is_a_unix_time_is_read_as_one() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let map = headers(&[("ratelimit-reset", "1700000004")]);
        assert_eq!(wait_hint(&map, now), Some(Duration::from_secs(4)));
    }

    #[test]
    fn retry_after_wins_over_ratelimit_reset() {
        let map = headers(&[("retry-after", "2"), ("ratelimit-reset", "9")]);
        assert_eq!(
            wait_hint(&map, SystemTime::now()),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn garbage_or_no_header_gives_no_hint() {
        let now = SystemTime::now();
        assert_eq!(wait_hint(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(wait_hint(&HeaderMap::new(), now), None);
    }

    #[test]
    fn the_backoff_ceiling_doubles_up_to_the_cap() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(1);
        let ceilings: Vec<_> = (0..6).map(|n| backoff_ceiling(base, cap, n)).collect();
        let millis: Vec<_> = ceilings.iter().map(Duration::as_millis).collect();
        assert_eq!(millis, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff_ceiling(base, cap, 500), cap);
    }

    #[test]
    fn the_budget_stops_at_the_attempt_limit() {
        let config = ClientConfig::new("http://x", "a", "s")
            .with_retry_limits(3, Duration::from_secs(60))
            .with_backoff(Duration::from_millis(1), Duration::from_millis(1));
        let mut budget = Budget::new(&config);
        let mut granted = 0;
        loop {
            budget.start_attempt();
            if budget.next_wait(None).is_none() {
                break;
            }
            granted += 1;
        }
        assert_eq!((budget.attempts(), granted), (3, 2));
    }

    #[test]
    fn the_budget_refuses_a_wait_that_ends_past_the_time_limit() {
        let config =
            ClientConfig::new("http://x", "a", "s").with_retry_limits(10, Duration::from_secs(5));
        let mut budget = Budget::new(&config);
        budget.start_attempt();
        assert_eq!(budget.next_wait(Some(Duration::from_secs(60))), None);
    }

    #[test]
    fn jittered_waits_stay_under_the_ceiling() {
        let config = ClientConfig::new("http://x", "a", "s")
            .with_backoff(Duration::from_millis(10), Duration::from_millis(40));
        let mut budget = Budget::new(&config);
        for _ in 0..5 {
            budget.start_attempt();
            let wait = budget.next_wait(None).unwrap();
            assert!(wait <= Duration::from_millis(40), "{wait:?}");
        }
    }
}
