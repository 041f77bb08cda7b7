//! SCIM user filters as parameterised SQL over the `account_users` table.
//!
//! [`user_filter`] turns a [`Filter`] into a `WHERE` fragment and the values to bind to it,
//! for SQLite (`?N`) or PostgreSQL (`$N`). Values from the filter only ever travel as
//! bound parameters; the SQL text is made of this module's own column names and
//! operators, so no filter can change the shape of the query.
//!
//! The attributes follow the user mapping of `DESIGN.md` section 2:
//!
//! | SCIM attribute | column | comparison |
//! | --- | --- | --- |
//! | `userName` | `user_name_key` (the userName, else the email) | case-insensitive |
//! | `emails`, `emails.value` | `email_normalized` | case-insensitive |
//! | `emails.type`, `emails.primary` | none: always `"work"` and `true` | |
//! | `id` | `id` | exact |
//! | `externalId` | `external_id` | case-exact (RFC 7643 section 3.1) |
//! | `displayName`, `name.formatted` | `name` | case-insensitive |
//! | `active` | `active` | `eq`, `ne` only |
//! | `roles`, `roles.value` | `role` | case-insensitive |
//! | `meta.created`, `meta.lastModified` | `created_at`, `updated_at` | as instants |
//!
//! Attribute names are matched case-insensitively (RFC 7643 section 2.1), with or without
//! the core User schema URN. Anything else is refused with a [`FilterSqlError`] that names
//! the attribute, which the SCIM layer answers with 400 `invalidFilter`.
//!
//! Every fragment is two-valued: a missing (NULL) `externalId` or `displayName` makes a
//! comparison false, never unknown, so `not (externalId eq "x")` includes users without
//! one. `ne` is the negation of `eq`, so it matches users without the attribute too.
//!
//! `userName` and the emails are compared on columns Roster keeps in lower case, so
//! `eq` on them is served by the unique indexes. Case-insensitive comparisons on `name`
//! and `role` fold both sides with the database's `lower()`, which on SQLite folds
//! ASCII letters only: `displayName eq "ÉLODIE"` does not find "élodie" there. Ordering operators (`gt`, `ge`, `lt`, `le`) on text compare code point
//! by code point on both databases.

use chrono::DateTime;
use roster_core::filter::{AttrPath, CompareOp, Filter, Value};

/// The URN a filter may put before a core User attribute (RFC 7643 section 8.7.1).
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

const SUPPORTED: &str = "userName, emails (value, type, primary), id, externalId, displayName, \
                         name.formatted, active, roles (value), meta.created and meta.lastModified";

/// Which placeholder syntax and functions to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `?N` placeholders; `active` holds 0 or 1.
    Sqlite,
    /// `$N` placeholders, each cast to its type so the server never has to guess it;
    /// `active` is a boolean.
    Postgres,
}

/// A value to bind to one placeholder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SqlParam {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// A `WHERE` fragment and its parameters, in placeholder order: `params[0]` binds to the
/// placeholder numbered `first_placeholder`, and so on without gaps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlFilter {
    /// A boolean expression in parentheses, ready to be joined with `AND`.
    pub sql: String,
    pub params: Vec<SqlParam>,
}

/// A filter this store cannot run; the message says which part and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterSqlError(pub String);

/// Translates `filter` over the columns of `account_users`, numbering placeholders from
/// `first_placeholder` so the caller can bind its own parameters (the account id, say)
/// before them.
pub fn user_filter(
    filter: &Filter,
    dialect: Dialect,
    first_placeholder: usize,
) -> Result<SqlFilter, FilterSqlError> {
    let mut builder = Builder {
        dialect,
        first_placeholder,
        params: Vec::new(),
    };
    let sql = builder.filter(filter, Scope::User)?;
    Ok(SqlFilter {
        sql,
        params: builder.params,
    })
}

/// Whether at most one user can match `filter`, found through a unique index: an `eq`
/// on `userName`, an email or `id`, alone or as an operand of an `and`. Such a filter
/// costs one index probe however large the account is.
pub fn pins_one_user(filter: &Filter) -> bool {
    pins_one(filter, Scope::User)
}

