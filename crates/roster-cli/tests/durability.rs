//! What the server acknowledged survives a crash: creates are streamed at a server, it is
//! killed with SIGKILL mid-stream and restarted on the same database.

mod support;

use std::{
    collections::BTreeSet,
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    },
    time::Duration,
};

use serde_json::{json, Value};
use support::{client, read, TestServer, APP_KEY};

/// Every user of the account, walking pages of 100.
fn all_users(server: &TestServer, token: &str) -> (Vec<Value>, u64) {
    let mut users = Vec::new();
    let mut total = 0;
    for page in 1.. {
        let (status, body) = read(
            client()
                .get(server.users_url())
                .bearer_auth(token)
                .query(&[("page", page.to_string()), ("count", "100".to_owned())])
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "{body}");
        let batch = body["response"]["account_users"]
            .as_array()
            .unwrap()
            .clone();
        total = body["response"]["pagination"]["total"].as_u64().unwrap();
        let done = batch.len() < 100;
        users.extend(batch);
        if done {
            break;
        }
    }
    (users, total)
}

#[test]
fn creates_acknowledged_before_a_sigkill_are_all_there_after_restart() {
    let mut server = TestServer::start();
    let token = server.token();
    let acknowledged = Mutex::new(BTreeSet::new());
    let stop = AtomicBool::new(false);
    let users_url = server.users_url();

    std::thread::scope(|scope| {
        for writer in 0..4 {
            let (acknowledged, stop, users_url, token) = (&acknowledged, &stop, &users_url, &token);
            scope.spawn(move || {
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                for i in 0..10_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let email = format!("w{writer}-{i}@example.com");
                    let sent = http
                        .post(users_url)
                        .bearer_auth(token)
                        .json(&json!({"account_user": {"email": email}}))
                        .send();
                    match sent {
                        Ok(response) if response.status() == 200 => {
                            acknowledged.lock().unwrap().insert(email);
                        }
                        Ok(response) => panic!("unexpected status {}", response.status()),
                        // The server is gone: the stream ends here.
                        Err(_) => break,
                    }
                }
            });
        }
        // Let the stream run, then crash the server under it.
        while acknowledged.lock().unwrap().len() < 150 {
            std::thread::sleep(Duration::from_millis(10));
        }
        server.kill_and_restart();
        stop.store(true, Ordering::Relaxed);
    });

    let acknowledged = acknowledged.into_inner().unwrap();
    let token = server.token();
    let (users, total) = all_users(&server, &token);
    let present: BTreeSet<String> = users
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    let lost: Vec<_> = acknowledged.difference(&present).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert_eq!(total, users.len() as u64, "the count matches the rows");

    // Each user present has its audit event, written in the same transaction.
    let events = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = roster_store::Store::open(&server.database_url)
            .await
            .unwrap();
        let account = store.account(APP_KEY).await.unwrap();
        store.audit_events(account.id).await.unwrap()
    });
    let audited: BTreeSet<i64> = events
        .iter()
        .filter(|e| e.action == "create")
        .map(|e| e.user_id)
        .collect();
    let ids: BTreeSet<i64> = users.iter().map(|u| u["id"].as_i64().unwrap()).collect();
    assert_eq!(audited, ids, "every user has exactly its create event");
}
