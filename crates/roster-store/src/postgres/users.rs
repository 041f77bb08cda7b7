//! Users and roles on PostgreSQL: each write one transaction that locks the account,
//! checks the directory's rules, makes the change, and writes its audit event.
//!
//! Transactions run at READ COMMITTED, where each statement sees what committed before
//! it began; so once a write holds the account's lock, the rows it counts (other
//! admins, a role's holders) are those every earlier writer of the account left.

use roster_core::{
    role::ADMIN_ROLE, AccountUser, DirectoryError, NewRole, NewUser, Role, RoleChanges,
    UserChanges, UserPage, UserQuery,
};
use sqlx::{postgres::PgRow, AssertSqlSafe, PgConnection, PgPool, Postgres, Transaction};

use super::db_error;
use crate::{
    backend::{audit_snapshot, read_role, read_user, role_columns, user_columns, UserWriteContext},
    filter_sql::{self, Dialect, SqlParam},
    now_millis, rules, StoreError,
};

/// The unique index behind "one address per account"; see the migration.
const EMAIL_UNIQUE_INDEX: &str = "account_users_email_unique";

/// The unique index behind "one userName per account"; see migration 0002.
const USER_NAME_UNIQUE_INDEX: &str = "account_users_user_name_unique";

/// The unique constraint behind "one role of a name per account".
const ROLE_UNIQUE_CONSTRAINT: &str = "roles_account_id_name_key";

fn user_from_row(row: &PgRow) -> Result<AccountUser, sqlx::Error> {
    read_user(row)
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::Unavailable(e.to_string())
}

fn violates(e: &sqlx::Error, constraint: &str) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.constraint() == Some(constraint))
}

/// Maps the unique indexes on normalised emails and userNames to the errors a client
/// can act on.
fn write_error(e: sqlx::Error) -> DirectoryError {
    if violates(&e, EMAIL_UNIQUE_INDEX) {
        DirectoryError::EmailTaken
    } else if violates(&e, USER_NAME_UNIQUE_INDEX) {
        DirectoryError::UserNameTaken
    } else {
        unavailable(e)
    }
}

fn role_write_error(e: sqlx::Error) -> DirectoryError {
    if violates(&e, ROLE_UNIQUE_CONSTRAINT) {
        DirectoryError::RoleTaken
    } else {
        unavailable(e)
    }
}

/// Tells the two uniqueness rules apart after [`write_error`] blamed the userName: an
/// email that another user has is also that user's userName when it has none of its
/// own, so both indexes refuse it, and PostgreSQL names whichever it checked first.
/// The failed transaction is aborted, so the question goes to the pool.
async fn refine_taken(
    pool: &PgPool,
    account_id: i64,
    email_normalized: &str,
    id: Option<i64>,
    error: DirectoryError,
) -> DirectoryError {
    if error != DirectoryError::UserNameTaken {
        return error;
    }
    let email_owner: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM account_users \
         WHERE account_id = $1 AND email_normalized = $2 AND id IS DISTINCT FROM $3",
    )
    .bind(account_id)
    .bind(email_normalized)
    .bind(id)
    .fetch_optional(pool)
    .await
    .unwrap_or(None);
    if email_owner.is_some() {
        DirectoryError::EmailTaken
    } else {
        error
    }
}

/// Opens a write transaction on the account: its row stays locked until commit, so
/// the account's writers take turns, on this node and every other.
///
/// `FOR NO KEY UPDATE` rather than `FOR UPDATE`: it excludes the other writers all the
/// same, but lets token inserts, whose foreign key only needs the account to exist,
/// go on meanwhile.
async fn begin(
    pool: &PgPool,
    account_id: i64,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE")
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?;
    Ok(tx)
}

pub(super) async fn get(
    conn: &mut PgConnection,
    account_id: i64,
    id: i64,
) -> Result<Option<AccountUser>, DirectoryError> {
    sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM account_users WHERE account_id = $1 AND id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(conn)
    .await
    .and_then(|row| row.as_ref().map(user_from_row).transpose())
    .map_err(unavailable)
}

