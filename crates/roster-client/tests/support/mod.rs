//! A hostile stand-in for the account-users API: an in-memory axum app on 127.0.0.1 that
//! answers the wire contract of DESIGN section 1, and can be told to behave like the
//! vendor at its worst: tokens that die after a few calls or carry no `expires_in`, 429s
//! with and without hints, dropped connections, an ignored `email` filter, creates that
//! land but whose answer is lost, and users that come and go between page requests.
//!
//! Shared by the integration tests and the `audit_bench` example.

#![allow(dead_code)]

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    num::NonZeroU32,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant, SystemTime},
};

use axum::{
    body::{Body, Bytes},
    extract::{Path, Query, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::{distributions::Alphanumeric, rngs::StdRng, Rng, SeedableRng};
use roster_api::{
    oauth::{OAuthError, TokenRequest, TokenResponse},
    users::{
        AccountUser, AccountUserFields, AccountUserList, AccountUserRequest, AccountUserResponse,
        Pagination,
    },
    Empty, Envelope, ErrorEnvelope, ErrorType,
};
use roster_client::ClientConfig;
use serde::Deserialize;

pub const APP_KEY: &str = "stand-in-app";
pub const SECRET: &str = "stand-in-secret";
const ROLES: [&str; 4] = ["admin", "staff", "insights_only", "viewer"];
const TIMESTAMP: &str = "2026-01-01T00:00:00.000Z";

/// The header a scripted 429 carries.
#[derive(Clone, Copy, Debug)]
pub enum Hint {
    RetryAfterSeconds(u64),
    /// `Retry-After` as an HTTP date this many seconds ahead.
    RetryAfterDate(u64),
    RateLimitReset(u64),
}

/// How a create that landed loses its answer.
#[derive(Clone, Copy, Debug, Default)]
pub enum LostAnswer {
    /// The connection is dropped instead of answering.
    #[default]
    Dropped,
    /// 502, as a gateway whose upstream timed out would answer.
    BadGateway,
}

/// A change made just before answering a given page of the listing, once.
#[derive(Clone, Copy, Debug)]
pub struct Churn {
    pub before_page: u64,
    pub action: ChurnAction,
}

#[derive(Clone, Copy, Debug)]
pub enum ChurnAction {
    /// Creates users, which get the highest ids.
    Insert(u32),
    /// Deletes the users with the lowest ids, shifting every later page left.
    DeleteFirst(u32),
    /// Creates users that sort before everyone else, shifting every page right, as a
    /// server that does not order by id would.
    InsertAtFront(u32),
}

/// What to do to the client. The default is a well-behaved server.
#[derive(Clone, Debug)]
pub struct Hostility {
    /// Each token is refused (401) after this many calls.
    pub token_uses: Option<u32>,
    /// `expires_in` in the token answer; `None` sends none, as the vendor does.
    pub expires_in: Option<u64>,
    /// Tokens are refused once this old.
    pub token_ttl: Option<Duration>,
    /// The first this many calls get a 429 with the hint.
    pub hinted_429s: u32,
    pub hint: Hint,
    /// The chance that a call gets a 429 with no header at all.
    pub bare_429_rate: f64,
    /// The chance that a call has its connection dropped without an answer.
    pub reset_rate: f64,
    /// Whether reads (GET) only are reset, so that tests of creates can tell which
    /// failures they caused themselves.
    pub reset_reads_only: bool,
    pub ignore_email_filter: bool,
    /// Every list request gets page 1, whatever it asked for.
    pub ignore_page: bool,
    /// This many creates have their connection dropped before they land.
    pub dropped_creates: u32,
    /// This many creates land but lose their answer.
    pub lost_creates: u32,
    pub lost_answer: LostAnswer,
    pub churn: Vec<Churn>,
    /// Requests per second beyond which calls get a 429 with no header.
    pub rate_limit: Option<u32>,
    pub seed: u64,
}

impl Default for Hostility {
    fn default() -> Hostility {
        Hostility {
            token_uses: None,
            expires_in: Some(3600),
            token_ttl: None,
            hinted_429s: 0,
            hint: Hint::RetryAfterSeconds(1),
            bare_429_rate: 0.0,
            reset_rate: 0.0,
            reset_reads_only: false,
            ignore_email_filter: false,
            ignore_page: false,
            dropped_creates: 0,
            lost_creates: 0,
            lost_answer: LostAnswer::Dropped,
            churn: Vec::new(),
            rate_limit: None,
            seed: 7,
        }
    }
}

/// What the stand-in did, to check what the client went through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every request received, token requests included.
    pub requests: u64,
    pub token_requests: u64,
    pub unauthorized: u64,
    pub throttled: u64,
    pub resets: u64,
    pub creates_landed: u64,
    pub answers_lost: u64,
}

/// Every id the stand-in ever held and every id it removed, whoever asked, so that a
/// test can tell which users were present for the whole of a walk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    pub created: BTreeSet<i64>,
    pub deleted: BTreeSet<i64>,
}

