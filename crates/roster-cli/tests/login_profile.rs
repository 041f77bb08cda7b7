//! `roster login`, the profile file it writes, and where the toolkit commands take
//! their configuration from.

mod support;
mod toolkit;

use std::path::{Path, PathBuf};

use support::{TestServer, APP_KEY, SECRET};
use toolkit::{bare, configured, mode, run, seed, Run};

/// `roster ARGS` with only the profile file to go by.
fn with_profile(profile: &Path, args: &[&str]) -> Run {
    run(bare().env("ROSTER_PROFILE", profile).args(args), None)
}

fn login(profile: &Path, args: &[&str], answers: &str) -> Run {
    run(
        bare()
            .env("ROSTER_PROFILE", profile)
            .arg("login")
            .args(args),
        Some(answers),
    )
}

/// A fresh profile file holding the server's bootstrap account as "default", written
/// by `roster login`; the folder goes when the first value is dropped.
fn logged_in(server: &TestServer) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.toml");
    let answers = format!("{}\n{APP_KEY}\n{SECRET}\n", server.base);
    login(&profile, &[], &answers).ok();
    (dir, profile)
}

#[test]
fn login_reads_its_answers_from_stdin_and_writes_a_profile_only_its_owner_can_read() {
    let server = TestServer::start();
    seed(&server, &[("ana@example.com", "admin")]);
    let dir = tempfile::tempdir().unwrap();
    let profile = dir
        .path()
        .join("config")
        .join("roster")
        .join("profile.toml");

    let answers = format!("{}\n{APP_KEY}\n{SECRET}\n", server.base);
    let run = login(&profile, &[], &answers).ok();

    assert!(run.stderr.contains("saved profile"), "{}", run.stderr);
    assert_eq!(mode(&profile), 0o600);
    assert_eq!(mode(profile.parent().unwrap()), 0o700);
    let text = std::fs::read_to_string(&profile).unwrap();
    assert!(
        text.contains("[default]") && text.contains(APP_KEY),
        "{text}"
    );

    let listed = with_profile(&profile, &["users", "list", "--output", "json"]).ok();
    assert_eq!(listed.json()[0]["email"], "ana@example.com");
}

#[test]
fn login_with_a_wrong_secret_fails_and_writes_no_profile() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.toml");

    let answers = format!("{}\n{APP_KEY}\nnot-the-secret\n", server.base);
    let run = login(&profile, &[], &answers).expect_code(1);

    assert!(run.stderr.contains("nothing was saved"), "{}", run.stderr);
    assert!(!run.stderr.contains("not-the-secret"), "{}", run.stderr);
    assert!(!profile.exists());
}

#[test]
fn login_keeps_other_profiles_and_profile_chooses_between_them() {
    let server = TestServer::start();
    seed(&server, &[("ana@example.com", "admin")]);
    let other = server.operator(&["accounts", "create", "--name", "Other"]);
    let other = String::from_utf8(other.stdout).unwrap();
    let field = |name: &str| {
        other
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {name} in {other}"))
    };
    let (other_key, other_secret) = (field("app_key:"), field("secret:"));
    let (_dir, profile) = logged_in(&server);
    let run = login(
        &profile,
        &[
            "--profile",
            "other",
            "--base-url",
            &server.base,
            "--app-key",
            &other_key,
        ],
        &format!("{other_secret}\n"),
    )
    .ok();
    toolkit::assert_secret_hidden(&run, &other_secret);

    let default = with_profile(&profile, &["users", "list", "--output", "json"]).ok();
    let others = with_profile(
        &profile,
        &["users", "list", "--output", "json", "--profile", "other"],
    )
    .ok();
    assert_eq!(default.json().as_array().unwrap().len(), 1);
    assert_eq!(others.json().as_array().unwrap().len(), 0);
    toolkit::assert_secret_hidden(&others, &other_secret);
}

