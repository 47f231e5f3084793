//! The REST API as one function: a request (method, path under `/services/data/`, query
//! string, JSON body) against the org's locked state gives an [`Answer`]. The HTTP routes and
//! every composite flavour (Composite, Composite Batch, Composite Graph) call [`dispatch`], so a
//! subrequest is answered exactly as the same request sent alone.
//!
//! Layout: this file routes; [`sobjects`] (describe, rows, external ids), [`collections`]
//! (sObject Collections), [`query`] (SOQL, locators), `crate::composite` (the three composite
//! resources).

pub mod collections;
pub mod query;
pub mod sobjects;

use crate::error::SfError;
use crate::{Org, State};
use serde_json::{Value, json};
use std::time::SystemTime;

/// The oldest API version served (Winter '11).
pub const OLDEST_VERSION: u32 = 20;
/// The newest API version served (Winter '26).
pub const NEWEST_VERSION: u32 = 65;

/// A request, as the HTTP layer or a composite subrequest presents it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `GET`, `POST`, `PATCH`, `DELETE` (Salesforce's methods are upper case).
    pub method: &'a str,
    /// The path after `/services/data/`, e.g. `v62.0/sobjects/Lead/00Q…` (a trailing `/` is
    /// ignored, segments are percent-decoded here).
    pub path: &'a str,
    /// The raw query string (form-urlencoded).
    pub query: &'a str,
    /// The JSON body, if any.
    pub body: Option<&'a Value>,
    /// The headers the API reads.
    pub headers: &'a Headers,
}

/// The request headers the API reads.
#[derive(Clone, Debug, Default)]
pub struct Headers {
    /// `If-Modified-Since` (describe).
    pub if_modified_since: Option<SystemTime>,
    /// `Sforce-Query-Options: batchSize=n`.
    pub query_batch_size: Option<usize>,
}

/// An answer: status, JSON body (none for 204/304) and headers.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Option<Value>,
    /// Extra headers (`Location`, `Last-Modified`).
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    /// A JSON answer.
    pub fn json(status: u16, body: Value) -> Answer {
        Answer { status, body: Some(body), headers: Vec::new() }
    }

    /// An answer without a body.
    pub fn empty(status: u16) -> Answer {
        Answer { status, body: None, headers: Vec::new() }
    }

    /// Salesforce's error body, with the status its first error code has.
    pub fn errors(errors: Vec<SfError>) -> Answer {
        let status = match errors.first().map(|e| e.error_code.as_str()) {
            Some("NOT_FOUND" | "ENTITY_IS_DELETED") => 404,
            Some("MULTIPLE_CHOICES") => 300,
            Some("INSUFFICIENT_ACCESS_OR_READONLY") => 403,
            Some("METHOD_NOT_ALLOWED") => 405,
            _ => 400,
        };
        Answer::error_with(status, errors)
    }

    /// An error body with an explicit status.
    pub fn error_with(status: u16, errors: Vec<SfError>) -> Answer {
        Answer::json(status, serde_json::to_value(errors).expect("serializable"))
    }

    /// Adds a header.
    pub fn with(mut self, name: &'static str, value: String) -> Answer {
        self.headers.push((name, value));
        self
    }

    /// Whether the request succeeded.
    pub fn ok(&self) -> bool {
        self.status < 300 || self.status == 304
    }

    /// The `Location` header, if any.
    pub fn location(&self) -> Option<&str> {
        self.headers.iter().find(|(k, _)| *k == "Location").map(|(_, v)| v.as_str())
    }
}

/// What a handler needs besides the request: the org, its base URL, the API version asked for.
#[derive(Clone, Copy, Debug)]
pub struct Env<'a> {
    /// The org (schema, allowance).
    pub org: &'a Org,
    /// `https://127.0.0.1:port`.
    pub base: &'a str,
    /// `v62.0`.
    pub version: &'a str,
}

/// `404 NOT_FOUND`, as Salesforce answers an unknown resource.
pub fn not_found() -> Answer {
    Answer::errors(vec![SfError::new("NOT_FOUND", "The requested resource does not exist")])
}

/// `405 METHOD_NOT_ALLOWED`, naming the methods the resource has.
pub fn method_not_allowed(method: &str, allowed: &str) -> Answer {
    Answer::errors(vec![SfError::new(
        "METHOD_NOT_ALLOWED",
        format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
    )])
}

/// `400 JSON_PARSER_ERROR` for a missing or non-object body.
pub fn json_error(what: &str) -> Answer {
    Answer::errors(vec![SfError::new("JSON_PARSER_ERROR", format!("The request body is not valid JSON: {what}"))])
}

