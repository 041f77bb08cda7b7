//! Accounts and their credentials: secrets, OAuth tokens and SCIM tokens.

use std::time::Duration;

use roster_store::{secret, Bootstrap, Credentials, Store, StoreError, TokenCheck, TokenKind};

use crate::{account, Check, Db};

pub fn checks() -> Vec<(&'static str, Check)> {
    checks![
        a_new_account_is_listed_without_users_and_its_secret_verifies,
        ensuring_an_account_creates_it_once_and_then_keeps_its_secret,
        an_issued_token_grants_access_to_its_own_account_only,
        a_token_issued_on_one_node_is_accepted_by_another,
        an_expired_token_is_denied_and_swept_when_the_next_is_issued,
        revoking_tokens_denies_every_token_of_the_account,
        rotating_the_secret_revokes_the_old_secret_and_its_tokens_on_every_node,
        a_scim_token_finds_its_account_until_deleted,
        an_app_key_holding_a_nul_character_names_no_account,
        nodes_ensuring_one_account_at_once_create_it_once,
        nodes_starting_together_on_an_empty_database_make_one_first_account,
    ]
}

const HOUR: Duration = Duration::from_secs(3600);

async fn a_new_account_is_listed_without_users_and_its_secret_verifies(db: Db) {
    let store = db.open().await;

    let credentials = store.create_account("Acme").await.unwrap();

    let account = store.account(&credentials.app_key).await.unwrap();
    assert_eq!((account.name.as_str(), account.user_count), ("Acme", 0));
    assert_eq!(store.list_accounts().await.unwrap(), vec![account.clone()]);
    assert_eq!(
        store
            .verify_client(&credentials.app_key, &credentials.secret)
            .await
            .unwrap(),
        Some(account.id)
    );
    assert_eq!(
        store
            .verify_client(&credentials.app_key, "not the secret")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.account("no-such-key").await,
        Err(StoreError::AccountNotFound("no-such-key".into()))
    );
}

async fn ensuring_an_account_creates_it_once_and_then_keeps_its_secret(db: Db) {
    let store = db.open().await;
    let (key, first, second) = (
        "bootstrap-key",
        "first-secret-0123456",
        "second-secret-012345",
    );

    assert_eq!(
        store.ensure_account(key, first).await,
        Ok(Bootstrap::Created)
    );
    assert_eq!(
        store.ensure_account(key, first).await,
        Ok(Bootstrap::Exists)
    );
    assert_eq!(
        store.ensure_account(key, second).await,
        Ok(Bootstrap::SecretDiffers)
    );

    assert_eq!(store.list_accounts().await.unwrap().len(), 1);
    assert!(store.verify_client(key, first).await.unwrap().is_some());
    assert_eq!(store.verify_client(key, second).await.unwrap(), None);
    assert!(matches!(
        store.ensure_account(key, "short").await,
        Err(StoreError::Invalid(_))
    ));
}

async fn an_issued_token_grants_access_to_its_own_account_only(db: Db) {
    let store = db.open().await;
    let (account_id, app_key) = account(&store).await;
    let (_, other_key) = account(&store).await;

    let token = store.issue_token(account_id, HOUR).await.unwrap();

    assert_eq!(
        store.check_token(&app_key, &token).await.unwrap(),
        TokenCheck::Granted { account_id }
    );
    assert_eq!(
        store.check_token(&other_key, &token).await.unwrap(),
        TokenCheck::Denied
    );
    assert_eq!(
        store.check_token("no-such-key", &token).await.unwrap(),
        TokenCheck::UnknownAccount
    );
    assert_eq!(
        store.check_token(&app_key, "made-up").await.unwrap(),
        TokenCheck::Denied
    );
}

