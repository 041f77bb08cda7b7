//! The client: one method per call of the account-users API, each wrapped in the token,
//! pacing and retry handling that the vendor's production API needs.

use std::{
    collections::HashSet,
    num::NonZeroU32,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime},
};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::{
    header::{HeaderMap, AUTHORIZATION},
    Method, StatusCode, Url,
};
use roster_api::{
    oauth::{TokenRequest, TokenResponse, GRANT_TYPE},
    users::{
        AccountUser, AccountUserFields, AccountUserList, AccountUserRequest, AccountUserResponse,
        MAX_PER_PAGE,
    },
    Empty, Envelope,
};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tracing::{debug, warn};

use crate::{
    error::{snippet, ApiError, Error},
    list::{is_last_page, UserStream},
    retry::{wait_hint, Budget},
    token::{usable_for, Token, TokenCache},
    ClientConfig, TokenPlacement,
};

/// A client of one account on one server. Cheap to clone; clones share the token,
/// the pace and the counters.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ClientConfig,
    base: Url,
    http: reqwest::Client,
    tokens: TokenCache,
    pacer: Option<DefaultDirectRateLimiter>,
    stats: Counters,
}

/// What a client has done so far, for reports and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests sent, token requests included.
    pub requests: u64,
    pub token_fetches: u64,
    /// 429 answers received.
    pub throttled: u64,
    /// 401 answers received on calls other than the token request.
    pub unauthorized: u64,
    /// 5xx answers received.
    pub server_errors: u64,
    /// Requests that got no complete answer.
    pub transport_errors: u64,
    /// Waits before another attempt.
    pub retries: u64,
    /// Calls that failed after exhausting their attempts or time.
    pub gave_up: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    token_fetches: AtomicU64,
    throttled: AtomicU64,
    unauthorized: AtomicU64,
    server_errors: AtomicU64,
    transport_errors: AtomicU64,
    retries: AtomicU64,
    gave_up: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// One HTTP request, ready to be sent as many times as needed.
struct Call {
    method: Method,
    url: Url,
    query: Vec<(&'static str, String)>,
    body: Option<serde_json::Value>,
    /// The route, for logs and errors; never the URL, which may hold an email address.
    route: &'static str,
}

/// The result of sending a call once.
enum Attempt {
    Answered {
        status: StatusCode,
        headers: HeaderMap,
        body: Vec<u8>,
    },
    Failed(reqwest::Error),
}

/// What an attempt means for the caller.
enum Step {
    Done(Vec<u8>),
    /// 401: the token (or, at `/oauth/token`, the credentials) was refused.
    Unauthorized(Vec<u8>),
    /// Worth another attempt. `ambiguous` when the request may have been carried out
    /// (a 5xx, or a connection lost after the request was sent).
    Retry {
        error: Error,
        hint: Option<Duration>,
        ambiguous: bool,
    },
    /// A final answer: 4xx other than 401 and 429.
    Refused {
        status: u16,
        body: Vec<u8>,
    },
}

impl Client {
    /// Checks the configuration and builds the client; nothing is sent until the first
    /// call.
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        let base = parse_base(&config.base_url)?;
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .user_agent(concat!("roster-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let pacer = config.pace.map(|per_second| {
            // A burst of one spaces requests evenly, so that a server whose bucket is
            // smaller than a second's worth never sees more than it allows.
            let quota = Quota::per_second(per_second).allow_burst(NonZeroU32::MIN);
            RateLimiter::direct(quota)
        });

