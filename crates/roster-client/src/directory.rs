//! [`RemoteDirectory`]: the [`Directory`] trait over a remote account-users API, which is
//! how `roster bridge` puts SCIM in front of a server that has none.
//!
//! Every call goes through [`Client`], with its token refresh, pacing, retries and safe
//! create retries. What the account-users API offers is less than the trait asks, and
//! the gaps are filled as follows:
//!
//! - **Filters**: the API filters by email only. A query whose filter pins one address
//!   (`userName eq "x"`, alone or under an `and`) asks the upstream for that address and
//!   checks the answer itself; any other query walks every page. Either way the SCIM
//!   filter is then evaluated in memory ([`crate::filter_eval`], the store's attribute
//!   mapping) and `offset`/`limit` are applied in id order. A listing without an email
//!   therefore costs one request per hundred users of the account.
//! - **Roles**: the upstream does not publish its catalogue. [`RemoteDirectory::list_roles`]
//!   answers the configured catalogue plus every role seen in use, with member counts
//!   from a walk at most [`ROLE_COUNTS_MAX_AGE`] old. Role ids (SCIM group ids) are
//!   assigned in the order roles are first seen and stay stable while the process runs,
//!   not across restarts unless the catalogue lists every role. Creating, renaming and
//!   deleting roles is refused as unsupported; roles have no dates there.
//! - **`userName`** is the email: the upstream has no other field to keep one in, so a
//!   create or change that would set a userName other than the email is refused as
//!   unsupported.
//! - **`externalId`** is kept nowhere: the upstream has no field for it, so it is dropped
//!   on writes (of users and of groups) and never returned, and a filter on it matches
//!   no user.
//! - **Deactivation**: the vendor has no inactive state. With [`Deactivation::Delete`]
//!   (the default) a change to `active: false` deletes the user upstream and answers the
//!   user as it was, inactive; creating an inactive user is refused. With
//!   [`Deactivation::Keep`] the user is kept, `active: false` is ignored, and the user
//!   is reported as the upstream reports them (active, at the vendor).
//! - **Versions**: the upstream has none; a user's version is its `updated_at` in
//!   milliseconds. A version check (`If-Match`) reads the user, compares, then writes:
//!   a change made upstream between the two is not detected.
//! - **Errors**: 404 is [`DirectoryError::UserNotFound`]; 409 `RecordNotUnique` is
//!   [`DirectoryError::EmailTaken`] and 409 `Conflict` [`DirectoryError::LastAdmin`]; a
//!   422 about the role is [`DirectoryError::UnknownRole`]; other 400s and 422s are
//!   [`DirectoryError::Unsupported`] with the upstream's message; anything else
//!   (network, 5xx, refused credentials, exhausted retries) is
//!   [`DirectoryError::Unavailable`].

use std::{
    collections::BTreeMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_api::{users, ErrorType};
use roster_core::{
    filter::Filter, user::stored_user_name, AccountUser, Directory, DirectoryError, NewRole,
    NewUser, Role, RoleChanges, RoleName, UserChanges, UserPage, UserQuery, DEFAULT_ROLES,
};

use crate::{filter_eval, AccountUserFields, Client, Error};

/// How old the member counts of [`RemoteDirectory::list_roles`] may be before the next
/// call walks the upstream again.
pub const ROLE_COUNTS_MAX_AGE: Duration = Duration::from_secs(30);

/// What a SCIM deactivation (`active: false`) does upstream, which has no inactive state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Deactivation {
    /// Delete the user upstream.
    #[default]
    Delete,
    /// Keep the user, ignoring `active: false`.
    Keep,
}

/// One account of a remote account-users API, as a [`Directory`].
#[derive(Debug)]
pub struct RemoteDirectory {
    client: Client,
    deactivation: Deactivation,
    roles: Mutex<RoleRegistry>,
}

/// Role names in the order first seen (a role's id is its position plus one), with the
/// member counts of the latest walk.
#[derive(Debug, Default)]
struct RoleRegistry {
    names: Vec<String>,
    counts: BTreeMap<String, u64>,
    walked_at: Option<Instant>,
}

impl RoleRegistry {
    fn note(&mut self, role: &str) {
        if !self.names.iter().any(|n| n == role) {
            self.names.push(role.to_owned());
        }
    }

    fn record_walk(&mut self, users: &[AccountUser]) {
        self.counts.clear();
        for user in users {
            self.note(&user.role);
            *self.counts.entry(user.role.clone()).or_default() += 1;
        }
        self.walked_at = Some(Instant::now());
    }