pub(super) async fn list(
    pool: &PgPool,
    account_id: i64,
    query: &UserQuery,
) -> Result<UserPage, DirectoryError> {
    if query.filter.is_some() || query.role.is_some() {
        return list_filtered(pool, account_id, query).await;
    }
    let (limit, offset) = rules::limit_and_offset(query);

    if let Some(email) = &query.email {
        let user = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM account_users WHERE account_id = $1 AND email_normalized = $2"
        ))
        .bind(account_id)
        .bind(email.to_lowercase())
        .fetch_optional(pool)
        .await
        .and_then(|row| row.as_ref().map(user_from_row).transpose())
        .map_err(unavailable)?;
        return Ok(rules::page_of_one(user, query));
    }

    let total: i64 = sqlx::query_scalar("SELECT user_count FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_one(pool)
        .await
        .map_err(unavailable)?;
    // A later page starts from the block it begins in (see the user_blocks migration),
    // so that page 500 steps over fewer than 256 users rather than 49,900.
    let sql = if offset == 0 {
        concat!(
            "SELECT ",
            user_columns!(),
            " FROM account_users WHERE account_id = $1 ORDER BY id LIMIT $2 OFFSET $3"
        )
    } else {
        concat!(
            "WITH start AS ( \
               SELECT first_id, ($3 - (running - users))::bigint AS skip FROM ( \
                 SELECT first_id, users, sum(users) OVER (ORDER BY first_id) AS running \
                 FROM user_blocks WHERE account_id = $1) blocks \
               WHERE running > $3 ORDER BY first_id LIMIT 1) \
             SELECT ",
            user_columns!(),
            " FROM account_users \
             WHERE account_id = $1 AND id >= (SELECT first_id FROM start) \
             ORDER BY id LIMIT $2 OFFSET coalesce((SELECT skip FROM start), 0)"
        )
    };
    let users = sqlx::query(sql)
        .bind(account_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await
        .and_then(|rows| rows.iter().map(user_from_row).collect())
        .map_err(unavailable)?;
    Ok(UserPage {
        users,
        total: total as u64,
    })
}

/// Binds `params` in order to a query built by [`filter_sql`].
macro_rules! bind_params {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for param in $params {
            query = match param {
                SqlParam::Text(text) => query.bind(text.as_str()),
                SqlParam::Int(n) => query.bind(*n),
                SqlParam::Bool(b) => query.bind(*b),
            };
        }
        query
    }};
}

/// A page of the users matching a SCIM filter, a role, or both (and the email, when
/// given too). The SQL is made by [`filter_sql`], whose text holds no value from the
/// filter.
async fn list_filtered(
    pool: &PgPool,
    account_id: i64,
    query: &UserQuery,
) -> Result<UserPage, DirectoryError> {
    let mut conditions = vec!["account_id = $1::bigint".to_owned()];
    let mut bound = vec![SqlParam::Int(account_id)];
    if let Some(email) = &query.email {
        bound.push(SqlParam::Text(email.to_lowercase()));
        conditions.push(format!("email_normalized = ${}::text", bound.len()));
    }
    if let Some(role) = &query.role {
        bound.push(SqlParam::Text(role.clone()));
        conditions.push(format!("role = ${}::text", bound.len()));
    }
    if let Some(filter) = &query.filter {
        let translated = filter_sql::user_filter(filter, Dialect::Postgres, bound.len() + 1)
            .map_err(|e| DirectoryError::Unsupported(e.0))?;
        conditions.push(translated.sql);
        bound.extend(translated.params);
    }
    let condition = conditions.join(" AND ");

    let count = format!("SELECT count(*) FROM account_users WHERE {condition}");
    let total: i64 = bind_params!(sqlx::query_scalar(AssertSqlSafe(count)), &bound)
        .fetch_one(pool)
        .await
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
    let select = format!(
        "SELECT {} FROM account_users WHERE {condition} ORDER BY id LIMIT ${}::bigint OFFSET ${}::bigint",
        user_columns!(),
        paging + 1,
        paging + 2
    );
    let users = bind_params!(sqlx::query(AssertSqlSafe(select)), &bound)
        .fetch_all(pool)
        .await
        .and_then(|rows| rows.iter().map(user_from_row).collect())
        .map_err(unavailable)?;
    Ok(UserPage {
        users,
        total: total as u64,
    })
}

