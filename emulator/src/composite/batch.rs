//! `POST /composite/batch`: up to 25 independent subrequests (URLs relative to
//! `/services/data/`, bodies in `richInput`), each committed on its own; with `haltOnError`,
//! the ones after a failure answer `412 BATCH_PROCESSING_HALTED`. Each subrequest counts
//! against the API allowance, as Salesforce counts them.

use super::{MAX_SUBREQUESTS, failed};
use crate::State;
use crate::rest::{self, Answer, Env, Headers, Request};
use serde::Deserialize;
use serde_json::{Value, json};

/// The body of `POST /composite/batch`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchRequest {
    /// Stop at the first failed subrequest.
    #[serde(default)]
    pub halt_on_error: bool,
    /// The subrequests.
    pub batch_requests: Vec<BatchSub>,
}

/// One subrequest of a batch.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSub {
    /// HTTP method.
    pub method: String,
    /// `vXX.X/…`, relative to `/services/data/`.
    pub url: String,
    /// The JSON body.
    #[serde(default)]
    pub rich_input: Option<Value>,
}

/// `POST /composite/batch`.
pub fn batch(env: Env<'_>, st: &mut State, req: &Request<'_>) -> Answer {
    let request: BatchRequest = match req.body.map(|b| serde_json::from_value(b.clone())) {
        Some(Ok(r)) => r,
        Some(Err(e)) => return failed(400, "JSON_PARSER_ERROR", format!("Invalid batch request: {e}")),
        None => return rest::json_error("no body"),
    };
    let n = request.batch_requests.len();
    if n > MAX_SUBREQUESTS {
        return failed(
            400,
            "LIMIT_EXCEEDED",
            format!("A batch cannot contain more than {MAX_SUBREQUESTS} subrequests"),
        );
    }
    // The gate counted the batch itself once.
    *st.calls.entry("batch".into()).or_default() += n.saturating_sub(1) as u64;
    let mut has_errors = false;
    let mut results = Vec::with_capacity(n);
    for sub in &request.batch_requests {
        if has_errors && request.halt_on_error {
            let halted =
                json!([{ "errorCode": "BATCH_PROCESSING_HALTED", "message": "Batch processing halted per request" }]);
            results.push(json!({ "statusCode": 412, "result": halted }));
            continue;
        }
        let url = sub.url.trim_start_matches("/services/data/").trim_start_matches('/');
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let nested = matches!(path.split('/').nth(1), Some("composite"));
        let answer = if nested {
            failed(400, "INVALID_REQUEST", format!("{} {} is not supported in a batch", sub.method, sub.url))
        } else {
            let headers = Headers::default();
            let request =
                Request { method: &sub.method, path, query, body: sub.rich_input.as_ref(), headers: &headers };
            rest::dispatch(env.org, env.base, st, &request)
        };
        has_errors |= !answer.ok();
        results.push(json!({ "statusCode": answer.status, "result": answer.body.unwrap_or(Value::Null) }));
    }
    Answer::json(200, json!({ "hasErrors": has_errors, "results": results }))
}
