//! `@{referenceId.path}` in a subrequest's URL or body: the value at `path` (fields with `.`,
//! array items with `[n]`) of an earlier subrequest's answer.

use serde_json::Value;
use std::collections::HashMap;

/// Replaces references in every string of a JSON value.
pub fn resolve(value: &Value, results: &HashMap<String, Value>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => Value::String(resolve_str(s, results)?),
        Value::Array(a) => Value::Array(a.iter().map(|v| resolve(v, results)).collect::<Result<_, _>>()?),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| Ok((k.clone(), resolve(v, results)?))).collect::<Result<_, String>>()?)
        }
        other => other.clone(),
    })
}

/// Replaces references in a string.
pub fn resolve_str(s: &str, results: &HashMap<String, Value>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or_else(|| format!("unterminated reference in {s}"))? + start;
        let expr = &rest[start + 2..end];
        let value = lookup(expr, results)?;
        match value {
            Value::String(v) => out.push_str(v),
            Value::Null => {}
            other => out.push_str(&other.to_string()),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The reference ids an expression names (for a graph's depth).
pub fn referenced(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("@{") {
        let Some(end) = rest[start..].find('}').map(|e| e + start) else { break };
        let expr = &rest[start + 2..end];
        out.push(expr.split(['.', '[']).next().unwrap_or_default());
        rest = &rest[end + 1..];
    }
    out
}

/// Every reference id named in the strings of a JSON value.
pub fn referenced_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.extend(referenced(s).into_iter().map(str::to_owned)),
        Value::Array(a) => a.iter().for_each(|v| referenced_in(v, out)),
        Value::Object(m) => m.values().for_each(|v| referenced_in(v, out)),
        _ => {}
    }
}

fn lookup<'a>(expr: &str, results: &'a HashMap<String, Value>) -> Result<&'a Value, String> {
    let invalid = |reference: &str| {
        format!(
            "Invalid reference specified. No value for {expr} found in {reference}. Provided referenceId ('{reference}') refers to a sub-request that failed or was not executed."
        )
    };
    let (reference, path) = expr.split_at(expr.find(['.', '[']).unwrap_or(expr.len()));
    let mut at = results.get(reference).ok_or_else(|| invalid(reference))?;
    let mut path = path;
    while !path.is_empty() {
        if let Some(rest) = path.strip_prefix('.') {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            at = at.get(&rest[..end]).ok_or_else(|| invalid(reference))?;
            path = &rest[end..];
        } else if let Some(rest) = path.strip_prefix('[') {
            let end = rest.find(']').ok_or_else(|| invalid(reference))?;
            let i: usize = rest[..end].parse().map_err(|_| invalid(reference))?;
            at = at.get(i).ok_or_else(|| invalid(reference))?;
            path = &rest[end + 1..];
        } else {
            return Err(invalid(reference));
        }
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_fields_and_indexes() {
        let mut results = HashMap::new();
        results.insert("Lead_1".to_owned(), json!({"id": "00Q1", "records": [{"Id": "001A"}], "n": 3}));
        assert_eq!(resolve_str("/x/@{Lead_1.id}", &results).unwrap(), "/x/00Q1");
        assert_eq!(resolve_str("@{Lead_1.records[0].Id}", &results).unwrap(), "001A");
        assert_eq!(resolve(&json!({"k": "@{Lead_1.n}"}), &results).unwrap(), json!({"k": "3"}));
        assert!(resolve_str("@{Lead_2.id}", &results).unwrap_err().contains("Lead_2"));
        assert!(resolve_str("@{Lead_1.nope}", &results).is_err());
        assert_eq!(referenced("a @{A.id} b @{B_2.records[0].Id}"), ["A", "B_2"]);
    }
}
