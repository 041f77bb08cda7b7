//! A typed async client for the account-users API (DESIGN section 1), usable against a
//! local `roster serve` and against the vendor's production API alike.
//!
//! It takes care of what breaks scripts in production:
//!
//! - **Tokens** are fetched from `POST {base}/oauth/token` on first use, cached and
//!   shared by every clone of the client, and replaced a margin before `expires_in` runs
//!   out, or after [`ClientConfig::token_max_age`] when the server gives no lifetime (the
//!   vendor does not). A 401 gets one new token and one retry. Callers that find the
//!   token stale together wait for a single refresh.
//! - **429s** are waited out as `Retry-After` (seconds or an HTTP date) or
//!   `RateLimit-Reset` say; without either, with exponential backoff and full jitter.
//!   Every call is bounded by [`ClientConfig::max_attempts`] and
//!   [`ClientConfig::max_retry_time`], after which it fails with [`Error::GaveUp`].
//!   With [`ClientConfig::with_pace`] requests are spaced evenly below a known limit, so
//!   that 429s do not happen in the first place.
//! - **Retries**: reads, updates and deletes are retried on connection errors and 5xx. A
//!   create is retried only after a lookup by email shows the first attempt did not
//!   land; if it did, the user it made is returned. No flaky network makes a duplicate.
//! - **Listing**: [`Client::list_all`] streams every user over pages of 100, stops on a
//!   short page, yields each id once, and reports in a [`ListSummary`] whether the total
//!   moved during the walk.
//! - **Errors** are typed: [`Error::Api`] carries the HTTP status, `error_type` and
//!   message of the envelope; the token endpoint's refusals are [`Error::OAuth`].
//!
//! Requests go to `{base}/apps/{app_key}/account_users[/{id}]`, which both Roster and
//! the vendor serve, with the token in `Authorization: Bearer` (see
//! [`TokenPlacement`] for the other forms). Logs go through `tracing`, at `debug` for
//! retries and `warn` when giving up, and never hold the secret, a token or an email
//! address.
//!
//! # Example
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use roster_client::{AccountUserFields, Client, ClientConfig};
//!
//! # async fn run() -> Result<(), roster_client::Error> {
//! let config = ClientConfig::new("http://127.0.0.1:8080", "my-app-key", "my-secret")
//!     .with_pace(20);
//! let client = Client::new(config)?;
//!
//! let ana = AccountUserFields {
//!     email: Some("ana@example.com".into()),
//!     role: Some("staff".into()),
//!     ..AccountUserFields::default()
//! };
//! let user = match client.find_by_email("ana@example.com").await? {
//!     Some(existing) => existing,
//!     None => client.create_user(&ana).await?,
//! };
//! println!("ana is user {}", user.id);
//!
//! let mut users = client.list_all();
//! let progress = users.progress();
//! while let Some(user) = users.try_next().await? {
//!     let done = progress.snapshot();
//!     eprintln!("{} of {:?}: {}", done.users, done.total, user.id);
//! }
//! if users.summary().is_some_and(|s| s.changed_during_walk()) {
//!     eprintln!("warning: users changed during the audit; run it again to be sure");
//! }
//!
//! match client.get_user(999_999).await {
//!     Err(e) if e.is_not_found() => eprintln!("no such user: {e}"),
//!     other => println!("{other:?}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! [`RemoteDirectory`] implements `roster_core::Directory` over these calls, which is how
//! `roster bridge` serves SCIM in front of an upstream that has none; its module docs say
//! what the upstream cannot hold (inactive users, `externalId`) and what is done instead.
//!
//! This crate depends on `roster-api` for the wire types and on `roster-core` for the
//! `Directory` trait and the SCIM filter tree, and on no other Roster crate.

mod client;
mod config;
mod directory;
mod error;
pub mod filter_eval;
mod list;
mod retry;
mod token;

pub use client::{Client, ClientStats};
pub use config::{ClientConfig, TokenPlacement};
pub use directory::{Deactivation, RemoteDirectory, ROLE_COUNTS_MAX_AGE};
pub use error::{ApiError, Error};
pub use list::{ListProgress, ListSummary, Listing, Progress, UserStream};
pub use roster_api::{
    users::{AccountUser, AccountUserFields, AccountUserList, Pagination},
    ErrorType,
};
