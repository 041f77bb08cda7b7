//! The role catalogue: adding, renaming, deleting and replacing roles.

use roster_core::{Directory, DirectoryError, NewRole, Role, RoleChanges, RoleName, DEFAULT_ROLES};
use roster_store::StoreError;

use crate::{account, add, directory, everyone, role, role_change, Check, Db};

pub fn checks() -> Vec<(&'static str, Check)> {
    checks![
        the_default_role_cannot_leave_the_catalogue_by_any_route,
        member_counts_follow_every_change_of_a_user,
        a_new_account_has_the_default_catalogue,
        a_role_can_be_added_once_and_then_held,
        renaming_a_role_moves_its_holders_and_audits_each_of_them,
        the_admin_role_cannot_be_renamed_nor_another_renamed_to_admin,
        a_held_role_cannot_be_deleted_nor_the_admin_role,
        replacing_the_catalogue_refuses_to_drop_held_roles_or_admin,
        a_role_keeps_its_external_id_and_its_dates,
        a_roles_last_modification_moves_when_its_members_change,
        role_names_are_free_text_and_their_holders_are_found_by_exact_name,
    ]
}

fn named(name: &str) -> NewRole {
    NewRole::named(role(name))
}

fn rename(name: &str) -> RoleChanges {
    RoleChanges {
        name: Some(role(name)),
        ..RoleChanges::default()
    }
}

fn names(roles: &[Role]) -> Vec<&str> {
    roles.iter().map(|r| r.name.as_str()).collect()
}

async fn a_new_account_has_the_default_catalogue(db: Db) {
    let store = db.open().await;
    let (account_id, app_key) = account(&store).await;

    let roles = directory(&store, account_id).list_roles().await.unwrap();

    assert_eq!(names(&roles), DEFAULT_ROLES);
    assert!(roles.iter().all(|r| r.members == 0));
    assert!(roles.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(store.roles(&app_key).await.unwrap(), roles);
}

async fn a_role_can_be_added_once_and_then_held(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);

    let billing = users.create_role(named("billing")).await.unwrap();
    assert_eq!((billing.name.as_str(), billing.members), ("billing", 0));
    assert_eq!(
        users.create_role(named("billing")).await.unwrap_err(),
        DirectoryError::RoleTaken
    );
    add(&users, "ana@example.com", "billing").await;

    let roles = users.list_roles().await.unwrap();
    let held = roles.last().unwrap();
    assert_eq!(
        held,
        &Role {
            members: 1,
            updated_at: held.updated_at,
            ..billing
        }
    );

    // Another account's catalogue is its own.
    let (other_id, _) = account(&store).await;
    directory(&store, other_id)
        .create_role(named("billing"))
        .await
        .unwrap();
}

async fn renaming_a_role_moves_its_holders_and_audits_each_of_them(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let ana = add(&users, "ana@example.com", "staff").await;
    let bo = add(&users, "bo@example.com", "staff").await;
    let staff = users.list_roles().await.unwrap()[1].clone();

    let ops = users.update_role(staff.id, rename("ops")).await.unwrap();

    assert_eq!(
        ops,
        Role {
            name: "ops".into(),
            updated_at: ops.updated_at,
            ..staff.clone()
        }
    );
    assert!(ops.updated_at >= staff.updated_at);
    for before in [&ana, &bo] {
        let after = users.get_user(before.id).await.unwrap();
        assert_eq!((after.role.as_str(), after.version), ("ops", 2));
    }
    let events = store.audit_events(account_id).await.unwrap();
    let renames: Vec<_> = events.iter().filter(|e| e.action == "update").collect();
    assert_eq!(renames.len(), 2);
    for event in renames {
        assert_eq!(event.before.as_ref().unwrap()["role"], "staff");
        assert_eq!(event.after.as_ref().unwrap()["role"], "ops");
        assert_eq!(event.after.as_ref().unwrap()["version"], 2);
    }

    // Renaming to the name it has changes nothing; to a taken name is refused.
    assert_eq!(
        users.update_role(staff.id, rename("ops")).await.unwrap(),
        ops
    );
    assert_eq!(store.audit_events(account_id).await.unwrap().len(), 4);
    assert_eq!(
        users
            .update_role(staff.id, rename("viewer"))
            .await
            .unwrap_err(),
        DirectoryError::RoleTaken
    );
    assert_eq!(
        users.update_role(-1, rename("nobody")).await.unwrap_err(),
        DirectoryError::RoleNotFound
    );
}

