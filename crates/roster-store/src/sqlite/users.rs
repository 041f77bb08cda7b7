//! Users and roles on SQLite. Each write runs in the writer's transaction, in a savepoint
//! of its own: it checks the directory's rules, makes the change, and writes its audit event.

use roster_core::{
    role::ADMIN_ROLE, AccountUser, DirectoryError, NewRole, NewUser, Role, RoleChanges,
    UserChanges, UserPage, UserQuery,
};
use rusqlite::{
    params, params_from_iter,
    types::{ToSql, ToSqlOutput},
    Connection, ErrorCode, OptionalExtension,
};

use super::db_error;
use crate::{
    backend::{audit_snapshot, read_role, read_user, role_columns, user_columns, UserWriteContext},
    filter_sql::{self, Dialect, SqlParam},
    now_millis, rules, StoreError,
};

const USER_COLUMNS: &str = user_columns!();

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AccountUser> {
    read_user(row)
}

fn unavailable(e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::Unavailable(e.to_string())
}

/// Maps the unique indexes on normalised emails and userNames to the errors a client
/// can act on. SQLite names the index's columns in its message.
fn write_error(e: rusqlite::Error) -> DirectoryError {
    if let rusqlite::Error::SqliteFailure(failure, Some(message)) = &e {
        if failure.code == ErrorCode::ConstraintViolation {
            if message.contains("account_users.email_normalized") {
                return DirectoryError::EmailTaken;
            }
            if message.contains("account_users.user_name_key") {
                return DirectoryError::UserNameTaken;
            }
        }
    }
    unavailable(e)
}

/// Tells the two uniqueness rules apart after [`write_error`] blamed the userName: an
/// email that another user has is also that user's userName when it has none of its
/// own, so both indexes refuse it, and SQLite names whichever it checked first.
fn refine_taken(
    tx: &Connection,
    account_id: i64,
    email_normalized: &str,
    id: Option<i64>,
    error: DirectoryError,
) -> DirectoryError {
    if error != DirectoryError::UserNameTaken {
        return error;
    }
    let email_owner: Option<i64> = tx
        .prepare_cached(
            "SELECT id FROM account_users \
             WHERE account_id = ?1 AND email_normalized = ?2 AND id IS NOT ?3",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![account_id, email_normalized, id], |row| row.get(0))
                .optional()
        })
        .unwrap_or(None);
    if email_owner.is_some() {
        DirectoryError::EmailTaken
    } else {
        error
    }
}

pub(crate) fn get(
    conn: &Connection,
    account_id: i64,
    id: i64,
) -> Result<Option<AccountUser>, DirectoryError> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM account_users WHERE account_id = ?1 AND id = ?2"
    ))
    .and_then(|mut stmt| {
        stmt.query_row(params![account_id, id], user_from_row)
            .optional()
    })
    .map_err(unavailable)
}

pub(crate) fn list(
    conn: &Connection,
    account_id: i64,
    query: &UserQuery,
) -> Result<UserPage, DirectoryError> {
    if query.filter.is_some() || query.role.is_some() {
        return list_filtered(conn, account_id, query);
    }
    let (limit, offset) = rules::limit_and_offset(query);

    if let Some(email) = &query.email {
        let normalized = email.to_lowercase();
        let user = conn
            .prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM account_users WHERE account_id = ?1 AND email_normalized = ?2"
            ))
            .and_then(|mut stmt| {
                stmt.query_row(params![account_id, normalized], user_from_row)
                    .optional()
            })
            .map_err(unavailable)?;
        return Ok(rules::page_of_one(user, query));
    }

    let total: i64 = conn
        .prepare_cached("SELECT user_count FROM accounts WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([account_id], |row| row.get(0)))
        .map_err(unavailable)?;
    // A later page starts from the block it begins in (see the user_blocks migration),
    // so that page 500 steps over fewer than 256 users rather than 49,900.
    let sql = if offset == 0 {
        format!(
            "SELECT {USER_COLUMNS} FROM account_users WHERE account_id = ?1 \
             ORDER BY id LIMIT ?2 OFFSET ?3"
        )
    } else {
        format!(
            "WITH start AS ( \
               SELECT first_id, ?3 - (running - users) AS skip FROM ( \
                 SELECT first_id, users, sum(users) OVER (ORDER BY first_id) AS running \
                 FROM user_blocks WHERE account_id = ?1) \
               WHERE running > ?3 ORDER BY first_id LIMIT 1) \
             SELECT {USER_COLUMNS} FROM account_users \
             WHERE account_id = ?1 AND id >= (SELECT first_id FROM start) \
             ORDER BY id LIMIT ?2 OFFSET coalesce((SELECT skip FROM start), 0)"
        )
    };
    let mut stmt = conn.prepare_cached(&sql).map_err(unavailable)?;
    let users = stmt
        .query_map(params![account_id, limit, offset], user_from_row)
        .map_err(unavailable)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unavailable)?;
    Ok(UserPage {
        users,
        total: total as u64,
    })
}

