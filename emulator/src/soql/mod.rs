//! SOQL, as much as common clients send: a tokenizer ([`lex`]) and a recursive-descent parser
//! ([`parse`]) into the tree below, evaluated against records by [`eval`] with date literals
//! from [`dates`]. `SELECT` fields or `COUNT()` / `COUNT(field)`, `FROM` one sObject, `WHERE`
//! with `AND` / `OR` / `NOT` and parentheses (Salesforce refuses `AND` and `OR` mixed without
//! them), `= != <> < <= > >=`, `[NOT] IN (…)`, `LIKE`, `ORDER BY` (`ASC`/`DESC`, `NULLS
//! FIRST`/`LAST`), `LIMIT`, `OFFSET`. Queries are at most 100,000 characters, as in Salesforce.

pub mod dates;
pub mod eval;
mod lex;
mod parse;

pub use parse::parse;

use crate::error::SfError;

/// The longest query Salesforce accepts, in characters.
pub const MAX_QUERY_CHARS: usize = 100_000;

/// A parsed query.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The select list.
    pub select: Select,
    /// The sObject, as written, and where.
    pub object: Name,
    /// The `WHERE` condition.
    pub filter: Option<Expr>,
    /// `ORDER BY` items.
    pub order: Vec<Order>,
    /// `LIMIT`.
    pub limit: Option<usize>,
    /// `OFFSET`.
    pub offset: Option<usize>,
}

/// What a query selects.
#[derive(Clone, Debug, PartialEq)]
pub enum Select {
    /// `SELECT COUNT() FROM …`: only `totalSize`.
    Count,
    /// Fields and aggregate `COUNT(field) [alias]`.
    Items(Vec<Item>),
}

/// One item of a select list.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A field.
    Field(Name),
    /// `COUNT(field)` with its alias (`expr0`, `expr1`, … without one).
    Count(Name, Option<String>),
}

/// A name (field or sObject) as written, with its position (characters from the start).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    /// The name.
    pub text: String,
    /// Where it starts.
    pub at: usize,
}

/// A condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// All of them.
    And(Vec<Expr>),
    /// Any of them.
    Or(Vec<Expr>),
    /// Not it.
    Not(Box<Expr>),
    /// `field op value`.
    Compare(Name, Op, Literal),
    /// `field [NOT] IN (values)`.
    In(Name, bool, Vec<Literal>),
    /// `field LIKE 'pattern'`.
    Like(Name, Vec<Like>),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `=`.
    Eq,
    /// `!=` or `<>`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

/// One element of a `LIKE` pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Like {
    /// `%`: any run of characters.
    Any,
    /// `_`: one character.
    One,
    /// A character (`\%` and `\_` are these).
    Char(char),
}

/// A literal value.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `'text'`.
    Text(String),
    /// A number.
    Number(f64),
    /// `true` / `false`.
    Boolean(bool),
    /// `null`.
    Null,
    /// `2026-12-01`.
    Date(portico_model::Date),
    /// `2026-12-01T10:00:00Z` (or with an offset).
    DateTime(portico_model::DateTime),
    /// `TODAY`, `LAST_N_DAYS:7`, …: a range of time relative to the org's clock.
    Relative(dates::DateLiteral),
}

/// An `ORDER BY` item.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    /// The field.
    pub field: Name,
    /// `DESC`.
    pub descending: bool,
    /// `NULLS LAST` (the default is `NULLS FIRST`).
    pub nulls_last: bool,
}

/// `MALFORMED_QUERY` (or another code) pointing at a position, as Salesforce words it:
/// the query's line, a caret, `ERROR at Row:r:Column:c` and the message.
pub fn error_at(code: &str, soql: &str, at: usize, message: &str) -> SfError {
    let before: String = soql.chars().take(at).collect();
    let row = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let line = soql.lines().nth(row - 1).unwrap_or_default();
    let caret = format!("{}^", " ".repeat(column - 1));
    SfError::new(code, format!("\n{line}\n{caret}\nERROR at Row:{row}:Column:{column}\n{message}"))
}
