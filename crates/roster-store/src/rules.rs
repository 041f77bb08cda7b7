//! The directory's rules as decisions on plain values, shared by the backends.
//!
//! A backend reads what a rule needs inside its transaction, asks here what to do, and
//! writes the outcome; so each backend holds only its SQL and its locking, and the two
//! cannot drift apart on what the rules are.

use roster_core::{
    role::ADMIN_ROLE, user::stored_user_name, AccountUser, DirectoryError, NewUser, Role,
    RoleChanges, RoleName, UserChanges, UserPage, UserQuery, DEFAULT_ROLE,
};

use crate::StoreError;

/// The query's page as SQL's LIMIT and OFFSET, which are signed.
pub(crate) fn limit_and_offset(query: &UserQuery) -> (i64, i64) {
    (
        i64::try_from(query.limit).unwrap_or(i64::MAX),
        i64::try_from(query.offset).unwrap_or(i64::MAX),
    )
}

/// The page that an email query answers with: the one user with that address, if any.
pub(crate) fn page_of_one(user: Option<AccountUser>, query: &UserQuery) -> UserPage {
    let total = u64::from(user.is_some());
    let users = user
        .into_iter()
        .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(query.limit).unwrap_or(usize::MAX));
    UserPage {
        users: users.collect(),
        total,
    }
}

/// The userName a new user's row keeps, and its normalised form: none when it is the
/// email, so that it follows the email.
pub(crate) fn user_name_of_new_user(user: &NewUser) -> (Option<String>, Option<String>) {
    let kept = stored_user_name(user.user_name.as_ref(), user.email.as_str());
    let normalized = kept.as_deref().map(str::to_lowercase);
    (kept, normalized)
}

/// The normalised form of a stored userName, as [`roster_core::UserName::normalized`].
pub(crate) fn user_name_normalized(user: &AccountUser) -> Option<String> {
    user.user_name.as_deref().map(str::to_lowercase)
}

/// The role a new user gets: the one asked for, or the default.
pub(crate) fn role_of_new_user(user: &NewUser) -> &str {
    user.role.as_ref().map_or(DEFAULT_ROLE, RoleName::as_str)
}

/// The answer when a role is not in the catalogue, listing the ones that are.
pub(crate) fn unknown_role(catalogue: Vec<String>) -> DirectoryError {
    DirectoryError::UnknownRole { valid: catalogue }
}

/// Decides the last-admin rule, given how many other active admins the account has.
pub(crate) fn keep_an_admin(other_active_admins: i64) -> Result<(), DirectoryError> {
    if other_active_admins == 0 {
        Err(DirectoryError::LastAdmin)
    } else {
        Ok(())
    }
}

/// What an update will write once its changes are measured against the record.
pub(crate) struct UpdatePlan {
    /// The record as it will be, before the store stamps `updated_at` and `version`.
    pub after: AccountUser,
    /// The normalised address, when the email changes.
    pub email_normalized: Option<String>,
    /// The new role, to be checked against the catalogue.
    pub role: Option<RoleName>,
    /// True when the user stops being an active admin, so the last-admin rule applies.
    pub leaves_admins: bool,
    /// The normalised userName to store beside `after.user_name`.
    pub user_name_normalized: Option<String>,
}

/// Plans an update of `before`; `None` when it would change nothing, so that nothing
/// (not even `updated_at` or the audit log) is written.
pub(crate) fn plan_update(
    before: &AccountUser,
    changes: UserChanges,
    expected_version: Option<i64>,
) -> Result<Option<UpdatePlan>, DirectoryError> {
    if expected_version.is_some_and(|v| v != before.version) {
        return Err(DirectoryError::VersionMismatch);
    }
    let changes = changes.relative_to(before);
    if changes.is_empty() {
        return Ok(None);
    }

    let after = changes.apply_to(before);
    Ok(Some(UpdatePlan {
        leaves_admins: before.is_active_admin() && !after.is_active_admin(),
        user_name_normalized: user_name_normalized(&after),
        email_normalized: changes.email.as_ref().map(|e| e.normalized()),
        role: changes.role,
        after,
    }))
}

