//! Credentials: how they are made, and how they are kept and checked.

use rand::{distributions::Alphanumeric, Rng};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Length of app keys, secrets and tokens: 40 characters of `[A-Za-z0-9]`, the shape the
/// vendor's tokens have, which is about 238 bits of entropy.
pub const CREDENTIAL_LEN: usize = 40;

/// A fresh random credential from the operating system's generator.
pub fn generate() -> String {
    rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(CREDENTIAL_LEN)
        .map(char::from)
        .collect()
}

/// The form credentials are stored in: SHA-256, hex-encoded.
///
/// A fast hash is enough because credentials are random and long; there is no
/// dictionary to try against a leaked digest.
pub fn digest(credential: &str) -> String {
    hex::encode(Sha256::digest(credential.as_bytes()))
}

/// Compares two digests without leaking, through timing, how much of them matched.
pub fn digests_match(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credentials_are_long_alphanumeric_and_distinct() {
        let a = generate();
        assert_eq!(a.len(), CREDENTIAL_LEN);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, generate());
    }

    #[test]
    fn digests_are_stable_and_compared_exactly() {
        assert_eq!(digest("abc"), digest("abc"));
        assert!(digests_match(&digest("abc"), &digest("abc")));
        assert!(!digests_match(&digest("abc"), &digest("abd")));
    }
}
