//! A parsed query against an sObject: names resolved to the fields the user can see (refused
//! by name otherwise), literals checked against the fields' types as Salesforce checks them,
//! then records matched and ordered. Text compares case-insensitively, ids on their 15
//! case-sensitive characters, and `!=` matches `null` as in SOQL.

use super::dates::instant;
use super::{Expr, Item, Like, Literal, Name, Op, Order, Query, Select, error_at};
use crate::error::SfError;
use crate::ids;
use crate::profile::Profile;
use crate::rest::sobjects::value;
use crate::schema::ObjectSchema;
use crate::store::Record;
use portico_model::DateTime;
use portico_model::describe::FieldType;
use serde_json::Value;
use std::cmp::Ordering;

/// How a field's values compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Id,
    Number,
    Boolean,
    Date,
    DateTime,
}

/// A query resolved against an object.
#[derive(Clone, Debug)]
pub struct Plan {
    /// `SELECT COUNT()`.
    pub count_only: bool,
    /// The selected fields, canonical names.
    pub fields: Vec<String>,
    /// `COUNT(field)` items: field and output name.
    pub counts: Vec<(String, String)>,
    filter: Option<Expr>,
    kinds: Vec<(String, Kind)>,
    order: Vec<Order>,
}

fn kind(t: FieldType) -> Kind {
    match t {
        FieldType::Boolean => Kind::Boolean,
        FieldType::Date => Kind::Date,
        FieldType::Datetime => Kind::DateTime,
        FieldType::Id | FieldType::Reference => Kind::Id,
        t if t.is_number() => Kind::Number,
        _ => Kind::Text,
    }
}

/// Resolves `q` against `o` as `profile` sees it.
pub fn plan(q: &Query, o: &ObjectSchema, profile: &Profile, soql: &str) -> Result<Plan, SfError> {
    let object = &o.describe.name;
    let mut kinds = Vec::new();
    let mut resolve = |n: &Name| -> Result<String, SfError> {
        if n.text.contains('.') {
            let relationship = n.text.split('.').next().unwrap_or_default();
            return Err(error_at(
                "INVALID_FIELD",
                soql,
                n.at,
                &format!(
                    "Didn't understand relationship '{relationship}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
                ),
            ));
        }
        let f = o.describe.field(&n.text).filter(|f| profile.field_visible(object, &f.name)).ok_or_else(|| {
            error_at(
                "INVALID_FIELD",
                soql,
                n.at,
                &format!("No such column '{}' on entity '{object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", n.text),
            )
        })?;
        kinds.push((f.name.clone(), kind(f.field_type)));
        Ok(f.name.clone())
    };
    let (mut fields, mut counts, mut count_only) = (Vec::new(), Vec::new(), false);
    match &q.select {
        Select::Count => count_only = true,
        Select::Items(items) => {
            for item in items {
                match item {
                    Item::Field(n) => fields.push(resolve(n)?),
                    Item::Count(n, alias) => {
                        let name = alias.clone().unwrap_or_else(|| format!("expr{}", counts.len()));
                        counts.push((resolve(n)?, name));
                    }
                }
            }
        }
    }
    if !counts.is_empty() && !fields.is_empty() {
        let at = q.object.at;
        return Err(error_at(
            "MALFORMED_QUERY",
            soql,
            at,
            "Field must be grouped or aggregated: a select list mixes fields and COUNT() without GROUP BY",
        ));
    }
    let filter = q.filter.as_ref().map(|e| canonical(e, &mut resolve)).transpose()?;
    let order = q
        .order
        .iter()
        .map(|o| Ok(Order { field: Name { text: resolve(&o.field)?, at: o.field.at }, ..o.clone() }))
        .collect::<Result<Vec<_>, SfError>>()?;
    let plan = Plan { count_only, fields, counts, filter, kinds, order };
    if let Some(filter) = &plan.filter {
        plan.check(filter, soql)?;
    }
    Ok(plan)
}