struct Inner {
    hostility: Hostility,
    users: BTreeMap<i64, AccountUser>,
    history: History,
    next_id: i64,
    next_front_id: i64,
    tokens: HashMap<String, IssuedToken>,
    rng: StdRng,
    counts: Counts,
}

struct IssuedToken {
    uses: u32,
    issued: Instant,
}

#[derive(Clone)]
struct Shared {
    inner: Arc<Mutex<Inner>>,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap()
    }
}

/// A running stand-in; stops when dropped.
pub struct StandIn {
    pub base_url: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl StandIn {
    pub async fn start(hostility: Hostility) -> StandIn {
        let limiter = hostility
            .rate_limit
            .and_then(NonZeroU32::new)
            .map(|rate| Arc::new(RateLimiter::direct(Quota::per_second(rate))));
        let shared = Shared {
            inner: Arc::new(Mutex::new(Inner {
                rng: StdRng::seed_from_u64(hostility.seed),
                hostility,
                users: BTreeMap::new(),
                history: History::default(),
                next_id: 1,
                next_front_id: -1,
                tokens: HashMap::new(),
                counts: Counts::default(),
            })),
            limiter,
        };

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let app = router(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });

        StandIn {
            base_url,
            shared,
            server,
        }
    }

    /// A client configuration for this stand-in with short waits, so tests stay fast.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig::new(&self.base_url, APP_KEY, SECRET)
            .with_backoff(Duration::from_millis(1), Duration::from_millis(20))
            .with_retry_limits(40, Duration::from_secs(20))
            .with_request_timeout(Duration::from_secs(5))
    }

    pub fn client(&self) -> roster_client::Client {
        roster_client::Client::new(self.client_config()).unwrap()
    }

    /// Adds `count` users directly, as `user{n}@example.com`.
    pub fn seed_users(&self, count: u32) {
        let mut inner = self.shared.lock();
        for _ in 0..count {
            let n = inner.next_id;
            inner.insert(format!("user{n}@example.com"), None, "viewer".into());
        }
    }

    pub fn users(&self) -> Vec<AccountUser> {
        self.shared.lock().users.values().cloned().collect()
    }

    pub fn counts(&self) -> Counts {
        self.shared.lock().counts
    }

    pub fn history(&self) -> History {
        self.shared.lock().history.clone()
    }

    /// Refuses every token issued so far.
    pub fn revoke_tokens(&self) {
        self.shared.lock().tokens.clear();
    }

    pub fn set_hostility(&self, change: impl FnOnce(&mut Hostility)) {
        change(&mut self.shared.lock().hostility);
    }
}

impl Inner {
    fn insert(&mut self, email: String, name: Option<String>, role: String) -> AccountUser {
        let id = self.next_id;
        self.next_id += 1;
        self.insert_with_id(id, email, name, role)
    }

    fn insert_with_id(
        &mut self,
        id: i64,
        email: String,
        name: Option<String>,
        role: String,
    ) -> AccountUser {
        let user = AccountUser {
            id,
            email,
            name,
            role,
            created_at: TIMESTAMP.into(),
            updated_at: TIMESTAMP.into(),
            active: true,
        };
        self.users.insert(id, user.clone());
        self.history.created.insert(id);
        user
    }

    fn remove(&mut self, id: i64) -> Option<AccountUser> {
        let removed = self.users.remove(&id);
        if removed.is_some() {
            self.history.deleted.insert(id);
        }
        removed
    }

    fn email_taken(&self, email: &str, except: Option<i64>) -> bool {
        let wanted = email.to_lowercase();
        self.users
            .values()
            .any(|u| Some(u.id) != except && u.email.to_lowercase() == wanted)
    }

