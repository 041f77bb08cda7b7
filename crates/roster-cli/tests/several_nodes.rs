//! Several `roster serve` processes sharing one database, as behind a load balancer.
//! Run against PostgreSQL by `scripts/with-postgres`; against one SQLite file otherwise.

mod support;

use serde_json::json;
use support::{assert_error, client, read, TestServer, APP_KEY};

#[test]
fn a_token_issued_by_one_node_works_on_the_other() {
    let first = TestServer::start();
    let second = first.second_node();
    let token = first.token();
    let (status, body) = read(
        client()
            .get(second.users_url())
            .bearer_auth(&token)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_hundred_concurrent_creates_of_one_email_over_two_nodes_make_one_user() {
    let first = TestServer::start();
    let second = first.second_node();
    let token = first.token();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..100)
            .map(|i| {
                let node = if i % 2 == 0 { &first } else { &second };
                let token = &token;
                scope.spawn(move || {
                    client()
                        .post(node.users_url())
                        .bearer_auth(token)
                        .json(&json!({"account_user": {"email": "Same@Example.com"}}))
                        .send()
                        .unwrap()
                        .status()
                        .as_u16()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        99,
        "{statuses:?}"
    );
    for node in [&first, &second] {
        let (_, body) = read(
            client()
                .get(node.users_url())
                .bearer_auth(&token)
                .send()
                .unwrap(),
        );
        assert_eq!(body["response"]["pagination"]["total"], 1);
    }
}

#[test]
fn a_secret_rotated_on_the_shared_database_is_refused_by_every_node_at_once() {
    let first = TestServer::start();
    let second = first.second_node();
    let token = second.token();

    let rotated = first.operator(&["accounts", "rotate-secret", APP_KEY]);
    assert!(rotated.status.success(), "{rotated:?}");

    for node in [&first, &second] {
        assert_error(
            client()
                .get(node.users_url())
                .bearer_auth(&token)
                .send()
                .unwrap(),
            401,
            "AccessDenied",
        );
        let (status, body) = read(
            client()
                .post(node.url("/oauth/token"))
                .json(&json!({
                    "client_id": APP_KEY,
                    "client_secret": support::SECRET,
                    "grant_type": "client_credentials",
                }))
                .send()
                .unwrap(),
        );
        assert_eq!(status, 401, "the old secret is refused: {body}");
    }
}
