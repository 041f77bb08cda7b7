//! SCIM filter expressions (RFC 7644 section 3.4.2.2): the syntax tree and its parser.
//!
//! The tree is what crosses the [`crate::Directory`] boundary: the store turns it into
//! parameterised SQL, the bridge evaluates it against users it fetched. Nothing here knows
//! which attributes a directory stores; that is decided where the tree is used.
//!
//! The parser follows the RFC's grammar with the errata 4690/7322 reading of `valFilter`
//! (no value path inside another), and is lenient where identity providers are known to
//! stray from it:
//! - keywords (`eq`, `and`, `not`, `true`...) are case-insensitive (section 3.4.2.2);
//! - any run of whitespace separates tokens, and `and`/`or` may touch a parenthesis;
//! - a value without quotes after an operator is read up to the next space, `)` or `]`:
//!   `true`, `false`, `null` and JSON numbers keep their type, anything else is a string;
//! - `emails[type eq "work"].value eq "x"`, which the RFC grammar does not allow in a filter
//!   but Entra ID sends, is read as `emails[type eq "work" and value eq "x"]`: one value
//!   of `emails` must satisfy both.
//!
//! [`parse`] never panics and bounds its recursion by [`MAX_NESTING`] and the size of the
//! tree by [`MAX_COMPARISONS`], so neither a hostile nor a merely huge filter can exhaust
//! the stack of whoever walks the tree afterwards.

use std::fmt;

/// How deeply parentheses, `not (...)` and value paths may nest.
pub const MAX_NESTING: usize = 32;

/// How many comparisons (including `pr`) one filter may hold.
pub const MAX_COMPARISONS: usize = 256;

/// An attribute reference such as `userName`, `name.givenName` or
/// `urn:ietf:params:scim:schemas:core:2.0:User:userName`.
///
/// Names are kept as written; SCIM attribute names are case-insensitive (RFC 7643 section
/// 2.1), so whoever maps them to storage compares them so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN prefix, when the filter named one.
    pub schema: Option<String>,
    pub attr: String,
    pub sub_attr: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    String(String),
    /// Always finite: a literal out of `f64`'s range is refused by the parser.
    Number(f64),
    Bool(bool),
    Null,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Value,
    },
    Present(AttrPath),
    /// Every operand holds. The parser makes these with two or more operands, from
    /// `a and b and c` as one node, so that a long chain does not make a deep tree.
    And(Vec<Filter>),
    /// At least one operand holds; built like [`Filter::And`].
    Or(Vec<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work"]`: some value of a multi-valued attribute matches `filter`,
    /// whose paths name sub-attributes of `path` (`type`, not `emails.type`).
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

/// Why a filter could not be read, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} at character {position}")]
pub struct FilterError {
    /// What is wrong, in words a SCIM client's operator can act on.
    pub message: String,
    /// Where it went wrong: the 1-based index of the character, counting Unicode
    /// characters rather than bytes; one past the end when the filter stopped short.
    pub position: usize,
}

/// Reads a SCIM filter such as `userName eq "ana@example.com" and active eq true`.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    let mut parser = Parser {
        input,
        pos: 0,
        depth: 0,
        comparisons: 0,
    };
    parser.skip_space();
    if parser.at_end() {
        return Err(parser.error_here("the filter is empty"));
    }
    let filter = parser.or_expr(false)?;
    parser.skip_space();
    match parser.peek() {
        None => Ok(filter),
        Some(')') => Err(parser.error_here("this ) has no matching (")),
        Some(']') => Err(parser.error_here("this ] has no matching [")),
        Some(_) => Err(parser.error_here(&format!(
            "expected \"and\", \"or\" or the end of the filter, found {}",
            parser.describe_next()
        ))),
    }
}

