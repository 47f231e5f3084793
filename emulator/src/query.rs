//! The SOQL subset `find` uses: `SELECT f, … FROM T [WHERE f = literal [AND …]]
//! [ORDER BY f [ASC|DESC]] [LIMIT n]`, with Salesforce's string escapes.

use crate::error::SfError;

/// A literal in a condition.
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
    /// An unquoted date or date-time literal (`2026-12-01`, `2026-12-01T10:00:00Z`).
    Temporal(String),
}

/// A parsed query.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// Selected fields.
    pub fields: Vec<String>,
    /// The sObject.
    pub object: String,
    /// `field = literal` conditions, all of which must hold.
    pub conditions: Vec<(String, Literal)>,
    /// Sort field and whether descending.
    pub order_by: Option<(String, bool)>,
    /// At most this many rows.
    pub limit: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Comma,
    Equals,
}

fn malformed(message: impl Into<String>) -> SfError {
    SfError::new("MALFORMED_QUERY", message)
}

fn tokenize(soql: &str) -> Result<Vec<Token>, SfError> {
    let mut tokens = Vec::new();
    let mut chars = soql.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            ',' => {
                chars.next();
                tokens.push(Token::Comma);
            }
            '=' => {
                chars.next();
                tokens.push(Token::Equals);
            }
            '\'' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next() {
                        None => return Err(malformed("unterminated string literal")),
                        Some('\'') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => text.push('\n'),
                            Some('r') => text.push('\r'),
                            Some('t') => text.push('\t'),
                            Some('b') => text.push('\u{8}'),
                            Some('f') => text.push('\u{c}'),
                            Some(e @ ('\'' | '"' | '\\' | '_' | '%')) => text.push(e),
                            Some(other) => return Err(malformed(format!("invalid escape sequence \\{other}"))),
                            None => return Err(malformed("unterminated string literal")),
                        },
                        Some(other) => text.push(other),
                    }
                }
                tokens.push(Token::Text(text));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, ',' | '=' | '\'') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

fn keyword(t: Option<&Token>, k: &str) -> bool {
    matches!(t, Some(Token::Word(w)) if w.eq_ignore_ascii_case(k))
}

fn literal(t: Token) -> Result<Literal, SfError> {
    match t {
        Token::Text(s) => Ok(Literal::Text(s)),
        Token::Word(w) if w.eq_ignore_ascii_case("null") => Ok(Literal::Null),
        Token::Word(w) if w.eq_ignore_ascii_case("true") => Ok(Literal::Boolean(true)),
        Token::Word(w) if w.eq_ignore_ascii_case("false") => Ok(Literal::Boolean(false)),
        Token::Word(w) if w.len() >= 10 && w.as_bytes()[4] == b'-' => Ok(Literal::Temporal(w)),
        Token::Word(w) => w.parse().map(Literal::Number).map_err(|_| malformed(format!("unexpected token: {w}"))),
        other => Err(malformed(format!("unexpected token: {other:?}"))),
    }
}

/// Parses the supported subset.
pub fn parse(soql: &str) -> Result<Query, SfError> {
    let mut tokens = tokenize(soql)?.into_iter().peekable();
    if !keyword(tokens.next().as_ref(), "SELECT") {
        return Err(malformed("unexpected token: expected SELECT"));
    }
    let mut fields = Vec::new();
    loop {
        match tokens.next() {
            Some(Token::Word(w)) if !w.eq_ignore_ascii_case("FROM") => fields.push(w),
            _ => return Err(malformed("expected a field name")),
        }
        if tokens.peek() == Some(&Token::Comma) {
            tokens.next();
            continue;
        }
        break;
    }
    if !keyword(tokens.next().as_ref(), "FROM") {
        return Err(malformed("unexpected token: expected FROM"));
    }
    let Some(Token::Word(object)) = tokens.next() else { return Err(malformed("expected an sObject name")) };
    let mut query = Query { fields, object, conditions: Vec::new(), order_by: None, limit: None };
    if keyword(tokens.peek(), "WHERE") {
        tokens.next();
        loop {
            let Some(Token::Word(field)) = tokens.next() else {
                return Err(malformed("expected a field name in WHERE"));
            };
            if tokens.next() != Some(Token::Equals) {
                return Err(malformed("only `field = value` conditions are supported"));
            }
            let value = literal(tokens.next().ok_or_else(|| malformed("expected a value"))?)?;
            query.conditions.push((field, value));
            if keyword(tokens.peek(), "AND") {
                tokens.next();
                continue;
            }
            break;
        }
    }
    if keyword(tokens.peek(), "ORDER") {
        tokens.next();
        if !keyword(tokens.next().as_ref(), "BY") {
            return Err(malformed("expected BY after ORDER"));
        }
        let Some(Token::Word(field)) = tokens.next() else { return Err(malformed("expected a field after ORDER BY")) };
        let mut desc = false;
        if keyword(tokens.peek(), "ASC") {
            tokens.next();
        } else if keyword(tokens.peek(), "DESC") {
            tokens.next();
            desc = true;
        }
        query.order_by = Some((field, desc));
    }
    if keyword(tokens.peek(), "LIMIT") {
        tokens.next();
        let Some(Token::Word(n)) = tokens.next() else { return Err(malformed("expected a number after LIMIT")) };
        query.limit = Some(n.parse().map_err(|_| malformed(format!("invalid LIMIT {n}")))?);
    }
    if let Some(extra) = tokens.next() {
        return Err(malformed(format!("unexpected token: {extra:?}")));
    }
    Ok(query)
}

/// Whether a stored JSON value equals a literal under SOQL `=` (text is case-insensitive).
pub fn matches(stored: &serde_json::Value, wanted: &Literal) -> bool {
    use serde_json::Value as J;
    match (stored, wanted) {
        (J::String(a), Literal::Text(b)) => a.to_lowercase() == b.to_lowercase(),
        (J::String(a), Literal::Temporal(b)) => a.replace("+0000", "Z").starts_with(b.trim_end_matches('Z')) || a == b,
        (J::Number(a), Literal::Number(b)) => a.as_f64() == Some(*b),
        (J::Bool(a), Literal::Boolean(b)) => a == b,
        (J::Null, Literal::Null) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_find_query_with_escapes() {
        let q =
            parse(r"SELECT Id, Email FROM Contact WHERE Email = 'o\'brien\\x@y.z' ORDER BY CreatedDate ASC LIMIT 5")
                .unwrap();
        assert_eq!(q.fields, ["Id", "Email"]);
        assert_eq!(q.conditions, [("Email".to_owned(), Literal::Text(r"o'brien\x@y.z".into()))]);
        assert_eq!(q.order_by, Some(("CreatedDate".into(), false)));
        assert_eq!(q.limit, Some(5));
    }

    #[test]
    fn refuses_what_it_does_not_support() {
        assert!(parse("SELECT Id FROM Lead WHERE Email LIKE 'a%'").is_err());
        assert!(parse("SELECT Id FROM Lead WHERE Email = 'open").is_err());
        assert!(parse("DELETE FROM Lead").is_err());
    }
}