/// A page of the users matching a SCIM filter, a role, or both (and the email, when
/// given too).
///
/// The statements are cached like the fixed ones: a filter's SQL depends only on its
/// shape, its values being bound, and identity providers send a handful of shapes over
/// and over (`userName eq "..."` above all).
fn list_filtered(
    conn: &Connection,
    account_id: i64,
    query: &UserQuery,
) -> Result<UserPage, DirectoryError> {
    let mut conditions = vec!["account_id = ?1".to_owned()];
    let mut bound = vec![SqlParam::Int(account_id)];
    if let Some(email) = &query.email {
        bound.push(SqlParam::Text(email.to_lowercase()));
        conditions.push(format!("email_normalized = ?{}", bound.len()));
    }
    if let Some(role) = &query.role {
        bound.push(SqlParam::Text(role.clone()));
        conditions.push(format!("role = ?{}", bound.len()));
    }
    if let Some(filter) = &query.filter {
        let translated = filter_sql::user_filter(filter, Dialect::Sqlite, bound.len() + 1)
            .map_err(|e| DirectoryError::Unsupported(e.0))?;
        conditions.push(translated.sql);
        bound.extend(translated.params);
    }
    let condition = conditions.join(" AND ");

    let total: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM account_users WHERE {condition}"
        ))
        .and_then(|mut stmt| stmt.query_row(params_from_iter(&bound), |row| row.get(0)))
        .map_err(unavailable)?;
    if query.limit == 0 {
        return Ok(UserPage {
            users: Vec::new(),
            total: total as u64,
        });
    }

    let paging = bound.len();
    let (limit, offset) = rules::limit_and_offset(query);
    bound.push(SqlParam::Int(limit));
    bound.push(SqlParam::Int(offset));
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM account_users WHERE {condition} \
             ORDER BY id LIMIT ?{} OFFSET ?{}",
            paging + 1,
            paging + 2
        ))
        .map_err(unavailable)?;
    let users = stmt
        .query_map(params_from_iter(&bound), user_from_row)
        .map_err(unavailable)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unavailable)?;
    Ok(UserPage {
        users,
        total: total as u64,
    })
}

impl ToSql for SqlParam {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            SqlParam::Text(text) => ToSqlOutput::from(text.as_str()),
            SqlParam::Int(n) => ToSqlOutput::from(*n),
            SqlParam::Bool(b) => ToSqlOutput::from(*b),
        })
    }
}

fn role_names(conn: &Connection, account_id: i64) -> Result<Vec<String>, DirectoryError> {
    let mut stmt = conn
        .prepare_cached("SELECT name FROM roles WHERE account_id = ?1 ORDER BY id")
        .map_err(unavailable)?;
    let names = stmt
        .query_map([account_id], |row| row.get(0))
        .map_err(unavailable)?
        .collect::<Result<Vec<String>, _>>()
        .map_err(unavailable)?;
    Ok(names)
}

