//! `roster bridge` black-box: a real `roster serve` as the upstream, a real `roster
//! bridge` in front of it, SCIM through the bridge, and the upstream's account-users API
//! checked for the effect.

mod support;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Stdio},
    sync::mpsc,
    time::Duration,
};

use serde_json::{json, Value};
use support::{client, read, roster, TestServer, APP_KEY, SECRET};

const BRIDGE_TOKEN: &str = "bridge-token-0123456789abcdef";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

struct Bridge {
    scim: String,
    child: Child,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `roster bridge` in front of `upstream` with extra flags.
fn start_bridge(upstream: &TestServer, args: &[&str]) -> Bridge {
    let mut child = roster()
        .args([
            "bridge",
            "--upstream",
            &upstream.base,
            "--listen",
            "127.0.0.1:0",
        ])
        .args(args)
        .env("ROSTER_APP_KEY", APP_KEY)
        .env("ROSTER_SECRET", SECRET)
        .env("ROSTER_BRIDGE_TOKEN", BRIDGE_TOKEN)
        .env_remove("ROSTER_LISTEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("roster bridge starts");

    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(address) = line.strip_prefix("roster listening on ") {
                let _ = tx.send(address.to_owned());
            }
        }
    });
    let address = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the bridge says where it listens");
    Bridge {
        scim: format!("{address}/scim/v2"),
        child,
    }
}

/// A SCIM request through the bridge, with the bridge token.
fn scim(bridge: &Bridge, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = client()
        .request(method, format!("{}{path}", bridge.scim))
        .bearer_auth(BRIDGE_TOKEN);
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/scim+json")
            .body(body.to_string());
    }
    let response = request.send().expect("the bridge answers");
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The upstream's users, as its account-users API lists them.
fn upstream_users(upstream: &TestServer) -> Vec<Value> {
    let response = client()
        .get(format!("{}?count=100", upstream.users_url()))
        .bearer_auth(upstream.token())
        .send()
        .unwrap();
    let (status, body) = read(response);
    assert_eq!(status, 200, "{body}");
    body["response"]["account_users"]
        .as_array()
        .unwrap()
        .clone()
}

/// A SCIM PATCH of one user with these operations.
fn patch_user(bridge: &Bridge, id: &str, operations: Value) -> (u16, Value) {
    let body = json!({"schemas": [PATCH], "Operations": operations});
    scim(
        bridge,
        reqwest::Method::PATCH,
        &format!("/Users/{id}"),
        Some(body),
    )
}

fn upstream_user(upstream: &TestServer, email: &str) -> Option<Value> {
    upstream_users(upstream).into_iter().find(|u| {
        u["email"]
            .as_str()
            .is_some_and(|e| e.eq_ignore_ascii_case(email))
    })
}

fn create_ana(bridge: &Bridge) -> Value {
    let (status, body) = scim(
        bridge,
        reqwest::Method::POST,
        "/Users",
        Some(json!({
            "schemas": [USER],
            "userName": "Ana@Example.com",
            "name": {"givenName": "Ana", "familyName": "Silva"},
            "externalId": "okta-00u1",
            "password": "never-stored-1!",
            "roles": [{"value": "staff", "primary": true}],
        })),
    );
    assert_eq!(status, 201, "{body}");
    body
}

#[test]
fn scim_through_the_bridge_changes_the_upstream_account_users() {
    let upstream = TestServer::start();
    let bridge = start_bridge(&upstream, &[]);

    // Create: the upstream holds the user, without the externalId it cannot keep.
    let created = create_ana(&bridge);
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["userName"], "Ana@Example.com");
    assert_eq!(created["displayName"], "Ana Silva");
    assert!(created.get("externalId").is_none(), "{created}");
    let held = upstream_user(&upstream, "ana@example.com").expect("created upstream");
    assert_eq!(held["id"].to_string(), id);
    assert_eq!(held["role"], "staff");
    assert_eq!(held["name"], "Ana Silva");

    // Get, and the look-up by userName that Okta starts with, in another case.
    let (status, got) = scim(&bridge, reqwest::Method::GET, &format!("/Users/{id}"), None);
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["userName"], "Ana@Example.com");
    let (status, found) = scim(
        &bridge,
        reqwest::Method::GET,
        "/Users?filter=userName%20eq%20%22ana%40EXAMPLE.com%22",
        None,
    );
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    let (_, none) = scim(
        &bridge,
        reqwest::Method::GET,
        "/Users?filter=userName%20eq%20%22nobody%40example.com%22",
        None,
    );
    assert_eq!(none["totalResults"], 0, "{none}");

    // A filter the upstream cannot run is evaluated by the bridge over a walk.
    let (_, by_name) = scim(
        &bridge,
        reqwest::Method::GET,
        "/Users?filter=displayName%20co%20%22silva%22%20and%20roles.value%20eq%20%22STAFF%22",
        None,
    );
    assert_eq!(by_name["totalResults"], 1, "{by_name}");

    // Patch as Entra ID sends it: the upstream user changes.
    let replace_name = json!([{"op": "Replace", "path": "displayName", "value": "Ana S."}]);
    let (status, patched) = patch_user(&bridge, &id, replace_name);
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["displayName"], "Ana S.");
    let held = upstream_user(&upstream, "ana@example.com").unwrap();
    assert_eq!(held["name"], "Ana S.");

    // Deactivate: the vendor has no inactive state, so the user is deleted upstream.
    let deactivate = json!([{"op": "replace", "value": {"active": "False"}}]);
    let (status, deactivated) = patch_user(&bridge, &id, deactivate);
    assert_eq!(status, 200, "{deactivated}");
    assert_eq!(deactivated["active"], false);
    assert_eq!(upstream_user(&upstream, "ana@example.com"), None);
    let (status, _) = scim(&bridge, reqwest::Method::GET, &format!("/Users/{id}"), None);
    assert_eq!(status, 404);

    // Delete: a fresh user, deleted through the bridge, is gone upstream.
    let again = create_ana(&bridge);
    let again_id = again["id"].as_str().unwrap();
    let path = format!("/Users/{again_id}");
    let (status, _) = scim(&bridge, reqwest::Method::DELETE, &path, None);
    assert_eq!(status, 204);
    assert_eq!(upstream_user(&upstream, "ana@example.com"), None);
    let (status, _) = scim(&bridge, reqwest::Method::DELETE, &path, None);
    assert_eq!(status, 404);
}