/// Fails with the list of valid roles unless `role` is in the account's catalogue.
async fn check_role(
    conn: &mut PgConnection,
    account_id: i64,
    role: &str,
) -> Result<(), DirectoryError> {
    let known: Option<i64> =
        sqlx::query_scalar("SELECT id FROM roles WHERE account_id = $1 AND name = $2")
            .bind(account_id)
            .bind(role)
            .fetch_optional(&mut *conn)
            .await
            .map_err(unavailable)?;
    if known.is_some() {
        return Ok(());
    }
    let catalogue: Vec<String> =
        sqlx::query_scalar("SELECT name FROM roles WHERE account_id = $1 ORDER BY id")
            .bind(account_id)
            .fetch_all(conn)
            .await
            .map_err(unavailable)?;
    Err(rules::unknown_role(catalogue))
}

/// Fails when `user`, an active admin, is the account's only one.
async fn check_not_last_admin(
    conn: &mut PgConnection,
    account_id: i64,
    user: &AccountUser,
) -> Result<(), DirectoryError> {
    let others: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM account_users \
         WHERE account_id = $1 AND role = $2 AND active AND id <> $3",
    )
    .bind(account_id)
    .bind(ADMIN_ROLE)
    .bind(user.id)
    .fetch_one(conn)
    .await
    .map_err(unavailable)?;
    rules::keep_an_admin(others)
}

async fn record_event(
    conn: &mut PgConnection,
    context: &UserWriteContext,
    user_id: i64,
    action: &str,
    before: Option<&AccountUser>,
    after: Option<&AccountUser>,
) -> Result<(), DirectoryError> {
    let snapshot = |user: Option<&AccountUser>| user.map(|u| audit_snapshot(u).to_string());
    sqlx::query(
        "INSERT INTO audit_events (account_id, user_id, actor, action, at, before, after) \
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)",
    )
    .bind(context.account_id)
    .bind(user_id)
    .bind(&context.actor.0)
    .bind(action)
    .bind(now_millis())
    .bind(snapshot(before))
    .bind(snapshot(after))
    .execute(conn)
    .await
    .map_err(unavailable)?;
    Ok(())
}

/// Stamps the roles a user joined or left as modified, since a group's members are
/// part of it (RFC 7643 section 3.1, `meta.lastModified`).
async fn touch_roles(
    conn: &mut PgConnection,
    account_id: i64,
    before: Option<&AccountUser>,
    after: Option<&AccountUser>,
    now: i64,
) -> Result<(), DirectoryError> {
    for role in rules::roles_touched(before, after) {
        sqlx::query("UPDATE roles SET updated_at = $3 WHERE account_id = $1 AND name = $2")
            .bind(account_id)
            .bind(role)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(unavailable)?;
    }
    Ok(())
}

async fn adjust_user_count(
    conn: &mut PgConnection,
    account_id: i64,
    by: i64,
) -> Result<(), DirectoryError> {
    sqlx::query("UPDATE accounts SET user_count = user_count + $2 WHERE id = $1")
        .bind(account_id)
        .bind(by)
        .execute(conn)
        .await
        .map_err(unavailable)?;
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all, fields(account_id = context.account_id))]
pub(super) async fn create(
    pool: &PgPool,
    context: &UserWriteContext,
    user: NewUser,
) -> Result<AccountUser, DirectoryError> {
    let mut tx = begin(pool, context.account_id).await.map_err(unavailable)?;
    let role = rules::role_of_new_user(&user);
    check_role(&mut tx, context.account_id, role).await?;

    let now = now_millis();
    let (user_name, user_name_normalized) = rules::user_name_of_new_user(&user);
    let created = sqlx::query(concat!(
        "INSERT INTO account_users (account_id, email, email_normalized, name, role, active, \
         external_id, created_at, updated_at, user_name, user_name_normalized) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10) RETURNING ",
        user_columns!()
    ))
    .bind(context.account_id)
    .bind(user.email.as_str())
    .bind(user.email.normalized())
    .bind(&user.name)
    .bind(role)
    .bind(user.active)
    .bind(&user.external_id)
    .bind(now)
    .bind(user_name)
    .bind(user_name_normalized)
    .fetch_one(&mut *tx)
    .await
    .and_then(|row| user_from_row(&row));
    let created = match created {
        Ok(created) => created,
        Err(e) => {
            drop(tx);
            let email = user.email.normalized();
            return Err(refine_taken(pool, context.account_id, &email, None, write_error(e)).await);
        }
    };
    adjust_user_count(&mut tx, context.account_id, 1).await?;
    touch_roles(&mut tx, context.account_id, None, Some(&created), now).await?;
    record_event(&mut tx, context, created.id, "create", None, Some(&created)).await?;

    tx.commit().await.map_err(unavailable)?;
    Ok(created)
}

