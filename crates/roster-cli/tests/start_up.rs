//! `roster serve` starting: its variables, the default database, the bootstrap
//! variables, the first account, nodes starting together on one database, and what
//! start-up writes where.

mod support;

use serde_json::{json, Value};
use support::{
    client, fresh_database_url, read, roster_without_variables, start_and_stop, Serving, Started,
};

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

/// Asks for a token with client credentials; the status and the body.
fn token_request(server: &Serving, app_key: &str, secret: &str) -> (u16, Value) {
    read(
        client()
            .post(server.url("/oauth/token"))
            .json(&json!({
                "client_id": app_key,
                "client_secret": secret,
                "grant_type": "client_credentials",
            }))
            .send()
            .unwrap(),
    )
}

#[test]
fn the_listen_address_database_and_token_lifetime_are_taken_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("from-the-environment.db");
    let mut command = roster_without_variables();
    command
        .arg("serve")
        .env("ROSTER_LISTEN", "127.0.0.1:0")
        .env(
            "ROSTER_DATABASE_URL",
            format!("sqlite://{}", path.display()),
        )
        .env("ROSTER_TOKEN_TTL", "4321")
        .env(KEY, "demo")
        .env(SECRET, "demo-secret-0123456789");

    let mut server = Serving::start(command);

    assert!(
        server.base.starts_with("http://127.0.0.1:"),
        "{}",
        server.base
    );
    assert!(!server.base.ends_with(":8080"), "{}", server.base);
    assert!(path.exists(), "the database of ROSTER_DATABASE_URL is made");
    let (status, body) = token_request(&server, "demo", "demo-secret-0123456789");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 4321, "{body}");
    assert!(server.stop_with("TERM").success());
}

#[test]
fn without_a_database_url_the_server_makes_roster_db_in_the_current_folder() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = roster_without_variables();
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path());

    let mut server = Serving::start(command);

    let health = client().get(server.url("/healthz")).send().unwrap();
    assert_eq!(health.status(), 200);
    assert!(
        dir.path().join("roster.db").is_file(),
        "no roster.db in the folder"
    );
    assert!(server.stop_with("TERM").success());
}

/// The value after `name` on the first line of `text` that has it.
fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|line| line.trim().strip_prefix(name))
        .map(str::trim)
}

#[test]
fn the_credentials_printed_on_the_first_start_get_a_token_and_a_second_start_prints_none() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path());
    let serve = || {
        let mut command = roster_without_variables();
        command.args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url]);
        Serving::start(command)
    };

    let mut first = serve();
    let stdout = support::wait_for(|| Some(first.stdout()).filter(|out| out.contains("secret:")))
        .expect("the first start prints a secret");
    let app_key = field(&stdout, "app_key:").unwrap().to_owned();
    let secret = field(&stdout, "secret:").unwrap().to_owned();
    let (status, body) = token_request(&first, &app_key, &secret);
    assert_eq!(status, 200, "{body}");
    assert!(first.stop_with("TERM").success());
    assert_eq!(
        first.stdout().matches("secret:").count(),
        1,
        "{}",
        first.stdout()
    );
    assert!(!first.logs().contains(&secret), "the secret is in the logs");

    let mut second = serve();
    let (status, body) = token_request(&second, &app_key, &secret);
    assert_eq!(status, 200, "the same account on the second start: {body}");
    assert!(second.stop_with("TERM").success());
    assert_eq!(second.stdout(), "", "the second start prints nothing");
    assert_eq!(app_keys(&url), [app_key]);
}
