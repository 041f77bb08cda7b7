//! `/oauth/token`, the ways a token is presented, and how credentials are kept, against
//! the real server.

mod support;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::{assert_error, client, read, TestServer, APP_KEY, SECRET};

fn assert_token(response: reqwest::blocking::Response) -> String {
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    let (status, body) = read(response);
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(token.len(), 40);
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 14 * 24 * 60 * 60);
    assert!(body.get("status").is_none(), "no envelope: {body}");
    token.to_owned()
}

fn assert_oauth_error(response: reqwest::blocking::Response, code: u16, error: &str) {
    let (status, body) = read(response);
    assert_eq!(status, code, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
}

#[test]
fn a_token_is_granted_for_json_form_and_get_requests() {
    let server = TestServer::start();
    let url = server.url("/oauth/token");
    let fields = [
        ("client_id", APP_KEY),
        ("client_secret", SECRET),
        ("grant_type", "client_credentials"),
    ];
    let as_json: Value = fields
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();

    assert_token(client().post(&url).json(&as_json).send().unwrap());
    assert_token(client().post(&url).form(&fields).send().unwrap());
    assert_token(client().get(&url).query(&fields).send().unwrap());
    assert_token(
        client()
            .get(&url)
            .header("content-type", "application/json")
            .body(as_json.to_string())
            .send()
            .unwrap(),
    );
}

#[test]
fn token_errors_follow_rfc_6749() {
    let server = TestServer::start();
    let url = server.url("/oauth/token");
    let post = |body: Value| client().post(&url).json(&body).send().unwrap();

    assert_oauth_error(
        post(json!({"client_secret": SECRET, "grant_type": "client_credentials"})),
        400,
        "invalid_request",
    );
    assert_oauth_error(
        post(json!({"client_id": APP_KEY, "client_secret": SECRET})),
        400,
        "invalid_request",
    );
    assert_oauth_error(
        post(json!({"client_id": APP_KEY, "client_secret": SECRET, "grant_type": "password"})),
        400,
        "unsupported_grant_type",
    );
    assert_oauth_error(
        client()
            .post(&url)
            .header("content-type", "application/json")
            .body("{\"client_id\":")
            .send()
            .unwrap(),
        400,
        "invalid_request",
    );
}

#[test]
fn a_wrong_secret_and_an_unknown_client_get_the_same_answer() {
    let server = TestServer::start();
    let url = server.url("/oauth/token");
    let attempt = |id: &str, secret: &str| {
        let response = client()
            .post(&url)
            .json(&json!({"client_id": id, "client_secret": secret, "grant_type": "client_credentials"}))
            .send()
            .unwrap();
        read(response)
    };
    let wrong_secret = attempt(APP_KEY, "not-the-secret");
    let unknown_client = attempt("nobody", SECRET);
    assert_eq!(wrong_secret.0, 401);
    assert_eq!(wrong_secret.1["error"], "invalid_client");
    assert_eq!(wrong_secret, unknown_client);
}

#[test]
fn the_token_is_accepted_from_query_body_header_and_bearer() {
    let server = TestServer::start();
    let token = server.token();
    let users = server.users_url();
    let body = json!({"utoken": token, "account_user": {"email": "body@example.com"}});

    let by_query = client()
        .get(&users)
        .query(&[("utoken", &token)])
        .send()
        .unwrap();
    assert_eq!(by_query.status(), 200);
    let by_body = client().post(&users).json(&body).send().unwrap();
    assert_eq!(by_body.status(), 200);
    let by_header = client()
        .get(&users)
        .header("X-Yotpo-Token", &token)
        .send()
        .unwrap();
    assert_eq!(by_header.status(), 200);
    let by_bearer = client().get(&users).bearer_auth(&token).send().unwrap();
    assert_eq!(by_bearer.status(), 200);
}

/// Where a request may carry its token, from the place that wins to the one that loses.
#[derive(Clone, Copy, Debug)]
enum Place {
    Query,
    Body,
    YotpoHeader,
    Bearer,
}

const PLACES: [Place; 4] = [Place::Query, Place::Body, Place::YotpoHeader, Place::Bearer];

/// Creates a user with `tokens` put where they say; the status.
fn create_with_tokens(server: &TestServer, email: &str, tokens: &[(Place, &str)]) -> u16 {
    let mut body = json!({"account_user": {"email": email}});
    let mut request = client().post(server.users_url());
    for &(place, token) in tokens {
        request = match place {
            Place::Query => request.query(&[("utoken", token)]),
            Place::Body => {
                body["utoken"] = json!(token);
                request
            }
            Place::YotpoHeader => request.header("X-Yotpo-Token", token),
            Place::Bearer => request.bearer_auth(token),
        };
    }
    request.json(&body).send().unwrap().status().as_u16()
}

#[test]
fn the_query_beats_the_body_which_beats_x_yotpo_token_which_beats_bearer() {
    let server = TestServer::start();
    let good = server.token();
    let created = server.operator(&["accounts", "create", "--name", "Other"]);
    assert!(created.status.success(), "{created:?}");
    let printed = String::from_utf8(created.stdout).unwrap();
    let field = |name: &str| {
        let line = printed.lines().find_map(|l| l.strip_prefix(name)).unwrap();
        line.trim().to_owned()
    };
    // A token that is valid, but for another account, and one that is valid nowhere.
    let other_account = server.token_for(&field("app_key:"), &field("secret:"));
    let made_up = "x".repeat(40);

    let mut users = 0;
    for bad in [other_account.as_str(), made_up.as_str()] {
        for (i, &winner) in PLACES.iter().enumerate() {
            for &loser in &PLACES[i + 1..] {
                users += 1;
                let email = format!("user{users}@example.com");
                let won = create_with_tokens(&server, &email, &[(winner, &good), (loser, bad)]);
                assert_eq!(won, 200, "{winner:?} with the good token over {loser:?}");
                let lost = create_with_tokens(&server, &email, &[(winner, bad), (loser, &good)]);
                assert_eq!(lost, 401, "{winner:?} with a bad token over {loser:?}");
            }
        }
    }
    let (_, body) = read(
        client()
            .get(server.users_url())
            .bearer_auth(&good)
            .send()
            .unwrap(),
    );
    assert_eq!(body["response"]["pagination"]["total"], users, "{body}");
}

#[test]
fn missing_and_unknown_tokens_are_denied_alike() {
    let server = TestServer::start();
    let users = server.users_url();
    let missing = assert_error(client().get(&users).send().unwrap(), 401, "AccessDenied");
    let unknown = assert_error(
        client()
            .get(&users)
            .bearer_auth("x".repeat(40))
            .send()
            .unwrap(),
        401,
        "AccessDenied",
    );
    assert_eq!(missing, unknown);
    assert_eq!(
        missing["status"]["message"],
        "You are not authorized to access this page."
    );
}

#[test]
fn an_expired_token_is_denied() {
    let server = TestServer::start_with(&["--token-ttl", "1"]);
    let token = server.token();
    let users = server.users_url();
    assert_eq!(
        client()
            .get(&users)
            .bearer_auth(&token)
            .send()
            .unwrap()
            .status(),
        200
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_error(
        client().get(&users).bearer_auth(&token).send().unwrap(),
        401,
        "AccessDenied",
    );
}

#[test]
fn revoked_tokens_and_rotated_secrets_stop_working_at_once() {
    let server = TestServer::start();
    let users = server.users_url();

    let token = server.token();
    let revoked = server.operator(&["accounts", "revoke-tokens", APP_KEY]);
    assert!(revoked.status.success(), "{revoked:?}");
    assert_error(
        client().get(&users).bearer_auth(&token).send().unwrap(),
        401,
        "AccessDenied",
    );

    let token = server.token();
    let rotated = server.operator(&["accounts", "rotate-secret", APP_KEY]);
    assert!(rotated.status.success(), "{rotated:?}");
    assert_error(
        client().get(&users).bearer_auth(&token).send().unwrap(),
        401,
        "AccessDenied",
    );
    let stdout = String::from_utf8(rotated.stdout).unwrap();
    let new_secret = stdout.trim().strip_prefix("secret:").unwrap().trim();
    let token = server.token_for(APP_KEY, new_secret);
    assert_eq!(
        client()
            .get(&users)
            .bearer_auth(&token)
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn a_token_of_one_account_is_denied_on_another() {
    let server = TestServer::start();
    let created = server.operator(&["accounts", "create", "--name", "Other"]);
    assert!(created.status.success(), "{created:?}");
    let stdout = String::from_utf8(created.stdout).unwrap();
    let other_key = stdout
        .lines()
        .next()
        .unwrap()
        .strip_prefix("app_key:")
        .unwrap()
        .trim();

    let token = server.token();
    let url = server.url(&format!("/apps/{other_key}/account_users"));
    assert_error(
        client().get(&url).bearer_auth(&token).send().unwrap(),
        401,
        "AccessDenied",
    );
}

#[test]
fn an_app_key_that_exists_nowhere_is_not_found() {
    let server = TestServer::start();
    let body = assert_error(
        client()
            .get(server.url("/apps/no-such-app/account_users"))
            .bearer_auth(server.token())
            .send()
            .unwrap(),
        404,
        "RecordNotFound",
    );
    assert_eq!(
        body["status"]["message"],
        "Couldn't find Account with app_key = no-such-app"
    );
}

/// Every byte of the SQLite database: the file and its -wal and -shm companions.
fn database_bytes(path: &std::path::Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        if let Ok(content) = std::fs::read(&file) {
            bytes.extend(content);
        }
    }
    bytes
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[test]
fn secrets_access_tokens_and_scim_tokens_are_stored_only_as_sha256_digests() {
    let server = TestServer::start_on_sqlite();
    let created = server.operator(&["accounts", "create", "--name", "Stored"]);
    assert!(created.status.success(), "{created:?}");
    let printed = String::from_utf8(created.stdout).unwrap();
    let field = |name: &str| {
        let line = printed.lines().find_map(|l| l.strip_prefix(name)).unwrap();
        line.trim().to_owned()
    };
    let (app_key, secret) = (field("app_key:"), field("secret:"));
    let access_token = server.token_for(&app_key, &secret);
    let scim = server.operator(&["accounts", "scim-token", &app_key]);
    assert!(scim.status.success(), "{scim:?}");
    let scim_token = String::from_utf8(scim.stdout).unwrap().trim().to_owned();
    let users = client()
        .get(server.url("/scim/v2/Users"))
        .bearer_auth(&scim_token)
        .send()
        .unwrap();
    assert_eq!(users.status(), 200, "the SCIM token works");

    let bytes = database_bytes(&server.sqlite_path().unwrap());

    for (what, credential) in [
        ("the bootstrap secret", SECRET),
        ("the secret", secret.as_str()),
        ("the access token", access_token.as_str()),
        ("the SCIM token", scim_token.as_str()),
    ] {
        assert!(!holds(&bytes, credential), "{what} is stored as it is");
        let digest = hex::encode(Sha256::digest(credential.as_bytes()));
        assert!(holds(&bytes, &digest), "{what}'s digest is not stored");
    }
}