/// Fails with the list of valid roles unless `role` is in the account's catalogue.
fn check_role(conn: &Connection, account_id: i64, role: &str) -> Result<(), DirectoryError> {
    let known: Option<i64> = conn
        .prepare_cached("SELECT id FROM roles WHERE account_id = ?1 AND name = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(params![account_id, role], |row| row.get(0))
                .optional()
        })
        .map_err(unavailable)?;
    match known {
        Some(_) => Ok(()),
        None => Err(rules::unknown_role(role_names(conn, account_id)?)),
    }
}

/// Fails when `user`, an active admin, is the account's only one.
fn check_not_last_admin(
    conn: &Connection,
    account_id: i64,
    user: &AccountUser,
) -> Result<(), DirectoryError> {
    let others: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM account_users \
             WHERE account_id = ?1 AND role = ?2 AND active = 1 AND id <> ?3",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![account_id, ADMIN_ROLE, user.id], |row| row.get(0))
        })
        .map_err(unavailable)?;
    rules::keep_an_admin(others)
}

fn record_event(
    tx: &Connection,
    context: &UserWriteContext,
    user_id: i64,
    action: &str,
    before: Option<&AccountUser>,
    after: Option<&AccountUser>,
) -> Result<(), DirectoryError> {
    let snapshot = |user: Option<&AccountUser>| user.map(|u| audit_snapshot(u).to_string());
    tx.prepare_cached(
        "INSERT INTO audit_events (account_id, user_id, actor, action, at, before, after) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            context.account_id,
            user_id,
            context.actor.0,
            action,
            now_millis(),
            snapshot(before),
            snapshot(after),
        ])
    })
    .map_err(unavailable)?;
    Ok(())
}

/// Stamps the roles a user joined or left as modified, since a group's members are
/// part of it (RFC 7643 section 3.1, `meta.lastModified`).
fn touch_roles(
    tx: &Connection,
    account_id: i64,
    before: Option<&AccountUser>,
    after: Option<&AccountUser>,
    now: i64,
) -> Result<(), DirectoryError> {
    for role in rules::roles_touched(before, after) {
        tx.prepare_cached("UPDATE roles SET updated_at = ?3 WHERE account_id = ?1 AND name = ?2")
            .and_then(|mut stmt| stmt.execute(params![account_id, role, now]))
            .map_err(unavailable)?;
    }
    Ok(())
}

fn adjust_user_count(tx: &Connection, account_id: i64, by: i64) -> Result<(), DirectoryError> {
    tx.prepare_cached("UPDATE accounts SET user_count = user_count + ?2 WHERE id = ?1")
        .and_then(|mut stmt| stmt.execute(params![account_id, by]))
        .map_err(unavailable)?;
    Ok(())
}

pub(crate) fn create(
    tx: &Connection,
    context: &UserWriteContext,
    user: NewUser,
) -> Result<AccountUser, DirectoryError> {
    let role = rules::role_of_new_user(&user).to_owned();
    check_role(tx, context.account_id, &role)?;

    let now = now_millis();
    let (user_name, user_name_normalized) = rules::user_name_of_new_user(&user);
    let created = tx
        .prepare_cached(&format!(
            "INSERT INTO account_users \
             (account_id, email, email_normalized, name, role, active, external_id, created_at, updated_at, \
             user_name, user_name_normalized) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10) RETURNING {USER_COLUMNS}"
        ))
        .and_then(|mut stmt| {
            stmt.query_row(
                params![
                    context.account_id,
                    user.email.as_str(),
                    user.email.normalized(),
                    user.name,
                    role,
                    user.active,
                    user.external_id,
                    now,
                    user_name,
                    user_name_normalized,
                ],
                user_from_row,
            )
        })
        .map_err(write_error)
        .map_err(|e| refine_taken(tx, context.account_id, &user.email.normalized(), None, e))?;
    adjust_user_count(tx, context.account_id, 1)?;
    touch_roles(tx, context.account_id, None, Some(&created), now)?;
    record_event(tx, context, created.id, "create", None, Some(&created))?;

    Ok(created)
}

