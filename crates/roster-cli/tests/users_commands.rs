//! `roster users list|get|create|update|delete` end to end against a real server.

mod support;
mod toolkit;

use support::TestServer;
use toolkit::{csv_rows, roster, seed, users_on_server};

#[test]
fn users_list_prints_the_same_users_as_a_table_json_and_csv() {
    let server = TestServer::start();
    seed(
        &server,
        &[("ana@example.com", "admin"), ("bo@example.com", "staff")],
    );

    let table = roster(&server, &["users", "list"]).ok();
    let json = roster(&server, &["users", "list", "--output", "json"]).ok();
    let csv = roster(&server, &["users", "list", "--output", "csv"]).ok();

    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", table.stdout);
    assert!(lines[0].starts_with("id"), "{}", table.stdout);
    // Aligned: every column starts at the same offset on every line.
    let email_at = lines[0].find("email").unwrap();
    let role_at = lines[0].find("role").unwrap();
    for line in &lines[1..] {
        assert_eq!(line.find("@").map(|at| at > email_at), Some(true), "{line}");
        assert_eq!(&line[email_at - 2..email_at], "  ", "{}", table.stdout);
        assert_ne!(&line[role_at..role_at + 1], " ", "{}", table.stdout);
    }
    assert!(table.stdout.contains("ana@example.com"));

    let from_json: Vec<String> = json
        .json()
        .as_array()
        .expect("one array")
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    let from_csv: Vec<String> = csv_rows(&csv.stdout)
        .into_iter()
        .map(|row| row["email"].clone())
        .collect();
    assert_eq!(from_json, ["ana@example.com", "bo@example.com"]);
    assert_eq!(from_csv, from_json);
}

#[test]
fn users_list_with_page_prints_only_that_page() {
    let server = TestServer::start();
    seed(
        &server,
        &[
            ("a@example.com", "staff"),
            ("b@example.com", "staff"),
            ("c@example.com", "staff"),
        ],
    );

    let run = roster(
        &server,
        &[
            "users", "list", "--page", "2", "--count", "2", "--output", "json",
        ],
    )
    .ok();

    let page = run.json();
    let emails: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["c@example.com"]);
    assert!(run.stderr.contains("of 3"), "{}", run.stderr);
}

#[test]
fn users_create_get_update_and_delete_act_on_one_user() {
    let server = TestServer::start();

    let created = roster(
        &server,
        &[
            "users",
            "create",
            "--email",
            "ana@example.com",
            "--name",
            "Ana",
            "--role",
            "staff",
            "--output",
            "json",
        ],
    )
    .ok()
    .json();
    let id = created["id"].as_i64().unwrap().to_string();

    let got = roster(&server, &["users", "get", &id, "--output", "json"])
        .ok()
        .json();
    assert_eq!(got, created);
    let by_email = roster(
        &server,
        &[
            "users",
            "get",
            "--email",
            "ana@example.com",
            "--output",
            "json",
        ],
    )
    .ok()
    .json();
    assert_eq!(by_email["id"], created["id"]);

    let updated = roster(
        &server,
        &[
            "users", "update", &id, "--role", "admin", "--active", "false", "--output", "json",
        ],
    )
    .ok()
    .json();
    assert_eq!(updated["role"], "admin");
    assert_eq!(updated["active"], false);
    assert_eq!(updated["name"], "Ana");

    roster(&server, &["users", "delete", &id, "--yes"]).ok();
    assert!(users_on_server(&server).is_empty());
}

#[test]
fn users_get_of_an_unknown_id_exits_3() {
    let server = TestServer::start();

    let run = roster(&server, &["users", "get", "999"]).expect_code(3);

    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("error:"), "{}", run.stderr);
}

#[test]
fn users_create_of_a_taken_email_exits_4() {
    let server = TestServer::start();
    seed(&server, &[("ana@example.com", "staff")]);

    roster(&server, &["users", "create", "--email", "ana@example.com"]).expect_code(4);

    assert_eq!(users_on_server(&server).len(), 1);
}

#[test]
fn users_delete_without_yes_refuses_when_stdin_is_not_a_terminal() {
    let server = TestServer::start();
    let users = seed(&server, &[("bo@example.com", "staff")]);
    let id = users[0]["id"].as_i64().unwrap().to_string();

    let run = roster(&server, &["users", "delete", &id]).expect_code(2);

    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert_eq!(users_on_server(&server).len(), 1);
}

#[test]
fn users_update_with_nothing_to_change_is_a_usage_error() {
    let server = TestServer::start();

    roster(&server, &["users", "update", "1"]).expect_code(2);
}
