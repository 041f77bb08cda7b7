//! What the commands write, and where: nothing on stdout when they fail, no secret in
//! `--help`, and no panic when the reader of stdout or stderr has gone away.

mod support;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use serde_json::json;
use support::{create_user, roster, TestServer, APP_KEY};

#[test]
fn a_catalogue_without_the_default_role_is_refused_saying_why() {
    let server = TestServer::start();

    let set = server.operator(&["accounts", "roles", APP_KEY, "--set", "admin,staff"]);

    assert_eq!(set.status.code(), Some(2), "{set:?}");
    let stderr = String::from_utf8_lossy(&set.stderr);
    assert!(stderr.contains("viewer"), "{stderr}");
    assert!(stderr.contains("without a role"), "{stderr}");
    assert!(set.stdout.is_empty(), "{set:?}");
    let user = create_user(
        &server,
        &server.token(),
        json!({"email": "ana@example.com"}),
    );
    assert_eq!(user["role"], "viewer");
}

#[test]
fn operator_commands_that_fail_print_nothing_on_stdout() {
    let server = TestServer::start();
    for args in [
        &["accounts", "roles", "nosuch"][..],
        &["accounts", "roles", "nosuch", "--set", "admin,viewer"],
        &["accounts", "rotate-secret", "nosuch"],
        &["accounts", "scim-token", "nosuch"],
    ] {
        let run = server.operator(args);
        assert_eq!(run.status.code(), Some(3), "{args:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
    }
}

#[test]
fn help_never_shows_the_value_of_a_variable_that_may_hold_a_password() {
    let hidden = "pw-not-for-help";
    for command in [
        &["serve"][..],
        &["migrate"],
        &["bridge"],
        &["accounts", "create"],
        &["accounts", "list"],
        &["accounts", "roles"],
        &["users", "list"],
        &["provision"],
        &["deprovision"],
        &["audit"],
        &["roles"],
        &["login"],
    ] {
        let help = roster()
            .args(command)
            .arg("--help")
            .env(
                "ROSTER_DATABASE_URL",
                format!("postgres://u:{hidden}@db/roster"),
            )
            .env("ROSTER_BASE_URL", format!("https://u:{hidden}@api.example"))
            .env("ROSTER_UPSTREAM", format!("https://u:{hidden}@up.example"))
            .output()
            .expect("roster runs");
        assert!(help.status.success(), "{command:?}: {help:?}");
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(!text.contains(hidden), "{command:?} shows it:\n{text}");
    }
}

/// Runs `roster ARGS` with its stdout or stderr closed before it writes anything.
fn with_closed(stream: &str, args: &[&str]) -> Option<i32> {
    let mut command = roster();
    command.args(args).stdin(Stdio::null());
    match stream {
        "stdout" => command.stdout(Stdio::piped()).stderr(Stdio::null()),
        _ => command.stdout(Stdio::null()).stderr(Stdio::piped()),
    };
    let mut child = command.spawn().expect("roster runs");
    drop(child.stdout.take());
    drop(child.stderr.take());
    child.wait().expect("roster exits").code()
}

#[test]
fn a_closed_stdout_or_stderr_never_makes_a_command_panic() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("roster.db").display());

    assert_eq!(with_closed("stdout", &["openapi"]), Some(0));
    assert_eq!(
        with_closed("stderr", &["migrate", "--database-url", &url]),
        Some(0)
    );
    assert_eq!(
        with_closed("stdout", &["accounts", "list", "--database-url", &url]),
        Some(0)
    );
    let missing = format!("sqlite://{}", dir.path().join("missing.db").display());
    assert_eq!(
        with_closed("stderr", &["accounts", "list", "--database-url", &missing]),
        Some(2),
        "fails with its own code, not a panic's"
    );
}

/// `roster serve 2>&1 | head -3`: the server goes on serving once nobody reads its logs.
#[test]
fn a_server_whose_log_reader_went_away_keeps_serving_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("roster.db").display());
    let mut child = roster()
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url])
        .env("RUST_LOG", "info")
        .env_remove("ROSTER_BOOTSTRAP_APP_KEY")
        .env_remove("ROSTER_BOOTSTRAP_SECRET")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("roster runs");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("a listening line").unwrap();
        if let Some(base) = line.strip_prefix("roster listening on ") {
            break base.to_owned();
        }
    };
    drop(lines);

    for _ in 0..5 {
        let response = support::client()
            .get(format!("{base}/healthz"))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