#[tracing::instrument(
    level = "debug",
    skip_all,
    fields(account_id = context.account_id, user_id = id)
)]
pub(super) async fn update(
    pool: &PgPool,
    context: &UserWriteContext,
    id: i64,
    changes: UserChanges,
    expected_version: Option<i64>,
) -> Result<AccountUser, DirectoryError> {
    let mut tx = begin(pool, context.account_id).await.map_err(unavailable)?;
    let before = get(&mut tx, context.account_id, id)
        .await?
        .ok_or(DirectoryError::UserNotFound)?;
    let Some(plan) = rules::plan_update(&before, changes, expected_version)? else {
        return Ok(before);
    };
    if let Some(role) = &plan.role {
        check_role(&mut tx, context.account_id, role.as_str()).await?;
    }
    if plan.leaves_admins {
        check_not_last_admin(&mut tx, context.account_id, &before).await?;
    }

    let planned = &plan.after;
    let now = now_millis();
    let after = sqlx::query(concat!(
        "UPDATE account_users SET email = $3, \
         email_normalized = coalesce($4, email_normalized), name = $5, role = $6, \
         active = $7, external_id = $8, updated_at = $9, user_name = $10, \
         user_name_normalized = $11, version = version + 1 \
         WHERE account_id = $1 AND id = $2 RETURNING ",
        user_columns!()
    ))
    .bind(context.account_id)
    .bind(id)
    .bind(&planned.email)
    .bind(&plan.email_normalized)
    .bind(&planned.name)
    .bind(&planned.role)
    .bind(planned.active)
    .bind(&planned.external_id)
    .bind(now)
    .bind(&planned.user_name)
    .bind(&plan.user_name_normalized)
    .fetch_one(&mut *tx)
    .await
    .and_then(|row| user_from_row(&row));
    let after = match after {
        Ok(after) => after,
        Err(e) => {
            drop(tx);
            let email = planned.email.to_lowercase();
            return Err(
                refine_taken(pool, context.account_id, &email, Some(id), write_error(e)).await,
            );
        }
    };
    touch_roles(
        &mut tx,
        context.account_id,
        Some(&before),
        Some(&after),
        now,
    )
    .await?;
    record_event(&mut tx, context, id, "update", Some(&before), Some(&after)).await?;

    tx.commit().await.map_err(unavailable)?;
    Ok(after)
}

#[tracing::instrument(
    level = "debug",
    skip_all,
    fields(account_id = context.account_id, user_id = id)
)]
pub(super) async fn delete(
    pool: &PgPool,
    context: &UserWriteContext,
    id: i64,
) -> Result<(), DirectoryError> {
    let mut tx = begin(pool, context.account_id).await.map_err(unavailable)?;
    let before = get(&mut tx, context.account_id, id)
        .await?
        .ok_or(DirectoryError::UserNotFound)?;
    if before.is_active_admin() {
        check_not_last_admin(&mut tx, context.account_id, &before).await?;
    }

    sqlx::query("DELETE FROM account_users WHERE account_id = $1 AND id = $2")
        .bind(context.account_id)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
    adjust_user_count(&mut tx, context.account_id, -1).await?;
    touch_roles(
        &mut tx,
        context.account_id,
        Some(&before),
        None,
        now_millis(),
    )
    .await?;
    record_event(&mut tx, context, id, "delete", Some(&before), None).await?;

    tx.commit().await.map_err(unavailable)
}

pub(super) async fn list_roles(
    conn: &mut PgConnection,
    account_id: i64,
) -> Result<Vec<Role>, StoreError> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        role_columns!(),
        " FROM roles r JOIN accounts a ON a.id = r.account_id \
         WHERE r.account_id = $1 ORDER BY r.id"
    ))
    .bind(account_id)
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(read_role)
        .collect::<Result<_, sqlx::Error>>()
        .map_err(db_error)
}