/// The columns a unique index makes an `eq` on them a single probe.
const UNIQUE_COLUMNS: [&str; 2] = ["email_normalized", "user_name_key"];

fn pins_one(filter: &Filter, scope: Scope) -> bool {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            ..
        } => match resolve(path, scope) {
            Ok(Target::Folded(column)) => UNIQUE_COLUMNS.contains(&column),
            Ok(Target::Id) => true,
            _ => false,
        },
        Filter::And(terms) => terms.iter().any(|term| pins_one(term, scope)),
        Filter::ValuePath { path, filter } => {
            value_path_scope(path, scope).is_ok_and(|inner| pins_one(filter, inner))
        }
        _ => false,
    }
}

const TRUE: &str = "(1 = 1)";
const FALSE: &str = "(1 = 0)";

/// Where attribute paths are resolved: at the top of a User, or inside the brackets of a
/// value path, where they name sub-attributes of one email or one role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    User,
    Email,
    Role,
}

/// What an attribute path stands for in `account_users`.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// A text column kept in lower case (`email_normalized`, `user_name_key`): the
    /// filter's value is lower-cased here, so the column's index stays usable for `eq`.
    Folded(&'static str),
    /// A nullable text column compared case-insensitively by `lower()` on both sides.
    Insensitive(&'static str),
    /// A required text column kept as given (`role`), compared by `lower()` on both
    /// sides.
    Lowered(&'static str),
    /// A nullable text column compared exactly.
    Exact(&'static str),
    Id,
    Active,
    /// Milliseconds since the epoch, compared with ISO 8601 values.
    Instant(&'static str),
    /// A value every user has: `emails.type` ("work").
    ConstText(&'static str),
    /// A value every user has: `emails.primary` (true).
    ConstBool(bool),
}

struct Builder {
    dialect: Dialect,
    first_placeholder: usize,
    params: Vec<SqlParam>,
}

impl Builder {
    /// Adds a parameter and returns its placeholder.
    fn bind(&mut self, param: SqlParam) -> String {
        let n = self.first_placeholder + self.params.len();
        let placeholder = match self.dialect {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => {
                let ty = match param {
                    SqlParam::Text(_) => "text",
                    SqlParam::Int(_) => "bigint",
                    SqlParam::Bool(_) => "boolean",
                };
                format!("${n}::{ty}")
            }
        };
        self.params.push(param);
        placeholder
    }

    fn filter(&mut self, filter: &Filter, scope: Scope) -> Result<String, FilterSqlError> {
        match filter {
            Filter::And(terms) => self.chain(terms, scope, "AND", TRUE),
            Filter::Or(terms) => self.chain(terms, scope, "OR", FALSE),
            Filter::Not(inner) => Ok(format!("(NOT {})", self.filter(inner, scope)?)),
            Filter::Present(path) => Ok(present(resolve(path, scope)?)),
            Filter::Compare { path, op, value } => {
                let target = resolve(path, scope)?;
                self.compare(target, path, *op, value)
            }
            Filter::ValuePath { path, filter } => {
                let inner = value_path_scope(path, scope)?;
                // Each user has exactly one email and one role, so "some value matches"
                // is the inner filter applied to that one value.
                self.filter(filter, inner)
            }
        }
    }

    fn chain(
        &mut self,
        terms: &[Filter],
        scope: Scope,
        keyword: &str,
        empty: &str,
    ) -> Result<String, FilterSqlError> {
        if terms.is_empty() {
            return Ok(empty.to_owned());
        }
        let parts = terms
            .iter()
            .map(|term| self.filter(term, scope))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(format!("({})", parts.join(&format!(" {keyword} "))))
    }

    fn compare(
        &mut self,
        target: Target,
        path: &AttrPath,
        op: CompareOp,
        value: &Value,
    ) -> Result<String, FilterSqlError> {
        if *value == Value::Null {
            // RFC 7644 gives `null` no meaning in a comparison; `eq null` reads naturally
            // as "has no value" and `ne null` as "has one".
            return match op {
                CompareOp::Eq => Ok(format!("(NOT {})", present(target))),
                CompareOp::Ne => Ok(present(target)),
                _ => Err(FilterSqlError(format!(
                    "{path} {op} null: null can only be compared with eq or ne"
                ))),
            };
        }
        match target {
            Target::Folded(column) => {
                let text = text_value(path, value)?.to_lowercase();
                Ok(self.folded_compare(column, op, text))
            }
            Target::Insensitive(column) => {
                let text = text_value(path, value)?;
                let sql = self.insensitive_compare(column, op, text);
                Ok(nullable(column, op, sql))
            }
            Target::Lowered(column) => {
                let text = text_value(path, value)?;
                Ok(format!("({})", self.insensitive_compare(column, op, text)))
            }
            Target::Exact(column) => {
                let text = text_value(path, value)?;
                let sql = self.exact_compare(column, op, text);
                Ok(nullable(column, op, sql))
            }
            Target::Id => self.id_compare(path, op, value),
            Target::Active => {
                let wanted = bool_value(path, value)?;
                let sql_op = match op {
                    CompareOp::Eq => "=",
                    CompareOp::Ne => "<>",
                    _ => return Err(only_equality(path, op)),
                };
                let p = self.bind(SqlParam::Bool(wanted));
                Ok(format!("(active {sql_op} {p})"))
            }
            Target::Instant(column) => {
                let sql_op = ordering_sql(op).ok_or_else(|| {
                    FilterSqlError(format!(
                        "{path} {op}: timestamps compare with eq, ne, gt, ge, lt or le"
                    ))
                })?;
                let at = instant_value(path, value)?;
                let p = self.bind(SqlParam::Int(at));
                Ok(format!("({column} {sql_op} {p})"))
            }
            Target::ConstText(constant) => {
                let text = text_value(path, value)?.to_lowercase();
                Ok(constant_text_matches(constant, op, &text)
                    .to_sql()
                    .to_owned())
            }
            Target::ConstBool(constant) => {
                let wanted = bool_value(path, value)?;
                let matches = match op {
                    CompareOp::Eq => constant == wanted,
                    CompareOp::Ne => constant != wanted,
                    _ => return Err(only_equality(path, op)),
                };
                Ok(matches.to_sql().to_owned())
            }
        }
    }

    /// `lower(column) op lower(value)`: the database folds both sides the same way.
    fn insensitive_compare(&mut self, column: &str, op: CompareOp, text: String) -> String {
        let lowered = format!("lower({column})");
        match op {
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                let p = self.bind(SqlParam::Text(like_pattern(op, &text)));
                format!("{lowered} LIKE lower({p}) ESCAPE '\\'")
            }
            _ => {
                let p = self.bind(SqlParam::Text(text));
                let p = format!("lower({p})");
                self.ordered(&lowered, op, &p)
            }
        }
    }

    /// A comparison on a column holding lower-case text, `text` already lower-cased.
    fn folded_compare(&mut self, column: &str, op: CompareOp, text: String) -> String {
        match op {
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                let p = self.bind(SqlParam::Text(like_pattern(op, &text)));
                format!("({column} LIKE {p} ESCAPE '\\')")
            }
            _ => {
                let p = self.bind(SqlParam::Text(text));
                format!("({})", self.ordered(column, op, &p))
            }
        }
    }

    /// A case-exact comparison. `LIKE` folds ASCII case on SQLite, so substring tests use
    /// position and substring functions instead, which compare exactly on both databases.
    fn exact_compare(&mut self, column: &str, op: CompareOp, text: String) -> String {
        let p = self.bind(SqlParam::Text(text));
        match op {
            CompareOp::Co => match self.dialect {
                Dialect::Sqlite => format!("instr({column}, {p}) > 0"),
                Dialect::Postgres => format!("strpos({column}, {p}) > 0"),
            },
            CompareOp::Sw => format!("substr({column}, 1, length({p})) = {p}"),
            CompareOp::Ew => format!(
                "length({column}) >= length({p}) \
                 AND substr({column}, length({column}) - length({p}) + 1) = {p}"
            ),
            _ => self.ordered(column, op, &p),
        }
    }

    /// `eq`, `ne` and the ordering operators between two text expressions. PostgreSQL
    /// orders by the database's collation unless told otherwise; "C" makes it compare
    /// code points as SQLite does.
    fn ordered(&self, left: &str, op: CompareOp, right: &str) -> String {
        let sql_op = ordering_sql(op).unwrap_or("=");
        let ordering = !matches!(op, CompareOp::Eq | CompareOp::Ne);
        if ordering && self.dialect == Dialect::Postgres {
            format!("{left} COLLATE \"C\" {sql_op} {right}")
        } else {
            format!("{left} {sql_op} {right}")
        }
    }

    /// SCIM ids are strings (RFC 7643 section 3.1) that hold our integer ids. Equality
    /// uses the integer so the primary key serves it; other operators compare the text.
    fn id_compare(
        &mut self,
        path: &AttrPath,
        op: CompareOp,
        value: &Value,
    ) -> Result<String, FilterSqlError> {
        let text = text_value(path, value)?;
        if matches!(op, CompareOp::Eq | CompareOp::Ne) {
            let Ok(id) = text.parse::<i64>() else {
                // No user has an id that is not an integer.
                let matches = op == CompareOp::Ne;
                return Ok(matches.to_sql().to_owned());
            };
            let sql_op = if op == CompareOp::Eq { "=" } else { "<>" };
            let p = self.bind(SqlParam::Int(id));
            return Ok(format!("(id {sql_op} {p})"));
        }
        let sql = self.exact_compare("CAST(id AS TEXT)", op, text);
        Ok(format!("({sql})"))
    }
}

trait ToSql {
    fn to_sql(self) -> &'static str;
}

impl ToSql for bool {
    fn to_sql(self) -> &'static str {
        if self {
            TRUE
        } else {
            FALSE
        }
    }
}

/// Wraps a comparison on a nullable column so that NULL gives false (or true for `ne`)
/// instead of SQL's unknown, which `NOT` would keep unknown.
fn nullable(column: &str, op: CompareOp, sql: String) -> String {
    if op == CompareOp::Ne {
        format!("({column} IS NULL OR {sql})")
    } else {
        format!("({column} IS NOT NULL AND {sql})")
    }
}

/// `pr`: the attribute has a non-empty value (RFC 7644 section 3.4.2.2).
fn present(target: Target) -> String {
    match target {
        Target::Insensitive(column) | Target::Exact(column) => {
            format!("({column} IS NOT NULL AND {column} <> '')")
        }
        // Required columns and constants: every user has them.
        Target::Folded(_)
        | Target::Lowered(_)
        | Target::Id
        | Target::Active
        | Target::Instant(_)
        | Target::ConstText(_)
        | Target::ConstBool(_) => TRUE.to_owned(),
    }
}

fn ordering_sql(op: CompareOp) -> Option<&'static str> {
    Some(match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => return None,
    })
}

