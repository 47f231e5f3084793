//! The recursive-descent parser: tokens into a [`Query`].

use super::dates::{self, DateLiteral};
use super::lex::{Tok, Token, tokens};
use super::{Expr, Item, Literal, MAX_QUERY_CHARS, Name, Op, Order, Query, Select, error_at};
use crate::error::SfError;
use portico_model::{Date, DateTime};

/// Words that are never names.
const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "OFFSET", "NULLS", "ASC",
    "DESC", "NULL", "TRUE", "FALSE", "GROUP", "HAVING", "INCLUDES", "EXCLUDES", "WITH", "FOR",
];

/// Parses a query.
pub fn parse(soql: &str) -> Result<Query, SfError> {
    if soql.chars().count() > MAX_QUERY_CHARS {
        return Err(SfError::new(
            "MALFORMED_QUERY",
            format!("SOQL statements cannot be longer than {MAX_QUERY_CHARS} characters"),
        ));
    }
    let mut p = Parser { soql, tokens: tokens(soql)?, i: 0 };
    let query = p.query()?;
    match p.peek() {
        None => Ok(query),
        Some(_) => Err(p.unexpected()),
    }
}

struct Parser<'a> {
    soql: &'a str,
    tokens: Vec<Token>,
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.i).map(|t| &t.tok)
    }

    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.tokens.get(self.i + k).map(|t| &t.tok)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.i).map_or_else(|| self.soql.chars().count(), |t| t.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.i).cloned();
        self.i += 1;
        t
    }

    fn unexpected(&self) -> SfError {
        let text = match self.tokens.get(self.i) {
            None => "<EOF>".to_owned(),
            Some(t) => match &t.tok {
                Tok::Word(w) => w.clone(),
                Tok::Text(s, _) => format!("'{s}'"),
                Tok::Comma => ",".into(),
                Tok::Open => "(".into(),
                Tok::Close => ")".into(),
                Tok::Colon => ":".into(),
                Tok::Op(o) => (*o).to_owned(),
            },
        };
        error_at("MALFORMED_QUERY", self.soql, self.at(), &format!("unexpected token: {text}"))
    }

    fn is_keyword(&self, k: usize, keyword: &str) -> bool {
        matches!(self.peek_at(k), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn keyword(&mut self, keyword: &str) -> bool {
        let found = self.is_keyword(0, keyword);
        if found {
            self.i += 1;
        }
        found
    }

    fn expect_keyword(&mut self, keyword: &str) -> Result<(), SfError> {
        if self.keyword(keyword) { Ok(()) } else { Err(self.unexpected()) }
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), SfError> {
        if self.peek() == Some(tok) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// A field or sObject name: letters, digits, `_`, `.` for relationships; not a keyword.
    fn name(&mut self) -> Result<Name, SfError> {
        match self.peek() {
            Some(Tok::Word(w))
                if w.starts_with(|c: char| c.is_ascii_alphabetic())
                    && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                    && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(w)) =>
            {
                let at = self.at();
                let text = w.clone();
                self.i += 1;
                Ok(Name { text, at })
            }
            _ => Err(self.unexpected()),
        }
    }

    fn number(&mut self) -> Result<usize, SfError> {
        match self.peek() {
            Some(Tok::Word(w)) if w.bytes().all(|b| b.is_ascii_digit()) => {
                let n = w.parse().map_err(|_| self.unexpected())?;
                self.i += 1;
                Ok(n)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn query(&mut self) -> Result<Query, SfError> {
        self.expect_keyword("SELECT")?;
        let select = self.select()?;
        self.expect_keyword("FROM")?;
        let object = self.name()?;
        let filter = if self.keyword("WHERE") { Some(self.condition()?) } else { None };
        let mut order = Vec::new();
        if self.keyword("ORDER") {
            self.expect_keyword("BY")?;
            loop {
                let field = self.name()?;
                let descending = self.keyword("DESC");
                if !descending {
                    self.keyword("ASC");
                }
                let mut nulls_last = descending;
                if self.keyword("NULLS") {
                    nulls_last = if self.keyword("LAST") {
                        true
                    } else {
                        self.expect_keyword("FIRST")?;
                        false
                    };
                }
                order.push(Order { field, descending, nulls_last });
                if self.peek() != Some(&Tok::Comma) {
                    break;
                }
                self.i += 1;
            }
        }
        let limit = if self.keyword("LIMIT") { Some(self.number()?) } else { None };
        let offset = if self.keyword("OFFSET") { Some(self.number()?) } else { None };
        Ok(Query { select, object, filter, order, limit, offset })
    }

    fn select(&mut self) -> Result<Select, SfError> {
        if self.is_keyword(0, "COUNT") && self.peek_at(1) == Some(&Tok::Open) && self.peek_at(2) == Some(&Tok::Close) {
            self.i += 3;
            return Ok(Select::Count);
        }
        let mut items = Vec::new();
        loop {
            if self.is_keyword(0, "COUNT") && self.peek_at(1) == Some(&Tok::Open) {
                self.i += 2;
                let field = self.name()?;
                self.expect(&Tok::Close)?;
                let alias = if !self.is_keyword(0, "FROM") && matches!(self.peek(), Some(Tok::Word(_))) {
                    Some(self.name()?.text)
                } else {
                    None
                };
                items.push(Item::Count(field, alias));
            } else {
                items.push(Item::Field(self.name()?));
            }
            if self.peek() != Some(&Tok::Comma) {
                return Ok(Select::Items(items));
            }
            self.i += 1;
        }
    }

    /// Conditions joined by one kind of connective; mixing `AND` and `OR` needs parentheses.
    fn condition(&mut self) -> Result<Expr, SfError> {
        let mut items = vec![self.unary()?];
        let mut joiner: Option<bool> = None;
        loop {
            let and = if self.is_keyword(0, "AND") {
                true
            } else if self.is_keyword(0, "OR") {
                false
            } else {
                break;
            };
            if joiner.is_some_and(|j| j != and) {
                return Err(self.unexpected());
            }
            joiner = Some(and);
            self.i += 1;
            items.push(self.unary()?);
        }
        Ok(match (items.len(), joiner) {
            (1, _) => items.pop().expect("one"),
            (_, Some(true)) => Expr::And(items),
            _ => Expr::Or(items),
        })
    }

    fn unary(&mut self) -> Result<Expr, SfError> {
        if self.keyword("NOT") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::Open) {
            self.i += 1;
            let inner = self.condition()?;
            self.expect(&Tok::Close)?;
            return Ok(inner);
        }
        let field = self.name()?;
        match self.peek().cloned() {
            Some(Tok::Op(op)) => {
                self.i += 1;
                let op = match op {
                    "=" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    _ => Op::Ge,
                };
                Ok(Expr::Compare(field, op, self.literal()?))
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("LIKE") => {
                self.i += 1;
                match self.next().map(|t| t.tok) {
                    Some(Tok::Text(_, pattern)) => Ok(Expr::Like(field, pattern)),
                    _ => {
                        self.i -= 1;
                        Err(self.unexpected())
                    }
                }
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("IN") || w.eq_ignore_ascii_case("NOT") => {
                let negated = self.keyword("NOT");
                self.expect_keyword("IN")?;
                self.expect(&Tok::Open)?;
                let mut values = vec![self.literal()?];
                while self.peek() == Some(&Tok::Comma) {
                    self.i += 1;
                    values.push(self.literal()?);
                }
                self.expect(&Tok::Close)?;
                Ok(Expr::In(field, negated, values))
            }
            _ => Err(self.unexpected()),
        }
    }

    fn literal(&mut self) -> Result<Literal, SfError> {
        let Some(token) = self.tokens.get(self.i).cloned() else { return Err(self.unexpected()) };
        let word = match token.tok {
            Tok::Text(s, _) => {
                self.i += 1;
                return Ok(Literal::Text(s));
            }
            Tok::Word(w) => w,
            _ => return Err(self.unexpected()),
        };
        let upper = word.to_ascii_uppercase();
        let literal = match upper.as_str() {
            "NULL" => Literal::Null,
            "TRUE" => Literal::Boolean(true),
            "FALSE" => Literal::Boolean(false),
            _ if dates::takes_n(&word).is_some() => {
                self.i += 1;
                let n = if dates::takes_n(&word) == Some(true) {
                    self.expect(&Tok::Colon)?;
                    Some(self.number()? as i64)
                } else {
                    None
                };
                return Ok(Literal::Relative(DateLiteral { name: upper, n }));
            }
            _ if word.len() >= 10 && word.as_bytes()[4] == b'-' && word.as_bytes()[0].is_ascii_digit() => {
                let bad = || {
                    error_at(
                        "MALFORMED_QUERY",
                        self.soql,
                        token.at,
                        &format!("line 1:{} no viable alternative at character '{word}'", token.at),
                    )
                };
                if word.len() == 10 {
                    Literal::Date(Date::parse(&word).map_err(|_| bad())?)
                } else {
                    // Salesforce accepts any number of fraction digits and keeps datetimes to the
                    // millisecond; so does this literal.
                    let t = DateTime::parse_rfc3339(&word).map_err(|_| bad())?;
                    Literal::DateTime(DateTime { nanoseconds: t.nanoseconds / 1_000_000 * 1_000_000, ..t })
                }
            }
            // A number too large for a double is refused, not read as infinity (which no query
            // could spell back).
            _ if is_number(&word) => {
                Literal::Number(word.parse().ok().filter(|n: &f64| n.is_finite()).ok_or_else(|| self.unexpected())?)
            }
            _ => return Err(self.unexpected()),
        };
        self.i += 1;
        Ok(literal)
    }
}

/// `-12`, `3.5`: SOQL numbers (no exponent, no `NaN`).
fn is_number(w: &str) -> bool {
    let digits = w.strip_prefix('-').unwrap_or(w);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && !frac.is_empty()
        && frac.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str, at: usize) -> Name {
        Name { text: text.into(), at }
    }

    #[test]
    fn parses_the_find_query() {
        let q =
            parse(r"SELECT Id, Email FROM Contact WHERE Email = 'o\'brien' ORDER BY CreatedDate ASC LIMIT 5").unwrap();
        assert_eq!(q.select, Select::Items(vec![Item::Field(name("Id", 7)), Item::Field(name("Email", 11))]));
        assert_eq!(q.object, name("Contact", 22));
        assert_eq!(q.filter, Some(Expr::Compare(name("Email", 36), Op::Eq, Literal::Text("o'brien".into()))));
        assert_eq!(q.order, [Order { field: name("CreatedDate", 64), descending: false, nulls_last: false }]);
        assert_eq!((q.limit, q.offset), (Some(5), None));
    }

    #[test]
    fn parses_connectives_lists_patterns_and_dates() {
        let q = parse(
            "select count() from Lead where (Status in ('Open', 'New') or not Email like 'a%') and CreatedDate = LAST_N_DAYS:7 and Amount >= -1.5",
        )
        .unwrap();
        assert_eq!(q.select, Select::Count);
        let Some(Expr::And(items)) = q.filter else { panic!("{:?}", q.filter) };
        assert!(
            matches!(&items[0], Expr::Or(or) if matches!(&or[0], Expr::In(_, false, v) if v.len() == 2) && matches!(&or[1], Expr::Not(_)))
        );
        assert!(
            matches!(&items[1], Expr::Compare(_, Op::Eq, Literal::Relative(d)) if d.name == "LAST_N_DAYS" && d.n == Some(7))
        );
        assert!(matches!(&items[2], Expr::Compare(_, Op::Ge, Literal::Number(n)) if *n == -1.5));
        let q =
            parse("SELECT Name FROM Lead WHERE Id NOT IN ('a') ORDER BY Name DESC NULLS FIRST, Id LIMIT 10 OFFSET 20")
                .unwrap();
        assert_eq!(q.order[0], Order { field: name("Name", 53), descending: true, nulls_last: false });
        assert_eq!((q.limit, q.offset), (Some(10), Some(20)));
    }

    /// Found by the `soql_parser` fuzz target (fuzz/regressions/soql_parser): a literal printed
    /// the way Portico prints it must parse to the same query.
    #[test]
    fn keeps_datetimes_to_the_millisecond() {
        let q = parse("SELECT Id FROM Event WHERE StartDateTime = 2026-12-01T10:00:00.299852-06:00").unwrap();
        let Some(Expr::Compare(_, Op::Eq, Literal::DateTime(t))) = q.filter else { panic!("{:?}", q.filter) };
        assert_eq!(t.nanoseconds, 299_000_000);
        assert_eq!(t.to_salesforce(), "2026-12-01T16:00:00.299Z");
    }

    #[test]
    fn refuses_what_salesforce_refuses() {
        for bad in [
            "SELECT Id FROM Lead WHERE a = 1 AND b = 2 OR c = 3",
            "SELECT Id FORM Lead",
            "SELECT FROM Lead",
            "SELECT Id FROM Lead WHERE Email = 'open",
            "DELETE FROM Lead",
            "SELECT Id FROM Lead LIMIT x",
            "SELECT Id FROM Lead WHERE CreatedDate = LAST_N_DAYS",
            "SELECT Id FROM Lead WHERE n = NaN",
            "SELECT Id FROM Lead WHERE n = 1e400",
            &format!("SELECT Id FROM Lead WHERE n = 2{}", "7".repeat(400)),
            "SELECT Id FROM Lead extra",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.error_code, "MALFORMED_QUERY", "{bad}");
        }
        let e = parse("SELECT Id FORM Lead").unwrap_err();
        assert!(e.message.ends_with("ERROR at Row:1:Column:11\nunexpected token: FORM"), "{}", e.message);
        let long = format!("SELECT Id FROM Lead WHERE Name = '{}'", "x".repeat(MAX_QUERY_CHARS));
        assert_eq!(parse(&long).unwrap_err().error_code, "MALFORMED_QUERY");
    }
}
