//! `/apps/{app_key}/account_users`: list, read, create, update and delete the users of
//! an account, under both the bare and the `/v1` prefix.

use std::collections::HashMap;

use axum::{
    extract::{RawQuery, State},
    http::HeaderMap,
    routing::get,
    Json, Router,
};
use chrono::SecondsFormat;
use roster_api::{
    users::{
        self as wire, AccountUserFields, AccountUserList, AccountUserRequest, AccountUserResponse,
        Pagination, DEFAULT_PER_PAGE, MAX_PER_PAGE,
    },
    Empty, Envelope,
};
use roster_core::{
    user::normalize_name, AccountUser, Actor, Directory, DirectoryError, Email, EmailError,
    NewUser, RoleName, UserChanges, UserQuery,
};
use roster_store::StoreDirectory;
use utoipa::OpenApi;

use crate::{
    auth::{authorize, presented_token},
    extract::{json_body, query_map, readable_json, Body, PathParams},
    openapi::PatchLikePut,
    ApiError, AppState,
};

pub fn router() -> Router<AppState> {
    let users = Router::new()
        .route(
            "/apps/{app_key}/account_users",
            get(list_account_users).post(create_account_user),
        )
        .route(
            "/apps/{app_key}/account_users/{id}",
            get(get_account_user)
                .put(update_account_user)
                .patch(update_account_user)
                .delete(delete_account_user),
        );
    Router::new().merge(users.clone()).nest("/v1", users)
}

/// The operations of this module, for the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_account_users,
        create_account_user,
        get_account_user,
        update_account_user,
        delete_account_user,
    ),
    modifiers(&PatchLikePut)
)]
pub struct ApiDoc;

type Reply<T> = Result<Json<Envelope<T>>, ApiError>;

/// What every call starts with: the query, and the directory of the account the
/// presented token grants access to.
async fn open_directory(
    state: &AppState,
    app_key: &str,
    query: &HashMap<String, String>,
    body_token: Option<&str>,
    headers: &HeaderMap,
) -> Result<StoreDirectory, ApiError> {
    let token = presented_token(query.get("utoken").map(String::as_str), body_token, headers);
    let account_id = authorize(state, app_key, token).await?;
    Ok(state
        .store
        .directory(account_id, Actor(format!("api:{app_key}"))))
}

/// The `utoken` of a JSON body, for calls whose body carries nothing else.
///
/// A body that is sent must be readable JSON, and is checked before authorization:
/// the token may be inside it, so a body that cannot be read would otherwise be
/// answered as a missing token. Saying that it is not JSON tells an unauthorized caller
/// nothing it did not send.
fn body_token(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.trim_ascii().is_empty() {
        return Ok(None);
    }
    let value: serde_json::Value = readable_json(body)?;
    Ok(value
        .get("utoken")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned))
}

/// Ids are written in one way only: decimal digits, no sign, no leading zero.
fn parse_id(raw: &str) -> Result<i64, ApiError> {
    let canonical = raw.bytes().all(|b| b.is_ascii_digit()) && !raw.starts_with('0');
    canonical
        .then(|| raw.parse::<i64>().ok())
        .flatten()
        .ok_or_else(|| ApiError::UserNotFound(raw.to_owned()))
}

/// Reads a positive integer parameter, checking it against `max`.
///
/// Out-of-range values are refused rather than clamped: a client that stops when a page
/// comes back shorter than it asked for would end early on a silently clamped count.
fn page_param(
    query: &HashMap<String, String>,
    name: &str,
    default: u64,
    max: Option<u64>,
) -> Result<u64, ApiError> {
    let Some(raw) = query.get(name) else {
        return Ok(default);
    };
    let value = raw.trim().parse::<u64>().ok().filter(|v| *v >= 1);
    match (value, max) {
        (Some(v), Some(max)) if v <= max => Ok(v),
        (Some(v), None) => Ok(v),
        _ => Err(ApiError::InvalidParameters(match max {
            Some(max) => format!("{name} must be an integer from 1 to {max}, got {raw:?}"),
            None => format!("{name} must be an integer of 1 or more, got {raw:?}"),
        })),
    }
}

pub fn to_wire(user: &AccountUser) -> wire::AccountUser {
    wire::AccountUser {
        id: user.id,
        email: user.email.clone(),
        name: user.name.clone(),
        role: user.role.clone(),
        created_at: user.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        updated_at: user.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        active: user.active,
    }
}

