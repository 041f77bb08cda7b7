//! Follows the README's command to start the server and its walkthrough, as pasted into
//! a shell, against a real server, so the README cannot go stale.

mod support;

use std::process::Command;

use support::{client, Serving, TestServer};

/// The credentials the README starts its server with.
const README_APP_KEY: &str = "demo";
const README_SECRET: &str = "demo-secret-0123456789";
const README_BASE: &str = "http://127.0.0.1:8080";

#[test]
fn the_readme_walkthrough_works_as_written() {
    let readme = support::readme();
    assert!(readme.contains(&format!(
        "ROSTER_BOOTSTRAP_APP_KEY={README_APP_KEY} ROSTER_BOOTSTRAP_SECRET={README_SECRET}"
    )));
    let script = support::readme_script(&readme, "walkthrough");
    assert!(script.contains(README_BASE), "{script}");

    let server = TestServer::start_for(README_APP_KEY, README_SECRET, &[]);
    let script = script.replace(README_BASE, &server.base);
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );

    let token_line = stdout.lines().next().unwrap();
    assert_eq!(token_line.len(), "token: ".len() + 40, "{stdout}");
    assert_eq!(stdout.matches(r#""message":"OK""#).count(), 4, "{stdout}");
    let audit = stdout.lines().last().unwrap();
    assert!(audit.contains(r#""email":"ana@example.com""#), "{audit}");
    assert!(!audit.contains("bo@example.com"), "{audit}");
    assert!(audit.contains(r#""total":1"#), "{audit}");
}

/// The README's command to start the server, with `cargo run [--release] --` replaced
/// by the binary that command builds, so that the test need not build a release.
fn readme_serve_command(readme: &str) -> String {
    let script = support::readme_script(readme, "serve");
    let lines: Vec<_> = script.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one command to start the server:\n{script}");
    let (before, after) = lines[0]
        .split_once("cargo run")
        .unwrap_or_else(|| panic!("not a cargo run: {script}"));
    let (cargo_flags, arguments) = after
        .split_once(" -- ")
        .unwrap_or_else(|| panic!("no arguments for the binary: {script}"));
    assert!(
        cargo_flags.split_whitespace().all(|f| f == "--release"),
        "cargo flags that would change the binary: {cargo_flags}"
    );
    format!(
        "{before}exec '{}' {arguments}",
        env!("CARGO_BIN_EXE_roster")
    )
}

#[test]
fn the_readmes_command_to_start_the_server_makes_roster_db_in_the_current_folder() {
    let readme = support::readme();
    assert!(readme.contains("listening on `127.0.0.1:8080`"));
    let command_line = readme_serve_command(&readme);
    let dir = tempfile::tempdir().unwrap();
    let mut bash = Command::new("bash");
    support::remove_roster_variables(&mut bash);
    bash.current_dir(dir.path())
        // Port 0 instead of 8080, which another program may hold; a --listen in the
        // README's command would win over it.
        .env("ROSTER_LISTEN", "127.0.0.1:0")
        .args(["-c", &command_line]);

    let mut server = Serving::start(bash);

    let health = client().get(server.url("/healthz")).send().unwrap();
    assert_eq!(health.status(), 200);
    assert!(dir.path().join("roster.db").is_file(), "{command_line}");
    assert!(server.stop_with("TERM").success());
    assert!(server.stdout().contains("app_key: "), "{}", server.stdout());

    let help = support::roster()
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("[default: 127.0.0.1:8080]"), "{help}");
}
