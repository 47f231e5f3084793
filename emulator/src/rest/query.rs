//! `/query` and `/queryAll` (deleted records too): SOQL run against the store, answered in
//! batches of 2,000 (or `Sforce-Query-Options: batchSize=n`, 200 to 2,000) with a
//! `nextRecordsUrl` of `/query/{queryId}-{offset}` that `/query/{locator}` and
//! `/queryAll/{locator}` both serve. A query's rows are fixed when it runs, as a Salesforce
//! cursor's are; the org keeps the last [`MAX_CURSORS`] cursors.

use super::sobjects::{readable, record_url};
use super::{Answer, Env, Request, param};
use crate::error::SfError;
use crate::soql::{self, eval};
use crate::{State, ids};
use serde_json::{Map, Value, json};
use std::collections::VecDeque;

/// Rows per batch unless the client asks for fewer.
pub const DEFAULT_BATCH: usize = 2000;
/// The smallest batch Salesforce will use.
pub const MIN_BATCH: usize = 200;
/// Open cursors kept; older ones answer `INVALID_QUERY_LOCATOR`.
pub const MAX_CURSORS: usize = 100;
/// The largest `OFFSET`.
pub const MAX_OFFSET: usize = 2000;

/// The org's open query cursors.
#[derive(Debug, Default)]
pub struct Cursors {
    serial: u64,
    open: VecDeque<(String, Cursor)>,
}

#[derive(Debug)]
struct Cursor {
    rows: Vec<Value>,
    batch: usize,
}

/// `batchSize=n` of a `Sforce-Query-Options` header.
pub fn batch_size_option(header: &str) -> Option<usize> {
    header.split([',', ';']).find_map(|part| {
        let (k, v) = part.split_once('=')?;
        k.trim().eq_ignore_ascii_case("batchSize").then(|| v.trim().parse().ok()).flatten()
    })
}

fn batch(req: &Request<'_>) -> usize {
    req.headers.query_batch_size.unwrap_or(DEFAULT_BATCH).clamp(MIN_BATCH, DEFAULT_BATCH)
}

fn bad(code: &str, message: impl Into<String>) -> Answer {
    Answer::error_with(400, vec![SfError::new(code, message)])
}

/// `GET /query?q=` and `GET /queryAll?q=`.
pub fn query(env: Env<'_>, st: &mut State, req: &Request<'_>, all: bool) -> Answer {
    let Some(soql) = param(req.query, "q") else { return bad("MALFORMED_QUERY", "A query string is required") };
    let parsed = match soql::parse(&soql) {
        Ok(p) => p,
        Err(e) => return Answer::error_with(400, vec![e]),
    };
    let Some(o) = readable(env, st, &parsed.object.text) else {
        return Answer::error_with(
            400,
            vec![soql::error_at(
                "INVALID_TYPE",
                &soql,
                parsed.object.at,
                &format!(
                    "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
                    parsed.object.text
                ),
            )],
        );
    };
    let plan = match eval::plan(&parsed, o, &st.profile, &soql) {
        Ok(p) => p,
        Err(e) => return Answer::error_with(400, vec![e]),
    };
    let offset = parsed.offset.unwrap_or(0);
    if offset > MAX_OFFSET {
        return bad("NUMBER_OUTSIDE_VALID_RANGE", format!("Maximum SOQL offset allowed is {MAX_OFFSET}"));
    }
    let now = st.store.now();
    let name = &o.describe.name;
    let mut rows: Vec<_> = st
        .store
        .records(name)
        .iter()
        .filter(|r| all || !crate::store::is_deleted(r))
        .filter(|r| plan.matches(o, r, now))
        .collect();
    plan.sort(o, &mut rows);
    let rows: Vec<_> = rows.into_iter().skip(offset).take(parsed.limit.unwrap_or(usize::MAX)).collect();
    if plan.count_only {
        return Answer::json(200, json!({ "totalSize": rows.len(), "done": true, "records": [] }));
    }
    if !plan.counts.is_empty() {
        let mut out = Map::new();
        out.insert("attributes".into(), json!({ "type": "AggregateResult" }));
        for (field, alias) in &plan.counts {
            let n = rows.iter().filter(|r| !super::sobjects::value(o, r, field).is_null()).count();
            out.insert(alias.clone(), json!(n));
        }
        return Answer::json(200, json!({ "totalSize": 1, "done": true, "records": [Value::Object(out)] }));
    }
    let projected: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let id = r.get("Id").and_then(Value::as_str).unwrap_or_default();
            let mut out = Map::new();
            out.insert("attributes".into(), json!({ "type": name, "url": record_url(env.version, name, id) }));
            for f in &plan.fields {
                out.insert(f.clone(), super::sobjects::value(o, r, f));
            }
            Value::Object(out)
        })
        .collect();
    let batch = batch(req);
    if projected.len() <= batch {
        return Answer::json(200, json!({ "totalSize": projected.len(), "done": true, "records": projected }));
    }
    st.cursors.serial += 1;
    let query_id = ids::new_id("01g", st.cursors.serial);
    let total = projected.len();
    let first: Vec<Value> = projected[..batch].to_vec();
    st.cursors.open.push_back((query_id.clone(), Cursor { rows: projected, batch }));
    while st.cursors.open.len() > MAX_CURSORS {
        st.cursors.open.pop_front();
    }
    let next = format!("/services/data/{}/query/{query_id}-{batch}", env.version);
    Answer::json(200, json!({ "totalSize": total, "done": false, "nextRecordsUrl": next, "records": first }))
}

/// `GET /query/{queryId}-{offset}` (and under `/queryAll/`): the next batch of a cursor.
pub fn more(env: Env<'_>, st: &mut State, req: &Request<'_>, locator: &str) -> Answer {
    let invalid = || bad("INVALID_QUERY_LOCATOR", "invalid query locator");
    let Some((query_id, offset)) = locator.rsplit_once('-') else { return invalid() };
    let Ok(offset) = offset.parse::<usize>() else { return invalid() };
    let Some((_, cursor)) = st.cursors.open.iter().find(|(id, _)| id == query_id) else { return invalid() };
    if offset > cursor.rows.len() {
        return invalid();
    }
    let batch = req.headers.query_batch_size.map_or(cursor.batch, |_| batch(req));
    let end = (offset + batch).min(cursor.rows.len());
    let records: Vec<Value> = cursor.rows[offset..end].to_vec();
    let total = cursor.rows.len();
    let mut body = json!({ "totalSize": total, "done": end == total, "records": records });
    if end < total {
        body["nextRecordsUrl"] = json!(format!("/services/data/{}/query/{query_id}-{end}", env.version));
    }
    Answer::json(200, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_batch_size_option() {
        assert_eq!(batch_size_option("batchSize=500"), Some(500));
        assert_eq!(batch_size_option(" batchsize = 250 "), Some(250));
        assert_eq!(batch_size_option("other=1"), None);
    }
}
