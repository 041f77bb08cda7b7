//! SCIM filter expressions (RFC 7644 section 3.4.2.2) as a syntax tree.
//!
//! The tree is what crosses the [`crate::Directory`] boundary: the store turns it into
//! parameterised SQL, the bridge evaluates it against users it fetched.

/// An attribute reference such as `userName`, `name.givenName` or
/// `urn:ietf:params:scim:schemas:core:2.0:User:userName`.
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
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work"]`: some value of a multi-valued attribute matches `filter`.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}