fn parse_email(raw: &str) -> Result<Email, ApiError> {
    Email::parse(raw).map_err(|e| {
        ApiError::RecordInvalid(match e {
            EmailError::Empty => "Email can't be blank".to_owned(),
            other => format!("Email is invalid: {other}"),
        })
    })
}

fn parse_name(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    normalize_name(raw).map_err(|e| ApiError::RecordInvalid(format!("Name is invalid: {e}")))
}

/// A well-formed role name, or the same 422 an unknown one gets, listing valid roles.
async fn parse_role(directory: &StoreDirectory, raw: &str) -> Result<RoleName, ApiError> {
    match RoleName::parse(raw) {
        Ok(role) => Ok(role),
        Err(_) => {
            let valid = directory
                .list_roles()
                .await
                .map_err(|e| ApiError::from_directory(e, None))?;
            Err(ApiError::from_directory(
                DirectoryError::UnknownRole {
                    valid: valid.into_iter().map(|r| r.name).collect(),
                },
                None,
            ))
        }
    }
}

/// What a create or update body holds: the token, and the fields once authorized.
type UserRequest = (Option<String>, Result<AccountUserFields, ApiError>);

/// Reads a create or update body. A body that is not JSON at all is refused at once
/// (see [`body_token`]); one of the wrong shape is reported after authorization, so
/// that a caller without a valid token learns nothing about what the API expects.
fn read_user_request(body: &[u8]) -> Result<UserRequest, ApiError> {
    let token = body_token(body)?;
    if body.trim_ascii().is_empty() {
        return Ok((
            None,
            Err(ApiError::InvalidParameters(
                "The request body must be a JSON object with an account_user object".to_owned(),
            )),
        ));
    }
    Ok(match json_body::<AccountUserRequest>(body) {
        Ok(request) => (request.utoken, Ok(request.account_user)),
        Err(e) => (token, Err(e)),
    })
}

