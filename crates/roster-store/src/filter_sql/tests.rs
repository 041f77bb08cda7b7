use roster_core::filter::parse;

use super::*;

fn sqlite(filter: &str) -> SqlFilter {
    translate(filter, Dialect::Sqlite)
}

fn translate(filter: &str, dialect: Dialect) -> SqlFilter {
    let parsed = parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    user_filter(&parsed, dialect, 1).unwrap_or_else(|e| panic!("{filter}: {e}"))
}

fn refusal(filter: &str) -> String {
    let parsed = parse(filter).unwrap();
    match user_filter(&parsed, Dialect::Sqlite, 1) {
        Ok(sql) => panic!("{filter} should be refused, gave {sql:?}"),
        Err(FilterSqlError(message)) => message,
    }
}

fn text(s: &str) -> SqlParam {
    SqlParam::Text(s.into())
}

#[test]
fn user_name_equality_uses_the_normalised_key_and_a_lower_cased_value() {
    let sql = sqlite(r#"userName eq "Ana@Example.COM""#);
    assert_eq!(sql.sql, "(user_name_key = ?1)");
    assert_eq!(sql.params, vec![text("ana@example.com")]);
}

#[test]
fn emails_still_compare_with_the_email_and_not_the_user_name() {
    let sql = sqlite(r#"emails.value eq "Ana@Example.COM" or emails eq "b@x.io""#);
    assert_eq!(
        sql.sql,
        "((email_normalized = ?1) OR (email_normalized = ?2))"
    );
    assert_eq!(sql.params, vec![text("ana@example.com"), text("b@x.io")]);
}

#[test]
fn postgres_placeholders_are_numbered_with_dollars_and_typed() {
    let sql = translate(
        r#"userName eq "a@x.io" and active eq true and id eq "7""#,
        Dialect::Postgres,
    );
    assert_eq!(
        sql.sql,
        "((user_name_key = $1::text) AND (active = $2::boolean) AND (id = $3::bigint))"
    );
    assert_eq!(
        sql.params,
        vec![text("a@x.io"), SqlParam::Bool(true), SqlParam::Int(7)]
    );
}

#[test]
fn placeholders_start_where_the_caller_says() {
    let parsed = parse(r#"userName eq "a" or displayName eq "b""#).unwrap();
    let sql = user_filter(&parsed, Dialect::Sqlite, 3).unwrap();
    assert_eq!(
        sql.sql,
        "((user_name_key = ?3) OR (name IS NOT NULL AND lower(name) = lower(?4)))"
    );
}

#[test]
fn wildcards_in_substring_values_are_escaped() {
    let sql = sqlite(r#"userName co "50%_off\\""#);
    assert_eq!(sql.sql, "(user_name_key LIKE ?1 ESCAPE '\\')");
    assert_eq!(sql.params, vec![text("%50\\%\\_off\\\\%")]);
    assert_eq!(sqlite(r#"userName sw "A""#).params, vec![text("a%")]);
    assert_eq!(sqlite(r#"userName ew "B""#).params, vec![text("%b")]);
}

#[test]
fn external_id_is_compared_exactly_without_like() {
    assert_eq!(
        sqlite(r#"externalId eq "Ab""#).sql,
        "(external_id IS NOT NULL AND external_id = ?1)"
    );
    assert_eq!(
        sqlite(r#"externalId co "b""#).sql,
        "(external_id IS NOT NULL AND instr(external_id, ?1) > 0)"
    );
    assert_eq!(
        translate(r#"externalId co "b""#, Dialect::Postgres).sql,
        "(external_id IS NOT NULL AND strpos(external_id, $1::text) > 0)"
    );
    assert_eq!(
        sqlite(r#"externalId ne "b""#).sql,
        "(external_id IS NULL OR external_id <> ?1)"
    );
}

#[test]
fn not_and_or_keep_their_grouping_in_sql() {
    let sql = sqlite(r#"not (userName eq "a" or userName eq "b") and roles eq "Admin""#);
    assert_eq!(
        sql.sql,
        "((NOT ((user_name_key = ?1) OR (user_name_key = ?2))) AND (lower(role) = lower(?3)))"
    );
    assert_eq!(sql.params, vec![text("a"), text("b"), text("Admin")]);
}

#[test]
fn the_work_email_value_path_matches_every_user() {
    assert_eq!(sqlite(r#"emails[type eq "work"]"#).sql, "(1 = 1)");
    assert_eq!(sqlite(r#"emails[type eq "WORK"]"#).sql, "(1 = 1)");
    assert_eq!(sqlite(r#"emails[type eq "home"]"#).sql, "(1 = 0)");
    assert_eq!(sqlite(r#"emails.primary eq true"#).sql, "(1 = 1)");
    let entra = sqlite(r#"emails[type eq "work"].value eq "Ana@x.io""#);
    assert_eq!(entra.sql, "((1 = 1) AND (email_normalized = ?1))");
    assert_eq!(entra.params, vec![text("ana@x.io")]);
    assert_eq!(
        sqlite(r#"roles[value eq "staff"]"#).sql,
        "(lower(role) = lower(?1))"
    );
}

#[test]
fn schema_prefixes_and_attribute_case_do_not_matter() {
    assert_eq!(
        sqlite(r#"urn:ietf:params:scim:schemas:core:2.0:User:USERNAME eq "a""#).sql,
        "(user_name_key = ?1)"
    );
    assert_eq!(
        sqlite(r#"Name.Formatted sw "a""#).sql,
        "(name IS NOT NULL AND lower(name) LIKE lower(?1) ESCAPE '\\')"
    );
}

#[test]
fn booleans_written_as_strings_are_read() {
    let sql = sqlite(r#"active eq "False""#);
    assert_eq!(sql.sql, "(active = ?1)");
    assert_eq!(sql.params, vec![SqlParam::Bool(false)]);
}

#[test]
fn timestamps_compare_as_milliseconds() {
    let sql = sqlite(r#"meta.lastModified gt "2026-12-03T18:02:46.123Z""#);
    assert_eq!(sql.sql, "(updated_at > ?1)");
    assert_eq!(sql.params, vec![SqlParam::Int(1_796_320_966_123)]);
    let sql = sqlite(r#"meta.created le "2026-12-03T19:02:46.123+01:00""#);
    assert_eq!(sql.sql, "(created_at <= ?1)");
    assert_eq!(sql.params, vec![SqlParam::Int(1_796_320_966_123)]);
}

#[test]
fn ids_that_are_not_integers_match_nobody() {
    assert_eq!(sqlite(r#"id eq "abc""#).sql, "(1 = 0)");
    assert_eq!(sqlite(r#"id ne "abc""#).sql, "(1 = 1)");
    assert_eq!(sqlite("id eq 12").params, vec![SqlParam::Int(12)]);
    assert_eq!(
        sqlite(r#"id sw "1""#).sql,
        "(substr(CAST(id AS TEXT), 1, length(?1)) = ?1)"
    );
}

#[test]
fn presence_and_null_mean_a_non_empty_value() {
    assert_eq!(
        sqlite("externalId pr").sql,
        "(external_id IS NOT NULL AND external_id <> '')"
    );
    assert_eq!(
        sqlite("displayName eq null").sql,
        "(NOT (name IS NOT NULL AND name <> ''))"
    );
    assert_eq!(sqlite("userName pr").sql, "(1 = 1)");
    assert!(sqlite("userName pr").params.is_empty());
}

#[test]
fn unknown_attributes_are_refused_by_name() {
    for (filter, fragment) in [
        (r#"title eq "x""#, "cannot filter on title"),
        (r#"name.givenName eq "x""#, "cannot filter on name.givenName"),
        (r#"emails.display eq "x""#, "cannot filter on emails.display"),
        (r#"emails[display eq "x"]"#, "emails have only value, type and primary"),
        (r#"roles[type eq "x"]"#, "roles have only value"),
        (r#"ims[type eq "x"]"#, "only emails[...] and roles[...]"),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1""#,
            "cannot filter on urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        ),
        (r#"active gt true"#, "only be compared with eq or ne"),
        (r#"active eq "maybe""#, "active is a boolean"),
        (r#"meta.created co "2020""#, "timestamps compare with"),
        (r#"meta.created eq "yesterday""#, "ISO 8601"),
        (r#"userName gt null"#, "null can only be compared"),
    ] {
        let message = refusal(filter);
        assert!(message.contains(fragment), "{filter}: {message}");
    }
    assert!(refusal(r#"title eq "x""#).contains("Roster stores only userName"));
}

#[test]
fn parameters_match_the_placeholders_one_to_one() {
    let filter = r#"(userName sw "a" or externalId ew "b") and not (displayName gt "c")
        and emails[type eq "work" and value co "d"] and meta.created ge "2020-01-01T00:00:00Z""#;
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let sql = translate(filter, dialect);
        let sigil = if dialect == Dialect::Sqlite { '?' } else { '$' };
        let mut numbers: Vec<usize> = sql
            .sql
            .split(sigil)
            .skip(1)
            .map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().unwrap()
            })
            .collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(
            numbers,
            (1..=sql.params.len()).collect::<Vec<_>>(),
            "{}",
            sql.sql
        );
    }
}

#[test]
fn filter_values_never_reach_the_sql_text() {
    let hostile = r#"x' OR 1=1 --"#;
    let filter = format!(
        r#"userName eq "{hostile}" or externalId co "{hostile}" or displayName sw "{hostile}" or id gt "{hostile}""#
    );
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let sql = translate(&filter, dialect);
        assert!(!sql.sql.contains("OR 1=1"), "{}", sql.sql);
        assert!(!sql.sql.contains("x'"), "{}", sql.sql);
    }
}

#[test]
fn equalities_on_unique_attributes_pin_one_user_and_others_do_not() {
    let pins = |filter: &str| pins_one_user(&parse(filter).unwrap());
    for pinned in [
        r#"userName eq "ana@example.com""#,
        r#"emails.value eq "ana@example.com""#,
        r#"emails[type eq "work" and value eq "ana@example.com"]"#,
        r#"active eq true and userName eq "ana@example.com""#,
        r#"id eq "7""#,
    ] {
        assert!(pins(pinned), "{pinned} pins one user");
    }
    for open in [
        r#"userName sw "ana""#,
        r#"userName eq "ana@example.com" or active eq true"#,
        r#"not (userName eq "ana@example.com")"#,
        r#"roles[value eq "admin"]"#,
        r#"displayName eq "Ana""#,
        "userName pr",
    ] {
        assert!(!pins(open), "{open} may match many users");
    }
}
