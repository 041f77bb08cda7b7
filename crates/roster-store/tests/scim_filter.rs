//! SCIM filters run against a real SQLite store: the users a filter finds, its totals and
//! paging, and filters written to break out of their parameters.

use roster_core::{
    filter::parse, Actor, Directory, DirectoryError, Email, NewUser, RoleName, UserChanges,
    UserQuery,
};
use roster_store::{Store, StoreDirectory};

struct Fixture {
    directory: StoreDirectory,
    store: Store,
    // Dropped last, so the database file outlives the store.
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("roster.db").display());
    let store = Store::open(&url).await.unwrap();
    let directory = account(&store, "acme").await;
    Fixture {
        directory,
        store,
        _dir: dir,
    }
}

async fn account(store: &Store, name: &str) -> StoreDirectory {
    let credentials = store.create_account(name).await.unwrap();
    let account = store.account(&credentials.app_key).await.unwrap();
    store.directory(account.id, Actor("test".into()))
}

async fn add(
    directory: &StoreDirectory,
    email: &str,
    name: Option<&str>,
    role: &str,
    external_id: Option<&str>,
) -> i64 {
    let user = NewUser {
        name: name.map(str::to_owned),
        role: Some(RoleName::parse(role).unwrap()),
        external_id: external_id.map(str::to_owned),
        ..NewUser::with_email(Email::parse(email).unwrap())
    };
    directory.create_user(user).await.unwrap().id
}

/// Ana, Bob and Cy, in that id order.
async fn team(f: &Fixture) -> [i64; 3] {
    [
        add(
            &f.directory,
            "Ana@Example.com",
            Some("Ana Silva"),
            "admin",
            Some("Ext-1"),
        )
        .await,
        add(&f.directory, "bob@example.org", Some("Bob"), "staff", None).await,
        add(
            &f.directory,
            "cy_100%@example.com",
            None,
            "viewer",
            Some("ext-2"),
        )
        .await,
    ]
}