/// A `LIKE` pattern for `co`, `sw` or `ew`, with `\` escaping the wildcards in `text`.
fn like_pattern(op: CompareOp, text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    match op {
        CompareOp::Co => format!("%{escaped}%"),
        CompareOp::Sw => format!("{escaped}%"),
        _ => format!("%{escaped}"),
    }
}

/// Evaluates a comparison against a value every user has, `text` lower-cased.
fn constant_text_matches(constant: &str, op: CompareOp, text: &str) -> bool {
    match op {
        CompareOp::Eq => constant == text,
        CompareOp::Ne => constant != text,
        CompareOp::Co => constant.contains(text),
        CompareOp::Sw => constant.starts_with(text),
        CompareOp::Ew => constant.ends_with(text),
        CompareOp::Gt => constant > text,
        CompareOp::Ge => constant >= text,
        CompareOp::Lt => constant < text,
        CompareOp::Le => constant <= text,
    }
}

/// The text of a value compared with a string attribute. A bare number or boolean is
/// taken as the text it was written as, since SCIM-NOTES asks that unquoted values be
/// accepted.
fn text_value(path: &AttrPath, value: &Value) -> Result<String, FilterSqlError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err(FilterSqlError(format!(
            "{path} cannot be compared with null"
        ))),
    }
}