/// The target of a SCIM PATCH operation (RFC 7644 section 3.5.2):
/// `attrPath / valuePath [subAttr]`, such as `active`, `name.givenName`,
/// `members[value eq "12"]` or `emails[type eq "work"].value`.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchPath {
    pub path: AttrPath,
    /// The value filter in brackets, selecting values of a multi-valued attribute.
    pub filter: Option<Filter>,
    /// The sub-attribute after the brackets (`value` in `emails[...].value`).
    pub sub_attr: Option<String>,
}

/// Reads the `path` of a SCIM PATCH operation.
pub fn parse_path(input: &str) -> Result<PatchPath, FilterError> {
    let mut parser = Parser {
        input,
        pos: 0,
        depth: 0,
        comparisons: 0,
    };
    parser.skip_space();
    let start = parser.pos;
    let word = parser.take_while(is_path_char);
    if word.is_empty() {
        return Err(parser.error_here("expected an attribute path"));
    }
    let path = parser.attr_path(word, start)?;
    let mut filter = None;
    let mut sub_attr = None;
    if parser.peek() == Some('[') {
        if path.sub_attr.is_some() {
            return Err(parser.error_at(
                start,
                &format!("{path} names a sub-attribute; [...] applies to a multi-valued attribute"),
            ));
        }
        parser.enter()?;
        parser.bump();
        filter = Some(parser.or_expr(true)?);
        parser.skip_space();
        if parser.peek() != Some(']') {
            return Err(parser.error_here("expected \"]\" to close the value filter"));
        }
        parser.bump();
        if parser.peek() == Some('.') {
            parser.bump();
            let sub_start = parser.pos;
            let name = parser.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !is_name(name) {
                return Err(
                    parser.error_at(sub_start, "expected a sub-attribute name after \"].\"")
                );
            }
            sub_attr = Some(name.to_owned());
        }
    }
    parser.skip_space();
    if !parser.at_end() {
        return Err(parser.error_here(&format!(
            "expected the end of the path, found {}",
            parser.describe_next()
        )));
    }
    Ok(PatchPath {
        path,
        filter,
        sub_attr,
    })
}

const OPERATORS_HINT: &str = "eq, ne, co, sw, ew, gt, ge, lt, le or pr";

struct Parser<'a> {
    input: &'a str,
    /// Byte offset of the next unread character; always on a character boundary.
    pos: usize,
    depth: usize,
    comparisons: usize,
}

/// Characters that may appear in an attribute path, including its schema URN.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '-' | '$')
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn compare_op(word: &str) -> Option<CompareOp> {
    let op = match word.to_ascii_lowercase().as_str() {
        "eq" => CompareOp::Eq,
        "ne" => CompareOp::Ne,
        "co" => CompareOp::Co,
        "sw" => CompareOp::Sw,
        "ew" => CompareOp::Ew,
        "gt" => CompareOp::Gt,
        "ge" => CompareOp::Ge,
        "lt" => CompareOp::Lt,
        "le" => CompareOp::Le,
        _ => return None,
    };
    Some(op)
}

fn is_operator(word: &str) -> bool {
    word.eq_ignore_ascii_case("pr") || compare_op(word).is_some()
}

