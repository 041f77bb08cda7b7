//! Requests no client should send, answered in the envelope all the same.

mod support;

use serde_json::{json, Value};
use support::{assert_error, client, create_user, TestServer, SECRET};

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

/// PostgreSQL text cannot hold NUL; the answers must be those of SQLite, where nothing
/// stops it: no 500 on either backend.
#[test]
fn text_holding_a_nul_byte_gets_the_same_answers_on_every_backend() {
    let server = TestServer::start();
    let token = server.token();

    for path in [
        "/apps/%00/account_users",
        "/apps/de%00mo/account_users/1",
        "/v1/apps/test-app%00/account_users",
    ] {
        let response = client().get(server.url(path)).send().unwrap();
        assert_error(response, 404, "RecordNotFound");
        let response = client()
            .get(server.url(path))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_error(response, 404, "RecordNotFound");
    }

    for response in [
        client()
            .post(server.url("/oauth/token"))
            .body("client_id=%00&client_secret=x&grant_type=client_credentials")
            .header("content-type", "application/x-www-form-urlencoded")
            .send()
            .unwrap(),
        client()
            .post(server.url("/oauth/token"))
            .json(
                &json!({"client_id": "test-app\u{0}", "client_secret": SECRET,
                          "grant_type": "client_credentials"}),
            )
            .send()
            .unwrap(),
    ] {
        assert_eq!(response.status(), 401);
        let body: Value = response.json().unwrap();
        assert_eq!(body["error"], "invalid_client", "{body}");
    }

    for email in ["\u{0}", "a\u{0}b@example.com"] {
        let response = client()
            .get(server.users_url())
            .query(&[("email", email)])
            .bearer_auth(&token)
            .send()
            .unwrap();
        let body = assert_error(response, 400, "InvalidParameters");
        let message = body["status"]["message"].as_str().unwrap();
        assert!(message.contains("control characters"), "{message}");
    }

    for user in [
        json!({"email": "a\u{0}b@example.com"}),
        json!({"email": "nul@example.com", "name": "x\u{0}"}),
        json!({"email": "nul@example.com", "role": "staff\u{0}"}),
    ] {
        let response = client()
            .post(server.users_url())
            .bearer_auth(&token)
            .json(&json!({ "account_user": user }))
            .send()
            .unwrap();
        assert_error(response, 422, "RecordInvalid");
    }
    let ana = create_user(&server, &token, json!({"email": "ana@example.com"}));
    let response = client()
        .put(server.user_url(ana["id"].as_i64().unwrap()))
        .bearer_auth(&token)
        .json(&json!({"account_user": {"name": "\u{0}"}}))
        .send()
        .unwrap();
    assert_error(response, 422, "RecordInvalid");

    assert!(
        !server.logs().contains("request failed"),
        "{}",
        server.logs()
    );
}

/// The token may be inside the body, so a body that is not JSON cannot be authorized:
/// it is answered as unreadable, not as a missing token.
#[test]
fn a_body_that_is_not_json_is_a_400_saying_so_before_the_token_is_looked_at() {
    let server = TestServer::start();
    let token = server.token();
    let ana = create_user(&server, &token, json!({"email": "ana@example.com"}));
    let ana_url = server.user_url(ana["id"].as_i64().unwrap());

    let with_token = |rest: &str| format!(r#"{{"utoken":"{token}","account_user":{rest}"#);
    for body in [
        with_token(r#"{"email":"bo@example.com"}} junk"#),
        with_token(r#"{"email":"bo@example.com",}}"#),
        with_token(r#"{"email":"bo@example.com"}"#),
        "not json at all".to_owned(),
    ] {
        for request in [
            client().post(server.users_url()),
            client().put(&ana_url),
            client().delete(&ana_url),
            client().get(server.users_url()),
        ] {
            let response = request
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .unwrap();
            let answer = assert_error(response, 400, "InvalidParameters");
            let message = answer["status"]["message"].as_str().unwrap();
            assert!(message.contains("not valid JSON"), "{body}: {message}");
        }
    }

    // Readable JSON of the wrong shape is still authorized first.
    let response = client()
        .post(server.users_url())
        .json(&json!({"utoken": "made-up", "account_user": {"email": 5}}))
        .send()
        .unwrap();
    assert_error(response, 401, "AccessDenied");
    let response = client()
        .post(server.users_url())
        .json(&json!({"utoken": token, "account_user": {"email": 5}}))
        .send()
        .unwrap();
    assert_error(response, 400, "InvalidParameters");
}
