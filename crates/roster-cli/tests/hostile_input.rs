//! Requests no client should send, answered in the envelope all the same.

mod support;

use support::{assert_error, client, TestServer};

#[test]
fn a_path_that_is_not_utf8_is_refused_in_the_envelope() {
    let server = TestServer::start();
    let token = server.token();
    for path in [
        "/apps/%FF/account_users",
        "/v1/apps/%C3%28/account_users",
        "/apps/test-app/account_users/%FF",
    ] {
        let response = client()
            .get(server.url(path))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_error(response, 400, "InvalidParameters");
    }
}

#[test]
fn tokens_that_are_not_text_are_refused_like_any_wrong_token() {
    let server = TestServer::start();
    let value = reqwest::header::HeaderValue::from_bytes(b"\xff\xfe token").unwrap();
    let response = client()
        .get(server.users_url())
        .header("X-Yotpo-Token", value.clone())
        .send()
        .unwrap();
    assert_error(response, 401, "AccessDenied");
    let response = client()
        .get(server.users_url())
        .header("Authorization", value)
        .send()
        .unwrap();
    assert_error(response, 401, "AccessDenied");
}
