//! SOQL's tokens: words (names, keywords, numbers, date and date-time literals), quoted text
//! with Salesforce's backslash escapes, and punctuation; each with its position.

use super::{Like, error_at};
use crate::error::SfError;

/// A token kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// A name, keyword, number or date literal.
    Word(String),
    /// Quoted text: the value, and the same as a `LIKE` pattern (escaped `%` and `_` literal).
    Text(String, Vec<Like>),
    /// `,`.
    Comma,
    /// `(`.
    Open,
    /// `)`.
    Close,
    /// `:` (date literals' `LAST_N_DAYS:n`).
    Colon,
    /// `=`, `!=`, `<>`, `<`, `<=`, `>`, `>=`.
    Op(&'static str),
}

/// A token and where it starts (characters from the start of the query).
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// The kind.
    pub tok: Tok,
    /// Its position.
    pub at: usize,
}

fn malformed(soql: &str, at: usize, message: &str) -> SfError {
    error_at("MALFORMED_QUERY", soql, at, message)
}

/// Splits a query into tokens.
pub fn tokens(soql: &str) -> Result<Vec<Token>, SfError> {
    let chars: Vec<char> = soql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i;
        let punct = |tok| Token { tok, at };
        match c {
            c if c.is_whitespace() => i += 1,
            ',' => {
                out.push(punct(Tok::Comma));
                i += 1;
            }
            '(' => {
                out.push(punct(Tok::Open));
                i += 1;
            }
            ')' => {
                out.push(punct(Tok::Close));
                i += 1;
            }
            ':' => {
                out.push(punct(Tok::Colon));
                i += 1;
            }
            '=' => {
                out.push(punct(Tok::Op("=")));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(punct(Tok::Op("!=")));
                i += 2;
            }
            '<' | '>' => {
                let op = match (c, chars.get(i + 1)) {
                    ('<', Some('=')) => "<=",
                    ('<', Some('>')) => "!=",
                    ('>', Some('=')) => ">=",
                    ('<', _) => "<",
                    _ => ">",
                };
                out.push(punct(Tok::Op(op)));
                i += if op.len() == 2 { 2 } else { 1 };
            }
            '\'' => {
                let (value, pattern, next) = text(soql, &chars, i)?;
                out.push(Token { tok: Tok::Text(value, pattern), at });
                i = next;
            }
            c if c.is_alphanumeric()
                || c == '_'
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let starts_with_digit = c.is_ascii_digit() || c == '-';
                let mut word = String::new();
                word.push(c);
                i += 1;
                while let Some(&d) = chars.get(i) {
                    let more = d.is_alphanumeric()
                        || d == '_'
                        || d == '.'
                        // Date-times: 2026-01-04T10:00:00+01:00.
                        || (starts_with_digit && matches!(d, '-' | ':' | '+'));
                    if !more {
                        break;
                    }
                    word.push(d);
                    i += 1;
                }
                out.push(Token { tok: Tok::Word(word), at });
            }
            other => return Err(malformed(soql, at, &format!("unexpected token: '{other}'"))),
        }
    }
    Ok(out)
}

/// Reads quoted text from `start` (the opening quote): its value, its `LIKE` pattern, and the
/// position after the closing quote.
fn text(soql: &str, chars: &[char], start: usize) -> Result<(String, Vec<Like>, usize), SfError> {
    let (mut value, mut pattern) = (String::new(), Vec::new());
    let mut i = start + 1;
    loop {
        let Some(&c) = chars.get(i) else { return Err(malformed(soql, start, "unterminated string literal")) };
        i += 1;
        match c {
            '\'' => return Ok((value, pattern, i)),
            '\\' => {
                let Some(&e) = chars.get(i) else { return Err(malformed(soql, start, "unterminated string literal")) };
                i += 1;
                let decoded = match e {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    '\'' | '"' | '\\' | '_' | '%' => e,
                    other => {
                        return Err(malformed(
                            soql,
                            i - 2,
                            &format!("Invalid string literal: illegal escape sequence \\{other}"),
                        ));
                    }
                };
                value.push(decoded);
                pattern.push(Like::Char(decoded));
            }
            '%' => {
                value.push(c);
                pattern.push(Like::Any);
            }
            '_' => {
                value.push(c);
                pattern.push(Like::One);
            }
            c => {
                value.push(c);
                pattern.push(Like::Char(c));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(soql: &str) -> Vec<Tok> {
        tokens(soql).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn splits_operators_literals_and_dates() {
        assert_eq!(
            kinds("a<=1 AND b<>'x' OR c>=2026-01-04T10:00:00+01:00 AND d = LAST_N_DAYS:3"),
            [
                Tok::Word("a".into()),
                Tok::Op("<="),
                Tok::Word("1".into()),
                Tok::Word("AND".into()),
                Tok::Word("b".into()),
                Tok::Op("!="),
                Tok::Text("x".into(), vec![Like::Char('x')]),
                Tok::Word("OR".into()),
                Tok::Word("c".into()),
                Tok::Op(">="),
                Tok::Word("2026-01-04T10:00:00+01:00".into()),
                Tok::Word("AND".into()),
                Tok::Word("d".into()),
                Tok::Op("="),
                Tok::Word("LAST_N_DAYS".into()),
                Tok::Colon,
                Tok::Word("3".into()),
            ]
        );
    }

    #[test]
    fn escaped_wildcards_are_literal_in_patterns() {
        let [Tok::Text(value, pattern)] = &kinds(r"'a\%_%'")[..] else { panic!() };
        assert_eq!(value, "a%_%");
        assert_eq!(pattern, &[Like::Char('a'), Like::Char('%'), Like::One, Like::Any]);
        assert!(tokens("'open").is_err());
        assert!(tokens(r"'\q'").is_err());
        assert!(tokens("a ; b").is_err());
    }
}
