//! Faults a first user found by trying to break the service, kept so they stay fixed.

mod support;

use std::{io::Write, net::TcpStream, time::Duration, time::Instant};

use serde_json::json;
use support::{assert_error, client, read, roster, TestServer, APP_KEY, SECRET};

#[test]
fn a_restart_with_the_bootstrap_variables_does_not_undo_a_rotated_secret() {
    let mut server = TestServer::start();
    let rotated = server.operator(&["accounts", "rotate-secret", APP_KEY]);
    assert!(rotated.status.success(), "{rotated:?}");
    let stdout = String::from_utf8(rotated.stdout).unwrap();
    let new_secret = stdout
        .trim()
        .strip_prefix("secret:")
        .unwrap()
        .trim()
        .to_owned();

    server.kill_and_restart();

    let old = client()
        .post(server.url("/oauth/token"))
        .json(&json!({"client_id": APP_KEY, "client_secret": SECRET, "grant_type": "client_credentials"}))
        .send()
        .unwrap();
    assert_eq!(old.status(), 401, "the rotated-away secret stays refused");
    server.token_for(APP_KEY, &new_secret);
    assert!(
        server.logs().contains("another secret"),
        "{}",
        server.logs()
    );
}

#[test]
fn a_client_stalled_halfway_through_a_request_does_not_block_shutdown() {
    let server = TestServer::start();
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stalled = TcpStream::connect(&address).unwrap();
    stalled
        .write_all(b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nclient")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let started = Instant::now();
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "shutdown waited {:?}",
        started.elapsed()
    );
    drop(stalled);
}

#[test]
fn operator_commands_on_a_missing_database_fail_at_once_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo.db");
    let started = Instant::now();
    let output = roster()
        .args(["accounts", "list", "--database-url"])
        .arg(format!("sqlite://{}", missing.display()))
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no database at"), "{stderr}");
    assert!(!missing.exists(), "no database was created");

    let bare = roster()
        .args(["accounts", "list", "--database-url", "notaurl"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(bare.status.code(), Some(2), "{bare:?}");
    assert!(!dir.path().join("notaurl").exists());
}

#[test]
fn a_database_path_that_cannot_be_opened_fails_at_once_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = roster()
        .args(["migrate", "--database-url"])
        .arg(format!(
            "sqlite://{}/no/such/folder/r.db",
            dir.path().display()
        ))
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot open the database"), "{stderr}");
}

#[test]
fn an_empty_email_filter_and_repeated_parameters_are_refused() {
    let server = TestServer::start();
    let token = server.token();
    let list = |query: &str| {
        client()
            .get(format!("{}?{query}", server.users_url()))
            .bearer_auth(&token)
            .send()
            .unwrap()
    };
    assert_error(list("email="), 400, "InvalidParameters");
    assert_error(list("count=1&count=200"), 400, "InvalidParameters");
    assert_eq!(list("count=5").status(), 200);
}

#[test]
fn odd_spellings_of_a_user_id_name_no_user_and_get_the_envelope() {
    let server = TestServer::start();
    let token = server.token();
    let user = support::create_user(&server, &token, json!({"email": "one@example.com"}));
    assert_eq!(user["id"], 1);
    assert_error(
        client()
            .get(format!("{}/%FF", server.users_url()))
            .bearer_auth(&token)
            .send()
            .unwrap(),
        400,
        "InvalidParameters",
    );
    for id in ["+1", "01", "%31x"] {
        assert_error(
            client()
                .get(format!("{}/{id}", server.users_url()))
                .bearer_auth(&token)
                .send()
                .unwrap(),
            404,
            "RecordNotFound",
        );
    }
}

#[test]
fn a_token_is_granted_for_http_basic_client_credentials() {
    let server = TestServer::start();
    let response = client()
        .post(server.url("/oauth/token"))
        .basic_auth(APP_KEY, Some(SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .unwrap();
    let (status, body) = read(response);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["access_token"].as_str().unwrap().len(), 40);
}

#[test]
fn body_errors_name_no_rust_types() {
    let server = TestServer::start();
    let token = server.token();
    for body in [
        "[]",
        r#"{"account_user":null}"#,
        r#"[{"email":"a@b.co"},"x"]"#,
    ] {
        let answer = assert_error(
            client()
                .post(server.users_url())
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .unwrap(),
            400,
            "InvalidParameters",
        );
        let message = answer["status"]["message"].as_str().unwrap();
        assert!(!message.contains("struct"), "{message}");
    }
}
