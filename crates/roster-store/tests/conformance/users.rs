//! Users: the directory's operations and the rules they keep.

use roster_core::{
    filter::parse, AccountUser, Directory, DirectoryError, NewUser, UserChanges, UserPage,
    UserQuery,
};

use crate::{
    account, add, deactivation, directory, email, email_change, everyone, role, role_change, user,
    user_name, Check, Db,
};

pub fn checks() -> Vec<(&'static str, Check)> {
    checks![
        text_holding_a_nul_character_is_answered_alike_on_every_backend,
        users_are_created_read_listed_updated_and_deleted,
        a_new_user_without_a_role_gets_the_default_one,
        listing_pages_through_users_in_id_order_with_the_total,
        deep_pages_are_exact_across_blocks_after_deletes_and_interleaved_accounts,
        emails_are_unique_per_account_whatever_their_case,
        fifty_concurrent_creates_of_one_email_on_two_nodes_make_exactly_one_user,
        deleting_the_last_active_admin_is_refused,
        demoting_the_last_active_admin_is_refused,
        deactivating_the_last_active_admin_is_refused,
        concurrent_deactivations_on_two_nodes_leave_exactly_one_active_admin,
        an_unknown_role_is_refused_with_the_valid_roles_listed,
        every_change_writes_an_audit_event_with_the_record_before_and_after,
        an_update_that_changes_nothing_writes_nothing,
        each_update_increments_the_version_and_a_stale_version_is_refused,
        a_scim_filter_finds_its_users_alone_or_with_the_email_query,
        a_user_name_that_is_not_an_email_is_kept_apart_and_found_by_user_name_filters,
        user_names_are_unique_per_account_whatever_their_case_emails_included,
        a_user_name_that_is_the_email_follows_the_email_and_one_set_apart_stays,
        a_database_of_the_first_schema_migrates_with_every_user_name_its_email,
    ]
}

fn with_user_name(raw_email: &str, raw_user_name: &str) -> NewUser {
    NewUser {
        user_name: Some(user_name(raw_user_name)),
        ..user(raw_email, "viewer")
    }
}

fn user_name_change(raw: &str) -> UserChanges {
    UserChanges {
        user_name: Some(Some(user_name(raw))),
        ..UserChanges::default()
    }
}

fn scim(filter: &str) -> UserQuery {
    UserQuery {
        filter: Some(parse(filter).unwrap()),
        ..everyone()
    }
}

async fn ids(users: &roster_store::StoreDirectory, filter: &str) -> Vec<i64> {
    let page = users.list_users(&scim(filter)).await.unwrap();
    page.users.iter().map(|u| u.id).collect()
}

