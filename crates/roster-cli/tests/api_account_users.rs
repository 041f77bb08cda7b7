//! The account-users endpoints against the real server: every endpoint, every row of
//! the error table, pagination edges and the directory's rules.

mod support;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    time::Duration,
};

use serde_json::{json, Value};
use support::{assert_error, client, create_user, read, TestServer, APP_KEY};

fn list(server: &TestServer, token: &str, query: &[(&str, &str)]) -> Value {
    let (status, body) = read(
        client()
            .get(server.users_url())
            .bearer_auth(token)
            .query(query)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{body}");
    body["response"].clone()
}

fn emails(page: &Value) -> Vec<String> {
    page["account_users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_user_is_created_read_listed_updated_and_deleted() {
    let server = TestServer::start();
    let token = server.token();

    let ana = create_user(
        &server,
        &token,
        json!({"email": "ana@example.com", "name": "Ana Silva", "role": "admin"}),
    );
    assert_eq!(ana["email"], "ana@example.com");
    assert_eq!(ana["name"], "Ana Silva");
    assert_eq!(ana["role"], "admin");
    assert_eq!(ana["active"], true);
    let created_at = ana["created_at"].as_str().unwrap();
    assert_eq!(
        created_at.len(),
        "2026-12-03T18:02:46.123Z".len(),
        "{created_at}"
    );
    assert!(created_at.ends_with('Z'));
    let id = ana["id"].as_i64().unwrap();

    let (status, body) = read(
        client()
            .get(server.user_url(id))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(body["status"], json!({"code": 200, "message": "OK"}));
    assert_eq!(body["response"]["account_user"], ana);

    let bo = create_user(&server, &token, json!({"email": "bo@example.com"}));
    assert_eq!(bo["role"], "viewer", "the default role");
    assert_eq!(bo["name"], Value::Null);

    let page = list(&server, &token, &[]);
    assert_eq!(emails(&page), ["ana@example.com", "bo@example.com"]);
    assert_eq!(
        page["pagination"],
        json!({"page": 1, "per_page": 10, "total": 2})
    );

    let bo_id = bo["id"].as_i64().unwrap();
    let (status, body) = read(
        client()
            .put(server.user_url(bo_id))
            .bearer_auth(&token)
            .json(&json!({"account_user": {"role": "staff", "name": "Bo"}}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{body}");
    let updated = &body["response"]["account_user"];
    assert_eq!(updated["role"], "staff");
    assert_eq!(updated["name"], "Bo");
    assert_eq!(
        updated["email"], "bo@example.com",
        "merge keeps what was not sent"
    );

    let (status, body) = read(
        client()
            .delete(server.user_url(bo_id))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"status": {"code": 200, "message": "OK"}, "response": {}})
    );
    assert_error(
        client()
            .get(server.user_url(bo_id))
            .bearer_auth(&token)
            .send()
            .unwrap(),
        404,
        "RecordNotFound",
    );
    assert_eq!(list(&server, &token, &[])["pagination"]["total"], 1);
}

#[test]
fn every_endpoint_answers_under_the_v1_prefix_too() {
    let server = TestServer::start();
    let token = server.token();
    let base = server.url(&format!("/v1/apps/{APP_KEY}/account_users"));

    let (status, body) = read(
        client()
            .post(&base)
            .bearer_auth(&token)
            .json(&json!({"account_user": {"email": "v1@example.com"}}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{body}");
    let id = body["response"]["account_user"]["id"].as_i64().unwrap();
    let one = format!("{base}/{id}");

    assert_eq!(
        client()
            .get(&base)
            .bearer_auth(&token)
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client()
            .get(&one)
            .bearer_auth(&token)
            .send()
            .unwrap()
            .status(),
        200
    );
    let patch = client()
        .patch(&one)
        .bearer_auth(&token)
        .json(&json!({"account_user": {"name": "Patched"}}))
        .send()
        .unwrap();
    let (status, body) = read(patch);
    assert_eq!(status, 200);
    assert_eq!(body["response"]["account_user"]["name"], "Patched");
    let put = client()
        .put(&one)
        .bearer_auth(&token)
        .json(&json!({"account_user": {"name": "Put", "role": "staff"}}))
        .send()
        .unwrap();
    let (status, body) = read(put);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response"]["account_user"]["name"], "Put");
    assert_eq!(body["response"]["account_user"]["role"], "staff");
    let (_, body) = read(client().get(&one).bearer_auth(&token).send().unwrap());
    assert_eq!(body["response"]["account_user"]["name"], "Put", "{body}");
    assert_eq!(
        client()
            .delete(&one)
            .bearer_auth(&token)
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn pagination_is_checked_and_ordered_by_id() {
    let server = TestServer::start();
    let token = server.token();
    for i in 0..12 {
        create_user(
            &server,
            &token,
            json!({"email": format!("u{i:02}@example.com")}),
        );
    }

    let second = list(&server, &token, &[("page", "2"), ("count", "5")]);
    assert_eq!(
        emails(&second),
        [
            "u05@example.com",
            "u06@example.com",
            "u07@example.com",
            "u08@example.com",
            "u09@example.com"
        ]
    );
    assert_eq!(
        second["pagination"],
        json!({"page": 2, "per_page": 5, "total": 12})
    );

    let last = list(&server, &token, &[("page", "3"), ("count", "5")]);
    assert_eq!(emails(&last).len(), 2);
    let past_the_end = list(&server, &token, &[("page", "9"), ("count", "5")]);
    assert_eq!(emails(&past_the_end).len(), 0);
    assert_eq!(past_the_end["pagination"]["total"], 12);
    assert_eq!(
        emails(&list(&server, &token, &[("count", "100")])).len(),
        12
    );

    for (name, value) in [
        ("page", "0"),
        ("count", "0"),
        ("count", "101"),
        ("count", "abc"),
        ("page", "-1"),
    ] {
        let body = assert_error(
            client()
                .get(server.users_url())
                .bearer_auth(&token)
                .query(&[(name, value)])
                .send()
                .unwrap(),
            400,
            "InvalidParameters",
        );
        let message = body["status"]["message"].as_str().unwrap();
        assert!(message.contains(name), "{message}");
    }
}

#[test]
fn the_email_filter_matches_exactly_and_ignores_case() {
    let server = TestServer::start();
    let token = server.token();
    create_user(&server, &token, json!({"email": "Ana@Example.com"}));
    create_user(&server, &token, json!({"email": "ana.other@example.com"}));

    let found = list(&server, &token, &[("email", "ana@example.COM")]);
    assert_eq!(emails(&found), ["Ana@Example.com"]);
    assert_eq!(found["pagination"]["total"], 1);
    let none = list(&server, &token, &[("email", "ana@example")]);
    assert_eq!(emails(&none).len(), 0);
}

#[test]
fn emails_differing_only_in_case_are_the_same_user() {
    let server = TestServer::start();
    let token = server.token();
    create_user(&server, &token, json!({"email": "Ana@Example.com"}));
    assert_error(
        client()
            .post(server.users_url())
            .bearer_auth(&token)
            .json(&json!({"account_user": {"email": "ana@example.com"}}))
            .send()
            .unwrap(),
        409,
        "RecordNotUnique",
    );

    let bo = create_user(&server, &token, json!({"email": "bo@example.com"}));
    assert_error(
        client()
            .put(server.user_url(bo["id"].as_i64().unwrap()))
            .bearer_auth(&token)
            .json(&json!({"account_user": {"email": "ANA@example.com"}}))
            .send()
            .unwrap(),
        409,
        "RecordNotUnique",
    );
}

#[test]
fn fifty_concurrent_creates_of_one_email_make_one_user() {
    let server = TestServer::start();
    let token = server.token();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..50)
            .map(|_| {
                scope.spawn(|| {
                    client()
                        .post(server.users_url())
                        .bearer_auth(&token)
                        .json(&json!({"account_user": {"email": "race@example.com"}}))
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
        49,
        "{statuses:?}"
    );
    assert_eq!(list(&server, &token, &[])["pagination"]["total"], 1);
}

#[test]
fn read_only_fields_sent_back_on_put_are_ignored() {
    let server = TestServer::start();
    let token = server.token();
    let mut user = create_user(&server, &token, json!({"email": "ro@example.com"}));
    let id = user["id"].as_i64().unwrap();
    user["id"] = json!(999_999);
    user["created_at"] = json!("1999-01-01T00:00:00.000Z");
    user["name"] = json!("Changed");

    let (status, body) = read(
        client()
            .put(server.user_url(id))
            .bearer_auth(&token)
            .json(&json!({"account_user": user}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{body}");
    let updated = &body["response"]["account_user"];
    assert_eq!(updated["id"], id);
    assert_eq!(updated["name"], "Changed");
    assert_ne!(updated["created_at"], "1999-01-01T00:00:00.000Z");
}

#[test]
fn an_empty_update_is_refused() {
    let server = TestServer::start();
    let token = server.token();
    let user = create_user(&server, &token, json!({"email": "e@example.com"}));
    let url = server.user_url(user["id"].as_i64().unwrap());
    for body in [
        json!({"account_user": {}}),
        json!({"account_user": {"id": 5, "updated_at": "x"}}),
    ] {
        assert_error(
            client()
                .put(&url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .unwrap(),
            400,
            "InvalidParameters",
        );
    }
}

#[test]
fn unicode_names_are_kept_exactly() {
    let server = TestServer::start();
    let token = server.token();
    let name = "Zoë Ødegård 李小龍 🚀";
    let user = create_user(
        &server,
        &token,
        json!({"email": "zoe@example.com", "name": name}),
    );
    let (_, body) = read(
        client()
            .get(server.user_url(user["id"].as_i64().unwrap()))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    );
    assert_eq!(body["response"]["account_user"]["name"], name);
}

#[test]
fn invalid_records_are_refused_with_what_to_fix() {
    let server = TestServer::start();
    let token = server.token();
    let post = |user: Value| {
        client()
            .post(server.users_url())
            .bearer_auth(&token)
            .json(&json!({"account_user": user}))
            .send()
            .unwrap()
    };
    assert_error(post(json!({"email": "not-an-email"})), 422, "RecordInvalid");
    assert_error(post(json!({"name": "No Email"})), 422, "RecordInvalid");
    assert_error(
        post(json!({"email": "long@example.com", "name": "x".repeat(256)})),
        422,
        "RecordInvalid",
    );
    let body = assert_error(
        post(json!({"email": "r@example.com", "role": "superuser"})),
        422,
        "RecordInvalid",
    );
    let message = body["status"]["message"].as_str().unwrap();
    for role in ["admin", "staff", "insights_only", "viewer"] {
        assert!(message.contains(role), "{message}");
    }
    assert_eq!(
        list(&server, &token, &[])["pagination"]["total"],
        0,
        "nothing was written"
    );
}

#[test]
fn malformed_and_ill_typed_bodies_are_invalid_parameters() {
    let server = TestServer::start();
    let token = server.token();
    let send = |body: &str| {
        client()
            .post(server.users_url())
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .unwrap()
    };
    assert_error(
        send("{\"account_user\": {\"email\": "),
        400,
        "InvalidParameters",
    );
    assert_error(send(""), 400, "InvalidParameters");
    assert_error(send("[]"), 400, "InvalidParameters");
    assert_error(send("{\"user\": {}}"), 400, "InvalidParameters");
    let body = assert_error(
        send("{\"account_user\": {\"email\": \"a@b.co\", \"active\": \"yes\"}}"),
        400,
        "InvalidParameters",
    );
    assert!(body["status"]["message"]
        .as_str()
        .unwrap()
        .contains("account_user.active"));
}

#[test]
fn an_oversized_body_is_refused_with_413() {
    let server = TestServer::start();
    let token = server.token();
    let name = "x".repeat(70 * 1024);
    assert_error(
        client()
            .post(server.users_url())
            .bearer_auth(&token)
            .json(&json!({"account_user": {"email": "big@example.com", "name": name}}))
            .send()
            .unwrap(),
        413,
        "PayloadTooLarge",
    );
}

#[test]
fn unknown_routes_and_methods_get_the_envelope() {
    let server = TestServer::start();
    let token = server.token();
    assert_error(
        client().get(server.url("/no/such/route")).send().unwrap(),
        404,
        "RecordNotFound",
    );
    assert_error(
        client()
            .delete(server.users_url())
            .bearer_auth(&token)
            .send()
            .unwrap(),
        405,
        "MethodNotAllowed",
    );
    assert_error(
        client()
            .get(server.user_url(123_456))
            .bearer_auth(&token)
            .send()
            .unwrap(),
        404,
        "RecordNotFound",
    );
    assert_error(
        client()
            .get(format!("{}/abc", server.users_url()))
            .bearer_auth(&token)
            .send()
            .unwrap(),
        404,
        "RecordNotFound",
    );
}

#[test]
fn the_last_active_admin_cannot_be_removed_demoted_or_deactivated() {
    let server = TestServer::start();
    let token = server.token();
    let admin = create_user(
        &server,
        &token,
        json!({"email": "admin@example.com", "role": "admin"}),
    );
    let url = server.user_url(admin["id"].as_i64().unwrap());
    let put = |user: Value| {
        client()
            .put(&url)
            .bearer_auth(&token)
            .json(&json!({"account_user": user}))
            .send()
            .unwrap()
    };

    assert_error(
        client().delete(&url).bearer_auth(&token).send().unwrap(),
        409,
        "Conflict",
    );
    assert_error(put(json!({"role": "staff"})), 409, "Conflict");
    assert_error(put(json!({"active": false})), 409, "Conflict");

    create_user(
        &server,
        &token,
        json!({"email": "second@example.com", "role": "admin"}),
    );
    let (status, body) = read(put(json!({"active": false})));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response"]["account_user"]["active"], false);
    let listed = list(&server, &token, &[]);
    assert_eq!(
        listed["pagination"]["total"], 2,
        "inactive users stay listed"
    );
}

#[test]
fn a_health_check_answers_once_the_server_is_up() {
    let server = TestServer::start();
    let response = client().get(server.url("/healthz")).send().unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let server = TestServer::start();
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn sigint_stops_the_server_cleanly_too() {
    let server = TestServer::start();
    let status = server.stop_with("INT");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn a_create_in_flight_when_sigterm_arrives_is_answered_before_the_server_exits() {
    let server = TestServer::start();
    let token = server.token();
    let body = json!({"account_user": {"email": "late@example.com", "role": "staff"}}).to_string();
    let (first_half, second_half) = body.split_at(body.len() / 2);
    let address = server.base.trim_start_matches("http://");
    let mut connection = TcpStream::connect(address).unwrap();
    connection
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();

    // "100 Continue" comes once the handler reads the body: from then on the request is
    // in flight, whatever the scheduling.
    write!(
        connection,
        "POST /apps/{APP_KEY}/account_users HTTP/1.1\r\nHost: roster\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut reader = BufReader::new(connection.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 100"), "{line:?}");
    reader.read_line(&mut line).unwrap();
    connection.write_all(first_half.as_bytes()).unwrap();

    server.signal("TERM");
    server.wait_for_log("shutting down");
    connection.write_all(second_half.as_bytes()).unwrap();

    let mut answer = String::new();
    reader.read_to_string(&mut answer).unwrap();
    let (head, json_body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{answer}");
    let created: Value = serde_json::from_str(json_body).unwrap();
    assert_eq!(
        created["response"]["account_user"]["email"], "late@example.com",
        "{answer}"
    );
    let status = server.wait_for_exit();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn every_change_leaves_an_audit_event_with_before_and_after() {
    let server = TestServer::start();
    let token = server.token();
    let user = create_user(&server, &token, json!({"email": "audit@example.com"}));
    let id = user["id"].as_i64().unwrap();
    let url = server.user_url(id);
    let (status, _) = read(
        client()
            .put(&url)
            .bearer_auth(&token)
            .json(&json!({"account_user": {"role": "staff"}}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(
        client()
            .delete(&url)
            .bearer_auth(&token)
            .send()
            .unwrap()
            .status(),
        200
    );

    let events = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = roster_store::Store::open(&server.database_url)
            .await
            .unwrap();
        let account = store.account(APP_KEY).await.unwrap();
        store.audit_events(account.id).await.unwrap()
    });
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["create", "update", "delete"]);
    assert!(events.iter().all(|e| e.user_id == id));
    assert_eq!(events[0].before, None);
    assert_eq!(
        events[0].after.as_ref().unwrap()["email"],
        "audit@example.com"
    );
    assert_eq!(events[1].before.as_ref().unwrap()["role"], "viewer");
    assert_eq!(events[1].after.as_ref().unwrap()["role"], "staff");
    assert_eq!(events[2].before.as_ref().unwrap()["role"], "staff");
    assert_eq!(events[2].after, None, "the tombstone keeps the last record");
    assert!(events.iter().all(|e| e.actor == format!("api:{APP_KEY}")));
}

#[test]
fn logs_hold_no_token_secret_or_email_address() {
    let server = TestServer::start();
    let token = server.token();
    let user = create_user(
        &server,
        &token,
        json!({"email": "secret.person@example.com"}),
    );
    let url = server.user_url(user["id"].as_i64().unwrap());
    client()
        .get(server.users_url())
        .query(&[
            ("utoken", token.as_str()),
            ("email", "secret.person@example.com"),
        ])
        .send()
        .unwrap();
    client()
        .delete(&url)
        .header("X-Yotpo-Token", &token)
        .send()
        .unwrap();
    let logs = server.logs();
    assert!(logs.contains("request finished"), "{logs}");
    for needle in [
        token.as_str(),
        support::SECRET,
        "secret.person",
        "example.com",
    ] {
        assert!(
            !logs.contains(needle),
            "{needle:?} appears in the logs:\n{logs}"
        );
    }
}
