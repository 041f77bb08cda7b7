//! `/metrics` and the JSON logs, against the real server.

mod support;

use serde_json::{json, Value};
use support::{client, create_user, TestServer, APP_KEY, SECRET};

fn metrics(server: &TestServer) -> String {
    let response = client().get(server.url("/metrics")).send().unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain; version=0.0.4"));
    response.text().unwrap()
}

/// The value of the sample named exactly `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

#[test]
fn metrics_count_requests_by_route_and_status_tokens_and_429s() {
    let server = TestServer::start_with(&["--rate-limit", "2"]);
    let token = server.token();
    for _ in 0..3 {
        client()
            .get(server.users_url())
            .bearer_auth(&token)
            .send()
            .unwrap();
    }
    client().get(server.url("/nowhere")).send().unwrap();

    let text = metrics(&server);
    let route = "/apps/{app_key}/account_users";
    let requests = |status: u16| {
        sample(
            &text,
            &format!(
                "roster_http_requests_total{{method=\"GET\",route=\"{route}\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(requests(200), Some(2.0), "{text}");
    assert_eq!(requests(429), Some(1.0), "{text}");
    let unmatched = r#"roster_http_requests_total{method="GET",route="unmatched",status="404"}"#;
    assert_eq!(sample(&text, unmatched), Some(1.0), "{text}");
    let latency_count = format!(
        "roster_http_request_duration_seconds_count{{method=\"GET\",route=\"{route}\",status=\"200\"}}"
    );
    assert_eq!(sample(&text, &latency_count), Some(2.0), "{text}");
    assert_eq!(sample(&text, "roster_tokens_issued_total"), Some(1.0));
    assert_eq!(
        sample(&text, r#"roster_rate_limited_total{limiter="app_key"}"#),
        Some(1.0)
    );
    assert!(sample(&text, "roster_db_pool_connections").unwrap() >= 1.0);
    assert!(sample(&text, "roster_db_pool_idle_connections").is_some());
    assert!(!text.contains(APP_KEY), "no app key in labels:\n{text}");
}

/// Every request an integration would make, and some that go wrong.
fn full_scenario(server: &TestServer) -> String {
    let token = server.token();
    let form = client()
        .post(server.url("/oauth/token"))
        .form(&[
            ("client_id", APP_KEY),
            ("client_secret", SECRET),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .unwrap();
    assert_eq!(form.status(), 200);
    client()
        .post(server.url("/oauth/token"))
        .json(
            &json!({"client_id": APP_KEY, "client_secret": "wrong-secret-987",
                      "grant_type": "client_credentials"}),
        )
        .send()
        .unwrap();

    let user = create_user(
        server,
        &token,
        json!({"email": "hidden.person@example.org", "name": "Hidden Person", "role": "admin"}),
    );
    let url = server.user_url(user["id"].as_i64().unwrap());
    client()
        .get(server.users_url())
        .query(&[
            ("utoken", token.as_str()),
            ("email", "hidden.person@example.org"),
        ])
        .send()
        .unwrap();
    client()
        .put(&url)
        .json(&json!({"utoken": token, "account_user": {"email": "moved.person@example.net"}}))
        .send()
        .unwrap();
    client()
        .post(server.users_url())
        .bearer_auth(&token)
        .json(&json!({"account_user": {"email": "moved.person@example.net"}}))
        .send()
        .unwrap();
    client()
        .post(server.users_url())
        .bearer_auth(&token)
        .json(&json!({"account_user": {"email": "not-an-address"}}))
        .send()
        .unwrap();
    client()
        .get(server.users_url())
        .header("X-Yotpo-Token", "made-up-token-0000000000000000000000000")
        .send()
        .unwrap();
    client()
        .delete(&url)
        .header("X-Yotpo-Token", &token)
        .send()
        .unwrap();
    client().get(server.url("/metrics")).send().unwrap();
    token
}

#[test]
fn json_logs_are_one_object_a_line_and_hold_no_secret_token_or_email() {
    let server = TestServer::start_with(&["--log-format", "json"]);
    let token = full_scenario(&server);
    let logs = server.logs();

    let mut finished = 0;
    for line in logs.lines() {
        // The one plain line that tells where the server listens, for scripts.
        if line.starts_with("roster listening on ") {
            continue;
        }
        let entry: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(entry["level"].is_string(), "{line}");
        if entry["message"] == "request finished" {
            finished += 1;
            assert!(entry["span"]["route"].is_string(), "{line}");
            assert!(entry["status"].is_u64(), "{line}");
        }
    }
    assert!(finished >= 10, "{logs}");

    for needle in [
        token.as_str(),
        SECRET,
        "wrong-secret-987",
        "made-up-token",
        "hidden.person",
        "moved.person",
        "not-an-address",
        "example.",
        "@",
    ] {
        assert!(
            !logs.contains(needle),
            "{needle:?} appears in the logs:\n{logs}"
        );
    }
}

/// A client's request id could carry anything into the logs at info level.
#[test]
fn a_request_id_sent_by_the_client_is_replaced_by_the_servers_own_and_never_logged() {
    let server = TestServer::start_with(&["--log-format", "json"]);
    let token = server.token();
    let sent = format!("ana@example.com {token}");

    let mut returned = Vec::new();
    for path in ["/healthz", "/nowhere"] {
        let response = client()
            .get(server.url(path))
            .header("x-request-id", &sent)
            .send()
            .unwrap();
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(id, sent);
        assert_eq!(id.len(), 36, "a UUID: {id}");
        returned.push(id);
    }
    let response = client()
        .get(server.users_url())
        .bearer_auth(&token)
        .header("x-request-id", "plain-id-from-the-client")
        .send()
        .unwrap();
    assert_ne!(
        response.headers()["x-request-id"],
        "plain-id-from-the-client"
    );

    let logs = server.logs();
    for needle in [
        "ana@example.com",
        token.as_str(),
        "plain-id-from-the-client",
    ] {
        assert!(!logs.contains(needle), "{needle:?} is in the logs:\n{logs}");
    }
    for id in &returned {
        assert!(
            logs.contains(id.as_str()),
            "the server's id {id} is logged:\n{logs}"
        );
    }
}

#[test]
fn a_requests_log_line_has_its_method_route_status_latency_and_the_id_it_was_answered_with() {
    let server = TestServer::start_with(&["--log-format", "json"]);
    let token = server.token();
    let user = create_user(&server, &token, json!({"email": "ana@example.com"}));

    let response = client()
        .get(server.user_url(user["id"].as_i64().unwrap()))
        .bearer_auth(&token)
        .send()
        .unwrap();

    assert_eq!(response.status(), 200);
    let id = response.headers()["x-request-id"].to_str().unwrap();
    let line = support::wait_for(|| {
        server.logs().lines().find_map(|line| {
            let entry: Value = serde_json::from_str(line).ok()?;
            (entry["span"]["request_id"] == id && entry["message"] == "request finished")
                .then_some(entry)
        })
    })
    .unwrap_or_else(|| panic!("no line for request {id}:\n{}", server.logs()));
    assert_eq!(line["span"]["method"], "GET", "{line}");
    assert_eq!(
        line["span"]["route"], "/apps/{app_key}/account_users/{id}",
        "{line}"
    );
    assert_eq!(line["status"], 200, "{line}");
    assert!(line["latency_us"].is_u64(), "{line}");
    assert_eq!(line["level"], "INFO", "{line}");
}