async fn a_user_name_that_is_not_an_email_is_kept_apart_and_found_by_user_name_filters(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);

    let ana = users
        .create_user(with_user_name("ana@example.com", "Ana.Silva"))
        .await
        .unwrap();
    let bo = add(&users, "bo@example.com", "viewer").await;

    assert_eq!(ana.user_name.as_deref(), Some("Ana.Silva"));
    assert_eq!(users.get_user(ana.id).await.unwrap(), ana);
    assert_eq!(
        (bo.user_name.as_deref(), bo.user_name()),
        (None, "bo@example.com")
    );

    assert_eq!(ids(&users, r#"userName eq "ana.silva""#).await, [ana.id]);
    assert_eq!(
        ids(&users, r#"userName eq "ANA@example.com""#).await,
        [0; 0]
    );
    assert_eq!(
        ids(&users, r#"userName eq "bo@example.com""#).await,
        [bo.id]
    );
    assert_eq!(
        ids(&users, r#"emails.value eq "ana@example.com""#).await,
        [ana.id]
    );
    assert_eq!(
        ids(&users, r#"emails eq "ana@example.com""#).await,
        [ana.id]
    );
    assert_eq!(ids(&users, r#"userName sw "ana.""#).await, [ana.id]);

    let events = store.audit_events(account_id).await.unwrap();
    assert_eq!(events[0].after.as_ref().unwrap()["user_name"], "Ana.Silva");
}

async fn user_names_are_unique_per_account_whatever_their_case_emails_included(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let ana = users
        .create_user(with_user_name("ana@example.com", "Ana.Silva"))
        .await
        .unwrap();
    let bo = add(&users, "bo@example.com", "viewer").await;

    let taken = |e: DirectoryError| assert_eq!(e, DirectoryError::UserNameTaken);
    taken(
        users
            .create_user(with_user_name("cy@example.com", "ANA.SILVA"))
            .await
            .unwrap_err(),
    );
    // A user without a userName of its own has its email as userName.
    taken(
        users
            .create_user(with_user_name("cy@example.com", "Bo@Example.com"))
            .await
            .unwrap_err(),
    );
    taken(
        users
            .update_user(bo.id, user_name_change("ana.silva"), None)
            .await
            .unwrap_err(),
    );
    // An email may not become a userName another user already has.
    let cy = users
        .create_user(with_user_name("cy@example.com", "dee@example.com"))
        .await
        .unwrap();
    taken(
        users
            .create_user(user("DEE@example.com", "viewer"))
            .await
            .unwrap_err(),
    );
    taken(
        users
            .update_user(bo.id, email_change("dee@example.com"), None)
            .await
            .unwrap_err(),
    );

    assert_eq!(users.get_user(ana.id).await.unwrap(), ana);
    assert_eq!(users.get_user(bo.id).await.unwrap(), bo);
    assert_eq!(users.list_users(&everyone()).await.unwrap().total, 3);
    assert_eq!(cy.user_name(), "dee@example.com");

    // Another account's userNames are its own.
    let (other_id, _) = account(&store).await;
    directory(&store, other_id)
        .create_user(with_user_name("ana@example.com", "ana.silva"))
        .await
        .unwrap();
}

async fn a_user_name_that_is_the_email_follows_the_email_and_one_set_apart_stays(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let ana = users
        .create_user(with_user_name("ana@example.com", "ana@example.com"))
        .await
        .unwrap();
    let bo = users
        .create_user(with_user_name("bo@example.com", "bo"))
        .await
        .unwrap();
    assert_eq!(
        ana.user_name, None,
        "a userName equal to the email is not kept apart"
    );

    let ana = users
        .update_user(ana.id, email_change("ana.silva@example.com"), None)
        .await
        .unwrap();
    let bo = users
        .update_user(bo.id, email_change("bo.berg@example.com"), None)
        .await
        .unwrap();

    assert_eq!(ana.user_name(), "ana.silva@example.com");
    assert_eq!(bo.user_name(), "bo");
    assert_eq!(
        ids(&users, r#"userName eq "ana.silva@example.com""#).await,
        [ana.id]
    );
    assert_eq!(
        ids(&users, r#"userName eq "ana@example.com""#).await,
        [0; 0]
    );
    // The old address is free again, as an email and as a userName.
    add(&users, "ana@example.com", "viewer").await;

    // Setting a userName back to the email makes it follow the email again.
    let bo = users
        .update_user(bo.id, user_name_change("bo.berg@example.com"), None)
        .await
        .unwrap();
    assert_eq!(bo.user_name, None);
}

/// Existing databases must migrate cleanly: users made before userNames were kept apart
/// have their email as userName, found by `userName eq` and kept unique.
async fn a_database_of_the_first_schema_migrates_with_every_user_name_its_email(db: Db) {
    first_schema_with_one_user(db.url()).await;

    let store = db.open().await;
    let account = store.account("legacy").await.unwrap();
    let users = directory(&store, account.id);

    let ana = users.get_user(1).await.unwrap();
    assert_eq!(
        (ana.user_name.as_deref(), ana.user_name()),
        (None, "Ana@Example.com")
    );
    assert_eq!(ids(&users, r#"userName eq "ana@example.com""#).await, [1]);
    assert_eq!(
        users
            .create_user(with_user_name("bo@example.com", "ANA@example.com"))
            .await
            .unwrap_err(),
        DirectoryError::UserNameTaken
    );
    let roles = users.list_roles().await.unwrap();
    assert!(roles
        .iter()
        .all(|r| r.created_at.is_some() && r.updated_at.is_some()));
    assert_eq!(
        roles[0].created_at.unwrap().timestamp_millis(),
        1_700_000_000_000
    );
}

/// Makes `url` a database at the first migration, with one account, its default roles
/// and one user, as a release before userNames were kept apart left it.
async fn first_schema_with_one_user(url: &str) {
    const ROWS: &str = "INSERT INTO accounts (app_key, name, secret_digest, user_count, created_at) \
         VALUES ('legacy', 'Legacy', 'x', 1, 1700000000000); \
         INSERT INTO roles (account_id, name) VALUES (1, 'admin'), (1, 'viewer'); \
         INSERT INTO account_users (account_id, email, email_normalized, role, created_at, updated_at) \
         VALUES (1, 'Ana@Example.com', 'ana@example.com', 'admin', 1700000000000, 1700000000000);";
    if let Some(path) = url.strip_prefix("sqlite://") {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(include_str!("../../migrations/sqlite/0001_initial.sql"))
            .unwrap();
        // rusqlite_migration counts applied migrations in user_version.
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(ROWS).unwrap();
        return;
    }
    let mut migrator = sqlx::migrate::Migrator::new(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/migrations/postgres"
    )))
    .await
    .unwrap();
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version == 1)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    migrator.run(&pool).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(ROWS))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

async fn users_are_created_read_listed_updated_and_deleted(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);

    let ana = users
        .create_user(NewUser {
            name: Some("Ana Silva".into()),
            external_id: Some("okta-1".into()),
            ..user("Ana@Example.com", "admin")
        })
        .await
        .unwrap();
    assert_eq!(ana.email, "Ana@Example.com");
    assert_eq!(ana.name.as_deref(), Some("Ana Silva"));
    assert_eq!(ana.role, "admin");
    assert!(ana.active);
    assert_eq!(ana.external_id.as_deref(), Some("okta-1"));
    assert_eq!(ana.version, 1);
    assert_eq!(ana.created_at, ana.updated_at);
    assert_eq!(users.get_user(ana.id).await.unwrap(), ana);

    let bo = add(&users, "bo@example.com", "staff").await;
    assert!(bo.id > ana.id);
    let page = users.list_users(&everyone()).await.unwrap();
    assert_eq!(page.users, vec![ana.clone(), bo.clone()]);
    assert_eq!(page.total, 2);

    let changes = UserChanges {
        email: Some(email("bo.b@example.com")),
        name: Some(Some("Bo".into())),
        active: Some(false),
        external_id: Some(Some("okta-2".into())),
        ..UserChanges::default()
    };
    let updated = users.update_user(bo.id, changes, None).await.unwrap();
    assert_eq!(updated.email, "bo.b@example.com");
    assert_eq!(updated.name.as_deref(), Some("Bo"));
    assert!(!updated.active);
    assert_eq!(updated.external_id.as_deref(), Some("okta-2"));
    assert_eq!(updated.version, 2);
    assert_eq!(updated.created_at, bo.created_at);
    assert!(updated.updated_at >= bo.updated_at);
    assert_eq!(users.get_user(bo.id).await.unwrap(), updated);

    users.delete_user(bo.id).await.unwrap();
    assert_eq!(
        users.get_user(bo.id).await.unwrap_err(),
        DirectoryError::UserNotFound
    );
    assert_eq!(
        users.delete_user(bo.id).await.unwrap_err(),
        DirectoryError::UserNotFound
    );
    assert_eq!(
        users
            .update_user(bo.id, UserChanges::default(), None)
            .await
            .unwrap_err(),
        DirectoryError::UserNotFound
    );
    let page = users.list_users(&everyone()).await.unwrap();
    assert_eq!((page.users, page.total), (vec![ana.clone()], 1));
    assert_eq!(store.list_accounts().await.unwrap()[0].user_count, 1);

    // Another account sees none of them.
    let (other_id, _) = account(&store).await;
    let other = directory(&store, other_id);
    assert_eq!(other.list_users(&everyone()).await.unwrap().total, 0);
    assert_eq!(
        other.get_user(ana.id).await.unwrap_err(),
        DirectoryError::UserNotFound
    );
    assert_eq!(
        other.delete_user(ana.id).await.unwrap_err(),
        DirectoryError::UserNotFound
    );
}

async fn a_new_user_without_a_role_gets_the_default_one(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);

    let created = users
        .create_user(NewUser::with_email(email("cy@example.com")))
        .await
        .unwrap();

    assert_eq!(created.role, roster_core::DEFAULT_ROLE);
}

async fn listing_pages_through_users_in_id_order_with_the_total(db: Db) {
    let store = db.open().await;
    let (account_id, app_key) = account(&store).await;
    let users = directory(&store, account_id);
    let mut ids = Vec::new();
    for n in 0..5 {
        let created = users
            .create_user(user(&format!("user{n}@example.com"), "viewer"))
            .await
            .unwrap();
        ids.push(created.id);
    }

    let page = users
        .list_users(&UserQuery {
            offset: 1,
            limit: 2,
            ..UserQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.users.iter().map(|u| u.id).collect::<Vec<_>>(),
        ids[1..3]
    );
    assert_eq!(page.total, 5);

    let beyond = users
        .list_users(&UserQuery {
            offset: 10,
            limit: 2,
            ..UserQuery::default()
        })
        .await
        .unwrap();
    assert!(beyond.users.is_empty());
    assert_eq!(beyond.total, 5);

    users.delete_user(ids[0]).await.unwrap();
    assert_eq!(users.list_users(&everyone()).await.unwrap().total, 4);
    assert_eq!(store.account(&app_key).await.unwrap().user_count, 4);
}

async fn emails_are_unique_per_account_whatever_their_case(db: Db) {
    let store = db.open().await;
    let (account_id, app_key) = account(&store).await;
    let users = directory(&store, account_id);
    let ana = add(&users, "ana@example.com", "viewer").await;

    assert_eq!(
        users
            .create_user(user("ANA@Example.COM", "viewer"))
            .await
            .unwrap_err(),
        DirectoryError::EmailTaken
    );
    let bo = add(&users, "bo@example.com", "viewer").await;
    let to_ana = email_change("Ana@example.com");
    assert_eq!(
        users.update_user(bo.id, to_ana, None).await.unwrap_err(),
        DirectoryError::EmailTaken
    );
    assert_eq!(store.account(&app_key).await.unwrap().user_count, 2);

    // A change of case alone is the same user's own address.
    let recased = email_change("Ana@Example.com");
    let recased = users.update_user(ana.id, recased, None).await.unwrap();
    assert_eq!(recased.email, "Ana@Example.com");

    let found = users
        .list_users(&UserQuery {
            email: Some("ANA@EXAMPLE.COM".into()),
            ..everyone()
        })
        .await
        .unwrap();
    assert_eq!((found.users, found.total), (vec![recased], 1));

    let (other_id, _) = account(&store).await;
    directory(&store, other_id)
        .create_user(user("ana@example.com", "viewer"))
        .await
        .expect("another account may have the same address");
}

async fn fifty_concurrent_creates_of_one_email_on_two_nodes_make_exactly_one_user(db: Db) {
    let nodes = [db.open().await, db.open().await];
    let (account_id, app_key) = account(&nodes[0]).await;

    let attempts: Vec<_> = (0..50)
        .map(|n| {
            let users = directory(&nodes[n % 2], account_id);
            let spelling = if n % 3 == 0 {
                "Dee@Example.com"
            } else {
                "dee@example.com"
            };
            tokio::spawn(async move { users.create_user(user(spelling, "viewer")).await })
        })
        .collect();
    let mut created = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => created += 1,
            Err(e) => assert_eq!(e, DirectoryError::EmailTaken),
        }
    }

    assert_eq!(created, 1);
    let page = directory(&nodes[1], account_id)
        .list_users(&everyone())
        .await
        .unwrap();
    assert_eq!((page.users.len(), page.total), (1, 1));
    assert_eq!(nodes[1].account(&app_key).await.unwrap().user_count, 1);
    assert_eq!(nodes[0].audit_events(account_id).await.unwrap().len(), 1);
}

async fn deleting_the_last_active_admin_is_refused(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let ana = add(&users, "ana@example.com", "admin").await;
    let bo = add(&users, "bo@example.com", "admin").await;

    users.delete_user(ana.id).await.unwrap();
    assert_eq!(
        users.delete_user(bo.id).await.unwrap_err(),
        DirectoryError::LastAdmin
    );
    assert_eq!(users.get_user(bo.id).await.unwrap(), bo);

    // An inactive admin is not what keeps the account manageable: it may go.
    let idle = users
        .create_user(NewUser {
            active: false,
            ..user("idle@example.com", "admin")
        })
        .await
        .unwrap();
    users.delete_user(idle.id).await.unwrap();
}

async fn demoting_the_last_active_admin_is_refused(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let ana = add(&users, "ana@example.com", "admin").await;

    let demote = role_change("staff");
    assert_eq!(
        users
            .update_user(ana.id, demote.clone(), None)
            .await
            .unwrap_err(),
        DirectoryError::LastAdmin
    );
    assert_eq!(users.get_user(ana.id).await.unwrap(), ana);
    assert_eq!(store.audit_events(account_id).await.unwrap().len(), 1);

    add(&users, "bo@example.com", "admin").await;
    let demoted = users.update_user(ana.id, demote, None).await.unwrap();
    assert_eq!(demoted.role, "staff");
}

async fn deactivating_the_last_active_admin_is_refused(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let ana = add(&users, "ana@example.com", "admin").await;
    // An inactive admin does not count as another admin.
    users
        .create_user(NewUser {
            active: false,
            ..user("idle@example.com", "admin")
        })
        .await
        .unwrap();

    let deactivate = deactivation();
    assert_eq!(
        users
            .update_user(ana.id, deactivate, None)
            .await
            .unwrap_err(),
        DirectoryError::LastAdmin
    );
    assert!(users.get_user(ana.id).await.unwrap().active);
}

async fn concurrent_deactivations_on_two_nodes_leave_exactly_one_active_admin(db: Db) {
    let nodes = [db.open().await, db.open().await];
    let (account_id, _) = account(&nodes[0]).await;
    let mut admins = Vec::new();
    for n in 0..10 {
        let admin = directory(&nodes[0], account_id)
            .create_user(user(&format!("admin{n}@example.com"), "admin"))
            .await
            .unwrap();
        admins.push(admin.id);
    }

    let attempts: Vec<_> = admins
        .iter()
        .enumerate()
        .map(|(n, &id)| {
            let users = directory(&nodes[n % 2], account_id);
            let deactivate = deactivation();
            tokio::spawn(async move { users.update_user(id, deactivate, None).await })
        })
        .collect();
    let mut refused = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(user) => assert!(!user.active),
            Err(e) => {
                assert_eq!(e, DirectoryError::LastAdmin);
                refused += 1;
            }
        }
    }

    assert_eq!(refused, 1);
    let page = directory(&nodes[1], account_id)
        .list_users(&everyone())
        .await
        .unwrap();
    assert_eq!(page.users.iter().filter(|u| u.is_active_admin()).count(), 1);
}

async fn an_unknown_role_is_refused_with_the_valid_roles_listed(db: Db) {
    let store = db.open().await;
    let (account_id, app_key) = account(&store).await;
    let users = directory(&store, account_id);
    let catalogue = DirectoryError::UnknownRole {
        valid: roster_core::DEFAULT_ROLES.map(String::from).to_vec(),
    };

    assert_eq!(
        users
            .create_user(user("ana@example.com", "owner"))
            .await
            .unwrap_err(),
        catalogue
    );
    let ana = add(&users, "ana@example.com", "viewer").await;
    let promote = role_change("owner");
    assert_eq!(
        users.update_user(ana.id, promote, None).await.unwrap_err(),
        catalogue
    );

    assert_eq!(users.get_user(ana.id).await.unwrap(), ana);
    assert_eq!(store.account(&app_key).await.unwrap().user_count, 1);
    assert_eq!(store.audit_events(account_id).await.unwrap().len(), 1);
}

async fn every_change_writes_an_audit_event_with_the_record_before_and_after(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let (other_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let created = add(&users, "ana@example.com", "staff").await;
    let rename = UserChanges {
        name: Some(Some("Ana".into())),
        ..UserChanges::default()
    };
    let updated = users.update_user(created.id, rename, None).await.unwrap();
    users.delete_user(created.id).await.unwrap();
    directory(&store, other_id)
        .create_user(user("ana@example.com", "staff"))
        .await
        .unwrap();

    let events = store.audit_events(account_id).await.unwrap();
    let actions: Vec<_> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["create", "update", "delete"]);
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    for event in &events {
        assert_eq!(event.user_id, created.id);
        assert_eq!(event.actor, "tester");
    }
    let [create, update, delete] = &events[..] else {
        unreachable!()
    };
    assert_eq!(create.before, None);
    assert_snapshot(create.after.as_ref(), &created);
    assert_snapshot(update.before.as_ref(), &created);
    assert_snapshot(update.after.as_ref(), &updated);
    assert_snapshot(delete.before.as_ref(), &updated);
    assert_eq!(delete.after, None);
    assert!(create.at <= update.at && update.at <= delete.at);
}

/// Checks that an audit snapshot records every field of `user`.
fn assert_snapshot(snapshot: Option<&serde_json::Value>, user: &AccountUser) {
    let snapshot = snapshot.expect("a snapshot");
    let time = |key: &str| {
        let text = snapshot[key].as_str().expect("a timestamp");
        chrono::DateTime::parse_from_rfc3339(text).expect("RFC 3339")
    };
    assert_eq!(snapshot["id"], user.id);
    assert_eq!(snapshot["email"], user.email.as_str());
    assert_eq!(snapshot["name"].as_str(), user.name.as_deref());
    assert_eq!(snapshot["role"], user.role.as_str());
    assert_eq!(snapshot["active"], user.active);
    assert_eq!(
        snapshot["external_id"].as_str(),
        user.external_id.as_deref()
    );
    assert_eq!(time("created_at"), user.created_at);
    assert_eq!(time("updated_at"), user.updated_at);
    assert_eq!(snapshot["version"], user.version);
}

async fn an_update_that_changes_nothing_writes_nothing(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let ana = users
        .create_user(NewUser {
            name: Some("Ana".into()),
            ..user("ana@example.com", "admin")
        })
        .await
        .unwrap();

    let same = UserChanges {
        email: Some(email("ana@example.com")),
        user_name: Some(Some(user_name("ana@example.com"))),
        name: Some(Some("Ana".into())),
        role: Some(role("admin")),
        active: Some(true),
        external_id: Some(None),
    };
    assert_eq!(users.update_user(ana.id, same, None).await.unwrap(), ana);
    assert_eq!(
        users
            .update_user(ana.id, UserChanges::default(), Some(1))
            .await
            .unwrap(),
        ana
    );

    assert_eq!(users.get_user(ana.id).await.unwrap(), ana);
    assert_eq!(store.audit_events(account_id).await.unwrap().len(), 1);
}

async fn each_update_increments_the_version_and_a_stale_version_is_refused(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let ana = add(&users, "ana@example.com", "viewer").await;
    let named = |name: &str| UserChanges {
        name: Some(Some(name.into())),
        ..UserChanges::default()
    };

    let first = users
        .update_user(ana.id, named("A"), Some(1))
        .await
        .unwrap();
    assert_eq!(first.version, 2);
    assert_eq!(
        users
            .update_user(ana.id, named("B"), Some(1))
            .await
            .unwrap_err(),
        DirectoryError::VersionMismatch
    );
    let second = users.update_user(ana.id, named("B"), None).await.unwrap();
    assert_eq!(second.version, 3);
    assert_eq!(
        users.get_user(ana.id).await.unwrap().name.as_deref(),
        Some("B")
    );
}

async fn a_scim_filter_finds_its_users_alone_or_with_the_email_query(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let ana = add(&users, "ana@example.com", "viewer").await;
    let bob = add(&users, "bob@example.org", "staff").await;

    // The translation itself is tested in filter_sql; this checks each backend runs it.
    let filtered = |filter: &str, email: Option<&str>| UserQuery {
        filter: Some(parse(filter).unwrap()),
        email: email.map(str::to_owned),
        ..everyone()
    };
    let ids = |page: UserPage| {
        let ids: Vec<i64> = page.users.iter().map(|u| u.id).collect();
        (ids, page.total)
    };
    let found = users
        .list_users(&filtered(
            r#"userName ew ".ORG" or not (roles eq "staff")"#,
            None,
        ))
        .await
        .unwrap();
    assert_eq!(ids(found), (vec![ana.id, bob.id], 2));
    let found = users
        .list_users(&filtered(r#"emails[type eq "work"].value co "b@""#, None))
        .await
        .unwrap();
    assert_eq!(ids(found), (vec![bob.id], 1));
    let both = users
        .list_users(&filtered(r#"roles eq "staff""#, Some("Ana@Example.com")))
        .await
        .unwrap();
    assert_eq!(ids(both), (vec![], 0));
    let hostile = users
        .list_users(&filtered(r#"userName eq "x' OR '1'='1""#, None))
        .await
        .unwrap();
    assert_eq!(ids(hostile), (vec![], 0));
    assert!(matches!(
        users
            .list_users(&filtered(r#"title eq "x""#, None))
            .await
            .unwrap_err(),
        DirectoryError::Unsupported(_)
    ));

    let by_email = |offset| UserQuery {
        email: Some("Ana@Example.com".into()),
        offset,
        ..everyone()
    };
    let found = users.list_users(&by_email(0)).await.unwrap();
    assert_eq!((found.users, found.total), (vec![ana], 1));
    let past = users.list_users(&by_email(1)).await.unwrap();
    assert_eq!((past.users.len(), past.total), (0, 1));
    let nobody = users
        .list_users(&UserQuery {
            email: Some("nobody@example.com".into()),
            ..everyone()
        })
        .await
        .unwrap();
    assert_eq!((nobody.users.len(), nobody.total), (0, 0));
}

async fn deep_pages_are_exact_across_blocks_after_deletes_and_interleaved_accounts(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let (other_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let others = directory(&store, other_id);
    // Several blocks of 256, with another account's users between ours, so that ids
    // have gaps; created a few at a time, as concurrent clients would.
    let mut ids = Vec::new();
    for batch in 0..14 {
        let creates = (0..50)
            .map(|n| users.create_user(user(&format!("u{batch}-{n}@example.com"), "viewer")));
        for created in futures::future::join_all(creates).await {
            ids.push(created.unwrap().id);
        }
        others
            .create_user(user(&format!("other{batch}@example.com"), "viewer"))
            .await
            .unwrap();
    }
    ids.sort_unstable();
    // Deletes in the first block, at a block's edge and at the end.
    for index in [699, 512, 256, 255, 10, 0] {
        users.delete_user(ids.remove(index)).await.unwrap();
    }

    for limit in [1, 7, 100, 256] {
        let mut walked = Vec::new();
        for offset in (0..ids.len() + limit).step_by(limit) {
            let page = users
                .list_users(&UserQuery {
                    offset: offset as u64,
                    limit: limit as u64,
                    ..UserQuery::default()
                })
                .await
                .unwrap();
            assert_eq!(page.total, ids.len() as u64);
            walked.extend(page.users.iter().map(|u| u.id));
        }
        assert_eq!(walked, ids, "pages of {limit}");
    }
}

/// PostgreSQL's text cannot hold NUL: a query for it finds nobody and a write of it is
/// refused as unsupported, on SQLite as well, rather than failing in the database.
async fn text_holding_a_nul_character_is_answered_alike_on_every_backend(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let ana = add(&users, "ana@example.com", "admin").await;

    let query = UserQuery {
        email: Some("ana@example.com\0".into()),
        ..everyone()
    };
    assert_eq!(users.list_users(&query).await.unwrap(), UserPage::default());
    let query = UserQuery {
        filter: Some(parse("userName eq \"ana\u{0}@example.com\" or active eq true").unwrap()),
        ..everyone()
    };
    assert!(matches!(
        users.list_users(&query).await,
        Err(DirectoryError::Unsupported(_))
    ));

    let named = NewUser {
        name: Some("Bo\0".into()),
        ..user("bo@example.com", "staff")
    };
    assert!(matches!(
        users.create_user(named).await,
        Err(DirectoryError::Unsupported(_))
    ));
    let external = UserChanges {
        external_id: Some(Some("x\0".into())),
        ..UserChanges::default()
    };
    assert!(matches!(
        users.update_user(ana.id, external, None).await,
        Err(DirectoryError::Unsupported(_))
    ));
    assert_eq!(users.list_users(&everyone()).await.unwrap().total, 1);
}