#[test]
fn with_deactivate_keep_a_deactivated_user_stays_upstream() {
    let upstream = TestServer::start();
    let bridge = start_bridge(&upstream, &["--deactivate", "keep"]);

    let created = create_ana(&bridge);
    let id = created["id"].as_str().unwrap();
    let deactivate = json!([{"op": "replace", "path": "active", "value": false}]);
    let (status, body) = patch_user(&bridge, id, deactivate);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["active"], true,
        "kept, and reported as the upstream holds it"
    );
    let held = upstream_user(&upstream, "ana@example.com").expect("still upstream");
    assert_eq!(held["active"], true);
}

#[test]
fn the_bridge_answers_errors_the_scim_way() {
    let upstream = TestServer::start();
    let bridge = start_bridge(&upstream, &[]);
    create_ana(&bridge);

    // The same userName again: 409 uniqueness, from the upstream's RecordNotUnique.
    let (status, body) = scim(
        &bridge,
        reqwest::Method::POST,
        "/Users",
        Some(json!({"schemas": [USER], "userName": "ana@example.com"})),
    );
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["scimType"], "uniqueness");

    // A role the upstream does not have: 400 invalidValue naming the valid ones.
    let (status, body) = scim(
        &bridge,
        reqwest::Method::POST,
        "/Users",
        Some(json!({"schemas": [USER], "userName": "bo@example.com",
                    "roles": [{"value": "billing"}]})),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("viewer"),
        "{body}"
    );

    // Groups are the roles, which the upstream does not let anyone create.
    let (status, body) = scim(
        &bridge,
        reqwest::Method::POST,
        "/Groups",
        Some(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "billing"}),
        ),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("upstream"),
        "{body}"
    );

    // An unknown attribute in a filter is the client's mistake.
    let (status, body) = scim(
        &bridge,
        reqwest::Method::GET,
        "/Users?filter=nickName%20pr",
        None,
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["scimType"], "invalidFilter");
}

#[test]
fn a_user_name_other_than_the_email_is_refused_through_the_bridge() {
    let upstream = TestServer::start();
    let bridge = start_bridge(&upstream, &[]);
    let ana = create_ana(&bridge);
    let id = ana["id"].as_str().unwrap();

    let (status, body) = scim(
        &bridge,
        reqwest::Method::POST,
        "/Users",
        Some(json!({"schemas": [USER], "userName": "bo.berg",
                    "emails": [{"value": "bo@example.com", "primary": true}]})),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("userName"),
        "{body}"
    );
    assert!(upstream_user(&upstream, "bo@example.com").is_none());

    let (status, body) = patch_user(
        &bridge,
        id,
        json!([{"op": "replace", "path": "userName", "value": "ana.silva"}]),
    );
    assert_eq!(status, 400, "{body}");

    // A userName that moves with the email is what the upstream can hold.
    let (status, body) = patch_user(
        &bridge,
        id,
        json!([{"op": "replace", "path": "emails", "value": [{"value": "ana.silva@example.com"}]}]),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["userName"], "ana.silva@example.com");
    assert!(upstream_user(&upstream, "ana.silva@example.com").is_some());
}

#[test]
fn the_bridge_serves_only_scim_and_only_to_its_token() {
    let upstream = TestServer::start();
    let bridge = start_bridge(&upstream, &[]);

    let response = client()
        .get(format!("{}/Users", bridge.scim))
        .bearer_auth("another-token-0123456789abcdef")
        .send()
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = client()
        .get(format!("{}/Users", bridge.scim))
        .send()
        .unwrap();
    assert_eq!(response.status(), 401);

    let root = bridge.scim.trim_end_matches("/scim/v2");
    let response = client()
        .get(format!("{root}/apps/{APP_KEY}/account_users"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        client()
            .get(format!("{root}/healthz"))
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn the_bridge_refuses_to_start_without_its_token() {
    let upstream = TestServer::start();
    let output = roster()
        .args([
            "bridge",
            "--upstream",
            &upstream.base,
            "--listen",
            "127.0.0.1:0",
        ])
        .env("ROSTER_APP_KEY", APP_KEY)
        .env("ROSTER_SECRET", SECRET)
        .env_remove("ROSTER_BRIDGE_TOKEN")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("ROSTER_BRIDGE_TOKEN"));

    let output = roster()
        .args([
            "bridge",
            "--upstream",
            &upstream.base,
            "--listen",
            "127.0.0.1:0",
        ])
        .env("ROSTER_APP_KEY", APP_KEY)
        .env("ROSTER_SECRET", "not-the-secret-0123456789")
        .env("ROSTER_BRIDGE_TOKEN", BRIDGE_TOKEN)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "wrong upstream credentials fail at start"
    );
}