/// Lists the users of an account, a page at a time.
///
/// The `email` filter is exact and ignores case; a client should still check the
/// addresses it gets back.
#[utoipa::path(
    get,
    path = "/apps/{app_key}/account_users",
    tag = "account users",
    security(("utoken" = []), ("x_yotpo_token" = []), ("bearer" = [])),
    params(
        ("app_key" = String, Path, description = "The account's app key"),
        ("page" = Option<u64>, Query, minimum = 1, description = "Page number, from 1"),
        ("count" = Option<u64>, Query, minimum = 1, maximum = 100, description = "Users a page, 1 to 100; 10 when absent"),
        ("email" = Option<String>, Query, description = "Only the user with this address, compared without regard to case"),
    ),
    responses(
        (status = 200, description = "A page of the users of the account, by id ascending", body = Envelope<AccountUserList>),
        (status = 400, response = crate::openapi::InvalidParameters),
        (status = 401, response = crate::openapi::AccessDenied),
        (status = 404, response = crate::openapi::RecordNotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 429, response = crate::openapi::TooManyRequests),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
pub async fn list_account_users(
    State(state): State<AppState>,
    PathParams(app_key): PathParams<String>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    Body(body): Body,
) -> Reply<AccountUserList> {
    let query = query_map(raw_query.as_deref())?;
    let token = body_token(&body)?;
    let directory = open_directory(&state, &app_key, &query, token.as_deref(), &headers).await?;

    let page = page_param(&query, "page", 1, None)?;
    let count = page_param(&query, "count", DEFAULT_PER_PAGE, Some(MAX_PER_PAGE))?;
    // An empty filter is refused rather than ignored: a script that looks a user up by
    // an unset variable and deletes the first match must not get everyone back.
    let email = match query.get("email") {
        Some(email) if email.trim().is_empty() => {
            return Err(ApiError::InvalidParameters(
                "email must be an address; leave the parameter out to list every user".to_owned(),
            ))
        }
        // No address holds one, and PostgreSQL could not even compare it.
        Some(email) if email.chars().any(char::is_control) => {
            return Err(ApiError::InvalidParameters(
                "email must not contain control characters such as NUL (%00); \
                 send the address alone"
                    .to_owned(),
            ))
        }
        email => email.cloned(),
    };

    let found = directory
        .list_users(&UserQuery {
            email,
            offset: (page - 1).saturating_mul(count),
            limit: count,
            ..UserQuery::default()
        })
        .await
        .map_err(|e| ApiError::from_directory(e, None))?;
    Ok(Json(Envelope::ok(AccountUserList {
        account_users: found.users.iter().map(to_wire).collect(),
        pagination: Pagination {
            page,
            per_page: count,
            total: found.total,
        },
    })))
}

/// Reads one user.
#[utoipa::path(
    get,
    path = "/apps/{app_key}/account_users/{id}",
    tag = "account users",
    security(("utoken" = []), ("x_yotpo_token" = []), ("bearer" = [])),
    params(
        ("app_key" = String, Path, description = "The account's app key"),
        ("id" = i64, Path, minimum = 1, description = "The user's id"),
    ),
    responses(
        (status = 200, description = "The user", body = Envelope<AccountUserResponse>),
        (status = 400, response = crate::openapi::InvalidParameters),
        (status = 401, response = crate::openapi::AccessDenied),
        (status = 404, response = crate::openapi::RecordNotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 429, response = crate::openapi::TooManyRequests),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
pub async fn get_account_user(
    State(state): State<AppState>,
    PathParams((app_key, raw_id)): PathParams<(String, String)>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    Body(body): Body,
) -> Reply<AccountUserResponse> {
    let query = query_map(raw_query.as_deref())?;
    let token = body_token(&body)?;
    let directory = open_directory(&state, &app_key, &query, token.as_deref(), &headers).await?;

    let id = parse_id(&raw_id)?;
    let user = directory
        .get_user(id)
        .await
        .map_err(|e| ApiError::from_directory(e, Some(&raw_id)))?;
    Ok(Json(Envelope::ok(AccountUserResponse {
        account_user: to_wire(&user),
    })))
}

/// Creates a user; the role is `viewer` when none is given.
///
/// An email address already used in this account, in any case, is a 409.
#[utoipa::path(
    post,
    path = "/apps/{app_key}/account_users",
    tag = "account users",
    security(("utoken" = []), ("x_yotpo_token" = []), ("bearer" = [])),
    params(
        ("app_key" = String, Path, description = "The account's app key"),
    ),
    request_body = AccountUserRequest,
    responses(
        (status = 200, description = "The user created", body = Envelope<AccountUserResponse>),
        (status = 400, response = crate::openapi::InvalidParameters),
        (status = 401, response = crate::openapi::AccessDenied),
        (status = 404, response = crate::openapi::RecordNotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 422, response = crate::openapi::RecordInvalid),
        (status = 429, response = crate::openapi::TooManyRequests),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
pub async fn create_account_user(
    State(state): State<AppState>,
    PathParams(app_key): PathParams<String>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    Body(body): Body,
) -> Reply<AccountUserResponse> {
    let query = query_map(raw_query.as_deref())?;
    let (token, fields) = read_user_request(&body)?;
    let directory = open_directory(&state, &app_key, &query, token.as_deref(), &headers).await?;
    let fields = fields?;

    let email = parse_email(fields.email.as_deref().unwrap_or_default())?;
    let mut user = NewUser::with_email(email);
    user.name = parse_name(fields.name.flatten().as_deref())?;
    if let Some(role) = &fields.role {
        user.role = Some(parse_role(&directory, role).await?);
    }
    user.active = fields.active.unwrap_or(true);

    let created = directory
        .create_user(user)
        .await
        .map_err(|e| ApiError::from_directory(e, None))?;
    tracing::info!(user_id = created.id, "account user created");
    Ok(Json(Envelope::ok(AccountUserResponse {
        account_user: to_wire(&created),
    })))
}

/// Updates a user: the fields given are merged. PATCH does the same.
///
/// `id`, `created_at` and `updated_at` in the body are ignored; a body with no
/// writable field is a 400. Demoting or deactivating the last active admin is a 409.
#[utoipa::path(
    put,
    path = "/apps/{app_key}/account_users/{id}",
    tag = "account users",
    security(("utoken" = []), ("x_yotpo_token" = []), ("bearer" = [])),
    params(
        ("app_key" = String, Path, description = "The account's app key"),
        ("id" = i64, Path, minimum = 1, description = "The user's id"),
    ),
    request_body = AccountUserRequest,
    responses(
        (status = 200, description = "The user updated", body = Envelope<AccountUserResponse>),
        (status = 400, response = crate::openapi::InvalidParameters),
        (status = 401, response = crate::openapi::AccessDenied),
        (status = 404, response = crate::openapi::RecordNotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 422, response = crate::openapi::RecordInvalid),
        (status = 429, response = crate::openapi::TooManyRequests),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
pub async fn update_account_user(
    State(state): State<AppState>,
    PathParams((app_key, raw_id)): PathParams<(String, String)>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    Body(body): Body,
) -> Reply<AccountUserResponse> {
    let query = query_map(raw_query.as_deref())?;
    let (token, fields) = read_user_request(&body)?;
    let directory = open_directory(&state, &app_key, &query, token.as_deref(), &headers).await?;
    let id = parse_id(&raw_id)?;
    let fields = fields?;

    let changes = UserChanges {
        email: fields.email.as_deref().map(parse_email).transpose()?,
        name: fields
            .name
            .map(|name| parse_name(name.as_deref()))
            .transpose()?,
        role: match &fields.role {
            Some(role) => Some(parse_role(&directory, role).await?),
            None => None,
        },
        active: fields.active,
        // The account-users API has no userName: a user whose userName is its email
        // keeps following it.
        ..UserChanges::default()
    };
    if changes.is_empty() {
        return Err(ApiError::InvalidParameters(
            "account_user has no field to change; send one or more of email, name, role, active"
                .to_owned(),
        ));
    }

    let updated = directory
        .update_user(id, changes, None)
        .await
        .map_err(|e| ApiError::from_directory(e, Some(&raw_id)))?;
    Ok(Json(Envelope::ok(AccountUserResponse {
        account_user: to_wire(&updated),
    })))
}

/// Deletes a user, at once and for good; the audit log keeps the last record.
///
/// Deleting the last active admin is a 409.
#[utoipa::path(
    delete,
    path = "/apps/{app_key}/account_users/{id}",
    tag = "account users",
    security(("utoken" = []), ("x_yotpo_token" = []), ("bearer" = [])),
    params(
        ("app_key" = String, Path, description = "The account's app key"),
        ("id" = i64, Path, minimum = 1, description = "The user's id"),
    ),
    responses(
        (status = 200, description = "The user is deleted", body = Envelope<Empty>),
        (status = 400, response = crate::openapi::InvalidParameters),
        (status = 401, response = crate::openapi::AccessDenied),
        (status = 404, response = crate::openapi::RecordNotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 429, response = crate::openapi::TooManyRequests),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
pub async fn delete_account_user(
    State(state): State<AppState>,
    PathParams((app_key, raw_id)): PathParams<(String, String)>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    Body(body): Body,
) -> Reply<Empty> {
    let query = query_map(raw_query.as_deref())?;
    let token = body_token(&body)?;
    let directory = open_directory(&state, &app_key, &query, token.as_deref(), &headers).await?;

    let id = parse_id(&raw_id)?;
    directory
        .delete_user(id)
        .await
        .map_err(|e| ApiError::from_directory(e, Some(&raw_id)))?;
    tracing::info!(user_id = id, "account user deleted");
    Ok(Json(Envelope::ok(Empty {})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn count_outside_one_to_a_hundred_is_refused() {
        for raw in ["0", "101", "abc", "-1", "1.5"] {
            let result = page_param(&query(&[("count", raw)]), "count", 10, Some(100));
            assert!(
                matches!(result, Err(ApiError::InvalidParameters(_))),
                "{raw}"
            );
        }
        assert_eq!(
            page_param(&query(&[("count", "100")]), "count", 10, Some(100)),
            Ok(100)
        );
        assert_eq!(page_param(&query(&[]), "count", 10, Some(100)), Ok(10));
    }

    #[test]
    fn ids_that_are_not_positive_integers_name_no_user() {
        assert_eq!(parse_id("12"), Ok(12));
        assert!(matches!(parse_id("abc"), Err(ApiError::UserNotFound(_))));
        for raw in ["0", "+1", "01", "-3", "1.0", "99999999999999999999"] {
            assert!(
                matches!(parse_id(raw), Err(ApiError::UserNotFound(_))),
                "{raw}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn reading_requests_never_panics_on_arbitrary_input(
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
            raw in ".{0,64}",
        ) {
            let _ = read_user_request(&body);
            let _ = body_token(&body);
            let _ = parse_id(&raw);
            let _ = page_param(&query(&[("count", raw.as_str())]), "count", 10, Some(100));
            let _ = parse_email(&raw);
            let _ = parse_name(Some(&raw));
        }

        #[test]
        fn a_well_formed_body_with_any_field_values_is_read_without_panic(
            email in proptest::option::of(".{0,80}"),
            name in proptest::option::of(".{0,300}"),
            role in proptest::option::of("[a-z_]{0,40}"),
        ) {
            let body = serde_json::json!({
                "account_user": {"email": email, "name": name, "role": role}
            });
            let (_, fields) = read_user_request(body.to_string().as_bytes()).unwrap();
            proptest::prop_assert!(fields.is_ok());
        }
    }
}