async fn a_token_issued_on_one_node_is_accepted_by_another(db: Db) {
    let (one, two) = (db.open().await, db.open().await);
    let (account_id, app_key) = account(&one).await;

    let token = one.issue_token(account_id, HOUR).await.unwrap();

    assert_eq!(
        two.check_token(&app_key, &token).await.unwrap(),
        TokenCheck::Granted { account_id }
    );
}

/// The stored OAuth token with this value, if the store still has it.
async fn stored(store: &Store, app_key: &str, token: &str) -> Option<roster_store::StoredToken> {
    store
        .backend()
        .find_token(app_key, &secret::digest(token), TokenKind::OAuth)
        .await
        .unwrap()
        .expect("the account exists")
        .token
}

async fn an_expired_token_is_denied_and_swept_when_the_next_is_issued(db: Db) {
    let store = db.open().await;
    let (account_id, app_key) = account(&store).await;

    let expired = store.issue_token(account_id, Duration::ZERO).await.unwrap();
    assert_eq!(
        store.check_token(&app_key, &expired).await.unwrap(),
        TokenCheck::Denied
    );
    assert!(stored(&store, &app_key, &expired).await.is_some());

    let live = store.issue_token(account_id, HOUR).await.unwrap();
    assert_eq!(stored(&store, &app_key, &expired).await, None);
    assert!(stored(&store, &app_key, &live).await.is_some());
    assert_eq!(
        store.check_token(&app_key, &live).await.unwrap(),
        TokenCheck::Granted { account_id }
    );
}

async fn revoking_tokens_denies_every_token_of_the_account(db: Db) {
    let store = db.open().await;
    let (account_id, app_key) = account(&store).await;
    let (other_id, other_key) = account(&store).await;
    let tokens = [
        store.issue_token(account_id, HOUR).await.unwrap(),
        store.issue_token(account_id, HOUR).await.unwrap(),
    ];
    let others = store.issue_token(other_id, HOUR).await.unwrap();

    assert_eq!(store.revoke_tokens(&app_key).await.unwrap(), 2);

    for token in &tokens {
        assert_eq!(
            store.check_token(&app_key, token).await.unwrap(),
            TokenCheck::Denied
        );
    }
    assert_eq!(
        store.check_token(&other_key, &others).await.unwrap(),
        TokenCheck::Granted {
            account_id: other_id
        }
    );
    assert_eq!(store.revoke_tokens(&app_key).await.unwrap(), 0);
}

async fn rotating_the_secret_revokes_the_old_secret_and_its_tokens_on_every_node(db: Db) {
    let (one, two) = (db.open().await, db.open().await);
    let old = one.create_account("Acme").await.unwrap();
    let account_id = one.account(&old.app_key).await.unwrap().id;
    let token = one.issue_token(account_id, HOUR).await.unwrap();
    let scim = secret::generate();
    one.backend()
        .insert_token(account_id, &secret::digest(&scim), TokenKind::Scim, 0, None)
        .await
        .unwrap();

    let new = one.rotate_secret(&old.app_key).await.unwrap();

    assert_eq!(new.app_key, old.app_key);
    assert_ne!(new.secret, old.secret);
    assert_eq!(
        two.verify_client(&old.app_key, &old.secret).await.unwrap(),
        None
    );
    assert_eq!(
        two.verify_client(&new.app_key, &new.secret).await.unwrap(),
        Some(account_id)
    );
    assert_eq!(
        two.check_token(&old.app_key, &token).await.unwrap(),
        TokenCheck::Denied
    );
    // SCIM tokens are not issued under the secret, so they outlive its rotation.
    assert!(two
        .backend()
        .account_for_token(&secret::digest(&scim), TokenKind::Scim)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        one.rotate_secret("no-such-key").await,
        Err(StoreError::AccountNotFound("no-such-key".into()))
    );
}

