//! Follows the README's walkthrough, as pasted into a shell, against a real server, so
//! the README cannot go stale.

mod support;

use std::process::Command;

use support::TestServer;

/// The credentials the README starts its server with.
const README_APP_KEY: &str = "demo";
const README_SECRET: &str = "demo-secret-0123456789";
const README_BASE: &str = "http://127.0.0.1:8080";

/// The shell blocks between the walkthrough markers, in order.
fn walkthrough_script(readme: &str) -> String {
    let begin = readme
        .find("<!-- walkthrough:begin -->")
        .expect("begin marker");
    let end = readme.find("<!-- walkthrough:end -->").expect("end marker");
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

#[test]
fn the_readme_walkthrough_works_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md at the workspace root");
    assert!(readme.contains(&format!(
        "ROSTER_BOOTSTRAP_APP_KEY={README_APP_KEY} ROSTER_BOOTSTRAP_SECRET={README_SECRET}"
    )));
    let script = walkthrough_script(&readme);
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
