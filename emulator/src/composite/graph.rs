//! `POST /composite/graph`: several graphs in one call, each all-or-nothing on its own. A graph
//! whose node fails is rolled back, its other nodes answering `PROCESSING_HALTED`, while the
//! other graphs commit. After 14 failed graphs the rest are not tried (every node halted).
//! Salesforce's documented limits are enforced before anything runs.

use super::{Scope, SubRequest, halt_successes, halted, reference, run_all};
use crate::State;
use crate::error::SfError;
use crate::rest::{self, Answer, Env, Request};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Graphs one request may carry.
pub const MAX_GRAPHS: usize = 75;
/// Nodes one request may carry, across its graphs (also the most in one graph).
pub const MAX_NODES: usize = 500;
/// The longest chain of references in one graph.
pub const MAX_DEPTH: usize = 15;
/// Different kinds of node (API version, method, sObject) one request may carry.
pub const MAX_KINDS: usize = 15;
/// Failed graphs after which the rest of the request is not tried.
pub const MAX_FAILED_GRAPHS: usize = 14;
/// A graph id is shorter than this.
pub const MAX_GRAPH_ID: usize = 40;

/// The body of `POST /composite/graph`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphRequest {
    /// The graphs.
    pub graphs: Vec<Graph>,
}

/// One graph.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Graph {
    /// Its id, echoed in the answer.
    pub graph_id: String,
    /// Its nodes, run in order.
    pub composite_request: Vec<SubRequest>,
}

fn limit(message: String) -> Answer {
    Answer::error_with(400, vec![SfError::new("LIMIT_EXCEEDED", message)])
}

fn invalid(message: String) -> Answer {
    Answer::error_with(400, vec![SfError::new("INVALID_INPUT", message)])
}

/// The longest chain of references among a graph's nodes (a graph without references: 1).
pub fn depth(nodes: &[SubRequest]) -> usize {
    let mut depths: HashMap<&str, usize> = HashMap::new();
    for node in nodes {
        let mut names: Vec<String> = reference::referenced(&node.url).into_iter().map(str::to_owned).collect();
        if let Some(body) = &node.body {
            reference::referenced_in(body, &mut names);
        }
        let deepest = names.iter().filter_map(|n| depths.get(n.as_str()).copied()).max().unwrap_or(0);
        depths.insert(&node.reference_id, deepest + 1);
    }
    depths.values().copied().max().unwrap_or(0)
}

/// A node's kind, as Salesforce counts different nodes: version, method and sObject.
fn kind(node: &SubRequest) -> (String, String, String) {
    let path = node.url.strip_prefix("/services/data/").unwrap_or(&node.url);
    let mut parts = path.split(['/', '?']).filter(|s| !s.is_empty());
    let version = parts.next().unwrap_or_default().to_owned();
    let object = parts.nth(1).unwrap_or_default().to_ascii_lowercase();
    (version, node.method.clone(), object)
}

/// Checks the request against Salesforce's limits and rules before anything runs.
fn check(request: &GraphRequest) -> Result<(), Answer> {
    if request.graphs.len() > MAX_GRAPHS {
        return Err(limit(format!("Limit of {MAX_GRAPHS} reached for number of graphs in Graph Api")));
    }
    let total: usize = request.graphs.iter().map(|g| g.composite_request.len()).sum();
    if total > MAX_NODES {
        return Err(limit(format!("Limit of {MAX_NODES} reached for number of nodes in Graph Api")));
    }
    let kinds: BTreeSet<_> = request.graphs.iter().flat_map(|g| g.composite_request.iter().map(kind)).collect();
    if kinds.len() > MAX_KINDS {
        return Err(limit(format!("Limit of {MAX_KINDS} reached for number of different nodes in Graph Api")));
    }
    let mut ids = HashSet::new();
    for g in &request.graphs {
        let id = &g.graph_id;
        let valid = id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && id.chars().count() < MAX_GRAPH_ID
            && !id.contains('.');
        if !valid {
            return Err(invalid(format!(
                "Invalid graphId: {id}. A graphId begins with a letter or digit, is shorter than {MAX_GRAPH_ID} characters and has no period."
            )));
        }
        if !ids.insert(id.as_str()) {
            return Err(invalid(format!("Duplicate graphId: {id}")));
        }
        if g.composite_request.is_empty() {
            return Err(invalid(format!("The graph {id} has no nodes")));
        }
        super::check_reference_ids(&g.composite_request)?;
        if depth(&g.composite_request) > MAX_DEPTH {
            return Err(limit(format!("Limit of {MAX_DEPTH} reached for depth of graph {id} in Graph Api")));
        }
    }
    Ok(())
}

fn answer(graph_id: &str, responses: Vec<Value>, successful: bool) -> Value {
    json!({ "graphId": graph_id, "graphResponse": { "compositeResponse": responses }, "isSuccessful": successful })
}

/// `POST /composite/graph`.
pub fn graph(env: Env<'_>, st: &mut State, req: &Request<'_>) -> Answer {
    let request: GraphRequest = match req.body.map(|b| serde_json::from_value(b.clone())) {
        Some(Ok(r)) => r,
        Some(Err(e)) => {
            return Answer::error_with(
                400,
                vec![SfError::new("JSON_PARSER_ERROR", format!("Invalid graph request: {e}"))],
            );
        }
        None => return rest::json_error("no body"),
    };
    if let Err(a) = check(&request) {
        return a;
    }
    let mut failures = 0;
    let mut graphs = Vec::with_capacity(request.graphs.len());
    for g in &request.graphs {
        if failures >= MAX_FAILED_GRAPHS {
            let responses = g
                .composite_request
                .iter()
                .map(|n| json!({ "body": halted(), "httpHeaders": {}, "httpStatusCode": 400, "referenceId": n.reference_id }))
                .collect();
            graphs.push(answer(&g.graph_id, responses, false));
            continue;
        }
        let savepoint = st.store.begin();
        let (mut responses, failed) = run_all(env, st, &g.composite_request, true, Scope::Graph);
        if failed {
            st.store.rollback(savepoint);
            halt_successes(&mut responses);
            failures += 1;
        } else {
            st.store.commit(savepoint);
        }
        graphs.push(answer(&g.graph_id, responses, !failed));
    }
    Answer::json(200, json!({ "graphs": graphs }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(reference_id: &str, body: Value) -> SubRequest {
        SubRequest {
            method: "POST".into(),
            url: "/services/data/v62.0/sobjects/Lead".into(),
            reference_id: reference_id.into(),
            body: Some(body),
            http_headers: None,
        }
    }

    #[test]
    fn depth_follows_the_longest_chain_of_references() {
        let nodes = [
            node("a", json!({})),
            node("b", json!({"X": "@{a.id}"})),
            node("c", json!({"X": "@{b.id}", "Y": "@{a.id}"})),
            node("d", json!({"X": "@{a.id}"})),
        ];
        assert_eq!(depth(&nodes), 3);
        assert_eq!(depth(&nodes[..1]), 1);
    }
}
