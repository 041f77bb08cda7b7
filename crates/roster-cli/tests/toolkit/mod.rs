//! Runs the toolkit commands (`roster users`, `provision`, `audit`...) as a script would:
//! the real binary, configured by environment variables, stdin not a terminal.
//!
//! Every run checks that the secret shows in neither stdout nor stderr, with logs at
//! debug level.

#![allow(dead_code)]

use std::{
    io::Write,
    path::Path,
    process::{Command, Stdio},
};

use serde_json::{json, Value};

use crate::support::{self, TestServer, APP_KEY, SECRET};

/// What a run of `roster` left behind.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with the output unless the exit code is this one.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "{self:#?}");
        self
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        self.expect_code(0)
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.stdout))
    }
}

/// `roster` with nothing configured: no variables of the caller's, and a profile path
/// that does not exist, so that a developer's own profile never leaks into a test.
pub fn bare() -> Command {
    let mut command = support::roster();
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ROSTER_") {
            command.env_remove(&name);
        }
    }
    command
        .env("ROSTER_PROFILE", "/nonexistent/roster-test/profile.toml")
        .env("RUST_LOG", "debug");
    command
}

/// `roster` configured for the server's bootstrap account by environment variables.
pub fn configured(server: &TestServer) -> Command {
    let mut command = bare();
    command
        .env("ROSTER_BASE_URL", &server.base)
        .env("ROSTER_APP_KEY", APP_KEY)
        .env("ROSTER_SECRET", SECRET);
    command
}

/// Runs `roster ARGS` against the server, with stdin empty and not a terminal.
pub fn roster(server: &TestServer, args: &[&str]) -> Run {
    run(configured(server).args(args), None)
}

/// Runs a prepared command, with `stdin` piped in when given (else empty).
pub fn run(command: &mut Command, stdin: Option<&str>) -> Run {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("roster runs");
    let mut pipe = child.stdin.take().expect("stdin piped");
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).expect("stdin written");
    }
    drop(pipe);

    let output = child.wait_with_output().expect("roster finishes");
    let run = Run {
        code: output.status.code().expect("roster exits, not killed"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    };
    assert_secret_hidden(&run, SECRET);
    run
}

#[track_caller]
pub fn assert_secret_hidden(run: &Run, secret: &str) {
    assert!(
        !run.stdout.contains(secret) && !run.stderr.contains(secret),
        "the secret was printed: {run:#?}"
    );
}

/// Creates users over HTTP, bypassing the commands under test.
pub fn seed(server: &TestServer, users: &[(&str, &str)]) -> Vec<Value> {
    let token = server.token();
    users
        .iter()
        .map(|(email, role)| {
            support::create_user(server, &token, json!({ "email": email, "role": role }))
        })
        .collect()
}

/// Users as (email, role) pairs sorted by email: what the lifecycle tests compare.
pub type Directory = Vec<(String, String)>;

pub fn directory(users: &[(&str, &str)]) -> Directory {
    let mut pairs: Directory = users
        .iter()
        .map(|(email, role)| (email.to_string(), role.to_string()))
        .collect();
    pairs.sort();
    pairs
}

/// The users of a JSON array of account users.
pub fn directory_of_json(users: &Value) -> Directory {
    let mut pairs: Directory = users
        .as_array()
        .expect("a JSON array of users")
        .iter()
        .map(|u| {
            (
                u["email"].as_str().unwrap().to_owned(),
                u["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

/// The users of a CSV listing with `email` and `role` columns.
pub fn directory_of_csv(text: &str) -> Directory {
    let mut pairs: Directory = csv_rows(text)
        .into_iter()
        .map(|row| (row["email"].clone(), row["role"].clone()))
        .collect();
    pairs.sort();
    pairs
}

/// Every user on the server, read over HTTP (up to 100).
pub fn users_on_server(server: &TestServer) -> Directory {
    let response = support::client()
        .get(server.users_url())
        .query(&[("count", "100")])
        .bearer_auth(server.token())
        .send()
        .unwrap();
    let (status, body) = support::read(response);
    assert_eq!(status, 200, "{body}");
    directory_of_json(&body["response"]["account_users"])
}

/// Checks the users on the server, read over HTTP, against (email, role) pairs.
#[track_caller]
pub fn assert_directory(server: &TestServer, users: &[(&str, &str)]) {
    assert_eq!(users_on_server(server), directory(users));
}

/// The rows of a CSV text as maps from header to value.
pub fn csv_rows(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().expect("a header line").clone();
    reader
        .records()
        .map(|record| {
            let record = record.expect("a CSV record");
            headers
                .iter()
                .map(str::to_owned)
                .zip(record.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

/// The mode bits of a file.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;

    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