pub(crate) fn update(
    tx: &Connection,
    context: &UserWriteContext,
    id: i64,
    changes: UserChanges,
    expected_version: Option<i64>,
) -> Result<AccountUser, DirectoryError> {
    let before = get(tx, context.account_id, id)?.ok_or(DirectoryError::UserNotFound)?;
    let Some(plan) = rules::plan_update(&before, changes, expected_version)? else {
        return Ok(before);
    };
    if let Some(role) = &plan.role {
        check_role(tx, context.account_id, role.as_str())?;
    }
    if plan.leaves_admins {
        check_not_last_admin(tx, context.account_id, &before)?;
    }

    let planned = &plan.after;
    let now = now_millis();
    let after = tx
        .prepare_cached(&format!(
            "UPDATE account_users SET email = ?3, email_normalized = coalesce(?4, email_normalized), \
             name = ?5, role = ?6, active = ?7, external_id = ?8, updated_at = ?9, \
             user_name = ?10, user_name_normalized = ?11, \
             version = version + 1 WHERE account_id = ?1 AND id = ?2 RETURNING {USER_COLUMNS}"
        ))
        .and_then(|mut stmt| {
            stmt.query_row(
                params![
                    context.account_id,
                    id,
                    planned.email,
                    plan.email_normalized,
                    planned.name,
                    planned.role,
                    planned.active,
                    planned.external_id,
                    now,
                    planned.user_name,
                    plan.user_name_normalized,
                ],
                user_from_row,
            )
        })
        .map_err(write_error)
        .map_err(|e| {
            let email = planned.email.to_lowercase();
            refine_taken(tx, context.account_id, &email, Some(id), e)
        })?;
    touch_roles(tx, context.account_id, Some(&before), Some(&after), now)?;
    record_event(tx, context, id, "update", Some(&before), Some(&after))?;

    Ok(after)
}

pub(crate) fn delete(
    tx: &Connection,
    context: &UserWriteContext,
    id: i64,
) -> Result<(), DirectoryError> {
    let before = get(tx, context.account_id, id)?.ok_or(DirectoryError::UserNotFound)?;
    if before.is_active_admin() {
        check_not_last_admin(tx, context.account_id, &before)?;
    }

    tx.prepare_cached("DELETE FROM account_users WHERE account_id = ?1 AND id = ?2")
        .and_then(|mut stmt| stmt.execute(params![context.account_id, id]))
        .map_err(unavailable)?;
    adjust_user_count(tx, context.account_id, -1)?;
    touch_roles(tx, context.account_id, Some(&before), None, now_millis())?;
    record_event(tx, context, id, "delete", Some(&before), None)?;

    Ok(())
}

pub(crate) fn list_roles(conn: &Connection, account_id: i64) -> Result<Vec<Role>, StoreError> {
    let mut stmt = conn
        .prepare_cached(concat!(
            "SELECT ",
            role_columns!(),
            " FROM roles r JOIN accounts a ON a.id = r.account_id \
             WHERE r.account_id = ?1 ORDER BY r.id"
        ))
        .map_err(db_error)?;
    let roles = stmt
        .query_map([account_id], |row| read_role(row))
        .map_err(db_error)?
        .collect::<Result<_, _>>()
        .map_err(db_error)?;
    Ok(roles)
}

fn role_by_id(conn: &Connection, account_id: i64, id: i64) -> Result<Role, DirectoryError> {
    list_roles(conn, account_id)?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(DirectoryError::RoleNotFound)
}

fn role_write_error(e: rusqlite::Error) -> DirectoryError {
    match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => DirectoryError::RoleTaken,
        _ => unavailable(e),
    }
}