async fn the_admin_role_cannot_be_renamed_nor_another_renamed_to_admin(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let roles = users.list_roles().await.unwrap();

    for (id, name) in [(roles[0].id, "owner"), (roles[1].id, "admin")] {
        assert!(matches!(
            users.update_role(id, rename(name)).await.unwrap_err(),
            DirectoryError::Unsupported(_)
        ));
    }
    assert_eq!(users.list_roles().await.unwrap(), roles);
}

async fn a_held_role_cannot_be_deleted_nor_the_admin_role(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    add(&users, "ana@example.com", "staff").await;
    let roles = users.list_roles().await.unwrap();
    let [admin, staff, insights, _viewer] = &roles[..] else {
        panic!("unexpected catalogue {roles:?}")
    };

    assert_eq!(
        users.delete_role(staff.id).await.unwrap_err(),
        DirectoryError::RoleInUse
    );
    assert!(matches!(
        users.delete_role(admin.id).await.unwrap_err(),
        DirectoryError::Unsupported(_)
    ));
    users.delete_role(insights.id).await.unwrap();
    assert_eq!(
        users.delete_role(insights.id).await.unwrap_err(),
        DirectoryError::RoleNotFound
    );

    assert_eq!(
        names(&users.list_roles().await.unwrap()),
        ["admin", "staff", "viewer"]
    );
    assert_eq!(users.list_users(&everyone()).await.unwrap().total, 1);
}