/// The expression with canonical field names.
fn canonical(e: &Expr, resolve: &mut impl FnMut(&Name) -> Result<String, SfError>) -> Result<Expr, SfError> {
    let name = |n: &Name, resolve: &mut dyn FnMut(&Name) -> Result<String, SfError>| -> Result<Name, SfError> {
        Ok(Name { text: resolve(n)?, at: n.at })
    };
    Ok(match e {
        Expr::And(items) => Expr::And(items.iter().map(|i| canonical(i, resolve)).collect::<Result<_, _>>()?),
        Expr::Or(items) => Expr::Or(items.iter().map(|i| canonical(i, resolve)).collect::<Result<_, _>>()?),
        Expr::Not(inner) => Expr::Not(Box::new(canonical(inner, resolve)?)),
        Expr::Compare(n, op, l) => Expr::Compare(name(n, resolve)?, *op, l.clone()),
        Expr::In(n, neg, ls) => Expr::In(name(n, resolve)?, *neg, ls.clone()),
        Expr::Like(n, p) => Expr::Like(name(n, resolve)?, p.clone()),
    })
}

impl Plan {
    fn kind(&self, field: &str) -> Kind {
        self.kinds.iter().find(|(f, _)| f == field).map_or(Kind::Text, |(_, k)| *k)
    }

    /// Every literal fits its field's type.
    fn check(&self, e: &Expr, soql: &str) -> Result<(), SfError> {
        let fits = |n: &Name, l: &Literal| -> Result<(), SfError> {
            let kind = self.kind(&n.text);
            let expected = match kind {
                Kind::Text | Kind::Id => "string",
                Kind::Number => "double",
                Kind::Boolean => "boolean",
                Kind::Date => "date",
                Kind::DateTime => "dateTime",
            };
            let ok = matches!(
                (kind, l),
                (_, Literal::Null)
                    | (Kind::Text | Kind::Id, Literal::Text(_))
                    | (Kind::Number, Literal::Number(_))
                    | (Kind::Boolean, Literal::Boolean(_))
                    | (Kind::Date, Literal::Date(_) | Literal::Relative(_))
                    | (Kind::DateTime, Literal::DateTime(_) | Literal::Relative(_))
            );
            if !ok {
                let quoted = if expected == "string" {
                    "should be enclosed in quotes"
                } else {
                    "should not be enclosed in quotes"
                };
                let message =
                    format!("value of filter criterion for field '{}' must be of type {expected} and {quoted}", n.text);
                return Err(error_at("INVALID_FIELD", soql, n.at, &message));
            }
            if let (Kind::Id, Literal::Text(s)) = (kind, l)
                && !portico_model::value::is_salesforce_id(s)
            {
                return Err(error_at("INVALID_QUERY_FILTER_OPERATOR", soql, n.at, &format!("invalid ID field: {s}")));
            }
            Ok(())
        };
        match e {
            Expr::And(items) | Expr::Or(items) => items.iter().try_for_each(|i| self.check(i, soql)),
            Expr::Not(inner) => self.check(inner, soql),
            Expr::Compare(n, _, l) => fits(n, l),
            Expr::In(n, _, ls) => ls.iter().try_for_each(|l| fits(n, l)),
            Expr::Like(n, _) => match self.kind(&n.text) {
                Kind::Text => Ok(()),
                _ => {
                    Err(error_at("INVALID_FIELD", soql, n.at, &format!("invalid operator on field: {}: LIKE", n.text)))
                }
            },
        }
    }

    /// Whether a record satisfies the `WHERE` condition at `now`.
    pub fn matches(&self, o: &ObjectSchema, record: &Record, now: DateTime) -> bool {
        self.filter.as_ref().is_none_or(|f| self.eval(f, o, record, now))
    }

    fn eval(&self, e: &Expr, o: &ObjectSchema, record: &Record, now: DateTime) -> bool {
        match e {
            Expr::And(items) => items.iter().all(|i| self.eval(i, o, record, now)),
            Expr::Or(items) => items.iter().any(|i| self.eval(i, o, record, now)),
            Expr::Not(inner) => !self.eval(inner, o, record, now),
            Expr::Compare(n, op, l) => self.compare(&value(o, record, &n.text), self.kind(&n.text), *op, l, now),
            Expr::In(n, negated, ls) => {
                let v = value(o, record, &n.text);
                let kind = self.kind(&n.text);
                let found = ls.iter().any(|l| self.compare(&v, kind, Op::Eq, l, now));
                found != *negated
            }
            Expr::Like(n, pattern) => value(o, record, &n.text).as_str().is_some_and(|s| like(s, pattern)),
        }
    }

