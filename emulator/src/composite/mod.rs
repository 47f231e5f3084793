//! The composite resources, one piece serving all three: `/composite` (up to 25 subrequests
//! with `@{ref.field}` references and `allOrNone`), [`graph`] (`/composite/graph`: graphs of up
//! to 500 nodes, each all-or-nothing) and [`batch`] (`/composite/batch`: independent
//! subrequests, `haltOnError`). Every subrequest goes through [`crate::rest::dispatch`], so it is
//! answered exactly as the same request sent alone.

pub mod batch;
pub mod graph;
mod reference;

use crate::State;
use crate::error::SfError;
use crate::rest::{self, Answer, Env, Headers, Request};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// The most subrequests one composite request may hold.
pub const MAX_SUBREQUESTS: usize = 25;

/// The body of `POST /composite`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeRequest {
    /// Roll everything back when one subrequest fails.
    #[serde(default)]
    pub all_or_none: bool,
    /// Accepted and ignored: the emulator has no collation to do.
    #[serde(default)]
    pub collate_subrequests: bool,
    /// The subrequests.
    pub composite_request: Vec<SubRequest>,
}

/// One subrequest of a composite request, or one node of a graph.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubRequest {
    /// HTTP method (upper case, as Salesforce requires).
    pub method: String,
    /// `/services/data/vXX.X/…`.
    pub url: String,
    /// Its reference id.
    pub reference_id: String,
    /// JSON body.
    #[serde(default)]
    pub body: Option<Value>,
    /// Request headers (`If-Modified-Since`, `Sforce-Query-Options`).
    #[serde(default)]
    pub http_headers: Option<Map<String, Value>>,
}

/// Which resources a subrequest may reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// `/composite`: any resource but the composite ones themselves.
    Composite,
    /// A graph node: sObject rows only.
    Graph,
}

/// `PROCESSING_HALTED`: what every other subrequest of a rolled-back transaction answers.
pub fn halted() -> Value {
    json!([{ "errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed." }])
}

fn sub_response(answer: &Answer, reference_id: &str) -> Value {
    let headers = answer.location().map_or_else(|| json!({}), |l| json!({ "Location": l }));
    json!({
        "body": answer.body.clone().unwrap_or(Value::Null),
        "httpHeaders": headers,
        "httpStatusCode": answer.status,
        "referenceId": reference_id,
    })
}

fn failed(status: u16, code: &str, message: String) -> Answer {
    Answer::error_with(status, vec![SfError::new(code, message)])
}

/// Parses a subrequest's headers into what the API reads.
fn sub_headers(headers: Option<&Map<String, Value>>) -> Headers {
    let mut out = Headers::default();
    for (k, v) in headers.into_iter().flatten() {
        let Some(v) = v.as_str() else { continue };
        if k.eq_ignore_ascii_case("If-Modified-Since") {
            out.if_modified_since = httpdate::parse_http_date(v).ok();
        } else if k.eq_ignore_ascii_case("Sforce-Query-Options") {
            out.query_batch_size = rest::query::batch_size_option(v);
        }
    }
    out
}

/// Runs one subrequest: references resolved, scope checked, then dispatched.
fn run_one(env: Env<'_>, st: &mut State, sub: &SubRequest, results: &HashMap<String, Value>, scope: Scope) -> Answer {
    let url = match reference::resolve_str(&sub.url, results) {
        Ok(u) => u,
        Err(m) => return failed(400, "INVALID_REFERENCE", m),
    };
    let body = match sub.body.as_ref().map(|b| reference::resolve(b, results)).transpose() {
        Ok(b) => b,
        Err(m) => return failed(400, "INVALID_REFERENCE", m),
    };
    let Some(rest_path) = url.strip_prefix("/services/data/") else { return rest::not_found() };
    let (path, query) = rest_path.split_once('?').unwrap_or((rest_path, ""));
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let allowed = match scope {
        Scope::Composite => !matches!(parts.get(1..), Some(["composite"] | ["composite", "batch" | "graph", ..])),
        Scope::Graph => {
            matches!(parts.get(1..), Some(["sobjects", _, ..]))
                && !matches!(parts.get(1..), Some(["sobjects", _, "describe"]))
        }
    };
    if !allowed {
        let what = if scope == Scope::Graph { "a composite graph" } else { "a composite request" };
        return failed(400, "INVALID_REQUEST", format!("{} {url} is not supported in {what}", sub.method));
    }
    let headers = sub_headers(sub.http_headers.as_ref());
    let request = Request { method: &sub.method, path, query, body: body.as_ref(), headers: &headers };
    rest::dispatch(env.org, env.base, st, &request)
}

