//! Runs the README's toolkit section, as pasted into a shell, against a real server with
//! the `roster` binary on the PATH, so that the section cannot go stale.

mod support;
mod toolkit;

use std::{path::Path, process::Command};

use support::TestServer;
use toolkit::{directory, directory_of_csv};

const README_APP_KEY: &str = "demo";
const README_SECRET: &str = "demo-secret-0123456789";
const README_BASE: &str = "http://127.0.0.1:8080";

#[test]
fn the_readme_toolkit_section_works_as_written() {
    let readme = support::readme();
    let script = support::readme_script(&readme, "toolkit");
    assert!(script.contains(README_BASE), "{script}");
    assert!(script.contains(README_SECRET), "{script}");

    let server = TestServer::start_for(README_APP_KEY, README_SECRET, &[]);
    let script = script.replace(README_BASE, &server.base);
    let work = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_roster")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut bash = Command::new("bash");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ROSTER_") {
            bash.env_remove(&name);
        }
    }
    let output = bash
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(work.path())
        .env("PATH", path)
        .env("ROSTER_PROFILE", work.path().join("no-profile.toml"))
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );

    // What the reader is told to expect.
    assert!(stdout.contains("exit code 4"), "{stdout}");
    assert!(stdout.contains("exit code 3"), "{stdout}");
    assert!(stderr.contains("identity provider"), "{stderr}");
    assert!(!stdout.contains(README_SECRET) && !stderr.contains(README_SECRET));

    let csv = std::fs::read_to_string(work.path().join("users.csv")).unwrap();
    assert_eq!(
        directory_of_csv(&csv),
        directory(&[("cy@example.com", "admin")])
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.path().join("users.json")).unwrap())
            .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert!(
        stdout
            .lines()
            .any(|l| l.split_whitespace().eq(["admin", "1"])),
        "{stdout}"
    );
}
