//! The OpenAPI document: the committed copy, `roster openapi` and `GET /openapi.json`
//! must all be the same.

mod support;

use std::path::PathBuf;

use support::{client, roster, TestServer};

fn committed() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi.json");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run `cargo run --bin roster -- openapi > openapi.json`",
            path.display()
        )
    })
}

fn generated() -> String {
    let output = roster().arg("openapi").output().expect("roster runs");
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_committed_openapi_document_is_what_the_code_generates() {
    let (committed, generated) = (committed(), generated());
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or(
                committed.lines().count().min(generated.lines().count()),
                |i| i,
            )
            + 1;
        panic!(
            "openapi.json differs from what the code generates (first at line {line}); \
             run `cargo run --bin roster -- openapi > openapi.json` and commit it"
        );
    }
}

#[test]
fn the_server_serves_the_document_and_a_reference_page() {
    let server = TestServer::start();

    let response = client().get(server.url("/openapi.json")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().unwrap(), generated());

    let response = client().get(server.url("/docs")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = response.text().unwrap();
    assert!(page.contains("/apps/{app_key}/account_users"), "{page}");
    assert!(page.contains("href=\"openapi.json\""));
}
