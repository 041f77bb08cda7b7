//! Starts the real `roster` binary on port 0 over a fresh database, one per test.

#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{mpsc, Arc, Mutex},
    time::Duration,
};

use serde_json::{json, Value};

pub const APP_KEY: &str = "test-app";
pub const SECRET: &str = "test-secret-0123456789";

pub struct TestServer {
    pub base: String,
    pub database_url: String,
    child: Child,
    logs: Arc<Mutex<String>>,
    launch: Launch,
    _dir: tempfile::TempDir,
}

/// How a test server is started, kept to start it again.
struct Launch {
    database_url: String,
    app_key: String,
    secret: String,
    args: Vec<String>,
}

impl Launch {
    /// Starts the binary and waits for its "listening" line.
    fn spawn(&self) -> (Child, String, Arc<Mutex<String>>) {
        let mut child = roster()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                &self.database_url,
            ])
            .args(&self.args)
            .env("ROSTER_BOOTSTRAP_APP_KEY", &self.app_key)
            .env("ROSTER_BOOTSTRAP_SECRET", &self.secret)
            .env("RUST_LOG", "info")
            .env_remove("ROSTER_LISTEN")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("roster binary starts");

        let logs = Arc::new(Mutex::new(String::new()));
        let (address_tx, address_rx) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr piped");
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("roster listening on ") {
                    let _ = address_tx.send(address.to_owned());
                }
                let mut logs = sink.lock().unwrap();
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        match address_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(base) => (child, base, logs),
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start:\n{}", logs.lock().unwrap());
            }
        }
    }
}

/// Names a PostgreSQL server to run the suite against instead of SQLite.
pub const POSTGRES_URL_VAR: &str = "ROSTER_TEST_POSTGRES_URL";

/// Creates a database of its own for one test on the server at `server_url`.
///
/// Test databases are left behind: the server is a throwaway cluster that
/// `scripts/with-postgres` removes when the suite ends.
fn fresh_postgres_database(server_url: &str) -> String {
    use sqlx::Connection;

    let name = format!("roster_bb_{:016x}", rand::random::<u64>());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut conn = sqlx::PgConnection::connect(server_url)
            .await
            .expect("the test PostgreSQL server answers");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("a test database is created");
    });
    let (base, _) = server_url
        .rsplit_once('/')
        .expect("URL ends in a database name");
    format!("{base}/{name}")
}

/// A fresh, empty database for a test: a database of its own on the PostgreSQL server
/// of `ROSTER_TEST_POSTGRES_URL` when set, otherwise an SQLite file in `dir`.
pub fn fresh_database_url(dir: &std::path::Path) -> String {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(server_url) if !server_url.is_empty() => fresh_postgres_database(&server_url),
        _ => format!("sqlite://{}", dir.join("roster.db").display()),
    }
}

/// What a `roster serve` started by [`start_and_stop`] left behind.
#[derive(Debug)]
pub struct Started {
    /// True when it said where it listens.
    pub listened: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Starts `roster serve` on `database_url` with only the `ROSTER_*` variables given,
/// waits until it listens (or exits), then stops it with SIGTERM: a test of start-up.
pub fn start_and_stop(database_url: &str, vars: &[(&str, &str)], args: &[&str]) -> Started {
    let mut child = roster_without_variables()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            database_url,
        ])
        .args(args)
        .envs(vars.iter().copied())
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("roster binary starts");

    let (line_tx, line_rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr piped");
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = line_tx.send(line.starts_with("roster listening on "));
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let mut listened = false;
    while let Ok(listening) = line_rx.recv_timeout(Duration::from_secs(30)) {
        if listening {
            listened = true;
            break;
        }
    }
    if listened {
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
    } else {
        // It exited, or hangs without listening; either way it is done.
        let _ = child.kill();
    }
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    let status = child.wait().expect("server exits");
    Started {
        listened,
        code: status.code(),
        stdout,
        stderr: reader.join().unwrap(),
    }
}