/// The JSON number grammar (RFC 8259 section 6), which a bare token must match to be
/// read as a number rather than a string.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_space(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        self.pos > start
    }

    /// Consumes the longest run of characters satisfying `accept`.
    fn take_while(&mut self, accept: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&accept) {
            self.bump();
        }
        &self.input[start..self.pos]
    }

    /// The word at the cursor, without consuming it; only letters, as keywords are.
    fn peek_word(&self) -> &'a str {
        let rest = self.rest();
        let end = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        &rest[..end]
    }

    fn error_at(&self, byte: usize, message: &str) -> FilterError {
        let byte = byte.min(self.input.len());
        FilterError {
            message: message.to_owned(),
            position: self.input[..byte].chars().count() + 1,
        }
    }

    fn error_here(&self, message: &str) -> FilterError {
        self.error_at(self.pos, message)
    }

    /// Names what comes next, for error messages: a short quote or "the end".
    fn describe_next(&self) -> String {
        let rest = self.rest();
        if rest.is_empty() {
            return "the end of the filter".into();
        }
        let token: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace())
            .take(20)
            .collect();
        format!("{token:?}")
    }

    /// Consumes the keyword `word` when it comes next as a whole word (after optional
    /// whitespace); leaves the cursor alone otherwise.
    fn eat_keyword(&mut self, word: &str) -> bool {
        let start = self.pos;
        self.skip_space();
        let next = self.peek_word();
        let whole = self.rest()[next.len()..]
            .chars()
            .next()
            .is_none_or(|c| !is_path_char(c));
        if next.eq_ignore_ascii_case(word) && whole {
            self.pos += next.len();
            true
        } else {
            self.pos = start;
            false
        }
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.error_here(&format!(
                "the filter nests parentheses, not and [...] more than {MAX_NESTING} deep"
            )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn count_comparison(&mut self, at: usize) -> Result<(), FilterError> {
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return Err(self.error_at(
                at,
                &format!("the filter has more than {MAX_COMPARISONS} comparisons"),
            ));
        }
        Ok(())
    }

    /// `or` binds loosest (section 3.4.2.2, table 3: not, then and, then or).
    fn or_expr(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let mut terms = vec![self.and_expr(in_brackets)?];
        while self.eat_keyword("or") {
            terms.push(self.and_expr(in_brackets)?);
        }
        Ok(if terms.len() == 1 {
            terms.swap_remove(0)
        } else {
            Filter::Or(terms)
        })
    }

    fn and_expr(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let mut terms = vec![self.unary(in_brackets)?];
        while self.eat_keyword("and") {
            terms.push(self.unary(in_brackets)?);
        }
        Ok(if terms.len() == 1 {
            terms.swap_remove(0)
        } else {
            Filter::And(terms)
        })
    }

    /// A parenthesised filter, `not (...)`, a value path or an attribute expression.
    fn unary(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        self.skip_space();
        match self.peek() {
            None => Err(self.error_here("expected a filter, found the end of the filter")),
            Some('(') => self.group(in_brackets),
            Some(c) if c.is_ascii_alphabetic() || c == '$' => self.attribute_term(in_brackets),
            Some(_) => Err(self.error_here(&format!(
                "expected an attribute name, \"(\" or \"not\", found {}",
                self.describe_next()
            ))),
        }
    }

    /// `( filter )`, with the cursor on the opening parenthesis.
    fn group(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let open = self.pos;
        self.enter()?;
        self.bump();
        let inner = self.or_expr(in_brackets)?;
        self.skip_space();
        if self.peek() != Some(')') {
            let message = format!(
                "expected \")\" to close the \"(\" at character {}, found {}",
                self.input[..open].chars().count() + 1,
                self.describe_next()
            );
            return Err(self.error_here(&message));
        }
        self.bump();
        self.leave();
        Ok(inner)
    }

    fn attribute_term(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let start = self.pos;
        let word = self.take_while(is_path_char);

        // `not` is a keyword only before a parenthesis; an attribute may be named "not".
        if word.eq_ignore_ascii_case("not") && self.peek() != Some('[') {
            let after_word = self.pos;
            self.skip_space();
            if self.peek() == Some('(') {
                return Ok(Filter::Not(Box::new(self.group(in_brackets)?)));
            }
            if !is_operator(self.peek_word()) {
                return Err(self.error_here("\"not\" must be followed by a filter in parentheses"));
            }
            self.pos = after_word;
        }

        let path = self.attr_path(word, start)?;
        if self.peek() == Some('[') {
            return self.value_path(path, start, in_brackets);
        }
        self.attribute_expression(path, start)
    }

    /// Splits `[URI ":"] ATTRNAME ["." subAttr]`; the URN is everything up to the last
    /// colon, since URNs hold colons and dots of their own (`...:core:2.0:User`).
    fn attr_path(&self, word: &str, start: usize) -> Result<AttrPath, FilterError> {
        let (schema, name) = match word.rsplit_once(':') {
            Some((schema, name)) => (Some(schema), name),
            None => (None, word),
        };
        if schema.is_some_and(str::is_empty) {
            return Err(self.error_at(start, "an attribute path cannot start with \":\""));
        }
        let (attr, sub_attr) = match name.split_once('.') {
            Some((attr, sub)) => (attr, Some(sub)),
            None => (name, None),
        };
        if !is_name(attr) || sub_attr.is_some_and(|s| !is_name(s)) {
            return Err(self.error_at(
                start,
                &format!(
                    "{word:?} is not an attribute path: expected a name of letters, digits, \
                     '-' and '_', optionally with one \".subAttribute\" and a schema URN prefix"
                ),
            ));
        }
        Ok(AttrPath {
            schema: schema.map(str::to_owned),
            attr: attr.to_owned(),
            sub_attr: sub_attr.map(str::to_owned),
        })
    }

    /// `attr[valFilter]`, optionally followed by `.subAttr op value`, with the cursor on
    /// the opening bracket.
    fn value_path(
        &mut self,
        path: AttrPath,
        start: usize,
        in_brackets: bool,
    ) -> Result<Filter, FilterError> {
        if in_brackets {
            return Err(self.error_here("a value filter [...] cannot hold another one"));
        }
        if path.sub_attr.is_some() {
            return Err(self.error_at(
                start,
                &format!("{path} names a sub-attribute; [...] applies to a multi-valued attribute"),
            ));
        }
        let open = self.pos;
        self.enter()?;
        self.bump();
        let mut filter = self.or_expr(true)?;
        self.skip_space();
        if self.peek() != Some(']') {
            let message = format!(
                "expected \"]\" to close the \"[\" at character {}, found {}",
                self.input[..open].chars().count() + 1,
                self.describe_next()
            );
            return Err(self.error_here(&message));
        }
        self.bump();
        self.leave();

        // The form Entra ID sends: `emails[type eq "work"].value eq "x"`.
        if self.peek() == Some('.') {
            self.bump();
            let sub_start = self.pos;
            let name = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !is_name(name) {
                return Err(self.error_at(sub_start, "expected a sub-attribute name after \"].\""));
            }
            let sub = AttrPath {
                schema: None,
                attr: name.to_owned(),
                sub_attr: None,
            };
            let condition = self.attribute_expression(sub, sub_start)?;
            filter = Filter::And(vec![filter, condition]);
        }
        Ok(Filter::ValuePath {
            path,
            filter: Box::new(filter),
        })
    }

    /// `path pr` or `path op value`, with the cursor just after the path.
    fn attribute_expression(
        &mut self,
        path: AttrPath,
        start: usize,
    ) -> Result<Filter, FilterError> {
        self.skip_space();
        let op_start = self.pos;
        let word = self.peek_word();
        if word.is_empty() || !is_operator(word) {
            let found = if word.is_empty() {
                self.describe_next()
            } else {
                format!("{word:?}")
            };
            return Err(self.error_here(&format!(
                "expected an operator ({OPERATORS_HINT}) after {path}, found {found}"
            )));
        }
        self.pos += word.len();
        self.count_comparison(start)?;
        let Some(op) = compare_op(word) else {
            return Ok(Filter::Present(path));
        };
        let value = self.value(word, op_start)?;
        Ok(Filter::Compare { path, op, value })
    }

    fn value(&mut self, op_word: &str, op_start: usize) -> Result<Value, FilterError> {
        self.skip_space();
        match self.peek() {
            Some('"') => self.string().map(Value::String),
            None | Some(')' | ']') => Err(self.error_here(&format!(
                "expected a value after \"{op_word}\", found {}",
                self.describe_next()
            ))),
            Some(_) if self.pos == op_start + op_word.len() => Err(self.error_here(&format!(
                "expected a space between \"{op_word}\" and its value"
            ))),
            Some(_) => {
                let start = self.pos;
                let token = self.take_while(|c| !c.is_whitespace() && c != ')' && c != ']');
                self.bare_value(token, start)
            }
        }
    }

    /// A value written without quotes: a JSON literal if it is one, else a string.
    fn bare_value(&self, token: &str, start: usize) -> Result<Value, FilterError> {
        if token.eq_ignore_ascii_case("true") {
            return Ok(Value::Bool(true));
        }
        if token.eq_ignore_ascii_case("false") {
            return Ok(Value::Bool(false));
        }
        if token.eq_ignore_ascii_case("null") {
            return Ok(Value::Null);
        }
        if is_json_number(token) {
            return match token.parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(Value::Number(n)),
                _ => Err(self.error_at(start, &format!("the number {token} is out of range"))),
            };
        }
        Ok(Value::String(token.to_owned()))
    }

    /// A JSON string (RFC 8259 section 7), with the cursor on the opening quote.
    fn string(&mut self) -> Result<String, FilterError> {
        let open = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(self.error_at(open, "this string has no closing quote"));
            };
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let escape_at = self.pos - 1;
                    let decoded = match self.bump() {
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('/') => '/',
                        Some('b') => '\u{8}',
                        Some('f') => '\u{c}',
                        Some('n') => '\n',
                        Some('r') => '\r',
                        Some('t') => '\t',
                        Some('u') => self.unicode_escape(escape_at)?,
                        _ => {
                            return Err(self.error_at(
                                escape_at,
                                "unknown escape in string: use \\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX",
                            ))
                        }
                    };
                    out.push(decoded);
                }
                c => out.push(c),
            }
        }
    }

    /// The code point of `\uXXXX` (the `\u` consumed), joining a UTF-16 surrogate pair.
    fn unicode_escape(&mut self, escape_at: usize) -> Result<char, FilterError> {
        let high = self.hex4(escape_at)?;
        let code = match high {
            0xD800..=0xDBFF => {
                let low = if self.rest().starts_with("\\u") {
                    self.pos += 2;
                    self.hex4(escape_at)?
                } else {
                    0
                };
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(self.error_at(
                        escape_at,
                        "a \\u escape of a high surrogate must be followed by a low surrogate",
                    ));
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            other => other,
        };
        char::from_u32(code)
            .ok_or_else(|| self.error_at(escape_at, "this \\u escape is not a Unicode character"))
    }

    fn hex4(&mut self, escape_at: usize) -> Result<u32, FilterError> {
        let digits = self
            .rest()
            .get(..4)
            .filter(|d| d.chars().all(|c| c.is_ascii_hexdigit()));
        let Some(digits) = digits else {
            return Err(self.error_at(escape_at, "\\u must be followed by four hex digits"));
        };
        self.pos += 4;
        u32::from_str_radix(digits, 16)
            .map_err(|_| self.error_at(escape_at, "\\u must be followed by four hex digits"))
    }
}

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Values print as JSON, so a printed filter reads back as the same tree.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\r' => f.write_str("\\r")?,
                        '\t' => f.write_str("\\t")?,
                        c if c.is_control() => write!(f, "\\u{:04x}", u32::from(c))?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
            Value::Number(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Null => f.write_str("null"),
        }
    }
}

/// Prints the filter in the RFC's syntax; [`parse`] reads the output back as an equal
/// tree. Operands that are themselves `and`/`or` chains get parentheses.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::And(terms) => write_chain(f, terms, "and"),
            Filter::Or(terms) => write_chain(f, terms, "or"),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

fn write_chain(f: &mut fmt::Formatter<'_>, terms: &[Filter], keyword: &str) -> fmt::Result {
    for (i, term) in terms.iter().enumerate() {
        if i > 0 {
            write!(f, " {keyword} ")?;
        }
        match term {
            Filter::And(_) | Filter::Or(_) => write!(f, "({term})")?,
            _ => write!(f, "{term}")?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
