//! `roster provision`, `deprovision`, `audit` and `roles` end to end: the real binary
//! against a real `roster serve`, configured by environment variables as in a script.

mod support;
mod toolkit;

use std::collections::HashMap;

use support::TestServer;
use toolkit::{
    assert_directory, csv_rows, directory, directory_of_csv, directory_of_json, roster, seed,
};

#[test]
fn provisioning_creates_the_user_then_reports_it_unchanged() {
    let server = TestServer::start();
    let args = [
        "provision",
        "--email",
        "ana@example.com",
        "--role",
        "admin",
        "--name",
        "Ana Silva",
        "--output",
        "json",
    ];

    let first = roster(&server, &args).ok();
    let created = first.json();
    assert_eq!(created["email"], "ana@example.com");
    assert_eq!(created["role"], "admin");
    assert_eq!(created["name"], "Ana Silva");
    assert!(first.stderr.contains("created user"), "{}", first.stderr);

    let second = roster(&server, &args).ok();
    assert_eq!(second.json()["id"], created["id"]);
    assert_eq!(second.json()["updated_at"], created["updated_at"]);
    assert!(
        second.stderr.contains("already user") && second.stderr.contains("nothing to change"),
        "{}",
        second.stderr
    );
    assert_directory(&server, &[("ana@example.com", "admin")]);
}

#[test]
fn provisioning_with_another_role_and_update_changes_the_role() {
    let server = TestServer::start();
    seed(&server, &[("bo@example.com", "staff")]);

    let run = roster(
        &server,
        &[
            "provision",
            "--email",
            "bo@example.com",
            "--role",
            "viewer",
            "--update",
            "--output",
            "json",
        ],
    )
    .ok();

    assert_eq!(run.json()["role"], "viewer");
    assert!(
        run.stderr.contains("updated user") && run.stderr.contains("role staff -> viewer"),
        "says what it changed: {}",
        run.stderr
    );
    assert_directory(&server, &[("bo@example.com", "viewer")]);
}

