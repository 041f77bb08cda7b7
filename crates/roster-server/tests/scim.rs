//! SCIM black-box tests: the real server on a loopback port over a fresh database each,
//! driven with the requests Okta and Microsoft Entra ID send (`SCIM-NOTES.md`).

use reqwest::{header, Method, StatusCode};
use roster_server::{AppState, ServerConfig};
use roster_store::Store;
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

struct Server {
    base: String,
    token: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

struct Answer {
    status: StatusCode,
    headers: header::HeaderMap,
    body: Value,
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("roster.db").display());
    let store = Store::open(&url).await.unwrap();
    let credentials = store.create_account("acme").await.unwrap();
    let token = store.issue_scim_token(&credentials.app_key).await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let state = AppState::new(store, ServerConfig::default());
    tokio::spawn(roster_server::serve(
        listener,
        state,
        std::future::pending(),
    ));

    Server {
        base: format!("http://{address}/scim/v2"),
        token,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Server {
    /// Sends `body` as `application/scim+json`, as most clients do.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, "application/scim+json")
                .body(body.to_string());
        }
        answer(request).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn patch(&self, path: &str, operations: Value) -> Answer {
        let body = json!({"schemas": [PATCH], "Operations": operations});
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// Creates a user the way scim-sanity's fixtures do, returning its id.
    async fn user(&self, email: &str) -> String {
        let created = self
            .post(
                "/Users",
                json!({"schemas": [USER], "userName": email, "active": true,
                       "emails": [{"value": email, "type": "work", "primary": true}]}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        created.body["id"].as_str().unwrap().to_owned()
    }
}

async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn header_of(answer: &Answer, name: header::HeaderName) -> Option<&str> {
    answer.headers.get(name).and_then(|v| v.to_str().ok())
}

fn okta_user(email: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": email,
        "name": {"givenName": "Ana", "familyName": "Silva"},
        "emails": [{"primary": true, "value": email, "type": "work"}],
        "displayName": "Ana Silva",
        "locale": "en-US",
        "externalId": "00u1abcd",
        "groups": [],
        "password": "Tr0ub4dor&3",
        "active": true
    })
}

#[tokio::test]
async fn okta_looks_a_missing_user_up_by_user_name_and_gets_an_empty_list() {
    let server = start().await;

    let found = server
        .get("/Users?filter=userName%20eq%20%22ana%40example.com%22&startIndex=1&count=100")
        .await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(
        header_of(&found, header::CONTENT_TYPE),
        Some("application/scim+json")
    );
    assert_eq!(found.body["totalResults"], 0);
    assert_eq!(found.body["Resources"], json!([]));
}

#[tokio::test]
async fn okta_creates_a_user_without_content_type_and_a_repeat_is_a_conflict() {
    let server = start().await;

    // Okta's spec test sends an Accept header and no Content-Type.
    let request = server
        .client
        .post(format!("{}/Users", server.base))
        .bearer_auth(&server.token)
        .header(header::ACCEPT, "application/scim+json")
        .body(okta_user("Ana@Example.com").to_string());
    let created = answer(request).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let user = &created.body;
    assert_eq!(user["userName"], "Ana@Example.com");
    assert_eq!(user["displayName"], "Ana Silva");
    assert_eq!(user["externalId"], "00u1abcd");
    assert_eq!(user["active"], true);
    assert!(user.get("password").is_none(), "password is never returned");
    assert_eq!(
        header_of(&created, header::LOCATION),
        user["meta"]["location"].as_str()
    );
    assert_eq!(
        header_of(&created, header::ETAG),
        user["meta"]["version"].as_str()
    );
    assert_eq!(user["groups"][0]["display"], "viewer");

    let again = server.post("/Users", okta_user("ana@example.com")).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["scimType"], "uniqueness");
    assert_eq!(again.body["status"], "409");
}

#[tokio::test]
async fn okta_reads_a_user_then_puts_it_back_whole_with_id_and_meta() {
    let server = start().await;
    let created = server.post("/Users", okta_user("ana@example.com")).await;
    let id = created.body["id"].as_str().unwrap();

    let mut user = server.get(&format!("/Users/{id}")).await.body;
    user["name"] = json!({"givenName": "Ana", "familyName": "Souza"});
    user["displayName"] = json!("Ana Souza");
    user["emails"] = json!([{"value": "ana.souza@example.com", "type": "work", "primary": true}]);
    user["userName"] = json!("ana.souza@example.com");
    let put = server
        .call(Method::PUT, &format!("/Users/{id}"), Some(user))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.body["displayName"], "Ana Souza");
    assert_eq!(put.body["userName"], "ana.souza@example.com");
    assert_eq!(put.body["id"], *id);
    assert_ne!(put.body["meta"]["version"], created.body["meta"]["version"]);
}