/// Drops from `changes` what `role` already has, and checks a rename; `None` when
/// nothing would change, so that nothing (not even `updated_at`) is written.
pub(crate) fn plan_role_update(
    role: &Role,
    mut changes: RoleChanges,
) -> Result<Option<RoleChanges>, DirectoryError> {
    if changes
        .name
        .as_ref()
        .is_some_and(|n| n.as_str() == role.name)
    {
        changes.name = None;
    }
    if changes.external_id.as_ref() == Some(&role.external_id) {
        changes.external_id = None;
    }
    if let Some(name) = &changes.name {
        if role.name == ADMIN_ROLE || name.is_admin() {
            return Err(DirectoryError::Unsupported(
                "the admin role cannot be renamed, nor another role renamed to admin".into(),
            ));
        }
        // Renaming another role to the default one needs no rule: the default role
        // always exists, so the name is taken.
        if role.name == DEFAULT_ROLE {
            return Err(DirectoryError::Unsupported(format!(
                "the {DEFAULT_ROLE} role cannot be renamed: users created without a role get it"
            )));
        }
    }
    Ok((changes != RoleChanges::default()).then_some(changes))
}

/// The roles whose membership a user write changes, for their `updated_at`: the role
/// the user leaves and the one they join (either may be absent).
pub(crate) fn roles_touched<'a>(
    before: Option<&'a AccountUser>,
    after: Option<&'a AccountUser>,
) -> Vec<&'a str> {
    let mut touched: Vec<&str> = Vec::with_capacity(2);
    for user in [before, after].into_iter().flatten() {
        if !touched.contains(&user.role.as_str()) {
            touched.push(&user.role);
        }
    }
    if let (Some(before), Some(after)) = (before, after) {
        if before.role == after.role {
            touched.clear();
        }
    }
    touched
}

/// Checks that `role` may leave the catalogue: neither admin nor the default role, and
/// held by nobody.
pub(crate) fn check_role_deletable(role: &Role) -> Result<(), DirectoryError> {
    if role.name == ADMIN_ROLE {
        return Err(DirectoryError::Unsupported(
            "the admin role cannot be deleted".into(),
        ));
    }
    if role.name == DEFAULT_ROLE {
        return Err(DirectoryError::Unsupported(format!(
            "the {DEFAULT_ROLE} role cannot be deleted: users created without a role get it"
        )));
    }
    if role.members > 0 {
        return Err(DirectoryError::RoleInUse);
    }
    Ok(())
}

/// Checks a whole new catalogue: it keeps `admin`, which the last-admin rule depends
/// on, and the default role, which users created without a role get (without it every
/// such create would be refused).
pub(crate) fn check_catalogue(wanted: &[RoleName]) -> Result<(), StoreError> {
    if !wanted.iter().any(RoleName::is_admin) {
        return Err(StoreError::Invalid(
            "the catalogue must keep the admin role: the last-admin rule depends on it".into(),
        ));
    }
    if !wanted.iter().any(|r| r.as_str() == DEFAULT_ROLE) {
        return Err(StoreError::Invalid(format!(
            "the catalogue must keep the {DEFAULT_ROLE} role: users created without a role \
             get it, so without it every such create would be refused"
        )));
    }
    Ok(())
}

/// How to turn the catalogue `current` into exactly `wanted`.
pub(crate) struct CataloguePlan<'a> {
    /// Ids of the roles to delete.
    pub drop: Vec<i64>,
    /// Names of the roles to add.
    pub add: Vec<&'a str>,
}

/// Plans a catalogue replacement, refusing to drop a role that users hold.
pub(crate) fn plan_catalogue<'a>(
    current: &[Role],
    wanted: &'a [String],
) -> Result<CataloguePlan<'a>, StoreError> {
    let held: Vec<&str> = current
        .iter()
        .filter(|r| r.members > 0 && !wanted.contains(&r.name))
        .map(|r| r.name.as_str())
        .collect();
    if !held.is_empty() {
        return Err(StoreError::Invalid(format!(
            "cannot drop roles that users still hold: {}; move those users to another role first",
            held.join(", ")
        )));
    }

    Ok(CataloguePlan {
        drop: current
            .iter()
            .filter(|r| !wanted.contains(&r.name))
            .map(|r| r.id)
            .collect(),
        add: wanted
            .iter()
            .filter(|n| !current.iter().any(|r| &r.name == *n))
            .map(String::as_str)
            .collect(),
    })
}