async fn a_scim_token_finds_its_account_until_deleted(db: Db) {
    let store = db.open().await;
    let (account_id, app_key) = account(&store).await;
    let token = secret::digest(&secret::generate());
    let backend = store.backend();
    backend
        .insert_token(account_id, &token, TokenKind::Scim, 0, None)
        .await
        .unwrap();

    let found = backend
        .account_for_token(&token, TokenKind::Scim)
        .await
        .unwrap();
    assert_eq!(found, Some(store.account(&app_key).await.unwrap()));
    assert_eq!(
        backend
            .account_for_token(&token, TokenKind::OAuth)
            .await
            .unwrap(),
        None
    );

    assert_eq!(
        backend
            .delete_tokens(account_id, TokenKind::Scim)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        backend
            .account_for_token(&token, TokenKind::Scim)
            .await
            .unwrap(),
        None
    );
}

/// Not a conformance check: it needs no server, so it runs always.
pub async fn an_unreachable_server_is_a_database_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();

    let opened = Store::open(&format!("postgres://roster@127.0.0.1:{port}/roster")).await;

    // The cause, at once: not a pool timeout after several seconds of retries.
    match opened {
        Err(StoreError::Database(message)) => {
            assert!(
                message.starts_with("cannot connect to PostgreSQL"),
                "{message}"
            );
            assert!(!message.contains("timed out"), "{message}");
        }
        other => panic!("opening gave {:?}", other.err()),
    }
}

/// PostgreSQL's text cannot hold NUL; such a key must be an unknown one there too, not
/// a database error.
async fn an_app_key_holding_a_nul_character_names_no_account(db: Db) {
    let store = db.open().await;
    let (account_id, app_key) = account(&store).await;
    let token = store.issue_token(account_id, HOUR).await.unwrap();

    for key in ["\0".to_owned(), "de\0mo".to_owned(), format!("{app_key}\0")] {
        assert_eq!(
            store.check_token(&key, &token).await.unwrap(),
            TokenCheck::UnknownAccount
        );
        assert_eq!(store.verify_client(&key, "a-secret").await.unwrap(), None);
        assert_eq!(
            store.account(&key).await,
            Err(StoreError::AccountNotFound(key.clone()))
        );
        assert_eq!(
            store.rotate_secret(&key).await,
            Err(StoreError::AccountNotFound(key.clone()))
        );
    }
}

/// Nodes that start at once with the same bootstrap variables.
async fn nodes_ensuring_one_account_at_once_create_it_once(db: Db) {
    let mut nodes = Vec::new();
    for _ in 0..4 {
        nodes.push(db.open().await);
    }
    let mut starting = tokio::task::JoinSet::new();
    for node in nodes {
        starting.spawn(async move {
            node.ensure_account("together", "together-secret-0123")
                .await
                .unwrap()
        });
    }
    let outcomes = starting.join_all().await;

    let created = outcomes
        .iter()
        .filter(|o| **o == Bootstrap::Created)
        .count();
    let existed = outcomes.iter().filter(|o| **o == Bootstrap::Exists).count();
    assert_eq!((created, existed), (1, 3), "{outcomes:?}");
    assert_eq!(db.open().await.list_accounts().await.unwrap().len(), 1);
}

/// Nodes that start at once without bootstrap variables.
async fn nodes_starting_together_on_an_empty_database_make_one_first_account(db: Db) {
    let mut nodes = Vec::new();
    for _ in 0..4 {
        nodes.push(db.open().await);
    }
    let mut starting = tokio::task::JoinSet::new();
    for node in nodes {
        starting.spawn(async move { node.create_first_account("default").await.unwrap() });
    }
    let made: Vec<Credentials> = starting.join_all().await.into_iter().flatten().collect();

    assert_eq!(made.len(), 1);
    let store = db.open().await;
    assert_eq!(store.list_accounts().await.unwrap().len(), 1);
    assert!(store
        .verify_client(&made[0].app_key, &made[0].secret)
        .await
        .unwrap()
        .is_some());
    assert_eq!(store.create_first_account("again").await.unwrap(), None);
}
