//! SOQL for `find`, with literals escaped so booking data can never change the query.

use crate::crm::FindQuery;
use crate::value::Value;

/// A SOQL literal for a value: quoted and escaped text, numbers, booleans, dates, `null`.
pub fn literal(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Text(s) => {
            let mut out = String::with_capacity(s.len() + 2);
            out.push('\'');
            for c in s.chars() {
                match c {
                    '\'' => out.push_str("\\'"),
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    c => out.push(c),
                }
            }
            out.push('\'');
            out
        }
        Value::Number(n) if n.is_finite() => {
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                format!("{}", *n as i64)
            } else {
                n.to_string()
            }
        }
        Value::Number(_) => "null".to_owned(),
        Value::Boolean(b) => b.to_string(),
        Value::Date(d) => d.to_string(),
        Value::DateTime(t) => t.to_salesforce(),
        // Refused before a query is built; never reaches Salesforce.
        Value::RecordRef(_) => "null".to_owned(),
    }
}

/// `SELECT Id, … FROM T WHERE F = literal [ORDER BY CreatedDate ASC] LIMIT n`. Field and object
/// names come from describe (canonical API names), never from booking data.
pub fn find_query(q: &FindQuery) -> String {
    let fields = select_list(&q.fields, None);
    let order = if q.oldest_first { " ORDER BY CreatedDate ASC" } else { "" };
    format!("SELECT {fields} FROM {} WHERE {} = {}{order} LIMIT {}", q.sobject, q.field, literal(&q.value), q.limit)
}

/// Several finds that differ only in the value compared, as one query:
/// `SELECT Id, …, F FROM T WHERE F IN (literal, …) [ORDER BY CreatedDate ASC] LIMIT n`. The
/// compared field is selected so each record can be given back to the finds it answers.
pub fn find_in_query(q: &FindQuery, values: &[&Value], limit: u32) -> String {
    let fields = select_list(&q.fields, Some(&q.field));
    let list: Vec<String> = values.iter().map(|v| literal(v)).collect();
    let order = if q.oldest_first { " ORDER BY CreatedDate ASC" } else { "" };
    format!("SELECT {fields} FROM {} WHERE {} IN ({}){order} LIMIT {limit}", q.sobject, q.field, list.join(", "))
}

/// `Id`, then the fields asked for and `extra`, each once.
fn select_list(asked: &[String], extra: Option<&String>) -> String {
    let mut fields = vec!["Id".to_owned()];
    for f in asked.iter().chain(extra) {
        if !fields.iter().any(|g| g.eq_ignore_ascii_case(f)) {
            fields.push(f.clone());
        }
    }
    fields.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_quote_and_backslash() {
        assert_eq!(literal(&Value::Text(r"x' OR Name != '\".into())), r"'x\' OR Name != \'\\'");
        assert_eq!(literal(&Value::Text("a\nb".into())), r"'a\nb'");
        assert_eq!(literal(&Value::Number(5.0)), "5");
        assert_eq!(literal(&Value::Boolean(true)), "true");
    }

    #[test]
    fn builds_the_find_query() {
        let q = FindQuery {
            sobject: "Contact".into(),
            field: "Email".into(),
            value: Value::Text("o'brien@x.y".into()),
            fields: vec!["Id".into(), "AccountId".into()],
            limit: 2,
            oldest_first: true,
            max_bytes: 1 << 20,
        };
        assert_eq!(
            find_query(&q),
            r"SELECT Id, AccountId FROM Contact WHERE Email = 'o\'brien@x.y' ORDER BY CreatedDate ASC LIMIT 2"
        );
        let (a, b) = (Value::Text("a@x.y".into()), Value::Text("o'b@x.y".into()));
        assert_eq!(
            find_in_query(&q, &[&a, &b], 4),
            r"SELECT Id, AccountId, Email FROM Contact WHERE Email IN ('a@x.y', 'o\'b@x.y') ORDER BY CreatedDate ASC LIMIT 4"
        );
    }
}

/// Properties of escaping over generated text (proptest); the fuzz target `soql_literal` also
/// checks them against the emulator's parser.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Reads a literal back as Salesforce does: one quoted token, backslash escapes. `None`
    /// when it is not exactly one well-formed literal (a quote got out, a bad escape).
    fn unescape(literal: &str) -> Option<String> {
        let inner = literal.strip_prefix('\'')?.strip_suffix('\'')?;
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\'' => return None,
                '\\' => out.push(match chars.next()? {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    e @ ('\'' | '"' | '\\' | '_' | '%') => e,
                    _ => return None,
                }),
                c => out.push(c),
            }
        }
        Some(out)
    }

    /// Text rich in what needs escaping, and any other character.
    fn text() -> impl Strategy<Value = String> {
        let c = prop_oneof![
            3 => prop::sample::select(vec!['\'', '"', '\\', '\n', '\r', '\t', '\u{8}', '\u{c}', '%', '_', ' ']),
            2 => any::<char>(),
            2 => prop::char::range('a', 'z'),
        ];
        prop::collection::vec(c, 0..48).prop_map(|cs| cs.into_iter().collect())
    }

    proptest! {
        #[test]
        fn text_literals_read_back_as_the_text(s in text()) {
            let quoted = literal(&Value::Text(s.clone()));
            prop_assert_eq!(unescape(&quoted), Some(s));
        }

        #[test]
        fn a_find_query_ends_with_exactly_the_literal(s in text()) {
            let q = FindQuery {
                sobject: "Contact".into(),
                field: "Email".into(),
                value: Value::Text(s.clone()),
                fields: vec!["Id".into()],
                limit: 1,
                oldest_first: false,
                max_bytes: 1 << 20,
            };
            let soql = find_query(&q);
            let literal = soql
                .strip_prefix("SELECT Id FROM Contact WHERE Email = ")
                .and_then(|rest| rest.strip_suffix(" LIMIT 1"));
            prop_assert_eq!(literal.and_then(unescape), Some(s));
        }

        #[test]
        fn finite_numbers_read_back_exactly(n in any::<f64>()) {
            let text = literal(&Value::Number(n));
            if n.is_finite() {
                prop_assert_eq!(text.parse::<f64>().ok(), Some(n), "{}", text);
            } else {
                prop_assert_eq!(text, "null");
            }
        }
    }
}