/// Runs subrequests in order inside the caller's transaction. With `stop_at_failure` (a
/// transaction that will be rolled back), the ones after a failure are not run and answer
/// `PROCESSING_HALTED`. Returns the sub-responses and whether one failed.
pub(crate) fn run_all(
    env: Env<'_>,
    st: &mut State,
    subs: &[SubRequest],
    stop_at_failure: bool,
    scope: Scope,
) -> (Vec<Value>, bool) {
    let mut results: HashMap<String, Value> = HashMap::new();
    let mut responses = Vec::with_capacity(subs.len());
    let mut failed = false;
    for sub in subs {
        if failed && stop_at_failure {
            responses.push(
                json!({ "body": halted(), "httpHeaders": {}, "httpStatusCode": 400, "referenceId": sub.reference_id }),
            );
            continue;
        }
        let answer = run_one(env, st, sub, &results, scope);
        if answer.ok() {
            results.insert(sub.reference_id.clone(), answer.body.clone().unwrap_or(Value::Null));
        } else {
            failed = true;
        }
        responses.push(sub_response(&answer, &sub.reference_id));
    }
    (responses, failed)
}

/// After a rollback: the subrequests that had succeeded answer `PROCESSING_HALTED` too.
pub(crate) fn halt_successes(responses: &mut [Value]) {
    for resp in responses.iter_mut() {
        if resp["httpStatusCode"].as_u64().is_some_and(|s| s < 300 || s == 304) {
            resp["httpStatusCode"] = json!(400);
            resp["body"] = halted();
            resp["httpHeaders"] = json!({});
        }
    }
}

/// Checks reference ids: letters, digits and underscores, unique.
pub(crate) fn check_reference_ids(subs: &[SubRequest]) -> Result<(), Answer> {
    let mut seen = std::collections::HashSet::new();
    for sub in subs {
        let valid =
            !sub.reference_id.is_empty() && sub.reference_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(failed(
                400,
                "INVALID_INPUT",
                format!(
                    "Invalid reference id: {}. Reference ids can contain only letters, numbers and underscores.",
                    sub.reference_id
                ),
            ));
        }
        if !seen.insert(sub.reference_id.as_str()) {
            return Err(failed(400, "INVALID_INPUT", format!("Duplicate reference id: {}", sub.reference_id)));
        }
    }
    Ok(())
}

/// `POST /composite`.
pub fn composite(env: Env<'_>, st: &mut State, req: &Request<'_>) -> Answer {
    let request: CompositeRequest = match req.body.map(|b| serde_json::from_value(b.clone())) {
        Some(Ok(r)) => r,
        Some(Err(e)) => return failed(400, "JSON_PARSER_ERROR", format!("Invalid composite request: {e}")),
        None => return rest::json_error("no body"),
    };
    if request.composite_request.len() > MAX_SUBREQUESTS {
        // Salesforce's answer, as captured: one pseudo-subrequest carrying the error.
        return Answer::json(
            400,
            json!({ "compositeResponse": [{
                "body": [{ "errorCode": "LIMIT_EXCEEDED", "message": format!("The request can’t contain more than {MAX_SUBREQUESTS} operations.") }],
                "httpHeaders": {}, "httpStatusCode": 400, "referenceId": null,
            }] }),
        );
    }
    if let Err(a) = check_reference_ids(&request.composite_request) {
        return a;
    }
    let savepoint = st.store.begin();
    let (mut responses, failed) = run_all(env, st, &request.composite_request, request.all_or_none, Scope::Composite);
    if failed && request.all_or_none {
        st.store.rollback(savepoint);
        // Salesforce reports the requests before the failure as halted too.
        halt_successes(&mut responses);
    } else {
        // Without allOrNone the successful subrequests stay, failed or not.
        st.store.commit(savepoint);
    }
    Answer::json(200, json!({ "compositeResponse": responses }))
}
