//! Email addresses as the directory keys users by.

use std::fmt;

/// The longest address SMTP can carry (RFC 5321 section 4.5.3.1.3 limits a path to 256
/// octets including the angle brackets).
pub const EMAIL_MAX_LEN: usize = 254;

/// A syntactically plausible email address, stored exactly as given.
///
/// Uniqueness is decided on [`Email::normalized`], so `Ana@Example.com` and
/// `ana@example.com` are the same user while the original spelling is kept for display.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("email is required")]
    Empty,
    // Counted in bytes of UTF-8, as SMTP counts octets; the message says so, since a
    // letter outside ASCII takes more than one.
    #[error(
        "email must be at most {EMAIL_MAX_LEN} bytes long (a letter outside ASCII takes 2 to 4)"
    )]
    TooLong,
    #[error("email must look like name@example.com")]
    Malformed,
    #[error("the part of an email before the @ must be at most 64 bytes long (a letter outside ASCII takes 2 to 4)")]
    LocalPartTooLong,
}

impl Email {
    /// Checks the shape of an address: one `@`, a local part of at most 64 octets without
    /// spaces, and a domain of dot-separated labels made of letters, digits and hyphens.
    ///
    /// Deliverability is not checked; that needs the network and belongs to whoever
    /// invites the user.
    pub fn parse(raw: &str) -> Result<Email, EmailError> {
        if raw.is_empty() {
            return Err(EmailError::Empty);
        }
        if raw.len() > EMAIL_MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = raw.rsplit_once('@').ok_or(EmailError::Malformed)?;
        if local.len() > 64 {
            return Err(EmailError::LocalPartTooLong);
        }
        // A dot-atom (RFC 5322 section 3.2.3), with any non-ASCII letter allowed as
        // RFC 6531 does. Quoted local parts are refused: no team directory needs them.
        let local_ok = !local.is_empty()
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Email(raw.to_owned()))
        } else {
            Err(EmailError::Malformed)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is enforced on: the whole address in lower case.
    ///
    /// The local part is case-sensitive in theory (RFC 5321 section 2.4), but no mail
    /// provider in use treats it so, and two users differing only in case are always a
    /// mistake in a team directory.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_addresses_are_accepted_as_given() {
        for raw in [
            "ana@example.com",
            "Ana.Silva+tag@Sub.Example.co.uk",
            "josé@exämple.com",
        ] {
            assert_eq!(Email::parse(raw).unwrap().as_str(), raw);
        }
    }

    #[test]
    fn addresses_without_a_proper_domain_are_refused() {
        for raw in [
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "ana@exa mple.com",
            "a b@x.com",
        ] {
            assert_eq!(Email::parse(raw), Err(EmailError::Malformed), "{raw}");
        }
        assert_eq!(Email::parse(""), Err(EmailError::Empty));
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(Email::parse(&long_local), Err(EmailError::LocalPartTooLong));
        let long = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn the_length_limits_count_bytes_and_their_messages_say_so() {
        // 100 two-byte letters: 100 characters, 200 bytes.
        let local = "é".repeat(40);
        let long = format!("{local}@{}.com", "ü".repeat(100));
        assert!(long.chars().count() < EMAIL_MAX_LEN && long.len() > EMAIL_MAX_LEN);
        let refused = Email::parse(&long).unwrap_err();
        assert_eq!(refused, EmailError::TooLong);
        assert!(refused.to_string().contains("254 bytes"), "{refused}");
        let refused = Email::parse(&format!("{}@example.com", "é".repeat(33))).unwrap_err();
        assert_eq!(refused, EmailError::LocalPartTooLong);
        assert!(refused.to_string().contains("64 bytes"), "{refused}");
    }

    #[test]
    fn normalization_ignores_case_only() {
        let a = Email::parse("Ana@Example.com").unwrap();
        let b = Email::parse("ana@example.com").unwrap();
        assert_eq!(a.normalized(), b.normalized());
        assert_ne!(a, b);
    }
}
