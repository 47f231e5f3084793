//! `find` as SOQL: one query per find, or several finds that differ only in the value they
//! compare as one `WHERE field IN (…)` query whose records are given back to each find exactly
//! as its own query would have returned them.
//!
//! Only text values are combined (Salesforce compares text case-insensitively, and so does the
//! split), and not on `Id` (15- and 18-character ids name the same record). A combined query
//! asks for at most the sum of the finds' limits; when it comes back full, a find that got
//! fewer records than its limit may have been crowded out and is asked again on its own.

use super::error::SalesforceError;
use super::transport::{MAX_ANSWER_BYTES, Transport};
use portico_model::{CrmError, FieldValue, FindQuery, Found, Value};
use reqwest::Method;
use serde::Deserialize;

/// The most characters of SOQL in one combined query (encoded in the URL, it stays well under
/// the 16,384-byte request line Salesforce accepts).
pub const MAX_COMBINED_SOQL: usize = 4_000;
/// The most records one combined query asks for (Salesforce's page size: one round trip).
pub const MAX_COMBINED_RECORDS: u32 = 2_000;

/// What finds must share to be answered by one query: everything but the value and limit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct FindKind {
    sobject: String,
    field: String,
    fields: Vec<String>,
    oldest_first: bool,
}

impl FindKind {
    /// The kind of a find that may be combined with others, if it may.
    pub(super) fn of(q: &FindQuery) -> Option<FindKind> {
        let combinable = matches!(q.value, Value::Text(_)) && !q.field.eq_ignore_ascii_case("Id");
        combinable.then(|| FindKind {
            sobject: q.sobject.to_ascii_lowercase(),
            field: q.field.to_ascii_lowercase(),
            fields: q.fields.iter().map(|f| f.to_ascii_lowercase()).collect(),
            oldest_first: q.oldest_first,
        })
    }
}

#[derive(Deserialize)]
struct QueryResponse {
    records: Vec<serde_json::Map<String, serde_json::Value>>,
}

pub(super) fn crm_error(sobject: &str, e: SalesforceError) -> CrmError {
    match &e {
        SalesforceError::Api { status: 404, .. } => CrmError::UnknownSobject(sobject.to_owned()),
        SalesforceError::TooLarge { max } => CrmError::TooLarge { max: *max },
        _ => CrmError::Unavailable { class: e.class(), message: e.to_string() },
    }
}

/// The most bytes of JSON read for a find: its record attributes and quoted names come on top
/// of the values the session counts, so the body may be a few times the answer (the session
/// checks the answer itself).
fn body_bound(q: &FindQuery) -> u64 {
    q.max_bytes.saturating_mul(4).saturating_add(64 << 10)
}

/// Runs one SOQL query; its records.
async fn query(
    transport: &Transport,
    soql: &str,
    max_body: u64,
) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, SalesforceError> {
    let response = transport.send(Method::GET, "/query", &[("q", soql)], None, &[]).await?;
    let json = Transport::ok_json(response, max_body).await?;
    let parsed: QueryResponse = serde_json::from_value(json)
        .map_err(|e| SalesforceError::Protocol(format!("unexpected query response: {e}")))?;
    Ok(parsed.records)
}

/// A record as the find asked for it.
fn found(q: &FindQuery, r: &serde_json::Map<String, serde_json::Value>) -> Found {
    Found {
        id: r.get("Id").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
        fields: q
            .fields
            .iter()
            .map(|f| FieldValue {
                name: f.clone(),
                value: field(r, f).map_or(Value::Null, Value::from_salesforce_json),
            })
            .collect(),
    }
}

