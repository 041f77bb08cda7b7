//! SCIM bearer tokens: issued per account, found by the token alone, revocable.

use roster_store::Store;

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("roster.db").display());
    (Store::open(&url).await.unwrap(), dir)
}

#[tokio::test]
async fn a_scim_token_names_its_account_until_revoked() {
    let (store, _dir) = store().await;
    let acme = store.create_account("acme").await.unwrap();
    let globex = store.create_account("globex").await.unwrap();

    let first = store.issue_scim_token(&acme.app_key).await.unwrap();
    let second = store.issue_scim_token(&acme.app_key).await.unwrap();
    let other = store.issue_scim_token(&globex.app_key).await.unwrap();
    assert_ne!(first, second);

    let found = store.scim_account(&first).await.unwrap().unwrap();
    assert_eq!(found.app_key, acme.app_key);
    assert_eq!(
        store.scim_account(&second).await.unwrap().unwrap().app_key,
        acme.app_key
    );
    assert!(store.scim_account("not-a-token").await.unwrap().is_none());

    assert_eq!(store.revoke_scim_tokens(&acme.app_key).await.unwrap(), 2);
    assert!(store.scim_account(&first).await.unwrap().is_none());
    assert!(store.scim_account(&other).await.unwrap().is_some());
}

#[tokio::test]
async fn an_oauth_token_is_not_a_scim_token() {
    let (store, _dir) = store().await;
    let acme = store.create_account("acme").await.unwrap();
    let account = store.account(&acme.app_key).await.unwrap();
    let oauth = store
        .issue_token(account.id, std::time::Duration::from_secs(60))
        .await
        .unwrap();

    assert!(store.scim_account(&oauth).await.unwrap().is_none());
}