    fn apply_churn(&mut self, page: u64) {
        let due: Vec<Churn> = self
            .hostility
            .churn
            .iter()
            .copied()
            .filter(|c| c.before_page == page)
            .collect();
        self.hostility.churn.retain(|c| c.before_page != page);

        for churn in due {
            match churn.action {
                ChurnAction::Insert(count) => {
                    for _ in 0..count {
                        let n = self.next_id;
                        self.insert(format!("late{n}@example.com"), None, "viewer".into());
                    }
                }
                ChurnAction::DeleteFirst(count) => {
                    let doomed: Vec<i64> =
                        self.users.keys().take(count as usize).copied().collect();
                    for id in doomed {
                        self.remove(id);
                    }
                }
                ChurnAction::InsertAtFront(count) => {
                    for _ in 0..count {
                        let id = self.next_front_id;
                        self.next_front_id -= 1;
                        let email = format!("front{}@example.com", -id);
                        self.insert_with_id(id, email, None, "viewer".into());
                    }
                }
            }
        }
    }
}

fn router(shared: Shared) -> Router {
    let users = Router::new()
        .route(
            "/apps/{app_key}/account_users",
            get(list_account_users).post(create_account_user),
        )
        .route(
            "/apps/{app_key}/account_users/{id}",
            get(get_account_user)
                .put(update_account_user)
                .delete(delete_account_user),
        )
        .layer(middleware::from_fn_with_state(shared.clone(), authenticate));

    Router::new()
        .route("/oauth/token", post(issue_token))
        .merge(users)
        .layer(middleware::from_fn_with_state(shared.clone(), misbehave))
        .with_state(shared)
}

fn error(status: u16, kind: ErrorType, message: impl Into<String>) -> Response {
    let code = StatusCode::from_u16(status).unwrap();
    (code, Json(ErrorEnvelope::error(status, kind, message))).into_response()
}

fn ok<T: serde::Serialize>(response: T) -> Response {
    Json(Envelope::ok(response)).into_response()
}

/// An answer that never comes: the body fails before its first byte, so the server
/// closes the connection.
fn dropped_connection() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped on purpose"))
    });
    Response::new(Body::from_stream(failing))
}

fn too_many_requests(hint: Option<Hint>) -> Response {
    let mut response = error(429, ErrorType::TooManyRequests, "Too many requests");
    let headers = response.headers_mut();
    match hint {
        None => {}
        Some(Hint::RetryAfterSeconds(seconds)) => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        Some(Hint::RetryAfterDate(seconds)) => {
            let at = SystemTime::now() + Duration::from_secs(seconds);
            let date = httpdate_like(at);
            headers.insert(header::RETRY_AFTER, HeaderValue::from_str(&date).unwrap());
        }
        Some(Hint::RateLimitReset(seconds)) => {
            headers.insert("ratelimit-reset", HeaderValue::from(seconds));
        }
    }
    response
}

/// An IMF-fixdate (RFC 9110 section 5.6.7), rounded up to the next whole second so
/// that the wait it asks for is never shorter than meant.
fn httpdate_like(at: SystemTime) -> String {
    let rounded = at + Duration::from_millis(999);
    httpdate::fmt_http_date(rounded)
}

/// Everything that can go wrong before a request reaches its handler.
async fn misbehave(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let is_read = request.method() == axum::http::Method::GET;
    let is_create = request.method() == axum::http::Method::POST
        && request.uri().path().ends_with("/account_users");
    let outcome = {
        let mut inner = shared.lock();
        inner.counts.requests += 1;

        let over_limit = shared.limiter.as_ref().is_some_and(|l| l.check().is_err());
        let hinted = inner.hostility.hinted_429s > 0;
        let bare_rate = inner.hostility.bare_429_rate;
        let reset_rate = inner.hostility.reset_rate;
        let may_reset = is_read || !inner.hostility.reset_reads_only;

        if over_limit {
            Some(too_many_requests(None))
        } else if hinted {
            inner.hostility.hinted_429s -= 1;
            Some(too_many_requests(Some(inner.hostility.hint)))
        } else if inner.rng.gen_bool(bare_rate) {
            Some(too_many_requests(None))
        } else if is_create && inner.hostility.dropped_creates > 0 {
            inner.hostility.dropped_creates -= 1;
            inner.counts.resets += 1;
            Some(dropped_connection())
        } else if may_reset && inner.rng.gen_bool(reset_rate) {
            inner.counts.resets += 1;
            Some(dropped_connection())
        } else {
            None
        }
    };

    match outcome {
        Some(response) => {
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                shared.lock().counts.throttled += 1;
            }
            response
        }
        None => next.run(request).await,
    }
}

