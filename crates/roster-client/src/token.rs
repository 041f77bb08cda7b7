//! The cached access token and when to replace it.
//!
//! One token serves every caller of a client. It sits behind an async mutex held while
//! a new one is fetched, so callers that find it stale at the same moment wait for that
//! one fetch instead of each making their own.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use secrecy::SecretString;
use tokio::sync::{Mutex, MutexGuard};

/// A token as fetched, with the moment to stop using it.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) value: SecretString,
    /// Tells this token from the next, so that a 401 only discards the token that got it.
    id: u64,
    refresh_at: Instant,
}

impl Token {
    fn is_fresh(&self, now: Instant) -> bool {
        now < self.refresh_at
    }
}

#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    slot: Mutex<Option<Token>>,
    issued: AtomicU64,
}

/// The cache, locked; a caller that finds no fresh token fetches one and stores it
/// before letting go, which is what makes concurrent callers share a single refresh.
pub(crate) struct Slot<'a> {
    guard: MutexGuard<'a, Option<Token>>,
    cache: &'a TokenCache,
}

impl TokenCache {
    pub(crate) async fn lock(&self) -> Slot<'_> {
        Slot {
            guard: self.slot.lock().await,
            cache: self,
        }
    }

    /// Drops `stale` after the server refused it; a newer token fetched meanwhile by
    /// another caller stays.
    pub(crate) async fn forget(&self, stale: &Token) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|current| current.id == stale.id) {
            *slot = None;
        }
    }
}

impl Slot<'_> {
    pub(crate) fn fresh(&self) -> Option<Token> {
        let token = self.guard.as_ref()?;
        token.is_fresh(Instant::now()).then(|| token.clone())
    }

    /// Keeps a token fetched at `issued` until `lifetime` has passed.
    pub(crate) fn store(
        &mut self,
        value: SecretString,
        issued: Instant,
        lifetime: Duration,
    ) -> Token {
        let token = Token {
            value,
            id: self.cache.issued.fetch_add(1, Ordering::Relaxed),
            refresh_at: issued + lifetime,
        };
        *self.guard = Some(token.clone());
        token
    }
}

/// How long to use a token: until `margin` before `expires_in` runs out, or half its
/// life when that is shorter than two margins; `max_age` when the server gave no
/// lifetime.
pub(crate) fn usable_for(expires_in: Option<u64>, margin: Duration, max_age: Duration) -> Duration {
    let Some(seconds) = expires_in else {
        return max_age;
    };

    let life = Duration::from_secs(seconds);
    if life > margin * 2 {
        life - margin
    } else {
        life / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARGIN: Duration = Duration::from_secs(60);
    const MAX_AGE: Duration = Duration::from_secs(3600);

    #[test]
    fn a_token_is_replaced_a_margin_before_it_expires() {
        let life = usable_for(Some(1_209_600), MARGIN, MAX_AGE);
        assert_eq!(life, Duration::from_secs(1_209_540));
    }

    #[test]
    fn a_short_lived_token_is_replaced_at_half_its_life() {
        assert_eq!(
            usable_for(Some(60), MARGIN, MAX_AGE),
            Duration::from_secs(30)
        );
        assert_eq!(usable_for(Some(0), MARGIN, MAX_AGE), Duration::ZERO);
    }

    #[test]
    fn a_token_of_unknown_life_is_kept_for_the_configured_age() {
        assert_eq!(usable_for(None, MARGIN, MAX_AGE), MAX_AGE);
    }

    #[tokio::test]
    async fn a_401_discards_only_the_token_that_got_it() {
        let cache = TokenCache::default();
        let old = cache
            .lock()
            .await
            .store("a".into(), Instant::now(), MAX_AGE);
        cache.forget(&old).await;
        let new = cache
            .lock()
            .await
            .store("b".into(), Instant::now(), MAX_AGE);

        cache.forget(&old).await;

        assert_eq!(cache.lock().await.fresh().map(|t| t.id), Some(new.id));
    }
}
