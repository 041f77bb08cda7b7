//! `roster serve` starting: the bootstrap variables, the first account, nodes starting
//! together on one database, and what start-up writes where.

mod support;

use serde_json::Value;
use support::{fresh_database_url, start_and_stop, Started};

const KEY: &str = "ROSTER_BOOTSTRAP_APP_KEY";
const SECRET: &str = "ROSTER_BOOTSTRAP_SECRET";

/// The app keys `roster accounts list` shows for the database.
fn app_keys(database_url: &str) -> Vec<String> {
    let listed = support::roster()
        .args(["accounts", "list", "--database-url", database_url])
        .output()
        .expect("roster runs");
    assert!(listed.status.success(), "{listed:?}");
    String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().next().unwrap().to_owned())
        .collect()
}

#[test]
fn the_first_start_prints_the_credentials_on_stdout_and_keeps_every_log_line_json() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path());

    let started = start_and_stop(&url, &[], &["--log-format", "json"]);

    assert!(started.listened, "{started:#?}");
    assert_eq!(started.code, Some(0), "{started:#?}");
    let keys = app_keys(&url);
    assert_eq!(keys.len(), 1);
    assert!(
        started.stdout.contains(&format!("app_key: {}", keys[0])),
        "{started:#?}"
    );
    assert!(started.stdout.contains("secret: "), "{started:#?}");
    for line in started.stderr.lines() {
        if line.starts_with("roster listening on ") {
            continue;
        }
        assert!(
            !line.contains(&keys[0]),
            "the app key is in the log: {line}"
        );
        let entry: Result<Value, _> = serde_json::from_str(line);
        assert!(entry.is_ok(), "not a JSON line: {line}");
    }
}

#[test]
fn bootstrap_variables_that_cannot_work_are_refused_with_exit_2_before_the_database_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.db");
    let url = format!("sqlite://{}", path.display());
    let good_secret = "a-secret-of-enough-length";

    for (vars, says) in [
        (vec![(KEY, "demo"), (SECRET, "short")], "16 characters"),
        (vec![(KEY, "demo")], "ROSTER_BOOTSTRAP_SECRET is not"),
        (
            vec![(SECRET, good_secret)],
            "ROSTER_BOOTSTRAP_APP_KEY is not",
        ),
        (vec![(KEY, "de mo"), (SECRET, good_secret)], "URL path"),
        (vec![(KEY, "a/b"), (SECRET, good_secret)], "URL path"),
        (vec![(KEY, ".."), (SECRET, good_secret)], "URL path"),
        (vec![(KEY, "dé"), (SECRET, good_secret)], "URL path"),
    ] {
        let started = start_and_stop(&url, &vars, &[]);

        assert!(!started.listened, "{vars:?}: {started:#?}");
        assert_eq!(started.code, Some(2), "{vars:?}: {started:#?}");
        assert!(started.stderr.contains(says), "{vars:?}: {started:#?}");
        assert!(!path.exists(), "{vars:?} made the database");
    }

    let started = start_and_stop(&url, &[(KEY, "my_app-1.0"), (SECRET, good_secret)], &[]);
    assert!(started.listened, "{started:#?}");
}

/// Starts `count` nodes at the same moment on one database.
fn start_together(url: &str, count: usize, vars: &[(&str, &str)]) -> Vec<Started> {
    std::thread::scope(|scope| {
        let nodes: Vec<_> = (0..count)
            .map(|_| scope.spawn(|| start_and_stop(url, vars, &[])))
            .collect();
        nodes.into_iter().map(|n| n.join().unwrap()).collect()
    })
}

#[test]
fn nodes_starting_at_once_with_the_same_bootstrap_account_all_start_and_make_it_once() {
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database_url(dir.path());

        let nodes = start_together(
            &url,
            3,
            &[(KEY, "demo"), (SECRET, "demo-secret-0123456789")],
        );

        for node in &nodes {
            assert!(node.listened && node.code == Some(0), "{node:#?}");
            assert!(node.stdout.is_empty(), "{node:#?}");
        }
        assert_eq!(app_keys(&url), ["demo"]);
    }
}

#[test]
fn nodes_starting_at_once_on_an_empty_database_make_one_first_account() {
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database_url(dir.path());

        let nodes = start_together(&url, 3, &[]);

        for node in &nodes {
            assert!(node.listened && node.code == Some(0), "{node:#?}");
        }
        let printed: Vec<_> = nodes
            .iter()
            .filter(|n| n.stdout.contains("app_key:"))
            .collect();
        assert_eq!(printed.len(), 1, "{nodes:#?}");
        assert_eq!(app_keys(&url).len(), 1);
    }
}

#[test]
fn a_restart_on_postgresql_logs_no_notice_about_the_schema_being_there() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path());
    let vars = [(KEY, "demo"), (SECRET, "demo-secret-0123456789")];

    start_and_stop(&url, &vars, &[]);
    let again = start_and_stop(&url, &vars, &[]);

    assert!(again.listened, "{again:#?}");
    assert!(!again.stderr.contains("notice"), "{again:#?}");
    assert!(!again.stderr.contains("_sqlx_migrations"), "{again:#?}");
}