fn query(filter: &str) -> UserQuery {
    UserQuery {
        filter: Some(parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"))),
        limit: 100,
        ..UserQuery::default()
    }
}

/// The ids of the users `filter` finds, checking that the total agrees.
async fn ids(directory: &StoreDirectory, filter: &str) -> Vec<i64> {
    let page = directory.list_users(&query(filter)).await.unwrap();
    assert_eq!(page.total as usize, page.users.len(), "{filter}");
    page.users.iter().map(|u| u.id).collect()
}

#[tokio::test]
async fn user_name_equality_ignores_case_as_okta_expects() {
    let f = fixture().await;
    let [ana, ..] = team(&f).await;

    assert_eq!(
        ids(&f.directory, r#"userName eq "ana@example.COM""#).await,
        [ana]
    );
    assert_eq!(
        ids(&f.directory, r#"userName eq "nobody@example.com""#).await,
        Vec::<i64>::new()
    );
}

#[tokio::test]
async fn the_entra_lookup_forms_find_the_user() {
    let f = fixture().await;
    let [ana, bob, _] = team(&f).await;

    assert_eq!(
        ids(
            &f.directory,
            r#"emails[type eq "work"].value eq "BOB@example.org""#
        )
        .await,
        [bob]
    );
    assert_eq!(ids(&f.directory, r#"externalId eq "Ext-1""#).await, [ana]);
    assert_eq!(
        ids(
            &f.directory,
            r#"externalId eq "Ext-1" and userName eq "ana@example.com""#
        )
        .await,
        [ana]
    );
    assert_eq!(
        ids(&f.directory, r#"emails[type eq "work"]"#).await.len(),
        3
    );
}

#[tokio::test]
async fn external_ids_are_compared_exactly() {
    let f = fixture().await;
    let [ana, _, cy] = team(&f).await;

    assert_eq!(
        ids(&f.directory, r#"externalId eq "ext-1""#).await,
        Vec::<i64>::new()
    );
    assert_eq!(ids(&f.directory, r#"externalId sw "Ext""#).await, [ana]);
    assert_eq!(ids(&f.directory, r#"externalId sw "ext""#).await, [cy]);
    assert_eq!(
        ids(&f.directory, r#"externalId ew "T-2""#).await,
        Vec::<i64>::new()
    );
    assert_eq!(ids(&f.directory, r#"externalId co "t-""#).await, [ana, cy]);
}

#[tokio::test]
async fn negation_includes_users_without_the_attribute() {
    let f = fixture().await;
    let [ana, bob, cy] = team(&f).await;

    assert_eq!(
        ids(&f.directory, r#"not (externalId eq "Ext-1")"#).await,
        [bob, cy]
    );
    assert_eq!(
        ids(&f.directory, r#"externalId ne "Ext-1""#).await,
        [bob, cy]
    );
    assert_eq!(ids(&f.directory, "not (displayName pr)").await, [cy]);
    assert_eq!(ids(&f.directory, "displayName pr").await, [ana, bob]);
}

#[tokio::test]
async fn and_or_not_and_parentheses_combine_as_the_rfc_says() {
    let f = fixture().await;
    let [ana, bob, cy] = team(&f).await;

    assert_eq!(
        ids(
            &f.directory,
            r#"roles eq "admin" or roles eq "staff" and displayName eq "nobody""#
        )
        .await,
        [ana]
    );
    assert_eq!(
        ids(
            &f.directory,
            r#"(roles eq "admin" or roles eq "staff") and not (displayName sw "ANA")"#
        )
        .await,
        [bob]
    );
    assert_eq!(
        ids(
            &f.directory,
            r#"userName ew ".com" and not (roles[value eq "admin"])"#
        )
        .await,
        [cy]
    );
}

#[tokio::test]
async fn wildcard_characters_in_values_match_only_themselves() {
    let f = fixture().await;
    let [_, _, cy] = team(&f).await;

    assert_eq!(ids(&f.directory, r#"userName co "%""#).await, [cy]);
    assert_eq!(ids(&f.directory, r#"userName sw "cy_""#).await, [cy]);
    assert_eq!(
        ids(&f.directory, r#"userName sw "_""#).await,
        Vec::<i64>::new()
    );
    assert_eq!(ids(&f.directory, r#"userName co "y_1""#).await, [cy]);
    assert_eq!(
        ids(&f.directory, r#"userName co "y%1""#).await,
        Vec::<i64>::new()
    );
}

#[tokio::test]
async fn injection_attempts_are_only_values() {
    let f = fixture().await;
    team(&f).await;

    for filter in [
        r#"userName eq "x\" or 1=1 --""#,
        r#"userName eq "x' or '1'='1""#,
        r#"displayName co "' OR '1'='1""#,
        r#"externalId eq "x'); DROP TABLE account_users; --""#,
        r#"externalId sw "' || (SELECT group_concat(secret_digest) FROM accounts) || '""#,
        r#"id eq "1 OR 1=1""#,
        r#"userName eq x"or"1=1"#,
    ] {
        assert_eq!(
            ids(&f.directory, filter).await,
            Vec::<i64>::new(),
            "{filter}"
        );
    }
    let everyone = f
        .directory
        .list_users(&UserQuery {
            limit: 10,
            ..UserQuery::default()
        })
        .await
        .unwrap();
    assert_eq!((everyone.total, everyone.users.len()), (3, 3));
}

#[tokio::test]
async fn totals_count_every_match_while_pages_follow_id_order() {
    let f = fixture().await;
    let mut expected = Vec::new();
    for i in 0..7 {
        expected.push(
            add(
                &f.directory,
                &format!("u{i}@example.com"),
                None,
                "viewer",
                None,
            )
            .await,
        );
    }
    add(&f.directory, "other@example.org", None, "viewer", None).await;

    let mut seen = Vec::new();
    for offset in (0..7).step_by(3) {
        let page = f
            .directory
            .list_users(&UserQuery {
                offset,
                limit: 3,
                ..query(r#"userName ew "@example.com""#)
            })
            .await
            .unwrap();
        assert_eq!(page.total, 7);
        seen.extend(page.users.iter().map(|u| u.id));
    }
    assert_eq!(seen, expected);

    let counted = f
        .directory
        .list_users(&UserQuery {
            limit: 0,
            ..query(r#"userName ew "@example.com""#)
        })
        .await
        .unwrap();
    assert_eq!((counted.total, counted.users.len()), (7, 0));
}

#[tokio::test]
async fn a_filter_and_an_email_must_both_match() {
    let f = fixture().await;
    let [ana, ..] = team(&f).await;
    let both = |email: &str, filter: &str| UserQuery {
        email: Some(email.into()),
        ..query(filter)
    };

    let page = f
        .directory
        .list_users(&both("ANA@example.com", r#"roles eq "admin""#))
        .await
        .unwrap();
    assert_eq!((page.total, page.users[0].id), (1, ana));
    let page = f
        .directory
        .list_users(&both("ana@example.com", r#"roles eq "staff""#))
        .await
        .unwrap();
    assert_eq!(page.total, 0);
}

#[tokio::test]
async fn filters_see_only_the_directorys_own_account() {
    let f = fixture().await;
    let other = account(&f.store, "globex").await;
    add(&other, "ana@example.com", None, "viewer", Some("Ext-1")).await;

    assert_eq!(
        ids(&f.directory, r#"externalId eq "Ext-1""#).await,
        Vec::<i64>::new()
    );
    assert_eq!(ids(&other, r#"externalId eq "Ext-1""#).await.len(), 1);
}

#[tokio::test]
async fn active_state_and_timestamps_can_be_filtered() {
    let f = fixture().await;
    let [ana, bob, cy] = team(&f).await;
    let deactivate = UserChanges {
        active: Some(false),
        ..UserChanges::default()
    };
    f.directory
        .update_user(bob, deactivate, None)
        .await
        .unwrap();

    assert_eq!(ids(&f.directory, "active eq false").await, [bob]);
    assert_eq!(ids(&f.directory, r#"active eq "True""#).await, [ana, cy]);

    let bob_now = f.directory.get_user(bob).await.unwrap();
    let stamp = bob_now
        .updated_at
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert!(
        ids(&f.directory, &format!(r#"meta.lastModified ge "{stamp}""#))
            .await
            .contains(&bob)
    );
    assert_eq!(
        ids(&f.directory, &format!(r#"meta.created gt "{stamp}""#)).await,
        Vec::<i64>::new()
    );
}

#[tokio::test]
async fn attributes_roster_does_not_store_are_refused_with_their_name() {
    let f = fixture().await;
    team(&f).await;

    let e = f
        .directory
        .list_users(&query(r#"name.givenName eq "Ana""#))
        .await
        .unwrap_err();
    match e {
        DirectoryError::Unsupported(message) => {
            assert!(message.contains("name.givenName"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}