async fn issue_token(State(shared): State<Shared>, body: Bytes) -> Response {
    let mut inner = shared.lock();
    inner.counts.token_requests += 1;

    let Ok(request) = serde_json::from_slice::<TokenRequest>(&body) else {
        return oauth_error(400, "invalid_request");
    };
    if request.grant_type.as_deref() != Some("client_credentials") {
        return oauth_error(400, "unsupported_grant_type");
    }
    if request.client_id.as_deref() != Some(APP_KEY)
        || request.client_secret.as_deref() != Some(SECRET)
    {
        return oauth_error(401, "invalid_client");
    }

    let token: String = (&mut inner.rng)
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    inner.tokens.insert(
        token.clone(),
        IssuedToken {
            uses: 0,
            issued: Instant::now(),
        },
    );
    Json(TokenResponse {
        access_token: token,
        token_type: "bearer".into(),
        expires_in: inner.hostility.expires_in,
    })
    .into_response()
}

fn oauth_error(status: u16, code: &str) -> Response {
    let body = OAuthError {
        error: code.into(),
        error_description: None,
    };
    (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
}

#[derive(Deserialize)]
struct TokenQuery {
    utoken: Option<String>,
}

/// DESIGN 1.2: the token from the query, a header, or `Authorization: Bearer`.
async fn authenticate(
    State(shared): State<Shared>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    let header_text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let bearer = header_text(header::AUTHORIZATION.as_str())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_owned);
    let token = query
        .utoken
        .or_else(|| header_text("x-yotpo-token").map(str::to_owned))
        .or(bearer);

    let accepted = {
        let mut inner = shared.lock();
        let uses_allowed = inner.hostility.token_uses.unwrap_or(u32::MAX);
        let ttl = inner.hostility.token_ttl.unwrap_or(Duration::MAX);
        let issued = token.and_then(|t| inner.tokens.get_mut(&t));
        let accepted = match issued {
            Some(issued) if issued.uses < uses_allowed && issued.issued.elapsed() < ttl => {
                issued.uses += 1;
                true
            }
            _ => false,
        };
        if !accepted {
            inner.counts.unauthorized += 1;
        }
        accepted
    };

    if !accepted {
        let message = roster_api::error::ACCESS_DENIED_MESSAGE;
        return error(401, ErrorType::AccessDenied, message);
    }
    next.run(request).await
}

/// The 404 of DESIGN 1.2 for an app key that exists nowhere.
fn unknown_app_key(app_key: &str) -> Option<Response> {
    if app_key == APP_KEY {
        return None;
    }
    let message = format!("Couldn't find Account with app_key = {app_key}");
    Some(error(404, ErrorType::RecordNotFound, message))
}

fn user_not_found(id: i64) -> Response {
    let message = format!("Couldn't find AccountUser with id = {id}");
    error(404, ErrorType::RecordNotFound, message)
}

#[derive(Deserialize)]
struct ListQuery {
    page: Option<u64>,
    count: Option<u64>,
    email: Option<String>,
}

async fn list_account_users(
    State(shared): State<Shared>,
    Path(app_key): Path<String>,
    Query(query): Query<ListQuery>,
) -> Response {
    if let Some(response) = unknown_app_key(&app_key) {
        return response;
    }
    let mut page = query.page.unwrap_or(1);
    let count = query.count.unwrap_or(10);
    if page < 1 || !(1..=100).contains(&count) {
        let message = "page must be 1 or more and count from 1 to 100";
        return error(400, ErrorType::InvalidParameters, message);
    }

    let mut inner = shared.lock();
    if inner.hostility.ignore_page {
        page = 1;
    }
    let filter = query
        .email
        .filter(|_| !inner.hostility.ignore_email_filter)
        .map(|e| e.to_lowercase());
    if filter.is_none() {
        inner.apply_churn(page);
    }

    let matching: Vec<&AccountUser> = inner
        .users
        .values()
        .filter(|u| filter.as_ref().is_none_or(|f| u.email.to_lowercase() == *f))
        .collect();
    let total = matching.len() as u64;
    let offset = ((page - 1) * count) as usize;
    let account_users = matching
        .into_iter()
        .skip(offset)
        .take(count as usize)
        .cloned()
        .collect();

    ok(AccountUserList {
        account_users,
        pagination: Pagination {
            page,
            per_page: count,
            total,
        },
    })
}