/// The number of `vNN.0`, if it is a version this org serves.
pub fn version_number(v: &str) -> Option<u32> {
    let n: u32 = v.strip_prefix('v')?.strip_suffix(".0")?.parse().ok()?;
    (OLDEST_VERSION..=NEWEST_VERSION).contains(&n).then_some(n)
}

/// `GET /services/data/`: every version served, oldest first, as `{label, url, version}`.
pub fn versions() -> Value {
    let seasons = ["Winter", "Spring", "Summer"];
    let list: Vec<Value> = (OLDEST_VERSION..=NEWEST_VERSION)
        .map(|n| {
            let k = n - OLDEST_VERSION;
            let label = format!("{} '{:02}", seasons[(k % 3) as usize], 11 + k / 3);
            json!({ "label": label, "url": format!("/services/data/v{n}.0"), "version": format!("{n}.0") })
        })
        .collect();
    Value::Array(list)
}

/// Splits a path into percent-decoded segments, ignoring empty ones (a trailing `/`).
fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect()
}

/// Form-decodes a query string (`+` is a space).
pub fn params(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

/// The first value of a query parameter.
pub fn param(query: &str, name: &str) -> Option<String> {
    params(query).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// Answers one request. The caller holds the state's lock and has counted the call.
pub fn dispatch(org: &Org, base: &str, st: &mut State, req: &Request<'_>) -> Answer {
    let segs = segments(req.path);
    let Some((version, rest)) = segs.split_first() else { return not_found() };
    if version_number(version).is_none() {
        return not_found();
    }
    let env = Env { org, base, version };
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let m = req.method;
    match rest.as_slice() {
        [] => match m {
            "GET" => Answer::json(200, resources(version)),
            _ => method_not_allowed(m, "GET,HEAD"),
        },
        ["sobjects", ..] => sobjects::route(env, st, req, &rest[1..]),
        ["query" | "queryAll", tail @ ..] => match (m, tail) {
            ("GET", []) => query::query(env, st, req, rest[0] == "queryAll"),
            ("GET", [locator]) => query::more(env, st, req, locator),
            ("GET", _) => not_found(),
            _ => method_not_allowed(m, "GET,HEAD"),
        },
        ["composite"] => match m {
            "POST" => crate::composite::composite(env, st, req),
            _ => method_not_allowed(m, "POST"),
        },
        ["composite", "batch"] => match m {
            "POST" => crate::composite::batch::batch(env, st, req),
            _ => method_not_allowed(m, "POST"),
        },
        ["composite", "graph"] => match m {
            "POST" => crate::composite::graph::graph(env, st, req),
            _ => method_not_allowed(m, "POST"),
        },
        ["composite", "sobjects", tail @ ..] => collections::route(env, st, req, tail),
        ["limits"] => match m {
            "GET" => Answer::json(200, limits(org, st)),
            _ => method_not_allowed(m, "GET,HEAD"),
        },
        _ => not_found(),
    }
}

/// `GET /services/data/vXX.X`: the resources of a version.
fn resources(version: &str) -> Value {
    let at = |r: &str| format!("/services/data/{version}/{r}");
    json!({
        "sobjects": at("sobjects"),
        "query": at("query"),
        "queryAll": at("queryAll"),
        "composite": at("composite"),
        "limits": at("limits"),
    })
}

/// `GET /limits`: the daily allowance and what is left of it.
fn limits(org: &Org, st: &State) -> Value {
    let used = st.api_calls();
    let max = org.daily_api_requests;
    json!({
        "DailyApiRequests": { "Max": max, "Remaining": max.saturating_sub(used) },
        "DailyBulkApiBatches": { "Max": 15000, "Remaining": 15000 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_labelled_by_release() {
        let v = versions();
        let list = v.as_array().unwrap();
        assert_eq!(list[0], json!({"label": "Winter '11", "url": "/services/data/v20.0", "version": "20.0"}));
        assert!(list.iter().any(|e| e["version"] == "62.0" && e["label"] == "Winter '25"));
        assert!(list.iter().any(|e| e["version"] == "60.0" && e["label"] == "Spring '24"));
        assert_eq!(version_number("v62.0"), Some(62));
        assert_eq!(version_number("v19.0"), None);
        assert_eq!(version_number("v62"), None);
    }

    #[test]
    fn paths_are_decoded_and_trailing_slashes_ignored() {
        assert_eq!(
            segments("v62.0/sobjects/Event/Booking_Id__c/bk%5F9/"),
            ["v62.0", "sobjects", "Event", "Booking_Id__c", "bk_9"]
        );
        assert_eq!(param("q=SELECT+Id+FROM+Lead&x=1", "q").as_deref(), Some("SELECT Id FROM Lead"));
        assert_eq!(param("ids=a%2Cb", "ids").as_deref(), Some("a,b"));
    }
}
