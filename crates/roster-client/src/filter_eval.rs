//! SCIM filters evaluated in memory over users fetched from the upstream, for the bridge.
//!
//! The account-users API filters by email only, so [`crate::RemoteDirectory`] fetches
//! users and decides here which match. The attribute mapping is the store's (see
//! `roster_store::filter_sql`), so a filter means the same through the bridge as on
//! `roster serve`:
//!
//! | SCIM attribute | user field | comparison |
//! | --- | --- | --- |
//! | `userName` | [`AccountUser::user_name`] (the email, through the bridge) | case-insensitive |
//! | `emails`, `emails.value` | `email` | case-insensitive |
//! | `emails.type`, `emails.primary` | none: always `"work"` and `true` | |
//! | `id` | `id` | exact |
//! | `externalId` | none: the upstream keeps none, so it is never present | |
//! | `displayName`, `name.formatted` | `name` | case-insensitive |
//! | `active` | `active` | `eq`, `ne` only |
//! | `roles`, `roles.value` | `role` | case-insensitive |
//! | `meta.created`, `meta.lastModified` | `created_at`, `updated_at` | as instants |
//!
//! As in the store, a missing value makes a comparison false (and `ne` true), and other
//! attributes are refused with a message naming them. Text is folded with Unicode
//! lower-casing here, where SQLite folds ASCII letters only.

use chrono::DateTime;
use roster_core::{
    filter::{AttrPath, CompareOp, Filter, Value},
    AccountUser,
};

/// The URN a filter may put before a core User attribute (RFC 7643 section 8.7.1).
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

const SUPPORTED: &str = "userName, emails (value, type, primary), id, externalId, displayName, \
                         name.formatted, active, roles (value), meta.created and meta.lastModified";

/// A filter that names an attribute users do not have, or compares one wrongly.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterEvalError(pub String);

/// Where attribute paths are resolved: at the top of a User, or inside `emails[...]` or
/// `roles[...]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    User,
    Email,
    Role,
}

/// What an attribute path reads from a user.
#[derive(Clone, Copy, Debug)]
enum Target {
    UserName,
    Email,
    Role,
    Name,
    ExternalId,
    Id,
    Active,
    Created,
    Modified,
    EmailType,
    EmailPrimary,
}

/// Whether `user` satisfies `filter`.
pub fn matches(filter: &Filter, user: &AccountUser) -> Result<bool, FilterEvalError> {
    eval(filter, user, Scope::User)
}

/// Checks every attribute and comparison of `filter` without a user, so that a bad filter
/// is refused even when no user was fetched to try it on.
pub fn check(filter: &Filter) -> Result<(), FilterEvalError> {
    let probe = AccountUser {
        id: 1,
        email: "probe@example.com".into(),
        user_name: None,
        name: None,
        role: "viewer".into(),
        active: true,
        external_id: None,
        created_at: DateTime::UNIX_EPOCH,
        updated_at: DateTime::UNIX_EPOCH,
        version: 0,
    };
    check_tree(filter, &probe, Scope::User)
}

/// Evaluates every branch, unlike [`eval`] which stops at the first deciding operand.
fn check_tree(filter: &Filter, user: &AccountUser, scope: Scope) -> Result<(), FilterEvalError> {
    match filter {
        Filter::And(terms) | Filter::Or(terms) => terms
            .iter()
            .try_for_each(|term| check_tree(term, user, scope)),
        Filter::Not(inner) => check_tree(inner, user, scope),
        Filter::ValuePath { path, filter } => {
            check_tree(filter, user, value_path_scope(path, scope)?)
        }
        leaf => eval(leaf, user, scope).map(|_| ()),
    }
}