    fn fresh(&self) -> bool {
        self.walked_at
            .is_some_and(|at| at.elapsed() < ROLE_COUNTS_MAX_AGE)
    }

    fn roles(&self) -> Vec<Role> {
        self.names
            .iter()
            .enumerate()
            .map(|(i, name)| Role {
                id: i as i64 + 1,
                name: name.clone(),
                members: self.counts.get(name).copied().unwrap_or(0),
                external_id: None,
                created_at: None,
                updated_at: None,
            })
            .collect()
    }
}

impl RemoteDirectory {
    /// The directory of the client's account. `catalogue` lists the roles the upstream
    /// is known to accept, since it does not publish them; empty means the vendor's
    /// default catalogue.
    pub fn new(client: Client, catalogue: &[RoleName], deactivation: Deactivation) -> Self {
        let mut registry = RoleRegistry::default();
        if catalogue.is_empty() {
            DEFAULT_ROLES.iter().for_each(|r| registry.note(r));
        } else {
            catalogue.iter().for_each(|r| registry.note(r.as_str()));
        }
        RemoteDirectory {
            client,
            deactivation,
            roles: Mutex::new(registry),
        }
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, RoleRegistry> {
        self.roles
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every user of the account, remembering the roles in use.
    async fn walk(&self) -> Result<Vec<AccountUser>, DirectoryError> {
        let listing = self
            .client
            .list_all()
            .collect_all()
            .await
            .map_err(unavailable)?;
        let users = listing
            .users
            .into_iter()
            .map(domain_user)
            .collect::<Result<Vec<_>, _>>()?;
        self.registry().record_walk(&users);
        Ok(users)
    }

    /// The users a query can match: one lookup when it pins an email, else everyone.
    async fn candidates(&self, query: &UserQuery) -> Result<Vec<AccountUser>, DirectoryError> {
        let pinned = query
            .email
            .as_deref()
            .or_else(|| query.filter.as_ref().and_then(filter_eval::pinned_email));
        let Some(email) = pinned else {
            return self.walk().await;
        };
        let found = self
            .client
            .find_by_email(email)
            .await
            .map_err(unavailable)?;
        found.map(domain_user).into_iter().collect()
    }

    fn refuse_inactive_create(&self) -> Result<(), DirectoryError> {
        match self.deactivation {
            Deactivation::Keep => Ok(()),
            Deactivation::Delete => Err(DirectoryError::Unsupported(
                "the upstream account-users API has no inactive users: create the user \
                 active (deactivating deletes the user upstream)"
                    .into(),
            )),
        }
    }
}

#[async_trait]
impl Directory for RemoteDirectory {
    async fn list_users(&self, query: &UserQuery) -> Result<UserPage, DirectoryError> {
        if let Some(filter) = &query.filter {
            check_filter(filter)?;
        }

        let mut matching = Vec::new();
        for user in self.candidates(query).await? {
            let email_ok = query
                .email
                .as_deref()
                .is_none_or(|e| e.trim().eq_ignore_ascii_case(user.email.trim()));
            let role_ok = query.role.as_deref().is_none_or(|r| r == user.role);
            let filter_ok = match &query.filter {
                Some(filter) => filter_eval::matches(filter, &user)
                    .map_err(|e| DirectoryError::Unsupported(e.0))?,
                None => true,
            };
            if email_ok && role_ok && filter_ok {
                matching.push(user);
            }
        }
        matching.sort_by_key(|u| u.id);

        let total = matching.len() as u64;
        let users = matching
            .into_iter()
            .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(query.limit).unwrap_or(usize::MAX))
            .collect();
        Ok(UserPage { users, total })
    }

    async fn get_user(&self, id: i64) -> Result<AccountUser, DirectoryError> {
        let user = self.client.get_user(id).await.map_err(|e| self.mapped(e))?;
        domain_user(user)
    }

    async fn create_user(&self, user: NewUser) -> Result<AccountUser, DirectoryError> {
        if !user.active {
            self.refuse_inactive_create()?;
        }
        if stored_user_name(user.user_name.as_ref(), user.email.as_str()).is_some() {
            return Err(user_name_unsupported());
        }
        let fields = AccountUserFields {
            email: Some(user.email.as_str().to_owned()),
            name: user.name.map(Some),
            role: user.role.map(|r| r.as_str().to_owned()),
            active: None,
        };

        let created = self
            .client
            .create_user(&fields)
            .await
            .map_err(|e| self.mapped(e))?;
        self.registry().note(&created.role);
        domain_user(created)
    }

    async fn update_user(
        &self,
        id: i64,
        changes: UserChanges,
        expected_version: Option<i64>,
    ) -> Result<AccountUser, DirectoryError> {
        let current = self.get_user(id).await?;
        if expected_version.is_some_and(|v| v != current.version) {
            return Err(DirectoryError::VersionMismatch);
        }
        let changes = changes.relative_to(&current);
        if changes.apply_to(&current).user_name.is_some() {
            return Err(user_name_unsupported());
        }

        if changes.active == Some(false) && self.deactivation == Deactivation::Delete {
            self.delete_user(id).await?;
            tracing::info!(
                user_id = id,
                "deactivated through the bridge: deleted upstream"
            );
            let mut gone = changes.apply_to(&current);
            gone.active = false;
            gone.external_id = None;
            return Ok(gone);
        }

        let fields = AccountUserFields {
            email: changes.email.map(|e| e.as_str().to_owned()),
            name: changes.name,
            role: changes.role.map(|r| r.as_str().to_owned()),
            // Only an upstream that knows the state (Roster) can have an inactive user
            // to bring back; `false` is never sent, as the vendor has no such field.
            active: changes.active.filter(|active| *active),
        };
        if fields == AccountUserFields::default() {
            return Ok(current);
        }

        let updated = self
            .client
            .update_user(id, &fields)
            .await
            .map_err(|e| self.mapped(e))?;
        self.registry().note(&updated.role);
        domain_user(updated)
    }

    async fn delete_user(&self, id: i64) -> Result<(), DirectoryError> {
        self.client
            .delete_user(id)
            .await
            .map_err(|e| self.mapped(e))
    }

    async fn list_roles(&self) -> Result<Vec<Role>, DirectoryError> {
        if !self.registry().fresh() {
            self.walk().await?;
        }
        Ok(self.registry().roles())
    }

    async fn create_role(&self, _role: NewRole) -> Result<Role, DirectoryError> {
        Err(roles_unsupported())
    }

    /// Renames are refused; an `externalId` is dropped, as users' are.
    async fn update_role(&self, id: i64, changes: RoleChanges) -> Result<Role, DirectoryError> {
        if changes.name.is_some() {
            return Err(roles_unsupported());
        }
        self.list_roles()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(DirectoryError::RoleNotFound)
    }

    async fn delete_role(&self, _id: i64) -> Result<(), DirectoryError> {
        Err(roles_unsupported())
    }
}

impl RemoteDirectory {
    /// A client error as the directory's, with the known roles for an unknown one.
    fn mapped(&self, error: Error) -> DirectoryError {
        let known = || self.registry().names.clone();
        directory_error(error, known)
    }
}

fn roles_unsupported() -> DirectoryError {
    DirectoryError::Unsupported(
        "the upstream account-users API does not publish or manage its roles: groups \
         (roles) cannot be created, renamed or deleted through the bridge; change roles \
         at the upstream and list them with --roles"
            .into(),
    )
}

fn user_name_unsupported() -> DirectoryError {
    DirectoryError::Unsupported(
        "the upstream account-users API keeps no userName apart from the email: through \
         the bridge, userName must be the user's email address (the primary value of \
         emails)"
            .into(),
    )
}

fn check_filter(filter: &Filter) -> Result<(), DirectoryError> {
    filter_eval::check(filter).map_err(|e| DirectoryError::Unsupported(e.0))
}

/// What a failed call means to the directory. `known_roles` is asked only for an
/// unknown role whose message does not list the valid ones.
fn directory_error(error: Error, known_roles: impl FnOnce() -> Vec<String>) -> DirectoryError {
    let Some(api) = error
        .api()
        .filter(|_| !matches!(error, Error::GaveUp { .. }))
    else {
        return unavailable(error);
    };
    match (api.status, api.kind()) {
        (404, _) => DirectoryError::UserNotFound,
        (409, Some(ErrorType::RecordNotUnique)) => DirectoryError::EmailTaken,
        (409, Some(ErrorType::Conflict)) => DirectoryError::LastAdmin,
        (422, _) if api.message.to_lowercase().contains("role") => {
            let listed = api
                .message
                .split_once("roles are:")
                .map(|(_, list)| {
                    list.split(',')
                        .map(|r| r.trim().trim_end_matches('.').to_owned())
                        .filter(|r| !r.is_empty())
                        .collect::<Vec<_>>()
                })
                .filter(|list| !list.is_empty());
            DirectoryError::UnknownRole {
                valid: listed.unwrap_or_else(known_roles),
            }
        }
        (400 | 422, _) => {
            DirectoryError::Unsupported(format!("the upstream refused: {}", api.message))
        }
        _ => unavailable(error),
    }
}

fn unavailable(error: Error) -> DirectoryError {
    DirectoryError::Unavailable(format!("upstream: {error}"))
}

/// A user as the directory holds it. The version is `updated_at` in milliseconds, as
/// the upstream has none; `externalId` is never held.
fn domain_user(user: users::AccountUser) -> Result<AccountUser, DirectoryError> {
    let instant = |field: &str, raw: &str| {
        DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                DirectoryError::Unavailable(format!(
                    "upstream user {} has a {field} that is not ISO 8601: {raw:?}",
                    user.id
                ))
            })
    };
    let created_at = instant("created_at", &user.created_at)?;
    let updated_at = instant("updated_at", &user.updated_at)?;
    Ok(AccountUser {
        id: user.id,
        email: user.email,
        user_name: None,
        name: user.name,
        role: user.role,
        active: user.active,
        external_id: None,
        created_at,
        updated_at,
        version: updated_at.timestamp_millis(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiError;

    fn api(status: u16, error_type: &str, message: &str) -> Error {
        Error::Api(ApiError {
            status,
            error_type: Some(format!("Exceptions::{error_type}")),
            message: message.into(),
        })
    }

    fn mapped(error: Error) -> DirectoryError {
        directory_error(error, || vec!["admin".into(), "viewer".into()])
    }

    #[test]
    fn upstream_errors_map_to_the_directory_errors_scim_answers() {
        assert_eq!(
            mapped(api(404, "RecordNotFound", "no")),
            DirectoryError::UserNotFound
        );
        assert_eq!(
            mapped(api(409, "RecordNotUnique", "taken")),
            DirectoryError::EmailTaken
        );
        assert_eq!(
            mapped(api(409, "Conflict", "admin")),
            DirectoryError::LastAdmin
        );
        assert!(matches!(
            mapped(api(422, "RecordInvalid", "Email is invalid")),
            DirectoryError::Unsupported(m) if m.contains("Email is invalid")
        ));
        assert!(matches!(
            mapped(api(500, "InternalError", "boom")),
            DirectoryError::Unavailable(m) if m.contains("boom")
        ));
    }

    #[test]
    fn an_unknown_role_lists_the_upstreams_roles_or_else_the_known_ones() {
        let listed = api(
            422,
            "RecordInvalid",
            "Role is not valid for this account; valid roles are: admin, staff",
        );
        assert_eq!(
            mapped(listed),
            DirectoryError::UnknownRole {
                valid: vec!["admin".into(), "staff".into()]
            }
        );
        assert_eq!(
            mapped(api(422, "RecordInvalid", "bad role")),
            DirectoryError::UnknownRole {
                valid: vec!["admin".into(), "viewer".into()]
            }
        );
    }

    #[test]
    fn exhausted_retries_are_unavailable_even_on_a_not_found() {
        let gave_up = Error::GaveUp {
            attempts: 8,
            elapsed: Duration::from_secs(1),
            last: Box::new(api(429, "TooManyRequests", "slow down")),
        };
        assert!(matches!(mapped(gave_up), DirectoryError::Unavailable(_)));
    }

    #[test]
    fn the_version_is_the_last_modification_in_milliseconds() {
        let user = domain_user(users::AccountUser {
            id: 7,
            email: "a@b.co".into(),
            name: None,
            role: "viewer".into(),
            created_at: "2026-12-03T18:02:46.123Z".into(),
            updated_at: "2026-12-03T18:02:47.456Z".into(),
            active: true,
        })
        .unwrap();
        assert_eq!(user.version, user.updated_at.timestamp_millis());
        assert_eq!(user.external_id, None);
    }

    #[test]
    fn roles_keep_their_ids_in_the_order_first_seen() {
        let mut registry = RoleRegistry::default();
        registry.note("admin");
        registry.note("viewer");
        registry.note("admin");
        registry.note("billing");
        let names: Vec<_> = registry
            .roles()
            .into_iter()
            .map(|r| (r.id, r.name))
            .collect();
        assert_eq!(
            names,
            vec![
                (1, "admin".into()),
                (2, "viewer".into()),
                (3, "billing".into())
            ]
        );
    }
}
