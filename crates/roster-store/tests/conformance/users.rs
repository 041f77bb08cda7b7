//! Users: the directory's operations and the rules they keep.

use roster_core::{
    filter::parse, AccountUser, Directory, DirectoryError, NewUser, UserChanges, UserPage,
    UserQuery,
};

use crate::{
    account, add, deactivation, directory, email, email_change, everyone, role, role_change, user,
    Check, Db,
};

pub fn checks() -> Vec<(&'static str, Check)> {
    checks![
        users_are_created_read_listed_updated_and_deleted,
        a_new_user_without_a_role_gets_the_default_one,
        listing_pages_through_users_in_id_order_with_the_total,
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
        text_holding_a_nul_character_is_answered_alike_on_every_backend,
    ]
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
