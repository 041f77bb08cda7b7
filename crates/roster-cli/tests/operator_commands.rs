//! `roster accounts`: the operator commands on the server's database, and what the
//! running server makes of their changes.

mod support;

use std::process::Output;

use serde_json::json;
use support::{assert_error, client, create_user, TestServer, APP_KEY, SECRET};

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The value after `name` on the first line of `text` that has it.
fn field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|line| line.trim().strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in {text:?}"))
        .trim()
        .to_owned()
}

/// The rows of `accounts roles`, as role and member count.
fn roles(server: &TestServer) -> Vec<(String, u64)> {
    let listed = server.operator(&["accounts", "roles", APP_KEY]);
    assert!(listed.status.success(), "{listed:?}");
    rows_of(&stdout(&listed))
}

fn rows_of(table: &str) -> Vec<(String, u64)> {
    let mut lines = table.lines();
    let header: Vec<_> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ROLE", "USERS"], "{table}");
    lines
        .map(|line| {
            let (role, count) = line.rsplit_once(' ').unwrap();
            (role.trim().to_owned(), count.parse().unwrap())
        })
        .collect()
}

fn owned(rows: &[(&str, u64)]) -> Vec<(String, u64)> {
    rows.iter().map(|(r, n)| (r.to_string(), *n)).collect()
}

#[test]
fn accounts_list_shows_the_accounts_made_with_accounts_create_and_no_secret() {
    let server = TestServer::start();
    let mut made = Vec::new();
    for name in ["Acme", "Globex Corporation"] {
        let created = server.operator(&["accounts", "create", "--name", name]);
        assert!(created.status.success(), "{created:?}");
        let printed = stdout(&created);
        made.push((
            name,
            field(&printed, "app_key:"),
            field(&printed, "secret:"),
        ));
    }

    let listed = server.operator(&["accounts", "list"]);

    assert!(listed.status.success(), "{listed:?}");
    let table = stdout(&listed);
    let mut lines = table.lines();
    let header: Vec<_> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["APP_KEY", "USERS", "name"], "{table}");
    let rows: Vec<_> = lines.collect();
    assert_eq!(
        rows.len(),
        3,
        "the bootstrap account and the two made: {table}"
    );
    for (name, app_key, secret) in &made {
        let row = rows
            .iter()
            .find(|row| row.split_whitespace().next() == Some(app_key.as_str()))
            .unwrap_or_else(|| panic!("{app_key} is not listed: {table}"));
        assert!(row.ends_with(&format!("  {name}")), "{row}");
        assert!(
            !table.contains(secret.as_str()),
            "a secret is listed: {table}"
        );
    }
    assert!(rows.iter().any(|row| row.starts_with(APP_KEY)), "{table}");
    assert!(!table.contains(SECRET), "{table}");
}

#[test]
fn accounts_roles_lists_the_catalogue_with_how_many_users_hold_each_role() {
    let server = TestServer::start();
    let token = server.token();
    for (email, role) in [
        ("ana@example.com", "admin"),
        ("bo@example.com", "staff"),
        ("cy@example.com", "staff"),
    ] {
        create_user(&server, &token, json!({"email": email, "role": role}));
    }

    assert_eq!(
        roles(&server),
        owned(&[
            ("admin", 1),
            ("staff", 2),
            ("insights_only", 0),
            ("viewer", 0)
        ])
    );
}

#[test]
fn a_role_added_with_accounts_roles_set_can_be_given_at_once_by_the_running_server() {
    let server = TestServer::start();
    let token = server.token();
    let create_billing = || {
        client()
            .post(server.users_url())
            .bearer_auth(&token)
            .json(&json!({"account_user": {"email": "di@example.com", "role": "billing"}}))
            .send()
            .unwrap()
    };
    assert_error(create_billing(), 422, "RecordInvalid");

    let set = server.operator(&[
        "accounts",
        "roles",
        APP_KEY,
        "--set",
        "admin,staff,insights_only,viewer,billing",
    ]);

    assert!(set.status.success(), "{set:?}");
    assert_eq!(
        rows_of(&stdout(&set)),
        owned(&[
            ("admin", 0),
            ("staff", 0),
            ("insights_only", 0),
            ("viewer", 0),
            ("billing", 0),
        ]),
        "--set prints the new catalogue"
    );
    let response = create_billing();
    assert_eq!(response.status(), 200);
    let listed: Vec<_> = roles(&server)
        .into_iter()
        .filter(|(role, _)| role == "billing")
        .collect();
    assert_eq!(listed, owned(&[("billing", 1)]));
}

#[test]
fn accounts_roles_set_refuses_to_drop_a_role_that_a_user_holds() {
    let server = TestServer::start();
    create_user(
        &server,
        &server.token(),
        json!({"email": "bo@example.com", "role": "staff"}),
    );

    let set = server.operator(&[
        "accounts",
        "roles",
        APP_KEY,
        "--set",
        "admin,insights_only,viewer",
    ]);

    assert_eq!(set.status.code(), Some(2), "{set:?}");
    assert!(set.stdout.is_empty(), "{set:?}");
    let stderr = String::from_utf8_lossy(&set.stderr);
    assert!(
        stderr.contains("cannot drop roles that users still hold: staff"),
        "{stderr}"
    );
    assert_eq!(
        roles(&server),
        owned(&[
            ("admin", 0),
            ("staff", 1),
            ("insights_only", 0),
            ("viewer", 0)
        ])
    );
}