fn eval(filter: &Filter, user: &AccountUser, scope: Scope) -> Result<bool, FilterEvalError> {
    match filter {
        Filter::And(terms) => {
            for term in terms {
                if !eval(term, user, scope)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Filter::Or(terms) => {
            for term in terms {
                if eval(term, user, scope)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Filter::Not(inner) => Ok(!eval(inner, user, scope)?),
        Filter::Present(path) => Ok(present(resolve(path, scope)?, user)),
        Filter::Compare { path, op, value } => {
            compare(resolve(path, scope)?, path, *op, value, user)
        }
        Filter::ValuePath { path, filter } => {
            // Each user has exactly one email and one role, so "some value matches" is
            // the inner filter applied to that one value.
            eval(filter, user, value_path_scope(path, scope)?)
        }
    }
}

/// `pr`: the attribute has a non-empty value (RFC 7644 section 3.4.2.2).
fn present(target: Target, user: &AccountUser) -> bool {
    match target {
        Target::Name => user.name.as_deref().is_some_and(|n| !n.is_empty()),
        Target::ExternalId => false,
        _ => true,
    }
}

fn compare(
    target: Target,
    path: &AttrPath,
    op: CompareOp,
    value: &Value,
    user: &AccountUser,
) -> Result<bool, FilterEvalError> {
    if *value == Value::Null {
        // As in the store: `eq null` is "has no value", `ne null` is "has one".
        return match op {
            CompareOp::Eq => Ok(!present(target, user)),
            CompareOp::Ne => Ok(present(target, user)),
            _ => Err(FilterEvalError(format!(
                "{path} {op} null: null can only be compared with eq or ne"
            ))),
        };
    }
    match target {
        Target::UserName => Ok(text_matches(
            &user.user_name().to_lowercase(),
            op,
            &folded(path, value)?,
        )),
        Target::Email => Ok(text_matches(
            &user.email.to_lowercase(),
            op,
            &folded(path, value)?,
        )),
        Target::Role => Ok(text_matches(
            &user.role.to_lowercase(),
            op,
            &folded(path, value)?,
        )),
        Target::EmailType => Ok(text_matches("work", op, &folded(path, value)?)),
        Target::Name => {
            let wanted = folded(path, value)?;
            Ok(match &user.name {
                Some(name) => text_matches(&name.to_lowercase(), op, &wanted),
                None => op == CompareOp::Ne,
            })
        }
        Target::ExternalId => {
            text_value(path, value)?;
            Ok(op == CompareOp::Ne)
        }
        Target::Id => {
            let text = text_value(path, value)?;
            match op {
                CompareOp::Eq | CompareOp::Ne => {
                    // No user has an id that is not an integer.
                    let same = text.parse::<i64>().is_ok_and(|id| id == user.id);
                    Ok(same == (op == CompareOp::Eq))
                }
                _ => Ok(text_matches(&user.id.to_string(), op, &text)),
            }
        }
        Target::Active => equality(path, op, user.active == bool_value(path, value)?),
        Target::EmailPrimary => equality(path, op, bool_value(path, value)?),
        Target::Created | Target::Modified => {
            let at = instant_value(path, value)?;
            let mine = match target {
                Target::Created => user.created_at.timestamp_millis(),
                _ => user.updated_at.timestamp_millis(),
            };
            ordered(mine.cmp(&at), op).ok_or_else(|| {
                FilterEvalError(format!(
                    "{path} {op}: timestamps compare with eq, ne, gt, ge, lt or le"
                ))
            })
        }
    }
}

/// `eq` or `ne` on a boolean, given whether the two sides are equal.
fn equality(path: &AttrPath, op: CompareOp, equal: bool) -> Result<bool, FilterEvalError> {
    match op {
        CompareOp::Eq => Ok(equal),
        CompareOp::Ne => Ok(!equal),
        _ => Err(FilterEvalError(format!(
            "{path} {op}: {path} can only be compared with eq or ne"
        ))),
    }
}

/// Text comparison, code point by code point for the ordering operators.
fn text_matches(mine: &str, op: CompareOp, wanted: &str) -> bool {
    match op {
        CompareOp::Co => mine.contains(wanted),
        CompareOp::Sw => mine.starts_with(wanted),
        CompareOp::Ew => mine.ends_with(wanted),
        _ => ordered(mine.cmp(wanted), op).unwrap_or(false),
    }
}

fn ordered(ordering: std::cmp::Ordering, op: CompareOp) -> Option<bool> {
    use std::cmp::Ordering::*;
    Some(match op {
        CompareOp::Eq => ordering == Equal,
        CompareOp::Ne => ordering != Equal,
        CompareOp::Gt => ordering == Greater,
        CompareOp::Ge => ordering != Less,
        CompareOp::Lt => ordering == Less,
        CompareOp::Le => ordering != Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => return None,
    })
}

fn folded(path: &AttrPath, value: &Value) -> Result<String, FilterEvalError> {
    Ok(text_value(path, value)?.to_lowercase())
}

/// A bare number or boolean compared with a string attribute is taken as the text it
/// was written as, as the store does.
fn text_value(path: &AttrPath, value: &Value) -> Result<String, FilterEvalError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err(FilterEvalError(format!(
            "{path} cannot be compared with null"
        ))),
    }
}

/// `true`/`false`, also as strings in any case, as Entra ID writes booleans.
fn bool_value(path: &AttrPath, value: &Value) -> Result<bool, FilterEvalError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(FilterEvalError(format!(
            "{path} is a boolean; compare it with true or false, not {other}"
        ))),
    }
}

fn instant_value(path: &AttrPath, value: &Value) -> Result<i64, FilterEvalError> {
    let parsed = match value {
        Value::String(s) => DateTime::parse_from_rfc3339(s).ok(),
        _ => None,
    };
    parsed.map(|t| t.timestamp_millis()).ok_or_else(|| {
        FilterEvalError(format!(
            "{path} is a timestamp; compare it with an ISO 8601 value such as \
             \"2026-12-03T18:02:46.123Z\", not {value}"
        ))
    })
}