async fn role_by_id(
    conn: &mut PgConnection,
    account_id: i64,
    id: i64,
) -> Result<Role, DirectoryError> {
    list_roles(conn, account_id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(DirectoryError::RoleNotFound)
}

pub(super) async fn create_role(
    pool: &PgPool,
    account_id: i64,
    role: &NewRole,
) -> Result<Role, DirectoryError> {
    let mut tx = begin(pool, account_id).await.map_err(unavailable)?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO roles (account_id, name, external_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(account_id)
    .bind(role.name.as_str())
    .bind(&role.external_id)
    .bind(now_millis())
    .fetch_one(&mut *tx)
    .await
    .map_err(role_write_error)?;
    let created = role_by_id(&mut tx, account_id, id).await?;
    tx.commit().await.map_err(unavailable)?;
    Ok(created)
}

#[tracing::instrument(
    level = "debug",
    skip_all,
    fields(account_id = context.account_id, role_id = id)
)]
pub(super) async fn update_role(
    pool: &PgPool,
    context: &UserWriteContext,
    id: i64,
    changes: RoleChanges,
) -> Result<Role, DirectoryError> {
    let mut tx = begin(pool, context.account_id).await.map_err(unavailable)?;
    let role = role_by_id(&mut tx, context.account_id, id).await?;
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
    sqlx::query(
        "UPDATE roles SET name = $3, external_id = $4, updated_at = $5 \
         WHERE account_id = $1 AND id = $2",
    )
    .bind(context.account_id)
    .bind(id)
    .bind(name)
    .bind(&external_id)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(role_write_error)?;
    if changes.name.is_some() {
        rename_holders(&mut tx, context, &role.name, name, now).await?;
        // The member-count trigger moved the holders from a name that no longer exists
        // to the renamed role, which counted them already: count them again.
        sqlx::query(
            "UPDATE roles SET member_count = (SELECT count(*) FROM account_users \
             WHERE account_id = $1 AND role = $3) WHERE account_id = $1 AND id = $2",
        )
        .bind(context.account_id)
        .bind(id)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
    }

    let updated = role_by_id(&mut tx, context.account_id, id).await?;
    tx.commit().await.map_err(unavailable)?;
    Ok(updated)
}

/// Moves the holders of a renamed role to its new name; each such change is audited
/// like any other.
async fn rename_holders(
    conn: &mut PgConnection,
    context: &UserWriteContext,
    old: &str,
    new: &str,
    now: i64,
) -> Result<(), DirectoryError> {
    let holders: Vec<AccountUser> = sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM account_users WHERE account_id = $1 AND role = $2 ORDER BY id"
    ))
    .bind(context.account_id)
    .bind(old)
    .fetch_all(&mut *conn)
    .await
    .and_then(|rows| rows.iter().map(user_from_row).collect())
    .map_err(unavailable)?;
    for before in holders {
        let after = sqlx::query(concat!(
            "UPDATE account_users SET role = $3, updated_at = $4, version = version + 1 \
             WHERE account_id = $1 AND id = $2 RETURNING ",
            user_columns!()
        ))
        .bind(context.account_id)
        .bind(before.id)
        .bind(new)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .and_then(|row| user_from_row(&row))
        .map_err(unavailable)?;
        record_event(
            conn,
            context,
            before.id,
            "update",
            Some(&before),
            Some(&after),
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn delete_role(
    pool: &PgPool,
    account_id: i64,
    id: i64,
) -> Result<(), DirectoryError> {
    let mut tx = begin(pool, account_id).await.map_err(unavailable)?;
    rules::check_role_deletable(&role_by_id(&mut tx, account_id, id).await?)?;
    sqlx::query("DELETE FROM roles WHERE account_id = $1 AND id = $2")
        .bind(account_id)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)
}

/// Makes the catalogue exactly `roles`, refusing to drop a role that users hold.
pub(super) async fn set_roles(
    pool: &PgPool,
    account_id: i64,
    roles: &[String],
) -> Result<(), StoreError> {
    let mut tx = begin(pool, account_id).await.map_err(db_error)?;
    let plan = rules::plan_catalogue(&list_roles(&mut tx, account_id).await?, roles)?;
    for id in plan.drop {
        sqlx::query("DELETE FROM roles WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    let now = now_millis();
    for name in plan.add {
        sqlx::query(
            "INSERT INTO roles (account_id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)",
        )
        .bind(account_id)
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    }
    tx.commit().await.map_err(db_error)
}