    fn compare(&self, v: &Value, kind: Kind, op: Op, l: &Literal, now: DateTime) -> bool {
        if let Literal::Relative(d) = l {
            let Some(t) = v.as_str().and_then(instant) else { return op == Op::Ne };
            let (start, end) = d.range(now);
            return match op {
                Op::Eq => (start..end).contains(&t),
                Op::Ne => !(start..end).contains(&t),
                Op::Lt => t < start,
                Op::Le => t < end,
                Op::Gt => t >= end,
                Op::Ge => t >= start,
            };
        }
        let ordering = match (v, l) {
            (Value::Null, Literal::Null) => Some(Ordering::Equal),
            (Value::Null, _) | (_, Literal::Null) => None,
            (Value::String(a), Literal::Text(b)) if kind == Kind::Id => {
                Some(if ids::to_15(a) == ids::to_15(b) { Ordering::Equal } else { a.cmp(b) })
            }
            (Value::String(a), Literal::Text(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
            (Value::Number(a), Literal::Number(b)) => a.as_f64().and_then(|a| a.partial_cmp(b)),
            (Value::Bool(a), Literal::Boolean(b)) => Some(a.cmp(b)),
            (Value::String(a), Literal::Date(b)) => instant(a).map(|a| a.cmp(&b.at_midnight_utc().seconds)),
            (Value::String(a), Literal::DateTime(b)) => instant(a).map(|a| a.cmp(&b.seconds)),
            _ => None,
        };
        match (op, ordering) {
            (Op::Ne, None) => true,
            (_, None) => false,
            (Op::Eq, Some(o)) => o.is_eq(),
            (Op::Ne, Some(o)) => o.is_ne(),
            (Op::Lt, Some(o)) => o.is_lt(),
            (Op::Le, Some(o)) => o.is_le(),
            (Op::Gt, Some(o)) => o.is_gt(),
            (Op::Ge, Some(o)) => o.is_ge(),
        }
    }

    /// Sorts records by `ORDER BY` (stable: creation order breaks ties).
    pub fn sort(&self, o: &ObjectSchema, rows: &mut [&Record]) {
        if self.order.is_empty() {
            return;
        }
        rows.sort_by(|a, b| {
            for item in &self.order {
                let (x, y) = (value(o, a, &item.field.text), value(o, b, &item.field.text));
                let ordering = match (x.is_null(), y.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => {
                        if item.nulls_last {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        }
                    }
                    (false, true) => {
                        if item.nulls_last {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    }
                    (false, false) => {
                        let o = order_values(&x, &y, self.kind(&item.field.text));
                        if item.descending { o.reverse() } else { o }
                    }
                };
                if ordering.is_ne() {
                    return ordering;
                }
            }
            Ordering::Equal
        });
    }
}

fn order_values(x: &Value, y: &Value, kind: Kind) -> Ordering {
    match (x, y) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()).unwrap_or(Ordering::Equal),
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Value::String(a), Value::String(b)) if matches!(kind, Kind::Date | Kind::DateTime) => {
            instant(a).cmp(&instant(b))
        }
        (Value::String(a), Value::String(b)) if kind == Kind::Id => a.cmp(b),
        (Value::String(a), Value::String(b)) => a.to_lowercase().cmp(&b.to_lowercase()),
        _ => x.to_string().cmp(&y.to_string()),
    }
}

/// `LIKE`, case-insensitively.
fn like(s: &str, pattern: &[Like]) -> bool {
    let text: Vec<char> = s.to_lowercase().chars().collect();
    let pattern: Vec<Like> = pattern
        .iter()
        .map(|p| if let Like::Char(c) = p { Like::Char(c.to_lowercase().next().unwrap_or(*c)) } else { *p })
        .collect();
    // Iterative matching with backtracking to the last `%`.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Like::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Like::One) => {
                t += 1;
                p += 1;
            }
            Some(Like::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|x| *x == Like::Any)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> Vec<Like> {
        s.chars()
            .map(|c| match c {
                '%' => Like::Any,
                '_' => Like::One,
                c => Like::Char(c),
            })
            .collect()
    }

    #[test]
    fn like_matches_wildcards_case_insensitively() {
        assert!(like("Ada Lovelace", &pat("ada%")));
        assert!(like("Ada Lovelace", &pat("%LACE")));
        assert!(like("Ada Lovelace", &pat("%ove%")));
        assert!(like("abc", &pat("a_c")));
        assert!(!like("abbc", &pat("a_c")));
        assert!(like("", &pat("%")));
        assert!(!like("50%", &[Like::Char('5'), Like::Char('%')]));
        assert!(like("5%", &[Like::Char('5'), Like::Char('%')]));
    }
}