        Ok(Client {
            inner: Arc::new(Inner {
                config,
                base,
                http,
                tokens: TokenCache::default(),
                pacer,
                stats: Counters::default(),
            }),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Counters of everything sent and received so far.
    pub fn stats(&self) -> ClientStats {
        let c = &self.inner.stats;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ClientStats {
            requests: get(&c.requests),
            token_fetches: get(&c.token_fetches),
            throttled: get(&c.throttled),
            unauthorized: get(&c.unauthorized),
            server_errors: get(&c.server_errors),
            transport_errors: get(&c.transport_errors),
            retries: get(&c.retries),
            gave_up: get(&c.gave_up),
        }
    }

    /// `GET /apps/{app_key}/account_users/{id}`.
    pub async fn get_user(&self, id: i64) -> Result<AccountUser, Error> {
        let call = self.call(Method::GET, Some(id), "GET account_users/{id}");
        let body = self.execute(&call).await?;
        Ok(decode::<AccountUserResponse>(&body, call.route)?.account_user)
    }

    /// One page of users in ascending id order: `page` from 1, `count` from 1 to 100.
    pub async fn list_page(&self, page: u64, count: u64) -> Result<AccountUserList, Error> {
        self.list(page, count, None).await
    }

    /// The user with this email address, compared case-insensitively, or `None`.
    ///
    /// Asks the server to filter by email, and checks every address that comes back
    /// itself: a server that ignores the filter answers with everyone, in which case
    /// this walks the pages until it finds the address or runs out of users.
    pub async fn find_by_email(&self, email: &str) -> Result<Option<AccountUser>, Error> {
        let wanted = email.trim().to_lowercase();
        let mut seen = HashSet::new();
        let mut page = 1;

        loop {
            let list = self.list(page, MAX_PER_PAGE, Some(email)).await?;
            let last = is_last_page(&list, MAX_PER_PAGE);

            // A server that applied the filter sent only matches, or nothing.
            let mut filtered = true;
            let mut fresh = false;
            for user in list.account_users {
                if user.email.trim().to_lowercase() == wanted {
                    return Ok(Some(user));
                }
                filtered = false;
                fresh |= seen.insert(user.id);
            }

            if filtered || last {
                return Ok(None);
            }
            if !fresh {
                return Err(Error::PaginationStalled { page });
            }
            page += 1;
        }
    }

    /// `POST /apps/{app_key}/account_users`; `fields.email` is required.
    ///
    /// A create is not idempotent, so it is retried after a lost answer (connection
    /// dropped after sending, or a 5xx) only once a lookup by email shows that the first
    /// attempt did not land. If it did land, the user found is returned as if the create
    /// had answered. A 409 after such a lost answer is resolved the same way. Note that
    /// a user who already existed with this email before the call is then returned too:
    /// from the outside the two cases look the same. If the lookup itself fails, its
    /// error is returned and the create may or may not have landed; calling again is
    /// safe, since the next call looks up the email first too after a lost answer, or
    /// gets a 409.
    pub async fn create_user(&self, fields: &AccountUserFields) -> Result<AccountUser, Error> {
        let Some(email) = fields.email.as_deref() else {
            return Err(Error::Usage("a create needs an email address".into()));
        };
        let mut call = self.call(Method::POST, None, "POST account_users");
        call.body = Some(user_body(fields));

        let mut budget = Budget::new(&self.inner.config);
        let mut refreshed = false;
        let mut may_have_landed = false;

        loop {
            let token = self.token().await?;
            budget.start_attempt();

            match self.classify(self.send(&call, Some(&token)).await) {
                Step::Done(body) => {
                    return Ok(decode::<AccountUserResponse>(&body, call.route)?.account_user)
                }
                Step::Unauthorized(body) => {
                    let error = ApiError::from_body(401, &body);
                    self.after_unauthorized(&token, &mut refreshed, error)
                        .await?;
                }
                Step::Refused { status, body } => {
                    if status == 409 && may_have_landed {
                        if let Some(user) = self.find_by_email(email).await? {
                            debug!("a create that timed out had landed; returning that user");
                            return Ok(user);
                        }
                    }
                    return Err(ApiError::from_body(status, &body).into());
                }
                Step::Retry {
                    error,
                    hint,
                    ambiguous,
                } => {
                    if ambiguous {
                        may_have_landed = true;
                        if let Some(user) = self.find_by_email(email).await? {
                            debug!("the answer to a create was lost, but it had landed");
                            return Ok(user);
                        }
                    }
                    self.wait_or_give_up(&mut budget, hint, error, call.route)
                        .await?;
                }
            }
        }
    }

    /// `PUT /apps/{app_key}/account_users/{id}`: merges the fields given.
    pub async fn update_user(
        &self,
        id: i64,
        fields: &AccountUserFields,
    ) -> Result<AccountUser, Error> {
        let mut call = self.call(Method::PUT, Some(id), "PUT account_users/{id}");
        call.body = Some(user_body(fields));

        let body = self.execute(&call).await?;
        Ok(decode::<AccountUserResponse>(&body, call.route)?.account_user)
    }

    /// `DELETE /apps/{app_key}/account_users/{id}`.
    ///
    /// Retried like any idempotent call; a retry after a lost answer to a delete that
    /// did land gets a 404, which is returned as such.
    pub async fn delete_user(&self, id: i64) -> Result<(), Error> {
        let call = self.call(Method::DELETE, Some(id), "DELETE account_users/{id}");
        let body = self.execute(&call).await?;
        decode::<Empty>(&body, call.route)?;
        Ok(())
    }

    /// Every user of the account, as a stream over pages of 100; see [`UserStream`].
    pub fn list_all(&self) -> UserStream {
        UserStream::new(self.clone(), MAX_PER_PAGE)
    }

    /// [`Client::list_all`] with another page size, from 1 to 100.
    pub fn list_all_by(&self, count: u64) -> UserStream {
        UserStream::new(self.clone(), count.clamp(1, MAX_PER_PAGE))
    }

    async fn list(
        &self,
        page: u64,
        count: u64,
        email: Option<&str>,
    ) -> Result<AccountUserList, Error> {
        let mut call = self.call(Method::GET, None, "GET account_users");
        call.query.push(("page", page.to_string()));
        call.query.push(("count", count.to_string()));
        if let Some(email) = email {
            call.query.push(("email", email.to_owned()));
        }

        let body = self.execute(&call).await?;
        decode::<AccountUserList>(&body, call.route)
    }

    fn call(&self, method: Method, id: Option<i64>, route: &'static str) -> Call {
        let mut url = self.inner.base.clone();
        {
            let app_key = self.inner.config.app_key.as_str();
            let mut path = url
                .path_segments_mut()
                .expect("the base URL was checked to have a path");
            path.pop_if_empty()
                .extend(["apps", app_key, "account_users"]);
            if let Some(id) = id {
                path.push(&id.to_string());
            }
        }

        Call {
            method,
            url,
            query: Vec::new(),
            body: None,
            route,
        }
    }

    /// Sends an idempotent call until it succeeds, is refused, or the budget runs out.
    async fn execute(&self, call: &Call) -> Result<Vec<u8>, Error> {
        let mut budget = Budget::new(&self.inner.config);
        let mut refreshed = false;

        loop {
            let token = self.token().await?;
            budget.start_attempt();

            match self.classify(self.send(call, Some(&token)).await) {
                Step::Done(body) => return Ok(body),
                Step::Unauthorized(body) => {
                    let error = ApiError::from_body(401, &body);
                    self.after_unauthorized(&token, &mut refreshed, error)
                        .await?;
                }
                Step::Refused { status, body } => {
                    return Err(ApiError::from_body(status, &body).into());
                }
                Step::Retry { error, hint, .. } => {
                    self.wait_or_give_up(&mut budget, hint, error, call.route)
                        .await?;
                }
            }
        }
    }

    /// A 401 gets one new token and one more attempt per call; a second 401 is final.
    async fn after_unauthorized(
        &self,
        stale: &Token,
        refreshed: &mut bool,
        error: ApiError,
    ) -> Result<(), Error> {
        if *refreshed {
            return Err(error.into());
        }

        debug!("token refused; fetching a new one and trying once more");
        *refreshed = true;
        self.inner.tokens.forget(stale).await;
        Ok(())
    }

    async fn wait_or_give_up(
        &self,
        budget: &mut Budget,
        hint: Option<Duration>,
        error: Error,
        route: &'static str,
    ) -> Result<(), Error> {
        let Some(wait) = budget.next_wait(hint) else {
            bump(&self.inner.stats.gave_up);
            warn!(
                route,
                attempts = budget.attempts(),
                error = %error,
                "giving up"
            );
            return Err(Error::GaveUp {
                attempts: budget.attempts(),
                elapsed: budget.elapsed(),
                last: Box::new(error),
            });
        };

        bump(&self.inner.stats.retries);
        debug!(route, attempt = budget.attempts(), ?wait, error = %error, "retrying");
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// The cached token, or a new one when it is missing or due for replacement.
    async fn token(&self) -> Result<Token, Error> {
        let mut slot = self.inner.tokens.lock().await;
        if let Some(token) = slot.fresh() {
            return Ok(token);
        }

        let config = &self.inner.config;
        let issued = Instant::now();
        let granted = self.fetch_token().await?;
        let lifetime = usable_for(
            granted.expires_in,
            config.token_refresh_margin,
            config.token_max_age,
        );
        debug!(expires_in = ?granted.expires_in, ?lifetime, "new token");

        let value = SecretString::from(granted.access_token);
        Ok(slot.store(value, issued, lifetime))
    }

    /// `POST /oauth/token`, retried on 429, 5xx and connection errors.
    async fn fetch_token(&self) -> Result<TokenResponse, Error> {
        let config = &self.inner.config;
        let request = TokenRequest {
            client_id: Some(config.app_key.clone()),
            client_secret: Some(config.secret.expose_secret().to_owned()),
            grant_type: Some(GRANT_TYPE.to_owned()),
        };
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .expect("the base URL was checked to have a path")
            .pop_if_empty()
            .extend(["oauth", "token"]);
        let call = Call {
            method: Method::POST,
            url,
            query: Vec::new(),
            body: Some(serde_json::to_value(&request).expect("plain strings serialise")),
            route: "POST oauth/token",
        };

        let mut budget = Budget::new(config);
        loop {
            budget.start_attempt();
            bump(&self.inner.stats.token_fetches);

            match self.classify(self.send(&call, None).await) {
                Step::Done(body) => {
                    return serde_json::from_slice(&body).map_err(|e| Error::Decode {
                        status: 200,
                        what: call.route,
                        detail: e.to_string(),
                    });
                }
                Step::Unauthorized(body) => return Err(Error::oauth(401, &body)),
                Step::Refused { status, body } => return Err(Error::oauth(status, &body)),
                Step::Retry { error, hint, .. } => {
                    self.wait_or_give_up(&mut budget, hint, error, call.route)
                        .await?;
                }
            }
        }
    }

    async fn send(&self, call: &Call, token: Option<&Token>) -> Attempt {
        if let Some(pacer) = &self.inner.pacer {
            pacer.until_ready().await;
        }
        bump(&self.inner.stats.requests);

        let mut request = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone())
            .query(&call.query);
        if let Some(token) = token {
            let value = token.value.expose_secret();
            request = match self.inner.config.token_placement {
                TokenPlacement::Bearer => request.header(AUTHORIZATION, format!("Bearer {value}")),
                TokenPlacement::Header => request.header("X-Yotpo-Token", value),
                TokenPlacement::Query => request.query(&[("utoken", value)]),
            };
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }

        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Attempt::Failed(error.without_url()),
        };
        let status = response.status();
        let headers = response.headers().clone();
        match response.bytes().await {
            Ok(body) => Attempt::Answered {
                status,
                headers,
                body: body.to_vec(),
            },
            Err(error) => Attempt::Failed(error.without_url()),
        }
    }

    fn classify(&self, attempt: Attempt) -> Step {
        let stats = &self.inner.stats;
        let (status, headers, body) = match attempt {
            Attempt::Answered {
                status,
                headers,
                body,
            } => (status, headers, body),
            Attempt::Failed(error) => {
                bump(&stats.transport_errors);
                // A refused connection carried nothing; anything later may have.
                let ambiguous = !error.is_connect();
                return Step::Retry {
                    error: Error::Transport(error),
                    hint: None,
                    ambiguous,
                };
            }
        };

        if status.is_success() {
            return Step::Done(body);
        }
        let code = status.as_u16();
        match code {
            401 => {
                bump(&stats.unauthorized);
                Step::Unauthorized(body)
            }
            429 => {
                bump(&stats.throttled);
                Step::Retry {
                    error: ApiError::from_body(code, &body).into(),
                    hint: wait_hint(&headers, SystemTime::now()),
                    ambiguous: false,
                }
            }
            500..=599 => {
                bump(&stats.server_errors);
                Step::Retry {
                    error: ApiError::from_body(code, &body).into(),
                    hint: None,
                    ambiguous: true,
                }
            }
            _ => Step::Refused { status: code, body },
        }
    }
}

fn parse_base(raw: &str) -> Result<Url, Error> {
    let base = Url::parse(raw.trim())
        .map_err(|e| Error::Config(format!("base URL {raw:?} is not a URL: {e}")))?;
    if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
        return Err(Error::Config(format!(
            "base URL {raw:?} must be an http:// or https:// address"
        )));
    }
    Ok(base)
}

fn user_body(fields: &AccountUserFields) -> serde_json::Value {
    let request = AccountUserRequest {
        utoken: None,
        account_user: fields.clone(),
    };
    serde_json::to_value(&request).expect("account user fields serialise")
}

/// The `response` of a success envelope.
fn decode<T: DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T, Error> {
    let envelope: Envelope<T> = serde_json::from_slice(body).map_err(|e| Error::Decode {
        status: 200,
        what,
        detail: format!("{e}; body starts {:?}", snippet(body)),
    })?;
    envelope.response.ok_or_else(|| Error::Decode {
        status: 200,
        what,
        detail: "the envelope has no response".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Client {
        Client::new(ClientConfig::new(base, "key/with space", "secret")).unwrap()
    }

    #[test]
    fn paths_are_appended_to_the_base_and_the_app_key_is_escaped() {
        let call = client("http://h:1/prefix/").call(Method::GET, Some(7), "r");
        assert_eq!(
            call.url.as_str(),
            "http://h:1/prefix/apps/key%2Fwith%20space/account_users/7"
        );

        let call = client("http://h:1").call(Method::GET, None, "r");
        assert_eq!(
            call.url.as_str(),
            "http://h:1/apps/key%2Fwith%20space/account_users"
        );
    }

    #[test]
    fn a_base_that_is_not_http_is_refused() {
        let config = ClientConfig::new("mailto:a@b.co", "k", "s");
        assert!(matches!(Client::new(config), Err(Error::Config(_))));
    }

    #[test]
    fn a_null_name_is_sent_to_clear_it() {
        let fields = AccountUserFields {
            name: Some(None),
            ..AccountUserFields::default()
        };
        assert_eq!(
            user_body(&fields),
            serde_json::json!({"account_user": {"name": null}})
        );
    }
}