#[test]
fn flags_beat_variables_and_variables_beat_the_profile() {
    let server = TestServer::start();
    seed(&server, &[("ana@example.com", "admin")]);
    let (_dir, profile) = logged_in(&server);

    // A variable naming another app key wins over the profile's...
    let refused = run(
        bare()
            .env("ROSTER_PROFILE", &profile)
            .env("ROSTER_APP_KEY", "no-such-app")
            .env("ROSTER_SECRET", SECRET)
            .args(["users", "list"]),
        None,
    )
    .expect_code(1);
    assert!(
        refused.stderr.contains("invalid_client"),
        "{}",
        refused.stderr
    );

    // ...and a flag wins over the variable.
    let listed = run(
        bare()
            .env("ROSTER_PROFILE", &profile)
            .env("ROSTER_APP_KEY", "no-such-app")
            .env("ROSTER_SECRET", SECRET)
            .args(["users", "list", "--app-key", APP_KEY, "--output", "json"]),
        None,
    )
    .ok();
    assert_eq!(listed.json()[0]["email"], "ana@example.com");
}

#[test]
fn the_profile_secret_is_never_sent_to_a_server_the_profile_does_not_name() {
    let server = TestServer::start();
    let (_dir, profile) = logged_in(&server);

    let run = with_profile(
        &profile,
        &["users", "list", "--base-url", "http://127.0.0.1:9"],
    )
    .expect_code(2);

    assert!(run.stderr.contains("ROSTER_SECRET"), "{}", run.stderr);
}

#[test]
fn a_missing_configuration_is_a_usage_error_that_says_how_to_fix_it() {
    let refused = run(bare().args(["users", "list"]), None).expect_code(2);

    assert!(refused.stderr.contains("--base-url"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("roster login"),
        "{}",
        refused.stderr
    );
}

#[test]
fn the_secret_is_not_accepted_as_a_flag() {
    let server = TestServer::start();

    run(
        configured(&server).args(["users", "list", "--secret", "x"]),
        None,
    )
    .expect_code(2);
}

#[test]
fn the_secret_appears_in_no_output_even_with_trace_logs() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.toml");
    let trace = |args: &[&str], stdin: Option<&str>| {
        let mut command = bare();
        command
            .env("ROSTER_PROFILE", &profile)
            .env("RUST_LOG", "trace")
            .args(args);
        run(&mut command, stdin)
    };

    trace(
        &["login"],
        Some(&format!("{}\n{APP_KEY}\n{SECRET}\n", server.base)),
    )
    .ok();
    trace(
        &["provision", "--email", "ana@example.com", "--role", "admin"],
        None,
    )
    .ok();
    trace(&["provision", "--email", "bo@example.com"], None).ok();
    trace(&["audit", "--output", "json"], None).ok();
    trace(&["roles"], None).ok();
    trace(&["deprovision", "--email", "bo@example.com", "--yes"], None).ok();
    // Each run checked stdout and stderr for the secret; the logs did show up.
    let logged = trace(&["users", "list"], None).ok();
    assert!(logged.stderr.contains("TRACE"), "{}", logged.stderr);
}

#[test]
fn every_toolkit_command_shows_an_example_in_its_help() {
    let commands: &[&[&str]] = &[
        &["users", "list"],
        &["users", "get"],
        &["users", "create"],
        &["users", "update"],
        &["users", "delete"],
        &["provision"],
        &["deprovision"],
        &["audit"],
        &["roles"],
        &["login"],
    ];
    for command in commands {
        let help = run(bare().args(*command).arg("--help"), None).ok();
        let name = command.join(" ");
        assert!(help.stdout.contains("Example"), "{name}: {}", help.stdout);
        assert!(
            help.stdout.contains(&format!("roster {name}")),
            "{name}: {}",
            help.stdout
        );
        assert!(!help.stdout.contains("--secret"), "{name}: {}", help.stdout);
        if *command != ["login"] {
            assert!(
                help.stdout.contains("ROSTER_SECRET"),
                "{name}: {}",
                help.stdout
            );
            assert!(
                help.stdout.contains("Exit codes"),
                "{name}: {}",
                help.stdout
            );
        }
    }
}