/// `true`/`false`, also as strings in any case, as Entra ID writes booleans.
fn bool_value(path: &AttrPath, value: &Value) -> Result<bool, FilterSqlError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(FilterSqlError(format!(
            "{path} is a boolean; compare it with true or false, not {other}"
        ))),
    }
}

fn instant_value(path: &AttrPath, value: &Value) -> Result<i64, FilterSqlError> {
    let parsed = match value {
        Value::String(s) => DateTime::parse_from_rfc3339(s).ok(),
        _ => None,
    };
    parsed.map(|t| t.timestamp_millis()).ok_or_else(|| {
        FilterSqlError(format!(
            "{path} is a timestamp; compare it with an ISO 8601 value such as \
             \"2026-12-03T18:02:46.123Z\", not {value}"
        ))
    })
}

fn only_equality(path: &AttrPath, op: CompareOp) -> FilterSqlError {
    FilterSqlError(format!(
        "{path} {op}: {path} can only be compared with eq or ne"
    ))
}

fn unsupported(path: &AttrPath, scope: Scope) -> FilterSqlError {
    let message = match scope {
        Scope::User => format!("cannot filter on {path}: Roster stores only {SUPPORTED}"),
        Scope::Email => {
            format!("cannot filter on emails.{path}: emails have only value, type and primary")
        }
        Scope::Role => format!("cannot filter on roles.{path}: roles have only value"),
    };
    FilterSqlError(message)
}

