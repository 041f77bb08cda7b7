//! Rate limits (DESIGN 1.6) against the real server, with small limits.

mod support;

use std::net::{IpAddr, Ipv4Addr};

use reqwest::blocking::Response;
use serde_json::json;
use support::{assert_error, client, read, TestServer, APP_KEY, SECRET};

fn header(response: &Response, name: &str) -> Option<u64> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().parse().unwrap())
}

fn list(server: &TestServer, app_key: &str, token: &str) -> Response {
    client()
        .get(server.url(&format!("/apps/{app_key}/account_users")))
        .bearer_auth(token)
        .send()
        .unwrap()
}

/// A second account, made with the operator command.
fn second_account(server: &TestServer) -> (String, String) {
    let output = server.operator(&["accounts", "create", "--name", "Other"]);
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap()
            .trim()
            .to_owned()
    };
    (field("app_key:"), field("secret:"))
}

/// A token request sent from `from`, one of the loopback range's many addresses.
fn token_request(server: &TestServer, from: Ipv4Addr, client_id: &str, secret: &str) -> Response {
    reqwest::blocking::Client::builder()
        .local_address(IpAddr::V4(from))
        .build()
        .unwrap()
        .post(server.url("/oauth/token"))
        .json(&json!({
            "client_id": client_id,
            "client_secret": secret,
            "grant_type": "client_credentials",
        }))
        .send()
        .unwrap()
}

#[test]
fn the_sixth_request_in_a_minute_is_refused_with_429_and_the_headers() {
    let server = TestServer::start_with(&["--rate-limit", "5"]);
    let token = server.token();

    for left in (0..5).rev() {
        let response = list(&server, APP_KEY, &token);
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "ratelimit-limit"), Some(5));
        assert_eq!(header(&response, "ratelimit-remaining"), Some(left));
        let reset = header(&response, "ratelimit-reset").unwrap();
        assert!((1..=60).contains(&reset), "reset {reset}");
        assert_eq!(header(&response, "retry-after"), None);
    }

    // The /v1 paths draw on the same bucket.
    let refused = client()
        .get(server.url(&format!("/v1/apps/{APP_KEY}/account_users")))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(header(&refused, "ratelimit-limit"), Some(5));
    assert_eq!(header(&refused, "ratelimit-remaining"), Some(0));
    let retry_after = header(&refused, "retry-after").unwrap();
    assert!((1..=12).contains(&retry_after), "retry after {retry_after}");
    assert!(header(&refused, "ratelimit-reset").unwrap() >= retry_after);
    let body = assert_error(refused, 429, "TooManyRequests");
    let message = body["status"]["message"].as_str().unwrap();
    assert!(message.contains("retry in"), "{message}");
}

#[test]
fn another_app_key_is_unaffected_by_a_limited_one() {
    let server = TestServer::start_with(&["--rate-limit", "5"]);
    let token = server.token();
    for _ in 0..5 {
        assert_eq!(list(&server, APP_KEY, &token).status(), 200);
    }
    assert_eq!(list(&server, APP_KEY, &token).status(), 429);

    let (app_key, secret) = second_account(&server);
    let other_token = server.token_for(&app_key, &secret);
    let response = list(&server, &app_key, &other_token);
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "ratelimit-remaining"), Some(4));
}

#[test]
fn a_limit_of_zero_turns_the_limit_off() {
    let server = TestServer::start_with(&["--rate-limit", "0", "--token-rate-limit", "0"]);
    let token = server.token();
    for _ in 0..30 {
        let response = list(&server, APP_KEY, &token);
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "ratelimit-limit"), None);
    }
    for _ in 0..70 {
        server.token();
    }
}

#[test]
fn each_node_enforces_its_share_of_the_limit() {
    let server = TestServer::start_with(&["--rate-limit", "10", "--nodes", "2"]);
    let token = server.token();
    let response = list(&server, APP_KEY, &token);
    assert_eq!(header(&response, "ratelimit-limit"), Some(5));
}

#[test]
fn token_requests_are_limited_per_source_address() {
    let server = TestServer::start_with(&["--token-rate-limit", "3"]);
    let from = Ipv4Addr::new(127, 0, 0, 1);
    for client_id in ["a", "b", "c"] {
        let response = token_request(&server, from, client_id, "wrong");
        assert_eq!(response.status(), 401);
        assert_eq!(header(&response, "ratelimit-limit"), Some(3));
    }

    let refused = token_request(&server, from, APP_KEY, SECRET);
    assert_eq!(header(&refused, "ratelimit-remaining"), Some(0));
    assert!(header(&refused, "retry-after").unwrap() >= 1);
    let (status, body) = read(refused);
    assert_eq!(status, 429);
    assert_eq!(body["error"], "slow_down", "{body}");
    assert!(body.get("status").is_none(), "no envelope: {body}");

    let elsewhere = token_request(&server, Ipv4Addr::new(127, 0, 0, 2), APP_KEY, SECRET);
    assert_eq!(elsewhere.status(), 200);
    assert_eq!(header(&elsewhere, "ratelimit-remaining"), Some(2));
}

#[test]
fn token_requests_are_limited_per_client_id_across_addresses() {
    let server = TestServer::start_with(&["--token-rate-limit", "3"]);
    for last in 1..=3 {
        let response = token_request(&server, Ipv4Addr::new(127, 0, 1, last), APP_KEY, "wrong");
        assert_eq!(response.status(), 401);
    }

    let refused = token_request(&server, Ipv4Addr::new(127, 0, 1, 9), APP_KEY, SECRET);
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));

    let other = token_request(&server, Ipv4Addr::new(127, 0, 1, 9), "someone-else", "x");
    assert_eq!(other.status(), 401, "another client_id is unaffected");
}