pub fn roster() -> Command {
    Command::new(env!("CARGO_BIN_EXE_roster"))
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(&[])
    }

    /// Starts `roster serve` with extra flags, with the bootstrap account of
    /// [`APP_KEY`] and [`SECRET`].
    pub fn start_with(args: &[&str]) -> TestServer {
        TestServer::start_for(APP_KEY, SECRET, args)
    }

    /// Starts `roster serve` with a bootstrap account of the given credentials, over a
    /// fresh database: PostgreSQL when `ROSTER_TEST_POSTGRES_URL` names a server (see
    /// `scripts/with-postgres`), otherwise an SQLite file in a temporary folder.
    pub fn start_for(app_key: &str, secret: &str, args: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database_url(dir.path());
        TestServer::start_in(dir, database_url, app_key, secret, args)
    }

    /// [`TestServer::start`] on an SQLite file whatever `ROSTER_TEST_POSTGRES_URL` says,
    /// for tests that read the file itself.
    pub fn start_on_sqlite() -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = format!("sqlite://{}", dir.path().join("roster.db").display());
        TestServer::start_in(dir, database_url, APP_KEY, SECRET, &[])
    }

    /// The SQLite file of the database; `None` on PostgreSQL.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self.database_url
            .strip_prefix("sqlite://")
            .map(std::path::PathBuf::from)
    }

    fn start_in(
        dir: tempfile::TempDir,
        database_url: String,
        app_key: &str,
        secret: &str,
        args: &[&str],
    ) -> TestServer {
        let launch = Launch {
            database_url: database_url.clone(),
            app_key: app_key.to_owned(),
            secret: secret.to_owned(),
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        let (child, base, logs) = launch.spawn();
        TestServer {
            base,
            database_url,
            child,
            logs,
            launch,
            _dir: dir,
        }
    }

    /// Starts another node on the same database, as a second server behind a load
    /// balancer would be.
    pub fn second_node(&self) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let launch = Launch {
            database_url: self.database_url.clone(),
            app_key: self.launch.app_key.clone(),
            secret: self.launch.secret.clone(),
            args: self.launch.args.clone(),
        };
        let (child, base, logs) = launch.spawn();
        TestServer {
            base,
            database_url: self.database_url.clone(),
            child,
            logs,
            launch,
            _dir: dir,
        }
    }

    /// Kills the server with SIGKILL, as a crash would, and starts it again on the same
    /// database. The address changes.
    pub fn kill_and_restart(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("killed server is reaped");
        let (child, base, logs) = self.launch.spawn();
        self.child = child;
        self.base = base;
        self.logs = logs;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn users_url(&self) -> String {
        self.url(&format!("/apps/{APP_KEY}/account_users"))
    }

    pub fn user_url(&self, id: i64) -> String {
        format!("{}/{id}", self.users_url())
    }

    /// A fresh access token for the bootstrap account.
    pub fn token(&self) -> String {
        self.token_for(APP_KEY, SECRET)
    }

    pub fn token_for(&self, app_key: &str, secret: &str) -> String {
        let response = client()
            .post(self.url("/oauth/token"))
            .json(&json!({
                "client_id": app_key,
                "client_secret": secret,
                "grant_type": "client_credentials",
            }))
            .send()
            .expect("token request");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Runs `roster` with the server's database, for operator commands.
    pub fn operator(&self, args: &[&str]) -> std::process::Output {
        roster()
            .args(args)
            .env("ROSTER_DATABASE_URL", &self.database_url)
            .output()
            .expect("roster runs")
    }

    /// Everything the server has logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(self) -> std::process::ExitStatus {
        self.stop_with("TERM")
    }

    /// Sends `signal` (`TERM`, `INT`) and waits, at most 30 seconds, for the exit status.
    pub fn stop_with(self, signal: &str) -> std::process::ExitStatus {
        self.signal(signal);
        self.wait_for_exit()
    }

    /// Sends `signal` (`TERM`, `INT`) with `kill`.
    pub fn signal(&self, signal: &str) {
        send_signal(&self.child, signal);
    }

    /// Waits, at most 30 seconds, for the exit status.
    pub fn wait_for_exit(mut self) -> std::process::ExitStatus {
        wait_bounded(&mut self.child)
    }

    /// Waits, at most 30 seconds, until the logs hold `text`.
    pub fn wait_for_log(&self, text: &str) -> String {
        wait_for(|| Some(self.logs()).filter(|logs| logs.contains(text)))
            .unwrap_or_else(|| panic!("{text:?} never logged:\n{}", self.logs()))
    }
}

/// Sends `signal` to `child` with `kill`.
fn send_signal(child: &Child, signal: &str) {
    Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("kill runs");
}

/// Waits for `child` to exit, killing it and failing after 30 seconds.
fn wait_bounded(child: &mut Child) -> std::process::ExitStatus {
    let exited = wait_for(|| child.try_wait().expect("the server can be waited on"));
    exited.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("the server did not exit within 30 seconds");
    })
}

