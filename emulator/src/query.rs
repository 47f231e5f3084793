//! The shape of the query Portico's `find` sends — `SELECT f, … FROM T [WHERE f = literal [AND
//! …]] [ORDER BY f [ASC|DESC]] [LIMIT n]` — read by the real parser ([`crate::soql`]) and
//! flattened. The fuzz targets check Portico's literals against it; anything outside the shape
//! is refused here (the emulator itself runs the whole of [`crate::soql`]).

use crate::error::SfError;
use crate::soql::{self, Expr, Item, Op, Select};

/// A literal in a condition: the parser's, relative date literals (`TODAY`, …) excepted.
pub use crate::soql::Literal;

/// A parsed query of the `find` shape.
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

fn outside(what: &str) -> SfError {
    SfError::new("MALFORMED_QUERY", format!("not the shape `find` sends: {what}"))
}

fn literal(l: &Literal) -> Result<Literal, SfError> {
    match l {
        Literal::Relative(_) => Err(outside("a date literal")),
        other => Ok(other.clone()),
    }
}

fn conditions(e: &Expr, out: &mut Vec<(String, Literal)>) -> Result<(), SfError> {
    match e {
        Expr::And(items) => items.iter().try_for_each(|i| conditions(i, out)),
        Expr::Compare(field, Op::Eq, l) => {
            out.push((field.text.clone(), literal(l)?));
            Ok(())
        }
        _ => Err(outside("a condition other than `field = literal`")),
    }
}

/// Parses a query of the `find` shape.
pub fn parse(text: &str) -> Result<Query, SfError> {
    let q = soql::parse(text)?;
    let Select::Items(items) = &q.select else { return Err(outside("COUNT()")) };
    let fields = items
        .iter()
        .map(|i| match i {
            Item::Field(n) => Ok(n.text.clone()),
            Item::Count(..) => Err(outside("COUNT(field)")),
        })
        .collect::<Result<_, _>>()?;
    let mut conds = Vec::new();
    if let Some(filter) = &q.filter {
        conditions(filter, &mut conds)?;
    }
    let order_by = match q.order.as_slice() {
        [] => None,
        [o] if o.nulls_last == o.descending => Some((o.field.text.clone(), o.descending)),
        _ => return Err(outside("ORDER BY with more than one field or NULLS")),
    };
    if q.offset.is_some() {
        return Err(outside("OFFSET"));
    }
    Ok(Query { fields, object: q.object.text, conditions: conds, order_by, limit: q.limit })
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
    fn refuses_what_is_not_the_find_shape() {
        assert!(parse("SELECT Id FROM Lead WHERE Email LIKE 'a%'").is_err());
        assert!(parse("SELECT Id FROM Lead WHERE Email = 'open").is_err());
        assert!(parse("DELETE FROM Lead").is_err());
    }
}