async fn get_account_user(
    State(shared): State<Shared>,
    Path((app_key, id)): Path<(String, i64)>,
) -> Response {
    if let Some(response) = unknown_app_key(&app_key) {
        return response;
    }
    match shared.lock().users.get(&id) {
        Some(user) => ok(AccountUserResponse {
            account_user: user.clone(),
        }),
        None => user_not_found(id),
    }
}

fn read_fields(body: &[u8]) -> Option<AccountUserFields> {
    let request: AccountUserRequest = serde_json::from_slice(body).ok()?;
    Some(request.account_user)
}

fn unreadable_body() -> Response {
    error(400, ErrorType::InvalidParameters, "unreadable JSON body")
}

fn invalid_email() -> Response {
    error(422, ErrorType::RecordInvalid, "Email is invalid")
}

fn email_taken() -> Response {
    error(
        409,
        ErrorType::RecordNotUnique,
        "Email has already been taken",
    )
}

fn unknown_role(role: &str) -> Option<Response> {
    if ROLES.contains(&role) {
        return None;
    }
    let message = format!("Role must be one of: {}", ROLES.join(", "));
    Some(error(422, ErrorType::RecordInvalid, message))
}

async fn create_account_user(
    State(shared): State<Shared>,
    Path(app_key): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(response) = unknown_app_key(&app_key) {
        return response;
    }
    let Some(fields) = read_fields(&body) else {
        return unreadable_body();
    };
    let Some(email) = fields.email.filter(|e| e.contains('@')) else {
        return invalid_email();
    };
    let role = fields.role.unwrap_or_else(|| "viewer".into());
    if let Some(refusal) = unknown_role(&role) {
        return refusal;
    }

    let mut inner = shared.lock();
    if inner.email_taken(&email, None) {
        return email_taken();
    }
    let user = inner.insert(email, fields.name.flatten(), role);
    inner.counts.creates_landed += 1;

    if inner.hostility.lost_creates > 0 {
        inner.hostility.lost_creates -= 1;
        inner.counts.answers_lost += 1;
        return match inner.hostility.lost_answer {
            LostAnswer::Dropped => dropped_connection(),
            LostAnswer::BadGateway => error(502, ErrorType::InternalError, "Bad gateway"),
        };
    }
    ok(AccountUserResponse { account_user: user })
}

async fn update_account_user(
    State(shared): State<Shared>,
    Path((app_key, id)): Path<(String, i64)>,
    body: Bytes,
) -> Response {
    if let Some(response) = unknown_app_key(&app_key) {
        return response;
    }
    let Some(fields) = read_fields(&body) else {
        return unreadable_body();
    };

    let mut inner = shared.lock();
    if !inner.users.contains_key(&id) {
        return user_not_found(id);
    }
    if let Some(email) = &fields.email {
        if !email.contains('@') {
            return invalid_email();
        }
        if inner.email_taken(email, Some(id)) {
            return email_taken();
        }
    }
    if let Some(refusal) = fields.role.as_deref().and_then(unknown_role) {
        return refusal;
    }

    let user = inner.users.get_mut(&id).expect("checked above");
    if let Some(email) = fields.email {
        user.email = email;
    }
    if let Some(name) = fields.name {
        user.name = name;
    }
    if let Some(role) = fields.role {
        user.role = role;
    }
    if let Some(active) = fields.active {
        user.active = active;
    }
    ok(AccountUserResponse {
        account_user: user.clone(),
    })
}

async fn delete_account_user(
    State(shared): State<Shared>,
    Path((app_key, id)): Path<(String, i64)>,
) -> Response {
    if let Some(response) = unknown_app_key(&app_key) {
        return response;
    }
    match shared.lock().remove(id) {
        Some(_) => ok(Empty {}),
        None => user_not_found(id),
    }
}