#[test]
fn provisioning_with_another_role_without_update_exits_4_and_changes_nothing() {
    let server = TestServer::start();
    seed(&server, &[("bo@example.com", "staff")]);

    let run = roster(
        &server,
        &["provision", "--email", "bo@example.com", "--role", "admin"],
    )
    .expect_code(4);

    assert!(
        run.stderr.contains("role is staff, not admin"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--update"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_directory(&server, &[("bo@example.com", "staff")]);
}

#[test]
fn provisioning_finds_the_existing_user_whatever_the_case_of_the_email() {
    let server = TestServer::start();
    seed(&server, &[("cy@example.com", "staff")]);

    roster(
        &server,
        &["provision", "--email", "CY@Example.com", "--role", "staff"],
    )
    .ok();

    assert_directory(&server, &[("cy@example.com", "staff")]);
}

#[test]
fn a_dry_run_of_provision_says_what_it_would_do_and_changes_nothing() {
    let server = TestServer::start();
    seed(&server, &[("bo@example.com", "staff")]);

    let create = roster(
        &server,
        &["provision", "--email", "new@example.com", "--dry-run"],
    )
    .ok();
    assert!(
        create.stderr.contains("would create new@example.com"),
        "{}",
        create.stderr
    );

    let update = roster(
        &server,
        &[
            "provision",
            "--email",
            "bo@example.com",
            "--role",
            "admin",
            "--update",
            "--dry-run",
        ],
    )
    .ok();
    assert!(
        update.stderr.contains("would update user"),
        "{}",
        update.stderr
    );

    assert_directory(&server, &[("bo@example.com", "staff")]);
}

#[test]
fn provisioning_with_a_role_the_server_does_not_know_is_a_usage_error() {
    let server = TestServer::start();

    let run = roster(
        &server,
        &[
            "provision",
            "--email",
            "dee@example.com",
            "--role",
            "overlord",
        ],
    )
    .expect_code(2);

    assert!(run.stderr.contains("error:"), "{}", run.stderr);
    assert_directory(&server, &[]);
}

#[test]
fn deprovisioning_with_yes_deletes_the_user_and_reminds_of_the_identity_provider() {
    let server = TestServer::start();
    seed(
        &server,
        &[("ana@example.com", "admin"), ("bo@example.com", "staff")],
    );

    let run = roster(
        &server,
        &[
            "deprovision",
            "--email",
            "bo@example.com",
            "--yes",
            "--output",
            "json",
        ],
    )
    .ok();

    assert_eq!(run.json()["email"], "bo@example.com");
    assert!(run.stderr.contains("deleted user"), "{}", run.stderr);
    assert!(run.stderr.contains("identity provider"), "{}", run.stderr);
    assert_directory(&server, &[("ana@example.com", "admin")]);
}

#[test]
fn deprovisioning_without_yes_refuses_when_stdin_is_not_a_terminal() {
    let server = TestServer::start();
    seed(&server, &[("bo@example.com", "staff")]);

    let run = roster(&server, &["deprovision", "--email", "bo@example.com"]).expect_code(2);

    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert_directory(&server, &[("bo@example.com", "staff")]);
}

#[test]
fn deprovisioning_an_unknown_email_exits_3() {
    let server = TestServer::start();
    seed(&server, &[("bo@example.com", "staff")]);

    let run = roster(
        &server,
        &["deprovision", "--email", "nobody@example.com", "--yes"],
    )
    .expect_code(3);

    assert!(run.stderr.contains("nobody@example.com"), "{}", run.stderr);
    assert_directory(&server, &[("bo@example.com", "staff")]);
}

#[test]
fn a_dry_run_of_deprovision_names_the_user_and_deletes_nobody() {
    let server = TestServer::start();
    seed(&server, &[("bo@example.com", "staff")]);

    let run = roster(
        &server,
        &["deprovision", "--email", "bo@example.com", "--dry-run"],
    )
    .ok();

    assert!(run.stderr.contains("would delete user"), "{}", run.stderr);
    assert_directory(&server, &[("bo@example.com", "staff")]);
}

#[test]
fn deprovisioning_the_last_admin_exits_4_and_keeps_them() {
    let server = TestServer::start();
    seed(&server, &[("ana@example.com", "admin")]);

    let run = roster(
        &server,
        &["deprovision", "--email", "ana@example.com", "--yes"],
    )
    .expect_code(4);

    assert!(run.stderr.contains("error:"), "{}", run.stderr);
    assert_directory(&server, &[("ana@example.com", "admin")]);
}

/// More users than one page holds, so that the audit walks several pages.
fn seed_many(server: &TestServer, count: usize) -> toolkit::Directory {
    let roles = ["admin", "staff", "viewer"];
    let emails: Vec<String> = (0..count)
        .map(|i| format!("user{i:03}@example.com"))
        .collect();
    let users: Vec<(&str, &str)> = emails
        .iter()
        .enumerate()
        .map(|(i, e)| (e.as_str(), roles[i % 3]))
        .collect();
    seed(server, &users);
    directory(&users)
}

#[test]
fn audit_as_csv_lists_exactly_the_users_over_several_pages() {
    let server = TestServer::start();
    let expected = seed_many(&server, 205);

    let run = roster(&server, &["audit", "--output", "csv"]).ok();

    assert_eq!(directory_of_csv(&run.stdout), expected);
    assert!(
        run.stderr.contains("205 users in 3 pages"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    // stderr is not a terminal here, so no progress bar is drawn on it.
    assert!(!run.stderr.contains('\r'), "{:?}", run.stderr);
}

#[test]
fn audit_as_json_lists_exactly_the_users_in_one_array() {
    let server = TestServer::start();
    let expected = seed_many(&server, 7);

    let run = roster(&server, &["audit", "--output", "json"]).ok();

    assert_eq!(directory_of_json(&run.json()), expected);
}

#[test]
fn audit_with_out_writes_the_file_and_nothing_to_stdout() {
    let server = TestServer::start();
    let expected = seed_many(&server, 12);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.csv");
    std::fs::write(&path, "stale content\n").unwrap();

    let run = roster(
        &server,
        &["audit", "--output", "csv", "--out", path.to_str().unwrap()],
    )
    .ok();

    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("wrote 12 users"), "{}", run.stderr);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(directory_of_csv(&text), expected);
    // Only the file itself: the temporary file was renamed, not left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn audit_of_an_empty_directory_prints_only_the_header() {
    let server = TestServer::start();

    let run = roster(&server, &["audit"]).ok();

    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(run.stdout.starts_with("id,email,"), "{}", run.stdout);
}

#[test]
fn roles_counts_the_users_of_each_role() {
    let server = TestServer::start();
    seed_many(&server, 8);

    let run = roster(&server, &["roles", "--output", "csv"]).ok();

    let counts: HashMap<String, String> = csv_rows(&run.stdout)
        .into_iter()
        .map(|row| (row["role"].clone(), row["users"].clone()))
        .collect();
    let expected: HashMap<String, String> = [("admin", "3"), ("staff", "3"), ("viewer", "2")]
        .into_iter()
        .map(|(r, n)| (r.to_owned(), n.to_owned()))
        .collect();
    assert_eq!(counts, expected);

    let table = roster(&server, &["roles"]).ok();
    let first_row: Vec<&str> = table
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(first_row, ["admin", "3"], "{}", table.stdout);
}

#[test]
fn an_audit_during_which_users_are_added_warns_on_stderr() {
    let server = TestServer::start();
    seed_many(&server, 250);

    // Paced at 2 requests a second, the walk over 3 pages takes over a second, while
    // users keep arriving.
    let audit = std::thread::scope(|scope| {
        let audit = scope.spawn(|| roster(&server, &["audit", "--pace", "2"]));
        let token = server.token();
        let mut added = 0;
        while !audit.is_finished() {
            let email = format!("late{added}@example.com");
            support::create_user(&server, &token, serde_json::json!({ "email": email }));
            added += 1;
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        audit.join().unwrap()
    })
    .ok();

    assert!(
        audit
            .stderr
            .contains("warning: the directory changed during the audit"),
        "{}",
        audit.stderr
    );
}

#[test]
fn provisioning_one_email_ten_times_at_once_exits_0_every_time_and_makes_one_user() {
    let server = TestServer::start();
    let args = [
        "provision",
        "--email",
        "conc@example.com",
        "--role",
        "staff",
    ];

    let runs: Vec<_> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..10)
            .map(|_| scope.spawn(|| roster(&server, &args)))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });

    for run in &runs {
        assert_eq!(run.code, 0, "{run:#?}");
    }
    assert_directory(&server, &[("conc@example.com", "staff")]);
}

#[test]
fn an_empty_or_padded_email_flag_is_refused_before_any_request() {
    let server = TestServer::start();
    for command in [&["provision"][..], &["deprovision", "--yes"]] {
        let run = roster(&server, &[command, &["--email", ""]].concat()).expect_code(2);
        assert!(
            run.stderr.contains("--email must not be empty"),
            "{}",
            run.stderr
        );
        let run = roster(
            &server,
            &[command, &["--email", " ana@example.com "]].concat(),
        )
        .expect_code(2);
        assert!(run.stderr.contains("remove them"), "{}", run.stderr);
        assert_eq!(run.stdout, "");
    }
    let run = roster(&server, &["users", "get", "--email", ""]).expect_code(2);
    assert!(
        run.stderr.contains("--email must not be empty"),
        "{}",
        run.stderr
    );
    assert_directory(&server, &[]);
}

#[test]
fn an_audit_into_a_folder_that_does_not_exist_fails_before_reading_any_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("missing").join("users.csv");
    // Nothing listens on port 1: had the walk started, the error would be about it.
    let run = toolkit::run(
        toolkit::bare()
            .env("ROSTER_BASE_URL", "http://127.0.0.1:1")
            .env("ROSTER_APP_KEY", "k")
            .env("ROSTER_SECRET", "s")
            .args(["audit", "--out", out.to_str().unwrap()]),
        None,
    )
    .expect_code(2);

    assert!(run.stderr.contains("--out"), "{}", run.stderr);
    assert!(run.stderr.contains("missing"), "{}", run.stderr);
    assert!(!run.stderr.contains("127.0.0.1"), "{}", run.stderr);
}