/// A field of a returned record, by name as asked (Salesforce answers with the canonical case).
fn field<'a>(r: &'a serde_json::Map<String, serde_json::Value>, name: &str) -> Option<&'a serde_json::Value> {
    r.get(name).or_else(|| r.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// One find, one query.
pub(super) async fn find_one(transport: &Transport, q: &FindQuery) -> Result<Vec<Found>, CrmError> {
    let soql = portico_model::soql::find_query(q);
    let records = query(transport, &soql, body_bound(q)).await.map_err(|e| crm_error(&q.sobject, e))?;
    Ok(records.iter().map(|r| found(q, r)).collect())
}

/// The compared text of a find, folded as Salesforce compares it.
fn folded(q: &FindQuery) -> String {
    match &q.value {
        Value::Text(t) => t.to_lowercase(),
        _ => String::new(),
    }
}

/// Finds of one kind, answered together; one answer per find, in order.
pub(super) async fn find_many(transport: &Transport, finds: &[FindQuery]) -> Vec<Result<Vec<Found>, CrmError>> {
    let mut answers: Vec<Option<Result<Vec<Found>, CrmError>>> = finds.iter().map(|_| None).collect();
    for group in chunks(finds) {
        let members: Vec<&FindQuery> = group.iter().map(|&i| &finds[i]).collect();
        for (&i, answer) in group.iter().zip(combined(transport, &members).await) {
            answers[i] = Some(answer);
        }
    }
    answers.into_iter().map(|a| a.expect("every find answered")).collect()
}

/// The finds split into groups whose query stays within the length and record bounds.
fn chunks(finds: &[FindQuery]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let (mut length, mut records) = (0usize, 0u32);
    for (i, q) in finds.iter().enumerate() {
        let cost = portico_model::soql::literal(&q.value).len() + 2;
        let full = groups.last().is_none_or(|g| {
            g.is_empty() || length + cost > MAX_COMBINED_SOQL || records + q.limit > MAX_COMBINED_RECORDS
        });
        if full {
            groups.push(Vec::new());
            (length, records) = (portico_model::soql::find_query(q).len(), 0);
        }
        groups.last_mut().expect("a group").push(i);
        (length, records) = (length + cost, records + q.limit);
    }
    groups
}

/// One combined query for `finds`, split back per find.
async fn combined(transport: &Transport, finds: &[&FindQuery]) -> Vec<Result<Vec<Found>, CrmError>> {
    let first = finds[0];
    if finds.len() == 1 {
        return vec![find_one(transport, first).await];
    }
    // Each distinct value once, asking for the most any find of it wants.
    let mut values: Vec<(String, &Value, u32)> = Vec::new();
    for q in finds {
        let key = folded(q);
        match values.iter_mut().find(|(k, _, _)| *k == key) {
            Some(v) => v.2 = v.2.max(q.limit),
            None => values.push((key, &q.value, q.limit)),
        }
    }
    let limit: u32 = values.iter().map(|v| v.2).sum();
    let list: Vec<&Value> = values.iter().map(|v| v.1).collect();
    let soql = portico_model::soql::find_in_query(first, &list, limit);
    let max_body = finds.iter().map(|q| body_bound(q)).fold(0u64, u64::saturating_add).min(MAX_ANSWER_BYTES);
    let records = match query(transport, &soql, max_body).await {
        Ok(records) => records,
        // A refusal or an answer too large may concern one find only: each asks on its own.
        Err(e @ (SalesforceError::Api { status: 400..=499, .. } | SalesforceError::TooLarge { .. })) => {
            tracing::debug!("a combined find was refused ({e}); asking each on its own");
            let mut out = Vec::with_capacity(finds.len());
            for q in finds {
                out.push(find_one(transport, q).await);
            }
            return out;
        }
        Err(e) => {
            let e = crm_error(&first.sobject, e);
            return finds.iter().map(|_| Err(e.clone())).collect();
        }
    };
    let full = records.len() as u64 >= u64::from(limit);
    let mut out = Vec::with_capacity(finds.len());
    for q in finds {
        let key = folded(q);
        let mine: Vec<Found> = records
            .iter()
            .filter(|r| field(r, &q.field).and_then(|v| v.as_str()).is_some_and(|v| v.to_lowercase() == key))
            .take(q.limit as usize)
            .map(|r| found(q, r))
            .collect();
        if full && (mine.len() as u32) < q.limit {
            out.push(find_one(transport, q).await);
        } else {
            out.push(Ok(mine));
        }
    }
    out
}
