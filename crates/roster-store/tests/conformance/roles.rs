//! The role catalogue: adding, renaming, deleting and replacing roles.

use roster_core::{Directory, DirectoryError, Role, DEFAULT_ROLES};
use roster_store::StoreError;

use crate::{account, add, directory, everyone, role, Check, Db};

pub fn checks() -> Vec<(&'static str, Check)> {
    checks![
        a_new_account_has_the_default_catalogue,
        a_role_can_be_added_once_and_then_held,
        renaming_a_role_moves_its_holders_and_audits_each_of_them,
        the_admin_role_cannot_be_renamed_nor_another_renamed_to_admin,
        a_held_role_cannot_be_deleted_nor_the_admin_role,
        replacing_the_catalogue_refuses_to_drop_held_roles_or_admin,
        the_default_role_cannot_leave_the_catalogue_by_any_route,
    ]
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

    let billing = users.create_role(role("billing")).await.unwrap();
    assert_eq!((billing.name.as_str(), billing.members), ("billing", 0));
    assert_eq!(
        users.create_role(role("billing")).await.unwrap_err(),
        DirectoryError::RoleTaken
    );
    add(&users, "ana@example.com", "billing").await;

    let roles = users.list_roles().await.unwrap();
    assert_eq!(
        roles.last(),
        Some(&Role {
            members: 1,
            ..billing
        })
    );

    // Another account's catalogue is its own.
    let (other_id, _) = account(&store).await;
    directory(&store, other_id)
        .create_role(role("billing"))
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

    let ops = users.rename_role(staff.id, role("ops")).await.unwrap();

    assert_eq!(
        ops,
        Role {
            id: staff.id,
            name: "ops".into(),
            members: 2
        }
    );
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
    assert_eq!(users.rename_role(staff.id, role("ops")).await.unwrap(), ops);
    assert_eq!(store.audit_events(account_id).await.unwrap().len(), 4);
    assert_eq!(
        users
            .rename_role(staff.id, role("viewer"))
            .await
            .unwrap_err(),
        DirectoryError::RoleTaken
    );
    assert_eq!(
        users.rename_role(-1, role("nobody")).await.unwrap_err(),
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
            users.rename_role(id, role(name)).await.unwrap_err(),
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
            .rename_role(viewer.id, role("guest"))
            .await
            .unwrap_err(),
        DirectoryError::Unsupported(_)
    ));
    assert_eq!(store.roles(&app_key).await.unwrap(), before);
    add(&users, "ana@example.com", "viewer").await;
}