#[tokio::test]
async fn okta_deactivates_with_a_path_less_patch_and_the_user_stays_listed() {
    let server = start().await;
    let id = server.user("ana@example.com").await;

    let patched = server
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(patched.body["active"], false);
    assert_eq!(patched.body["userName"], "ana@example.com");

    let listed = server.get("/Users").await;
    assert_eq!(listed.body["totalResults"], 1);
    assert_eq!(listed.body["Resources"][0]["active"], false);

    let reactivated = server
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"active": true}}]),
        )
        .await;
    assert_eq!(reactivated.body["active"], true);
}

#[tokio::test]
async fn a_filter_without_an_operator_is_an_invalid_filter_not_a_server_error() {
    let server = start().await;

    for filter in [
        "SOMEUSER",
        "userName%20eq",
        "(userName%20pr",
        "title%20eq%20%22x%22",
    ] {
        let found = server.get(&format!("/Users?filter={filter}")).await;
        assert_eq!(found.status, StatusCode::BAD_REQUEST, "{filter}");
        assert_eq!(found.body["scimType"], "invalidFilter", "{filter}");
        assert!(found.body["detail"].as_str().unwrap().len() > 10);
    }
}

#[tokio::test]
async fn okta_imports_in_pages_of_stable_order() {
    let server = start().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(server.user(&format!("u{i}@example.com")).await);
    }

    let mut seen = Vec::new();
    for start in [1, 3, 5] {
        let page = server
            .get(&format!("/Users?startIndex={start}&count=2"))
            .await;
        assert_eq!(page.body["totalResults"], 5);
        assert_eq!(page.body["startIndex"], start);
        for user in page.body["Resources"].as_array().unwrap() {
            seen.push(user["id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen, ids);

    let none = server.get("/Users?count=0").await;
    assert_eq!(none.body["totalResults"], 5);
    assert_eq!(none.body["itemsPerPage"], 0);
    assert_eq!(none.body["Resources"], json!([]));
}

#[tokio::test]
async fn okta_pushes_a_group_renames_it_and_moves_members_in_one_patch() {
    let server = start().await;
    let ana = server.user("ana@example.com").await;
    let bob = server.user("bob@example.com").await;

    let created = server
        .post(
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "support", "members": []}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let group = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Groups/{group}");

    let renamed = server
        .patch(
            &path,
            json!([{"op": "replace", "value": {"id": group, "displayName": "helpdesk"}}]),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.body["displayName"], "helpdesk");

    let added = server
        .patch(
            &path,
            json!([{"op": "add", "path": "members", "value": [{"value": ana}, {"value": bob}]}]),
        )
        .await;
    assert_eq!(added.body["members"].as_array().unwrap().len(), 2);

    let moved = server
        .patch(
            &path,
            json!([
                {"op": "remove", "path": format!("members[value eq \"{ana}\"]")},
                {"op": "add", "path": "members", "value": [{"value": bob}]}
            ]),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK);
    assert_eq!(
        moved.body["members"],
        json!([{
            "value": bob, "type": "User", "$ref": format!("{}/Users/{bob}", server.base)
        }])
    );

    let ana_now = server.get(&format!("/Users/{ana}")).await;
    assert_eq!(ana_now.body["groups"][0]["display"], "viewer");
    let bob_now = server.get(&format!("/Users/{bob}")).await;
    assert_eq!(bob_now.body["groups"][0]["value"], json!(group));
}

#[tokio::test]
async fn entra_test_connection_looks_up_a_random_user_name() {
    let server = start().await;

    let found = server
        .get("/Users?filter=userName+eq+%22a7d4e2c0-1f0b-4c1e-9a11-2b3c4d5e6f70%22")
        .await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(found.body["totalResults"], 0);
}

#[tokio::test]
async fn entra_creates_a_user_and_finds_it_by_external_id_or_work_email() {
    let server = start().await;
    let created = server
        .post(
            "/Users",
            json!({
                "schemas": [USER, ENTERPRISE],
                "externalId": "8f1c",
                "userName": "Ana@contoso.com",
                "active": true,
                "emails": [{"primary": true, "type": "work", "value": "Ana@contoso.com"}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": "Ana Silva", "familyName": "Silva", "givenName": "Ana"},
                "roles": [],
                ENTERPRISE: {"employeeNumber": "701"}
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["name"]["formatted"], "Ana Silva");
    let id = created.body["id"].clone();

    for filter in [
        "externalId%20eq%20%228f1c%22",
        "emails%5Btype%20eq%20%22work%22%5D.value%20eq%20%22ana%40contoso.com%22",
        "userName%20eq%20%22ANA%40contoso.com%22%20and%20externalId%20eq%20%228f1c%22",
    ] {
        let found = server.get(&format!("/Users?filter={filter}")).await;
        assert_eq!(found.body["totalResults"], 1, "{filter}: {}", found.body);
        assert_eq!(found.body["Resources"][0]["id"], id);
    }
    let wrong_case = server
        .get("/Users?filter=externalId%20eq%20%228F1C%22")
        .await;
    assert_eq!(
        wrong_case.body["totalResults"], 0,
        "externalId is case-exact"
    );
}

#[tokio::test]
async fn entra_disables_and_enables_with_capitalised_ops_and_string_booleans() {
    let server = start().await;
    let id = server.user("ana@contoso.com").await;
    let path = format!("/Users/{id}");

    let disabled = server
        .patch(
            &path,
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    assert_eq!(disabled.body["active"], false);

    let enabled = server
        .patch(
            &path,
            json!([{"op": "Add", "path": "active", "value": "True"}]),
        )
        .await;
    assert_eq!(enabled.body["active"], true);
}

#[tokio::test]
async fn entra_newer_format_replaces_with_dotted_keys_and_extension_urns() {
    let server = start().await;
    let id = server.user("ana@contoso.com").await;

    let patched = server
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {
                "name.givenName": "Ana",
                "name.familyName": "Souza",
                "active": false,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "702",
                "emails[type eq \"work\"].value": "ana.souza@contoso.com"
            }}]),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["displayName"], "Ana Souza");
    assert_eq!(patched.body["active"], false);
    assert_eq!(patched.body["userName"], "ana.souza@contoso.com");
}

#[tokio::test]
async fn entra_manages_members_in_both_of_its_formats() {
    let server = start().await;
    let ana = server.user("ana@contoso.com").await;
    let bob = server.user("bob@contoso.com").await;
    let created = server
        .post(
            "/Groups",
            json!({"schemas": [GROUP], "externalId": "g-1", "displayName": "finance", "members": []}),
        )
        .await;
    let group = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Groups/{group}");

    // The older format: capitalised ops, $ref null, removal by a value list.
    let added = server
        .patch(
            &path,
            json!([{"op": "Add", "path": "members",
                    "value": [{"$ref": null, "value": ana}, {"$ref": null, "value": bob}]}]),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(added.body["members"].as_array().unwrap().len(), 2);
    let removed = server
        .patch(
            &path,
            json!([{"op": "Remove", "path": "members", "value": [{"value": ana}]}]),
        )
        .await;
    assert_eq!(removed.body["members"][0]["value"], json!(bob));

    // The newer format: removal by a value filter.
    let removed = server
        .patch(
            &path,
            json!([{"op": "remove", "path": format!("members[value eq \"{bob}\"]")}]),
        )
        .await;
    assert_eq!(removed.body["members"], json!([]));

    // Look-ups by displayName, without members.
    let found = server
        .get("/Groups?filter=displayName%20eq%20%22finance%22&excludedAttributes=members")
        .await;
    assert_eq!(found.body["totalResults"], 1, "{}", found.body);
    assert!(found.body["Resources"][0].get("members").is_none());
    let one = server
        .get(&format!("{path}?excludedAttributes=members"))
        .await;
    assert_eq!(one.body["displayName"], "finance");
    assert!(one.body.get("members").is_none());
}

#[tokio::test]
async fn unknown_member_ids_are_accepted_and_ignored() {
    let server = start().await;
    let created = server
        .post(
            "/Groups",
            json!({"displayName": "ops", "members": [{"value": "999999"}]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let path = format!("/Groups/{}", created.body["id"].as_str().unwrap());

    let added = server
        .patch(
            &path,
            json!([{"op": "add", "path": "members", "value": [{"value": "fake-member-id"}]}]),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK);
    assert_eq!(added.body["members"], json!([]));
}

#[tokio::test]
async fn a_stale_if_match_is_refused_with_412() {
    let server = start().await;
    let id = server.user("ana@example.com").await;
    let path = format!("/Users/{id}");
    let first = server.get(&path).await;
    let old_tag = header_of(&first, header::ETAG).unwrap().to_owned();

    let changed = server
        .patch(
            &path,
            json!([{"op": "replace", "path": "displayName", "value": "Ana"}]),
        )
        .await;
    assert_ne!(header_of(&changed, header::ETAG), Some(old_tag.as_str()));

    let stale = answer(
        server
            .client
            .patch(format!("{}{path}", server.base))
            .bearer_auth(&server.token)
            .header(header::IF_MATCH, &old_tag)
            .body(
                json!({"Operations": [{"op": "replace", "path": "active", "value": false}]})
                    .to_string(),
            ),
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(server.get(&path).await.body["active"], true);
}

#[tokio::test]
async fn requests_without_a_valid_token_get_a_scim_401() {
    let server = start().await;

    for token in [None, Some("wrong")] {
        let mut request = server.client.get(format!("{}/Users", server.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let denied = answer(request).await;
        assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
        assert_eq!(denied.body["status"], "401");
        assert_eq!(
            header_of(&denied, header::CONTENT_TYPE),
            Some("application/scim+json")
        );
    }
}

#[tokio::test]
async fn discovery_is_read_only_and_unknown_paths_are_scim_404s() {
    let server = start().await;

    let config = server.get("/ServiceProviderConfig").await;
    for key in ["patch", "bulk", "filter", "changePassword", "sort", "etag"] {
        assert!(config.body.get(key).is_some(), "{key}");
    }
    assert!(config.body["bulk"]["maxOperations"].is_number());
    assert!(config.body["filter"]["maxResults"].is_number());
    assert!(config.body["authenticationSchemes"][0]["description"].is_string());

    let written = server.post("/Schemas", json!({})).await;
    assert_eq!(written.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(written.body["status"], "405");

    let missing = server.get("/Users/123456").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let nowhere = server.get("/Nothing/here").await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert_eq!(nowhere.body["status"], "404");
}

#[tokio::test]
async fn filters_sent_to_break_out_of_their_value_find_nobody() {
    let server = start().await;
    server.user("ana@example.com").await;

    let hostile = "userName%20eq%20%22x%5C%22%20or%201%3D1%20--%22";
    let found = server.get(&format!("/Users?filter={hostile}")).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body["totalResults"], 0);
}

#[tokio::test]
async fn deleting_a_user_answers_204_and_then_404() {
    let server = start().await;
    let id = server.user("ana@example.com").await;
    let path = format!("/Users/{id}");

    let deleted = server.call(Method::DELETE, &path, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.body, Value::Null);
    assert_eq!(server.get(&path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_user_name_that_is_not_an_email_round_trips_beside_the_email() {
    let server = start().await;

    let created = server
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "Ana.Silva",
                   "emails": [{"value": "ana@example.com", "type": "work", "primary": true}]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["userName"], "Ana.Silva");
    assert_eq!(created.body["emails"][0]["value"], "ana@example.com");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");

    // scim2-cli writes random strings to userName with a PATCH replace.
    let replaced = server
        .patch(
            &path,
            json!([{"op": "replace", "path": "userName", "value": "4f1c-random"}]),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert_eq!(replaced.body["userName"], "4f1c-random");
    let read = server.get(&path).await;
    assert_eq!(read.body["userName"], "4f1c-random");
    assert_eq!(read.body["emails"][0]["value"], "ana@example.com");

    let by_user_name = server
        .get("/Users?filter=userName%20eq%20%224F1C-RANDOM%22")
        .await;
    assert_eq!(by_user_name.body["totalResults"], 1);
    let by_email_as_user_name = server
        .get("/Users?filter=userName%20eq%20%22ana%40example.com%22")
        .await;
    assert_eq!(by_email_as_user_name.body["totalResults"], 0);
    let by_email = server
        .get("/Users?filter=emails.value%20eq%20%22ana%40example.com%22")
        .await;
    assert_eq!(by_email.body["totalResults"], 1);

    // Changing the email leaves a userName of its own alone.
    let moved = server
        .patch(
            &path,
            json!([{"op": "replace", "path": "emails", "value": [{"value": "ana.silva@example.com"}]}]),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["userName"], "4f1c-random");
    assert_eq!(moved.body["emails"][0]["value"], "ana.silva@example.com");
}

#[tokio::test]
async fn a_create_with_no_email_anywhere_says_what_to_send() {
    let server = start().await;

    for body in [
        json!({"schemas": [USER], "userName": "ana"}),
        json!({"schemas": [USER], "userName": "ana", "emails": [{"value": "not an address"}]}),
    ] {
        let refused = server.post("/Users", body.clone()).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(refused.body["scimType"], "invalidValue");
        let detail = refused.body["detail"].as_str().unwrap();
        assert!(
            detail.contains("emails") && detail.contains("userName"),
            "{detail}"
        );
    }

    // An email userName alone is the email too.
    let created = server
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "bo@example.com"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["emails"][0]["value"], "bo@example.com");
}

#[tokio::test]
async fn user_names_are_unique_regardless_of_case_and_emails_count_as_user_names() {
    let server = start().await;
    server.user("ana@example.com").await;
    let with = |user_name: &str, email: &str| json!({"schemas": [USER], "userName": user_name, "emails": [{"value": email}]});
    let created = server.post("/Users", with("Bo", "bo@example.com")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);

    for (user_name, email) in [
        ("BO", "cy@example.com"),
        ("ANA@example.com", "cy@example.com"),
    ] {
        let taken = server.post("/Users", with(user_name, email)).await;
        assert_eq!(
            taken.status,
            StatusCode::CONFLICT,
            "{user_name}: {}",
            taken.body
        );
        assert_eq!(taken.body["scimType"], "uniqueness");
        assert!(taken.body["detail"].as_str().unwrap().contains("userName"));
    }
    let email_taken = server.post("/Users", with("cy", "Ana@Example.com")).await;
    assert_eq!(email_taken.status, StatusCode::CONFLICT);
    assert!(email_taken.body["detail"]
        .as_str()
        .unwrap()
        .contains("email"));
}

#[tokio::test]
async fn a_user_whose_user_name_is_its_email_follows_an_email_change() {
    let server = start().await;
    let id = server.user("ana@example.com").await;

    let put = server
        .call(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(
                json!({"schemas": [USER], "userName": "ana.silva@example.com",
                        "emails": [{"value": "ana.silva@example.com", "primary": true}]}),
            ),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);

    let patched = server
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ana.s@example.com"}]),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["userName"], "ana.s@example.com");
    assert_eq!(patched.body["emails"][0]["value"], "ana.s@example.com");
}

#[tokio::test]
async fn groups_keep_their_external_id_and_meta_dates() {
    let server = start().await;

    let created = server
        .post(
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "Support", "externalId": "okta-00g1"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["externalId"], "okta-00g1");
    let meta = &created.body["meta"];
    let created_at = meta["created"].as_str().unwrap().to_owned();
    assert_eq!(meta["lastModified"], created_at);
    let path = format!("/Groups/{}", created.body["id"].as_str().unwrap());

    let only = server.get(&format!("{path}?attributes=externalId")).await;
    assert_eq!(only.body["externalId"], "okta-00g1");
    assert!(only.body.get("displayName").is_none());

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let patched = server
        .patch(
            &path,
            json!([{"op": "replace", "path": "externalId", "value": "okta-00g2"}]),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["externalId"], "okta-00g2");
    assert_eq!(patched.body["meta"]["created"], created_at);
    assert!(patched.body["meta"]["lastModified"].as_str().unwrap() > created_at.as_str());
    assert_ne!(
        patched.body["meta"]["version"],
        created.body["meta"]["version"]
    );

    let found = server
        .get("/Groups?filter=externalId%20eq%20%22okta-00g2%22")
        .await;
    assert_eq!(found.body["totalResults"], 1);

    let removed = server
        .patch(&path, json!([{"op": "remove", "path": "externalId"}]))
        .await;
    assert!(removed.body.get("externalId").is_none(), "{}", removed.body);

    // The default roles are as old as the account, and have dates too.
    let listed = server.get("/Groups").await;
    for group in listed.body["Resources"].as_array().unwrap() {
        assert!(group["meta"]["created"].is_string(), "{group}");
        assert!(group["meta"]["lastModified"].is_string(), "{group}");
    }
}

#[tokio::test]
async fn a_group_put_with_a_capitalised_display_name_renames_it() {
    let server = start().await;
    let ana = server.user("ana@example.com").await;
    let created = server
        .post(
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "scim-sanity-test-group-1",
                   "members": [{"value": ana}]}),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();

    // What scim-sanity sends: the group as created, without meta, renamed.
    let mut body = created.body.clone();
    body.as_object_mut().unwrap().remove("meta");
    body["displayName"] = json!(format!("Updated-{id}"));
    body["externalId"] = json!("entra-7");
    let put = server
        .call(Method::PUT, &format!("/Groups/{id}"), Some(body))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);

    let read = server.get(&format!("/Groups/{id}")).await;
    assert_eq!(read.body["displayName"], format!("Updated-{id}"));
    assert_eq!(read.body["externalId"], "entra-7");
    assert_eq!(read.body["members"][0]["value"], json!(ana));
    let member = server.get(&format!("/Users/{ana}")).await;
    assert_eq!(member.body["groups"][0]["display"], format!("Updated-{id}"));

    let spaced = server
        .patch(
            &format!("/Groups/{id}"),
            json!([{"op": "replace", "path": "displayName", "value": "Sales Team EMEA"}]),
        )
        .await;
    assert_eq!(spaced.body["displayName"], "Sales Team EMEA");
    assert_eq!(spaced.body["members"][0]["value"], json!(ana));
}