/// Polls `found` every 20 ms for at most 30 seconds.
pub fn wait_for<T>(mut found: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = found() {
            return Some(value);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `roster` with none of the test's own `ROSTER_*` variables, so that only what a test
/// sets configures it.
pub fn roster_without_variables() -> Command {
    let mut command = roster();
    remove_roster_variables(&mut command);
    command
}

/// Keeps the test's own `ROSTER_*` variables from `command`.
pub fn remove_roster_variables(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ROSTER_") {
            command.env_remove(&name);
        }
    }
}

/// A `roster serve` started from a command a test put together, for tests of how it is
/// configured: its stdout and stderr are kept apart.
pub struct Serving {
    pub base: String,
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// Reads `stream` line by line into a shared string, until it closes.
fn collect_lines(
    stream: impl std::io::Read + Send + 'static,
    mut on_line: impl FnMut(&str) + Send + 'static,
) -> (Arc<Mutex<String>>, std::thread::JoinHandle<()>) {
    let all = Arc::new(Mutex::new(String::new()));
    let sink = all.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            on_line(&line);
            let mut all = sink.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
    (all, reader)
}

impl Serving {
    /// Spawns `command` (which should be `roster serve ...`) at log level `info` and
    /// waits for it to say where it listens.
    pub fn start(mut command: Command) -> Serving {
        let mut child = command
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("roster binary starts");
        let (address_tx, address_rx) = mpsc::channel();
        let (stdout, out_reader) = collect_lines(child.stdout.take().unwrap(), |_| {});
        let (stderr, err_reader) = collect_lines(child.stderr.take().unwrap(), move |line| {
            if let Some(address) = line.strip_prefix("roster listening on ") {
                let _ = address_tx.send(address.to_owned());
            }
        });
        match address_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(base) => Serving {
                base,
                child,
                stdout,
                stderr,
                readers: vec![out_reader, err_reader],
            },
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start:\n{}", stderr.lock().unwrap().as_str());
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Everything written on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything logged on stderr so far.
    pub fn logs(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends `signal` (`TERM`, `INT`) and waits, at most 30 seconds, for the exit status;
    /// then [`Serving::stdout`] and [`Serving::logs`] hold all the process wrote.
    pub fn stop_with(&mut self, signal: &str) -> std::process::ExitStatus {
        send_signal(&self.child, signal);
        let status = wait_bounded(&mut self.child);
        for reader in self.readers.drain(..) {
            reader.join().expect("the output is read");
        }
        status
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A response's status and JSON body.
pub fn read(response: reqwest::blocking::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    (status, body)
}

/// Checks the error envelope: HTTP status equal to `status.code`, the `error_type`,
/// and a message that is not empty.
pub fn assert_error(response: reqwest::blocking::Response, code: u16, error_type: &str) -> Value {
    let (status, body) = read(response);
    assert_eq!(status, code, "{body}");
    assert_eq!(body["status"]["code"], code, "{body}");
    assert_eq!(
        body["status"]["error_type"],
        format!("Exceptions::{error_type}"),
        "{body}"
    );
    assert!(
        body["status"]["message"]
            .as_str()
            .is_some_and(|m| m.len() > 10),
        "{body}"
    );
    assert!(body.get("response").is_none(), "{body}");
    body
}

/// Creates a user and returns its JSON.
pub fn create_user(server: &TestServer, token: &str, user: Value) -> Value {
    let response = client()
        .post(server.users_url())
        .bearer_auth(token)
        .json(&json!({ "account_user": user }))
        .send()
        .unwrap();
    let (status, body) = read(response);
    assert_eq!(status, 200, "{body}");
    body["response"]["account_user"].clone()
}

/// The README at the workspace root.
pub fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md at the workspace root")
}

/// The `sh` blocks between `<!-- {section}:begin -->` and `<!-- {section}:end -->`, in
/// order, as one script: what a reader pastes into a shell.
pub fn readme_script(readme: &str, section: &str) -> String {
    let begin = readme
        .find(&format!("<!-- {section}:begin -->"))
        .expect("begin marker");
    let end = readme
        .find(&format!("<!-- {section}:end -->"))
        .expect("end marker");
    let mut script = String::new();
    let mut in_block = false;
    for line in readme[begin..end].lines() {
        match (in_block, line.trim_start()) {
            (false, "```sh") => in_block = true,
            (true, "```") => in_block = false,
            (true, _) => {
                script.push_str(line);
                script.push('\n');
            }
            _ => {}
        }
    }
    script
}