/// What `path` stands for, at the top of a User or inside a value path.
fn resolve(path: &AttrPath, scope: Scope) -> Result<Target, FilterSqlError> {
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
            let sub = path.sub_attr.as_deref();
            let target = match sub {
                None if is(attr, "userName") => Target::Folded("user_name_key"),
                None if is(attr, "emails") => Target::Folded("email_normalized"),
                None if is(attr, "id") => Target::Id,
                None if is(attr, "externalId") => Target::Exact("external_id"),
                None if is(attr, "displayName") => Target::Insensitive("name"),
                None if is(attr, "active") => Target::Active,
                None if is(attr, "roles") => Target::Lowered("role"),
                Some(sub) if is(attr, "emails") => {
                    element(Scope::Email, sub).ok_or_else(|| unsupported(path, scope))?
                }
                Some(sub) if is(attr, "roles") => {
                    element(Scope::Role, sub).ok_or_else(|| unsupported(path, scope))?
                }
                Some(sub) if is(attr, "name") && is(sub, "formatted") => {
                    Target::Insensitive("name")
                }
                Some(sub) if is(attr, "meta") && is(sub, "created") => {
                    Target::Instant("created_at")
                }
                Some(sub) if is(attr, "meta") && is(sub, "lastModified") => {
                    Target::Instant("updated_at")
                }
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

/// A sub-attribute of the user's one email or one role.
fn element(scope: Scope, sub: &str) -> Option<Target> {
    let is = |wanted: &str| sub.eq_ignore_ascii_case(wanted);
    match scope {
        Scope::Email if is("value") => Some(Target::Folded("email_normalized")),
        Scope::Email if is("type") => Some(Target::ConstText("work")),
        Scope::Email if is("primary") => Some(Target::ConstBool(true)),
        Scope::Role if is("value") => Some(Target::Lowered("role")),
        _ => None,
    }
}

/// The scope inside `path[...]`.
fn value_path_scope(path: &AttrPath, scope: Scope) -> Result<Scope, FilterSqlError> {
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
        Err(FilterSqlError(format!(
            "cannot filter on {path}[...]: only emails[...] and roles[...] take a value filter"
        )))
    }
}

#[cfg(test)]
mod tests;
