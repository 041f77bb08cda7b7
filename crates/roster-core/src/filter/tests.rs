use super::*;

fn path(attr: &str) -> AttrPath {
    AttrPath {
        schema: None,
        attr: attr.into(),
        sub_attr: None,
    }
}

fn sub(attr: &str, sub: &str) -> AttrPath {
    AttrPath {
        sub_attr: Some(sub.into()),
        ..path(attr)
    }
}

fn cmp(path: AttrPath, op: CompareOp, value: Value) -> Filter {
    Filter::Compare { path, op, value }
}

fn text(s: &str) -> Value {
    Value::String(s.into())
}

fn present(attr: &str) -> Filter {
    Filter::Present(path(attr))
}

fn error(input: &str) -> FilterError {
    match parse(input) {
        Ok(filter) => panic!("{input:?} should be refused, parsed as {filter:?}"),
        Err(e) => e,
    }
}

#[test]
fn a_simple_comparison_parses_into_its_parts() {
    assert_eq!(
        parse(r#"userName eq "bjensen""#).unwrap(),
        cmp(path("userName"), CompareOp::Eq, text("bjensen"))
    );
}

#[test]
fn every_operator_is_read_in_any_case() {
    for (word, op) in [
        ("eq", CompareOp::Eq),
        ("NE", CompareOp::Ne),
        ("Co", CompareOp::Co),
        ("sw", CompareOp::Sw),
        ("eW", CompareOp::Ew),
        ("gt", CompareOp::Gt),
        ("GE", CompareOp::Ge),
        ("lt", CompareOp::Lt),
        ("le", CompareOp::Le),
    ] {
        assert_eq!(
            parse(&format!("title {word} \"x\"")).unwrap(),
            cmp(path("title"), op, text("x")),
            "{word}"
        );
    }
    assert_eq!(parse("title PR").unwrap(), present("title"));
    assert_eq!(
        parse("a pr AND b pr Or NOT (c pr)").unwrap(),
        Filter::Or(vec![
            Filter::And(vec![present("a"), present("b")]),
            Filter::Not(Box::new(present("c"))),
        ])
    );
}

#[test]
fn schema_urns_and_sub_attributes_are_split_off_the_name() {
    assert_eq!(
        parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName sw "J""#).unwrap(),
        cmp(
            AttrPath {
                schema: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
                attr: "name".into(),
                sub_attr: Some("givenName".into()),
            },
            CompareOp::Sw,
            text("J")
        )
    );
    assert_eq!(
        parse("meta.lastModified pr").unwrap(),
        Filter::Present(sub("meta", "lastModified"))
    );
}

#[test]
fn and_binds_tighter_than_or_and_not_tighter_than_and() {
    assert_eq!(
        parse("a pr or b pr and c pr").unwrap(),
        Filter::Or(vec![
            present("a"),
            Filter::And(vec![present("b"), present("c")])
        ])
    );
    assert_eq!(
        parse("a pr and b pr or c pr").unwrap(),
        Filter::Or(vec![
            Filter::And(vec![present("a"), present("b")]),
            present("c")
        ])
    );
    assert_eq!(
        parse("not (a pr) and b pr").unwrap(),
        Filter::And(vec![Filter::Not(Box::new(present("a"))), present("b")])
    );
}

#[test]
fn parentheses_override_precedence() {
    assert_eq!(
        parse("(a pr or b pr) and c pr").unwrap(),
        Filter::And(vec![
            Filter::Or(vec![present("a"), present("b")]),
            present("c")
        ])
    );
    assert_eq!(parse("((( a pr )))").unwrap(), present("a"));
    assert_eq!(
        parse("(a pr)or(b pr)").unwrap(),
        Filter::Or(vec![present("a"), present("b")])
    );
}

#[test]
fn chains_of_one_operator_make_one_node() {
    assert_eq!(
        parse("a pr or b pr or c pr or d pr").unwrap(),
        Filter::Or(vec![present("a"), present("b"), present("c"), present("d")])
    );
}

#[test]
fn value_paths_hold_a_filter_over_sub_attributes() {
    assert_eq!(
        parse(r#"emails[type eq "work" and value co "@example.com"]"#).unwrap(),
        Filter::ValuePath {
            path: path("emails"),
            filter: Box::new(Filter::And(vec![
                cmp(path("type"), CompareOp::Eq, text("work")),
                cmp(path("value"), CompareOp::Co, text("@example.com")),
            ])),
        }
    );
}

#[test]
fn the_entra_form_with_a_sub_attribute_after_the_brackets_is_one_value_path() {
    assert_eq!(
        parse(r#"emails[type eq "work"].value eq "ana@example.com""#).unwrap(),
        Filter::ValuePath {
            path: path("emails"),
            filter: Box::new(Filter::And(vec![
                cmp(path("type"), CompareOp::Eq, text("work")),
                cmp(path("value"), CompareOp::Eq, text("ana@example.com")),
            ])),
        }
    );
    assert_eq!(
        parse(r#"emails[type eq "work"].value pr and userName eq "x""#).unwrap(),
        Filter::And(vec![
            Filter::ValuePath {
                path: path("emails"),
                filter: Box::new(Filter::And(vec![
                    cmp(path("type"), CompareOp::Eq, text("work")),
                    Filter::Present(path("value")),
                ])),
            },
            cmp(path("userName"), CompareOp::Eq, text("x")),
        ])
    );
}

#[test]
fn the_examples_of_rfc_7644_section_3_4_2_2_all_parse() {
    for example in [
        r#"userName eq "bjensen""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        "title pr",
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        r#"emails[type eq "work" or (type eq "home" and value ew "@example.com")]"#,
    ] {
        parse(example).unwrap_or_else(|e| panic!("{example}: {e}"));
    }
}

#[test]
fn string_values_follow_json_escapes() {
    let value = |input: &str| match parse(&format!("a eq {input}")).unwrap() {
        Filter::Compare { value, .. } => value,
        other => panic!("{other:?}"),
    };
    assert_eq!(value(r#""x\" or 1=1 --""#), text("x\" or 1=1 --"));
    assert_eq!(
        value(r#""\\ \/ \b\f\n\r\t""#),
        text("\\ / \u{8}\u{c}\n\r\t")
    );
    assert_eq!(value(r#""caf\u00e9""#), text("café"));
    assert_eq!(value(r#""\ud83d\ude00""#), text("😀"));
    assert_eq!(value(r#""李 😀""#), text("李 😀"));
    assert_eq!(value(r#""""#), text(""));
}

#[test]
fn numbers_booleans_and_null_keep_their_type() {
    let value = |input: &str| match parse(&format!("a eq {input}")).unwrap() {
        Filter::Compare { value, .. } => value,
        other => panic!("{other:?}"),
    };
    assert_eq!(value("42"), Value::Number(42.0));
    assert_eq!(value("-1.5e3"), Value::Number(-1500.0));
    assert_eq!(value("0.25"), Value::Number(0.25));
    assert_eq!(value("true"), Value::Bool(true));
    assert_eq!(value("False"), Value::Bool(false));
    assert_eq!(value("null"), Value::Null);
}

#[test]
fn a_value_without_quotes_is_read_as_a_string() {
    assert_eq!(
        parse("userName eq ana@example.com").unwrap(),
        cmp(path("userName"), CompareOp::Eq, text("ana@example.com"))
    );
    // Not JSON numbers, so the leading zero and the plus survive as written.
    assert_eq!(
        parse("externalId eq 00123").unwrap(),
        cmp(path("externalId"), CompareOp::Eq, text("00123"))
    );
    assert_eq!(
        parse("(externalId eq +7) and active eq TRUE").unwrap(),
        Filter::And(vec![
            cmp(path("externalId"), CompareOp::Eq, text("+7")),
            cmp(path("active"), CompareOp::Eq, Value::Bool(true)),
        ])
    );
}

#[test]
fn an_attribute_may_be_named_like_a_keyword() {
    assert_eq!(parse("not pr").unwrap(), present("not"));
    assert_eq!(
        parse("not[x pr]").unwrap(),
        Filter::ValuePath {
            path: path("not"),
            filter: Box::new(present("x")),
        }
    );
    assert_eq!(
        parse(r#"and eq "x" or or pr"#).unwrap(),
        Filter::Or(vec![
            cmp(path("and"), CompareOp::Eq, text("x")),
            present("or")
        ])
    );
}

#[test]
fn a_filter_without_an_operator_is_refused_with_a_hint() {
    let e = error("SOMEUSER");
    assert_eq!(e.position, 9);
    assert!(e.message.contains("expected an operator"), "{e}");
    assert!(e.message.contains("SOMEUSER"), "{e}");
    assert_eq!(
        e.to_string(),
        "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after SOMEUSER, \
         found the end of the filter at character 9"
    );
}

#[test]
fn malformed_filters_say_what_is_wrong_and_where() {
    for (input, position, fragment) in [
        ("", 1, "empty"),
        ("   ", 4, "empty"),
        ("userName eq", 12, "expected a value"),
        ("userName eq ", 13, "expected a value"),
        (r#"userName eq "ana"#, 13, "no closing quote"),
        (r#"userName xx "a""#, 10, "expected an operator"),
        (r#"userName eq "a" and"#, 20, "expected a filter"),
        (
            r#"userName eq "a" nand b pr"#,
            17,
            "expected \"and\", \"or\"",
        ),
        (
            "(a pr",
            6,
            "expected \")\" to close the \"(\" at character 1",
        ),
        ("a pr)", 5, "no matching ("),
        ("a pr]", 5, "no matching ["),
        (r#"emails[type eq "work""#, 22, "expected \"]\""),
        (r#"emails[type eq "work"]]"#, 23, "no matching ["),
        (r#"emails[value[x pr]]"#, 13, "cannot hold another"),
        (r#"name.givenName[x pr]"#, 1, "sub-attribute"),
        (r#"emails[type pr]. eq "x""#, 17, "sub-attribute name"),
        ("not a pr", 5, "\"not\" must be followed"),
        ("not", 4, "\"not\" must be followed"),
        ("not ()", 6, "expected an attribute name"),
        ("1abc eq 1", 1, "expected an attribute name"),
        (":x eq 1", 1, "expected an attribute name"),
        ("urn:: eq 1", 1, "is not an attribute path"),
        ("a.b.c eq 1", 1, "is not an attribute path"),
        ("a. eq 1", 1, "is not an attribute path"),
        ("a eq1", 5, "expected a space"),
        ("a eq 1e999", 6, "out of range"),
        (r#"a eq "\x""#, 7, "unknown escape"),
        (r#"a eq "\u12""#, 7, "four hex digits"),
        (r#"a eq "\ud800""#, 7, "low surrogate"),
        (r#"a eq "\udc00""#, 7, "not a Unicode character"),
        (r#"a eq "x" "y""#, 10, "expected \"and\", \"or\""),
        ("é eq 1", 1, "expected an attribute name"),
        ("a eq \"é\" é", 10, "expected \"and\", \"or\""),
    ] {
        let e = error(input);
        assert!(
            e.message.contains(fragment),
            "{input:?}: {e} does not mention {fragment:?}"
        );
        assert_eq!(e.position, position, "{input:?}: {e}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let inside = format!("{}a pr{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
    assert_eq!(parse(&inside).unwrap(), present("a"));

    for input in [
        format!("{}a pr{}", "(".repeat(100_000), ")".repeat(100_000)),
        "(".repeat(1_000_000),
        "not (".repeat(100_000),
        format!("{}a pr", "not (".repeat(MAX_NESTING + 1)),
    ] {
        let e = error(&input);
        assert!(e.message.contains("deep"), "{e}");
    }
}

#[test]
fn huge_filters_are_refused_by_size() {
    let at_limit = vec!["a pr"; MAX_COMPARISONS].join(" or ");
    assert!(matches!(parse(&at_limit), Ok(Filter::Or(terms)) if terms.len() == MAX_COMPARISONS));
    let over = vec!["a pr"; 100_000].join(" and ");
    assert!(error(&over).message.contains("comparisons"));
}

#[test]
fn printing_a_filter_gives_text_that_parses_back_to_it() {
    for input in [
        r#"userName eq "a\"b\\c\n""#,
        r#"a pr and (b pr or c pr) and not (d lt 5)"#,
        r#"(a pr and b pr) and c pr"#,
        r#"emails[type eq "work" or primary eq true].value sw "x""#,
        r#"urn:x:y:z.w gt -0.5"#,
        "x eq null",
    ] {
        let filter = parse(input).unwrap();
        assert_eq!(parse(&filter.to_string()).unwrap(), filter, "{input}");
    }
}

/// A small deterministic generator (xorshift64*), so the property tests below need no
/// extra crate and fail the same way on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const SEEDS: &[&str] = &[
    r#"userName eq "bjensen""#,
    r#"emails[type eq "work"].value eq "ana@example.com""#,
    r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
    r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
    r#"meta.lastModified gt "2011-05-13T04:42:34Z" and active eq true"#,
    r#"emails[type eq "work" or (type eq "home" and value ew "@example.com")]"#,
    r#"x eq "\ud83d\ude00 \u00e9 \" \\""#,
    "a eq -1.5e3 or b eq null or c eq FALSE",
];

/// Pieces that sit near the grammar's edges: operators, brackets, quotes, escapes.
const PIECES: &[&str] = &[
    "(", ")", "[", "]", "\"", "\\", "\\u", "\\ud800", ".", ":", " ", "and", "or", "not", " eq ",
    " pr", "e", "1", "-", "é", "😀", "\u{0}", "\t", "urn:", "]. ", "[x eq 1]", "9e999",
];

#[test]
fn random_bytes_never_make_the_parser_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let len = rng.below(48);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if rng.below(2) == 0 {
                    *rng.pick(b"()[]\"\\.: aeopnrtqsu01-$")
                } else {
                    rng.next() as u8
                }
            })
            .collect();
        let input = String::from_utf8_lossy(&bytes);
        let _ = parse(&input);
    }
}

#[test]
fn mutated_filters_never_make_the_parser_panic() {
    let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
    for _ in 0..20_000 {
        let mut input: Vec<char> = rng.pick(SEEDS).chars().collect();
        for _ in 0..=rng.below(4) {
            let at = rng.below(input.len() + 1);
            match rng.below(4) {
                0 if at < input.len() => {
                    input.remove(at);
                }
                1 => {
                    for c in rng.pick(PIECES).chars().rev() {
                        input.insert(at, c);
                    }
                }
                2 => input.truncate(at),
                _ => {
                    // Repeat a slice, which grows nesting and chains.
                    let end = (at + rng.below(12)).min(input.len());
                    let slice: Vec<char> = input[at..end].to_vec();
                    for _ in 0..rng.below(40) {
                        input.splice(at..at, slice.iter().copied());
                    }
                }
            }
        }
        let input: String = input.into_iter().collect();
        if let Ok(filter) = parse(&input) {
            // Whatever parses must print to something that reads back the same.
            assert_eq!(parse(&filter.to_string()).as_ref(), Ok(&filter), "{input}");
        }
    }
}

fn random_path(rng: &mut Rng, in_brackets: bool) -> AttrPath {
    let names = [
        "userName", "a", "emails", "x-y_z9", "not", "and", "PR", "$ref",
    ];
    let schema = (!in_brackets && rng.below(5) == 0)
        .then(|| "urn:ietf:params:scim:schemas:core:2.0:User".to_owned());
    let sub_attr = (!in_brackets && rng.below(3) == 0).then(|| rng.pick(&names).to_string());
    AttrPath {
        schema,
        attr: rng.pick(&names).to_string(),
        sub_attr,
    }
}

fn random_value(rng: &mut Rng) -> Value {
    match rng.below(5) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => Value::Number((rng.next() as i32) as f64 / 8.0),
        _ => {
            let chars = ['a', '"', '\\', ' ', 'é', '\n', '\u{1}', '😀', ')', ']'];
            Value::String((0..rng.below(6)).map(|_| *rng.pick(&chars)).collect())
        }
    }
}

fn random_filter(rng: &mut Rng, depth: usize, in_brackets: bool) -> Filter {
    let ops = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];
    let leaf = depth == 0 || rng.below(3) == 0;
    match if leaf { rng.below(2) } else { 2 + rng.below(4) } {
        0 => Filter::Present(random_path(rng, in_brackets)),
        1 => Filter::Compare {
            path: random_path(rng, in_brackets),
            op: *rng.pick(&ops),
            value: random_value(rng),
        },
        2 | 3 => {
            let terms = (0..2 + rng.below(3))
                .map(|_| random_filter(rng, depth - 1, in_brackets))
                .collect();
            if rng.below(2) == 0 {
                Filter::And(terms)
            } else {
                Filter::Or(terms)
            }
        }
        4 => Filter::Not(Box::new(random_filter(rng, depth - 1, in_brackets))),
        _ if in_brackets => random_filter(rng, depth - 1, in_brackets),
        _ => Filter::ValuePath {
            path: AttrPath {
                sub_attr: None,
                ..random_path(rng, false)
            },
            filter: Box::new(random_filter(rng, depth - 1, true)),
        },
    }
}

#[test]
fn random_trees_print_and_parse_back_unchanged() {
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    for _ in 0..5_000 {
        let filter = random_filter(&mut rng, 4, false);
        let printed = filter.to_string();
        assert_eq!(parse(&printed).as_ref(), Ok(&filter), "{printed}");
    }
}

#[test]
fn patch_paths_read_plain_filtered_and_sub_attribute_forms() {
    assert_eq!(
        parse_path("name.givenName").unwrap(),
        PatchPath {
            path: sub("name", "givenName"),
            filter: None,
            sub_attr: None,
        }
    );
    assert_eq!(
        parse_path(r#"members[value eq "12"]"#).unwrap(),
        PatchPath {
            path: path("members"),
            filter: Some(cmp(path("value"), CompareOp::Eq, text("12"))),
            sub_attr: None,
        }
    );
    assert_eq!(
        parse_path(r#"emails[type eq "work"].value"#).unwrap(),
        PatchPath {
            path: path("emails"),
            filter: Some(cmp(path("type"), CompareOp::Eq, text("work"))),
            sub_attr: Some("value".into()),
        }
    );
    let enterprise =
        parse_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber")
            .unwrap();
    assert_eq!(enterprise.path.attr, "employeeNumber");
}

#[test]
fn malformed_patch_paths_are_refused() {
    for input in [
        "",
        "members[",
        "members[value eq 1",
        "a b",
        "a.b[x pr]",
        "emails[x pr].",
        "(a)",
    ] {
        assert!(parse_path(input).is_err(), "{input:?}");
    }
}