async fn replacing_the_catalogue_refuses_to_drop_held_roles_or_admin(db: Db) {
    let store = db.open().await;
    let (account_id, app_key) = account(&store).await;
    let users = directory(&store, account_id);
    add(&users, "ana@example.com", "admin").await;
    add(&users, "bo@example.com", "staff").await;
    let before = store.roles(&app_key).await.unwrap();

    let dropping_staff = [role("admin"), role("viewer"), role("ops")];
    match store.set_roles(&app_key, &dropping_staff).await {
        Err(StoreError::Invalid(message)) => assert!(message.contains("staff"), "{message}"),
        other => panic!("dropping a held role gave {other:?}"),
    }
    let dropping_admin = [role("staff"), role("viewer")];
    assert!(matches!(
        store.set_roles(&app_key, &dropping_admin).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.roles(&app_key).await.unwrap(), before);

    store
        .set_roles(
            &app_key,
            &[role("admin"), role("staff"), role("viewer"), role("ops")],
        )
        .await
        .unwrap();
    let after = store.roles(&app_key).await.unwrap();
    assert_eq!(names(&after), ["admin", "staff", "viewer", "ops"]);
    assert_eq!(after[..2], before[..2], "kept roles keep their ids");
    assert_eq!(
        store
            .set_roles("no-such-key", &[role("admin"), role("viewer")])
            .await,
        Err(StoreError::AccountNotFound("no-such-key".into()))
    );
}

/// Lets the clock move on by more than the timestamps' millisecond.
async fn tick() {
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
}

async fn a_role_keeps_its_external_id_and_its_dates(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let defaults = users.list_roles().await.unwrap();
    assert!(defaults
        .iter()
        .all(|r| r.created_at.is_some() && r.updated_at == r.created_at));

    let billing = users
        .create_role(NewRole {
            name: role("billing"),
            external_id: Some("okta-group-1".into()),
        })
        .await
        .unwrap();
    assert_eq!(billing.external_id.as_deref(), Some("okta-group-1"));
    assert!(billing.created_at.is_some() && billing.updated_at == billing.created_at);
    assert_eq!(users.list_roles().await.unwrap().last(), Some(&billing));

    tick().await;
    let changed = users
        .update_role(
            billing.id,
            RoleChanges {
                external_id: Some(Some("okta-group-2".into())),
                ..RoleChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.external_id.as_deref(), Some("okta-group-2"));
    assert_eq!(changed.created_at, billing.created_at);
    assert!(changed.updated_at > billing.updated_at);

    let cleared = users
        .update_role(
            billing.id,
            RoleChanges {
                external_id: Some(None),
                ..RoleChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.external_id, None);
    // A change to what the role already is writes nothing.
    let same = RoleChanges {
        name: Some(role("billing")),
        external_id: Some(None),
    };
    assert_eq!(users.update_role(billing.id, same).await.unwrap(), cleared);
}

async fn a_roles_last_modification_moves_when_its_members_change(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let modified =
        |roles: &[Role], name: &str| roles.iter().find(|r| r.name == name).unwrap().updated_at;
    let before = users.list_roles().await.unwrap();

    tick().await;
    let ana = add(&users, "ana@example.com", "staff").await;
    let joined = users.list_roles().await.unwrap();
    assert!(modified(&joined, "staff") > modified(&before, "staff"));
    assert_eq!(modified(&joined, "viewer"), modified(&before, "viewer"));

    tick().await;
    users
        .update_user(ana.id, role_change("viewer"), None)
        .await
        .unwrap();
    let moved = users.list_roles().await.unwrap();
    assert!(modified(&moved, "staff") > modified(&joined, "staff"));
    assert!(modified(&moved, "viewer") > modified(&joined, "viewer"));

    tick().await;
    users.delete_user(ana.id).await.unwrap();
    let left = users.list_roles().await.unwrap();
    assert!(modified(&left, "viewer") > modified(&moved, "viewer"));
    assert_eq!(modified(&left, "staff"), modified(&moved, "staff"));
}

async fn role_names_are_free_text_and_their_holders_are_found_by_exact_name(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let team = users.create_role(named("sales-team")).await.unwrap();
    let ana = add(&users, "ana@example.com", "sales-team").await;

    let renamed = users
        .update_role(team.id, rename("Updated-Sales Team"))
        .await
        .unwrap();

    assert_eq!(
        (renamed.name.as_str(), renamed.members),
        ("Updated-Sales Team", 1)
    );
    assert_eq!(
        users.get_user(ana.id).await.unwrap().role,
        "Updated-Sales Team"
    );
    let holders = |name: &str| roster_core::UserQuery {
        role: Some(name.into()),
        ..everyone()
    };
    let found = users
        .list_users(&holders("Updated-Sales Team"))
        .await
        .unwrap();
    assert_eq!(
        found.users.iter().map(|u| u.id).collect::<Vec<_>>(),
        [ana.id]
    );
    assert_eq!(
        users
            .list_users(&holders("updated-sales team"))
            .await
            .unwrap()
            .total,
        0
    );
    let _: RoleName = role("Updated-Sales Team");
}

async fn member_counts_follow_every_change_of_a_user(db: Db) {
    let store = db.open().await;
    let (account_id, _) = account(&store).await;
    let users = directory(&store, account_id);
    let counts = || async {
        let roles = users.list_roles().await.unwrap();
        roles
            .iter()
            .map(|r| (r.name.clone(), r.members))
            .collect::<Vec<_>>()
    };
    let of = |counts: &[(String, u64)], name: &str| {
        counts.iter().find(|(n, _)| n == name).map(|(_, c)| *c)
    };

    add(&users, "admin@example.com", "admin").await;
    let ana = add(&users, "ana@example.com", "staff").await;
    let bo = add(&users, "bo@example.com", "staff").await;
    // A create that fails changes no count.
    users
        .create_user(crate::user("ANA@example.com", "staff"))
        .await
        .unwrap_err();
    let now = counts().await;
    assert_eq!((of(&now, "staff"), of(&now, "viewer")), (Some(2), Some(0)));

    users
        .update_user(ana.id, role_change("viewer"), None)
        .await
        .unwrap();
    // Repeating the role it has is no move.
    users
        .update_user(bo.id, role_change("staff"), None)
        .await
        .unwrap();
    let now = counts().await;
    assert_eq!((of(&now, "staff"), of(&now, "viewer")), (Some(1), Some(1)));

    users.delete_user(bo.id).await.unwrap();
    let now = counts().await;
    assert_eq!(
        (of(&now, "admin"), of(&now, "staff"), of(&now, "viewer")),
        (Some(1), Some(0), Some(1))
    );
}

/// Users created without a role get the default one; without it in the catalogue, every
/// such create would be refused.
async fn the_default_role_cannot_leave_the_catalogue_by_any_route(db: Db) {
    let store = db.open().await;
    let (account_id, app_key) = account(&store).await;
    let users = directory(&store, account_id);
    let before = store.roles(&app_key).await.unwrap();
    let viewer = before.iter().find(|r| r.name == "viewer").unwrap().clone();

    match store
        .set_roles(&app_key, &[role("admin"), role("staff")])
        .await
    {
        Err(StoreError::Invalid(message)) => {
            assert!(message.contains("viewer"), "{message}");
            assert!(message.contains("without a role"), "{message}");
        }
        other => panic!("dropping the default role gave {other:?}"),
    }
    assert!(matches!(
        users.delete_role(viewer.id).await.unwrap_err(),
        DirectoryError::Unsupported(_)
    ));
    assert!(matches!(
        users
            .update_role(viewer.id, rename("guest"))
            .await
            .unwrap_err(),
        DirectoryError::Unsupported(_)
    ));
    assert_eq!(store.roles(&app_key).await.unwrap(), before);
    add(&users, "ana@example.com", "viewer").await;
}