fn unsupported(path: &AttrPath, scope: Scope) -> FilterEvalError {
    let message = match scope {
        Scope::User => format!("cannot filter on {path}: users have only {SUPPORTED}"),
        Scope::Email => {
            format!("cannot filter on emails.{path}: emails have only value, type and primary")
        }
        Scope::Role => format!("cannot filter on roles.{path}: roles have only value"),
    };
    FilterEvalError(message)
}

fn resolve(path: &AttrPath, scope: Scope) -> Result<Target, FilterEvalError> {
    let is = |name: &str, wanted: &str| name.eq_ignore_ascii_case(wanted);
    match scope {
        Scope::User => {
            if path
                .schema
                .as_deref()
                .is_some_and(|s| !s.eq_ignore_ascii_case(USER_SCHEMA))
            {
                return Err(unsupported(path, scope));
            }
            let attr = path.attr.as_str();
            let target = match path.sub_attr.as_deref() {
                None if is(attr, "userName") => Target::UserName,
                None if is(attr, "emails") => Target::Email,
                None if is(attr, "id") => Target::Id,
                None if is(attr, "externalId") => Target::ExternalId,
                None if is(attr, "displayName") => Target::Name,
                None if is(attr, "active") => Target::Active,
                None if is(attr, "roles") => Target::Role,
                Some(sub) if is(attr, "emails") => {
                    element(Scope::Email, sub).ok_or_else(|| unsupported(path, scope))?
                }
                Some(sub) if is(attr, "roles") => {
                    element(Scope::Role, sub).ok_or_else(|| unsupported(path, scope))?
                }
                Some(sub) if is(attr, "name") && is(sub, "formatted") => Target::Name,
                Some(sub) if is(attr, "meta") && is(sub, "created") => Target::Created,
                Some(sub) if is(attr, "meta") && is(sub, "lastModified") => Target::Modified,
                _ => return Err(unsupported(path, scope)),
            };
            Ok(target)
        }
        Scope::Email | Scope::Role => {
            if path.schema.is_some() || path.sub_attr.is_some() {
                return Err(unsupported(path, scope));
            }
            element(scope, &path.attr).ok_or_else(|| unsupported(path, scope))
        }
    }
}

fn element(scope: Scope, sub: &str) -> Option<Target> {
    let is = |wanted: &str| sub.eq_ignore_ascii_case(wanted);
    match scope {
        Scope::Email if is("value") => Some(Target::Email),
        Scope::Email if is("type") => Some(Target::EmailType),
        Scope::Email if is("primary") => Some(Target::EmailPrimary),
        Scope::Role if is("value") => Some(Target::Role),
        _ => None,
    }
}

fn value_path_scope(path: &AttrPath, scope: Scope) -> Result<Scope, FilterEvalError> {
    let is_user_attr = scope == Scope::User
        && path.sub_attr.is_none()
        && path
            .schema
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case(USER_SCHEMA));
    if is_user_attr && path.attr.eq_ignore_ascii_case("emails") {
        Ok(Scope::Email)
    } else if is_user_attr && path.attr.eq_ignore_ascii_case("roles") {
        Ok(Scope::Role)
    } else {
        Err(FilterEvalError(format!(
            "cannot filter on {path}[...]: only emails[...] and roles[...] take a value filter"
        )))
    }
}

