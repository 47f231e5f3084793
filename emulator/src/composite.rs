//! `POST /composite`: up to 25 subrequests in order, `@{ref.field}` references between them,
//! and `allOrNone` rollback with `PROCESSING_HALTED` for the others.

use crate::Org;
use crate::error::SfError;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeRequest {
    /// Roll everything back when one subrequest fails.
    #[serde(default)]
    pub all_or_none: bool,
    /// The subrequests.
    pub composite_request: Vec<SubRequest>,
}

/// One subrequest.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubRequest {
    /// HTTP method.
    pub method: String,
    /// `/services/data/vXX.X/…`.
    pub url: String,
    /// Its reference id.
    pub reference_id: String,
    /// JSON body.
    #[serde(default)]
    pub body: Option<Value>,
}

/// The most subrequests one composite request may hold.
pub const MAX_SUBREQUESTS: usize = 25;

/// A subrequest's answer: status, body and `Location`; or status and errors.
type SubOutcome = Result<(u16, Value, Option<String>), (u16, Vec<SfError>)>;

fn sub(status: u16, reference_id: &str, body: Value, location: Option<String>) -> Value {
    let headers = location.map_or_else(|| json!({}), |l| json!({ "Location": l }));
    json!({ "body": body, "httpHeaders": headers, "httpStatusCode": status, "referenceId": reference_id })
}

fn errors(errs: &[SfError]) -> Value {
    serde_json::to_value(errs).expect("serializable")
}

/// Replaces `@{ref.field}` in strings with values from earlier results.
fn resolve(value: &Value, results: &HashMap<String, Value>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => Value::String(resolve_str(s, results)?),
        Value::Array(a) => Value::Array(a.iter().map(|v| resolve(v, results)).collect::<Result<_, _>>()?),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| Ok((k.clone(), resolve(v, results)?))).collect::<Result<_, String>>()?)
        }
        other => other.clone(),
    })
}

fn resolve_str(s: &str, results: &HashMap<String, Value>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or_else(|| format!("unterminated reference in {s}"))? + start;
        let expr = &rest[start + 2..end];
        let (reference, field) = expr.split_once('.').ok_or_else(|| format!("invalid reference {expr}"))?;
        let value = results
            .get(reference)
            .and_then(|b| b.get(field))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("Invalid reference specified. No value for {expr} found in {reference}."))?;
        out.push_str(value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Runs a composite request against the org.
pub fn run(org: &Org, version: &str, request: CompositeRequest) -> Result<Value, Vec<SfError>> {
    if request.composite_request.len() > MAX_SUBREQUESTS {
        return Err(vec![SfError::new(
            "INVALID_BATCH_REQUEST",
            format!("Composite requests cannot exceed {MAX_SUBREQUESTS} subrequests"),
        )]);
    }
    let mut state = org.state.lock().expect("org lock");
    state.store.begin();
    let mut results: HashMap<String, Value> = HashMap::new();
    let mut responses = Vec::new();
    let mut failed = false;
    for r in &request.composite_request {
        if failed && request.all_or_none {
            responses.push(sub(400, &r.reference_id, halted(), None));
            continue;
        }
        let outcome = (|| -> SubOutcome {
            let url = resolve_str(&r.url, &results).map_err(|m| (400, vec![SfError::new("INVALID_REFERENCE", m)]))?;
            let body = r
                .body
                .as_ref()
                .map(|b| resolve(b, &results))
                .transpose()
                .map_err(|m| (400, vec![SfError::new("INVALID_REFERENCE", m)]))?;
            let path = url
                .split_once("/sobjects/")
                .map(|(_, p)| p)
                .ok_or_else(|| (404, vec![SfError::new("NOT_FOUND", "The requested resource does not exist")]))?;
            let parts: Vec<String> = path
                .split('/')
                .map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned())
                .collect();
            let body_map = body.as_ref().and_then(Value::as_object).cloned().unwrap_or_default();
            let profile = state.profile.clone();
            let (schema, profile) = (&org.schema, &profile);
            match (r.method.as_str(), parts.as_slice()) {
                ("POST", [object]) => {
                    let w = state.store.insert(schema, profile, object, &body_map).map_err(|e| (400, e))?;
                    let loc = format!("/services/data/{version}/sobjects/{object}/{}", w.id);
                    Ok((201, json!({ "id": w.id, "success": true, "errors": [] }), Some(loc)))
                }
                ("PATCH", [object, field, key]) => {
                    let w = state.store.upsert(schema, profile, object, field, key, &body_map).map_err(|e| (400, e))?;
                    let loc = format!("/services/data/{version}/sobjects/{object}/{}", w.id);
                    let status = if w.created { 201 } else { 200 };
                    Ok((status, json!({ "id": w.id, "success": true, "errors": [], "created": w.created }), Some(loc)))
                }
                ("GET", [object, id]) => {
                    let record = state.store.get(object, id).cloned().ok_or_else(|| {
                        (404, vec![SfError::new("NOT_FOUND", "The requested resource does not exist")])
                    })?;
                    Ok((200, Value::Object(record), None))
                }
                _ => Err((
                    400,
                    vec![SfError::new(
                        "METHOD_NOT_ALLOWED",
                        format!("{} {url} is not supported in a composite request here", r.method),
                    )],
                )),
            }
        })();
        match outcome {
            Ok((status, body, location)) => {
                results.insert(r.reference_id.clone(), body.clone());
                responses.push(sub(status, &r.reference_id, body, location));
            }
            Err((status, errs)) => {
                failed = true;
                responses.push(sub(status, &r.reference_id, errors(&errs), None));
            }
        }
    }
    if failed && request.all_or_none {
        state.store.rollback();
        // Salesforce reports the requests before the failure as halted too.
        for resp in responses.iter_mut() {
            if resp["httpStatusCode"].as_u64().is_some_and(|s| s < 300) {
                resp["httpStatusCode"] = json!(400);
                resp["body"] = halted();
                resp["httpHeaders"] = json!({});
            }
        }
    }
    // Without allOrNone the successful subrequests stay, failed or not.
    state.store.commit();
    Ok(json!({ "compositeResponse": responses }))
}

fn halted() -> Value {
    json!([{ "errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed." }])
}