pub(crate) fn create_role(
    tx: &Connection,
    account_id: i64,
    role: &NewRole,
) -> Result<Role, DirectoryError> {
    tx.execute(
        "INSERT INTO roles (account_id, name, external_id, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![
            account_id,
            role.name.as_str(),
            role.external_id,
            now_millis()
        ],
    )
    .map_err(role_write_error)?;
    let created = role_by_id(tx, account_id, tx.last_insert_rowid())?;
    Ok(created)
}

pub(crate) fn update_role(
    tx: &Connection,
    context: &UserWriteContext,
    id: i64,
    changes: RoleChanges,
) -> Result<Role, DirectoryError> {
    let role = role_by_id(tx, context.account_id, id)?;
    let Some(changes) = rules::plan_role_update(&role, changes)? else {
        return Ok(role);
    };
    let now = now_millis();
    let name = changes
        .name
        .as_ref()
        .map_or(role.name.as_str(), |n| n.as_str());
    let external_id = changes
        .external_id
        .unwrap_or_else(|| role.external_id.clone());
    tx.execute(
        "UPDATE roles SET name = ?3, external_id = ?4, updated_at = ?5 \
         WHERE account_id = ?1 AND id = ?2",
        params![context.account_id, id, name, external_id, now],
    )
    .map_err(role_write_error)?;
    if changes.name.is_some() {
        rename_holders(tx, context, &role.name, name, now)?;
        // The member-count triggers moved the holders from a name that no longer
        // exists to the renamed role, which counted them already: count them again.
        tx.prepare_cached(
            "UPDATE roles SET member_count = (SELECT count(*) FROM account_users \
             WHERE account_id = ?1 AND role = ?3) WHERE account_id = ?1 AND id = ?2",
        )
        .and_then(|mut stmt| stmt.execute(params![context.account_id, id, name]))
        .map_err(unavailable)?;
    }

    let updated = role_by_id(tx, context.account_id, id)?;
    Ok(updated)
}

/// Moves the holders of a renamed role to its new name; each such change is audited
/// like any other.
fn rename_holders(
    tx: &Connection,
    context: &UserWriteContext,
    old: &str,
    new: &str,
    now: i64,
) -> Result<(), DirectoryError> {
    let holders = {
        let mut stmt = tx
            .prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM account_users WHERE account_id = ?1 AND role = ?2"
            ))
            .map_err(unavailable)?;
        let rows = stmt
            .query_map(params![context.account_id, old], user_from_row)
            .map_err(unavailable)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)?
    };
    for before in holders {
        let after = tx
            .prepare_cached(&format!(
                "UPDATE account_users SET role = ?3, updated_at = ?4, version = version + 1 \
                 WHERE account_id = ?1 AND id = ?2 RETURNING {USER_COLUMNS}"
            ))
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![context.account_id, before.id, new, now],
                    user_from_row,
                )
            })
            .map_err(unavailable)?;
        record_event(
            tx,
            context,
            before.id,
            "update",
            Some(&before),
            Some(&after),
        )?;
    }
    Ok(())
}

pub(crate) fn delete_role(tx: &Connection, account_id: i64, id: i64) -> Result<(), DirectoryError> {
    rules::check_role_deletable(&role_by_id(tx, account_id, id)?)?;
    tx.execute(
        "DELETE FROM roles WHERE account_id = ?1 AND id = ?2",
        params![account_id, id],
    )
    .map_err(unavailable)?;
    Ok(())
}

/// Makes the catalogue exactly `roles`, refusing to drop a role that users hold.
pub(crate) fn set_roles(
    tx: &Connection,
    account_id: i64,
    roles: &[String],
) -> Result<(), StoreError> {
    let plan = rules::plan_catalogue(&list_roles(tx, account_id)?, roles)?;
    for id in plan.drop {
        tx.execute("DELETE FROM roles WHERE id = ?1", [id])
            .map_err(db_error)?;
    }
    let now = now_millis();
    for name in plan.add {
        tx.execute(
            "INSERT INTO roles (account_id, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
            params![account_id, name, now],
        )
        .map_err(db_error)?;
    }
    Ok(())
}