/// The email address a filter pins with `eq`, when every match must have it: `userName
/// eq "x"`, `emails.value eq "x"`, `emails[value eq "x"]`, alone or as an operand of an
/// `and`. The bridge then asks the upstream for that address instead of walking; a
/// userName is an email there, since the upstream has no place for another.
pub fn pinned_email(filter: &Filter) -> Option<&str> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: Value::String(email),
        } => matches!(
            resolve(path, Scope::User),
            Ok(Target::Email | Target::UserName)
        )
        .then_some(email),
        Filter::ValuePath { path, filter } if path.attr.eq_ignore_ascii_case("emails") => {
            match filter.as_ref() {
                Filter::Compare {
                    path: inner,
                    op: CompareOp::Eq,
                    value: Value::String(email),
                } if matches!(resolve(inner, Scope::Email), Ok(Target::Email)) => Some(email),
                Filter::And(terms) => terms.iter().find_map(|term| match term {
                    Filter::Compare {
                        path: inner,
                        op: CompareOp::Eq,
                        value: Value::String(email),
                    } if matches!(resolve(inner, Scope::Email), Ok(Target::Email)) => {
                        Some(email.as_str())
                    }
                    _ => None,
                }),
                _ => None,
            }
        }
        Filter::And(terms) => terms.iter().find_map(pinned_email),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use roster_core::filter::parse;

    fn ana() -> AccountUser {
        AccountUser {
            id: 42,
            email: "Ana@Example.com".into(),
            user_name: None,
            name: Some("Ana Silva".into()),
            role: "admin".into(),
            active: true,
            external_id: None,
            created_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            updated_at: Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap(),
            version: 1,
        }
    }

    fn holds(filter: &str) -> bool {
        matches(&parse(filter).unwrap(), &ana()).unwrap()
    }

    fn refused(filter: &str) -> String {
        let filter = parse(filter).unwrap();
        check(&filter).unwrap_err().0
    }

    #[test]
    fn user_name_and_emails_compare_without_regard_to_case() {
        assert!(holds(r#"userName eq "ana@example.COM""#));
        assert!(holds(r#"emails.value eq "ANA@example.com""#));
        assert!(holds(r#"emails[value eq "ana@example.com"]"#));
        assert!(holds(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "ANA""#
        ));
        assert!(!holds(r#"userName eq "bo@example.com""#));
        assert!(holds(r#"emails[type eq "work" and primary eq true]"#));
    }

    #[test]
    fn a_user_name_set_apart_from_the_email_is_what_user_name_filters_see() {
        let user = AccountUser {
            user_name: Some("Ana.Silva".into()),
            ..ana()
        };
        let holds = |f: &str| matches(&parse(f).unwrap(), &user).unwrap();
        assert!(holds(r#"userName eq "ana.silva""#));
        assert!(!holds(r#"userName eq "ana@example.com""#));
        assert!(holds(r#"emails.value eq "ana@example.com""#));
        assert!(holds(r#"emails eq "ANA@example.com""#));
    }

    #[test]
    fn names_roles_and_ids_map_as_in_the_store() {
        assert!(holds(r#"displayName co "silva""#));
        assert!(holds(r#"name.formatted eq "ana silva""#));
        assert!(holds(r#"roles.value eq "ADMIN""#));
        assert!(holds(r#"roles[value eq "admin"]"#));
        assert!(holds(r#"id eq "42""#));
        assert!(!holds(r#"id eq "abc""#));
        assert!(holds(r#"id ne "abc""#));
        assert!(holds(r#"id sw "4""#));
    }

    #[test]
    fn active_takes_booleans_and_their_strings() {
        assert!(holds("active eq true"));
        assert!(holds(r#"active eq "True""#));
        assert!(holds("active ne false"));
        assert!(refused("active gt true").contains("eq or ne"));
    }

    #[test]
    fn timestamps_compare_as_instants() {
        assert!(holds(r#"meta.created lt "2026-01-02T03:04:06Z""#));
        assert!(holds(r#"meta.created eq "2026-01-02T04:04:05+01:00""#));
        assert!(holds(r#"meta.lastModified ge "2026-06-01T00:00:00.000Z""#));
        assert!(refused(r#"meta.created gt "yesterday""#).contains("ISO 8601"));
    }

    #[test]
    fn missing_values_make_comparisons_false_and_ne_true() {
        assert!(!holds(r#"externalId eq "x""#));
        assert!(holds(r#"externalId ne "x""#));
        assert!(!holds("externalId pr"));
        assert!(holds("externalId eq null"));
        assert!(holds("displayName pr"));
        assert!(holds("not (externalId pr) and userName pr"));
    }

    #[test]
    fn logic_combines_as_written() {
        assert!(holds(
            r#"userName eq "x@y.z" or (roles eq "admin" and active eq true)"#
        ));
        assert!(!holds(r#"not (roles eq "admin")"#));
    }

    #[test]
    fn unknown_attributes_are_refused_even_behind_a_deciding_operand() {
        assert!(refused("nickName pr").contains("nickName"));
        assert!(refused(r#"userName pr or title eq "x""#).contains("title"));
        assert!(refused(r#"addresses[type eq "work"]"#).contains("addresses"));
        assert!(refused(r#"emails[display eq "x"]"#).contains("emails.display"));
        assert!(refused("userName gt null").contains("null"));
    }

    #[test]
    fn an_email_equality_is_pinned_for_the_upstream_lookup() {
        let pinned = |f: &str| pinned_email(&parse(f).unwrap()).map(str::to_owned);
        assert_eq!(pinned(r#"userName eq "a@b.co""#).as_deref(), Some("a@b.co"));
        assert_eq!(
            pinned(r#"active eq true and emails[type eq "work" and value eq "a@b.co"]"#).as_deref(),
            Some("a@b.co")
        );
        assert_eq!(pinned(r#"userName eq "a@b.co" or active eq true"#), None);
        assert_eq!(pinned(r#"not (userName eq "a@b.co")"#), None);
        assert_eq!(pinned(r#"userName co "a@b.co""#), None);
    }
}
