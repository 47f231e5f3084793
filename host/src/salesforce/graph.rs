//! Several staged units committed together: one Composite Graph request holds one graph per
//! unit, and each graph is all-or-nothing on its own, so a unit Salesforce refuses fails alone
//! with its own error while the others commit.
//!
//! Salesforce's Composite Graph limits, per request: 75 graphs, 500 nodes in all, 15 different
//! kinds of node (an sObject and method); per graph: 500 nodes and a depth of 15. Units are
//! packed into requests within them; a unit that could never fit in a graph is committed alone
//! with `/composite` as before. After 14 failed graphs Salesforce halts the rest of the request;
//! a halted unit is committed again on its own.

use super::composite::{self, Committed, SubResponse};
use super::error::SalesforceError;
use super::transport::Transport;
use portico_model::Value;
use portico_model::staging::{Unit, WriteMode};
use reqwest::Method;
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};

/// Graphs one request may carry.
pub const MAX_GRAPHS: usize = 75;
/// Nodes one request may carry, across its graphs (also the most in one graph).
pub const MAX_NODES: usize = 500;
/// The deepest chain of references in one graph.
pub const MAX_DEPTH: usize = 15;
/// Different kinds of node (sObject and method) one request may carry.
pub const MAX_KINDS: usize = 15;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphAnswer {
    graphs: Vec<OneGraph>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OneGraph {
    graph_id: String,
    graph_response: composite::CompositeResponse,
}

/// A node's kind, as Salesforce counts them.
fn kind(record: &portico_model::staging::StagedRecord) -> (String, &'static str) {
    let method = match record.mode {
        WriteMode::Create => "POST",
        WriteMode::Upsert { .. } => "PATCH",
    };
    (record.reference.sobject.clone(), method)
}

/// The longest chain of `@{ref.id}` references in a unit (a unit without references: 1).
fn depth(unit: &Unit) -> usize {
    let mut depths: HashMap<&str, usize> = HashMap::new();
    for record in &unit.records {
        let deepest = record
            .fields
            .iter()
            .filter_map(|f| match &f.value {
                Value::RecordRef(r) => depths.get(r.reference_id.as_str()).copied(),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        depths.insert(&record.reference.reference_id, deepest + 1);
    }
    depths.values().copied().max().unwrap_or(0)
}

/// What the limits count of a unit.
struct Shape {
    nodes: usize,
    depth: usize,
    kinds: BTreeSet<(String, &'static str)>,
}

impl Shape {
    fn of(unit: &Unit) -> Shape {
        Shape { nodes: unit.records.len(), depth: depth(unit), kinds: unit.records.iter().map(kind).collect() }
    }
}

/// Units packed into requests within the limits (indexes into the input), and the units that
/// fit in no graph.
fn pack(units: &[Shape]) -> (Vec<Vec<usize>>, Vec<usize>) {
    let (mut requests, mut alone) = (Vec::new(), Vec::new());
    let (mut current, mut nodes, mut kinds) = (Vec::new(), 0, BTreeSet::new());
    for (i, unit) in units.iter().enumerate() {
        if unit.nodes > MAX_NODES || unit.depth > MAX_DEPTH || unit.kinds.len() > MAX_KINDS {
            alone.push(i);
            continue;
        }
        let fits = current.len() < MAX_GRAPHS
            && nodes + unit.nodes <= MAX_NODES
            && kinds.union(&unit.kinds).count() <= MAX_KINDS;
        if !fits {
            requests.push(std::mem::take(&mut current));
            (nodes, kinds) = (0, BTreeSet::new());
        }
        current.push(i);
        nodes += unit.nodes;
        kinds.extend(unit.kinds.iter().cloned());
    }
    if !current.is_empty() {
        requests.push(current);
    }
    (requests, alone)
}

/// Commits each unit all-or-nothing, several per request; one answer per unit, in order.
pub(super) async fn commit_many(transport: &Transport, units: &[Unit]) -> Vec<Result<Committed, SalesforceError>> {
    if let [unit] = units {
        return vec![composite::commit(transport, unit).await];
    }
    let (requests, alone) = pack(&units.iter().map(Shape::of).collect::<Vec<_>>());
    let mut answers: Vec<Option<Result<Committed, SalesforceError>>> = units.iter().map(|_| None).collect();
    // In turn: a batch rarely needs more than one request, and the org's concurrency is shared.
    for members in &requests {
        for (&i, result) in members.iter().zip(one_request(transport, units, members).await) {
            answers[i] = Some(result);
        }
    }
    // Units that fit no graph, and graphs Salesforce halted without trying them: on their own.
    let retry: Vec<usize> = alone
        .into_iter()
        .chain((0..units.len()).filter(|&i| matches!(&answers[i], Some(Err(SalesforceError::Halted)))))
        .collect();
    for i in retry {
        answers[i] = Some(composite::commit(transport, &units[i]).await);
    }
    answers.into_iter().map(|a| a.expect("every unit answered")).collect()
}

/// One Composite Graph request: the member units' answers, in order.
async fn one_request(
    transport: &Transport,
    units: &[Unit],
    members: &[usize],
) -> Vec<Result<Committed, SalesforceError>> {
    let graphs: Vec<serde_json::Value> = members
        .iter()
        .map(|&i| {
            let mut body = units[i].composite_request();
            serde_json::json!({ "graphId": format!("g{i}"), "compositeRequest": body["compositeRequest"].take() })
        })
        .collect();
    let body = serde_json::json!({ "graphs": graphs });
    let all = |e: SalesforceError| members.iter().map(|_| Err(e.clone())).collect();
    let response = match transport.send(Method::POST, "/composite/graph", &[], Some(&body), &[]).await {
        Ok(response) => response,
        Err(e) => return all(e),
    };
    let (json, unknown) = match composite::sent(response).await {
        Ok(answer) => answer,
        Err(e) => return all(e),
    };
    let mut parsed: HashMap<String, Vec<SubResponse>> = match serde_json::from_value::<GraphAnswer>(json) {
        Ok(answer) => answer.graphs.into_iter().map(|g| (g.graph_id, g.graph_response.composite_response)).collect(),
        Err(e) => return all(unknown(SalesforceError::Protocol(format!("composite graph response: {e}")))),
    };
    members
        .iter()
        .map(|&i| match parsed.remove(&format!("g{i}")) {
            Some(answers) if halted(&answers) => Err(SalesforceError::Halted),
            Some(answers) => composite::read(&units[i], answers),
            None => Err(unknown(SalesforceError::Protocol(format!("the answer has no graph g{i}")))),
        })
        .collect()
}

/// Every node answered `PROCESSING_HALTED`: the graph was not tried (too many others failed).
fn halted(answers: &[SubResponse]) -> bool {
    !answers.is_empty()
        && answers.iter().all(|s| {
            s.http_status_code >= 300
                && s.body.as_array().is_some_and(|errors| {
                    errors.iter().all(|e| e.get("errorCode").and_then(|c| c.as_str()) == Some("PROCESSING_HALTED"))
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(nodes: usize, depth: usize, kinds: &[&str]) -> Shape {
        Shape { nodes, depth, kinds: kinds.iter().map(|k| ((*k).to_owned(), "POST")).collect() }
    }

    #[test]
    fn packs_within_every_request_limit() {
        // 160 two-node bookings: 75 graphs per request.
        let units: Vec<Shape> = (0..160).map(|_| shape(2, 2, &["Lead", "Event"])).collect();
        let (requests, alone) = pack(&units);
        assert_eq!(requests.iter().map(Vec::len).collect::<Vec<_>>(), [75, 75, 10]);
        assert!(alone.is_empty());
        // 25-node units: 500 nodes per request.
        let units: Vec<Shape> = (0..45).map(|_| shape(25, 1, &["Task"])).collect();
        assert_eq!(pack(&units).0.iter().map(Vec::len).collect::<Vec<_>>(), [20, 20, 5]);
        // 15 kinds of node per request: a unit adding a sixteenth starts the next one.
        let names: Vec<String> = (0..20).map(|i| format!("Obj{i}__c")).collect();
        let units: Vec<Shape> =
            names.chunks(4).map(|c| shape(4, 1, &c.iter().map(String::as_str).collect::<Vec<_>>())).collect();
        assert_eq!(pack(&units).0, [vec![0, 1, 2], vec![3, 4]]);
    }

    #[test]
    fn a_unit_no_graph_can_hold_goes_alone() {
        let units = [shape(2, 2, &["Lead"]), shape(3, 16, &["Lead"]), shape(2, 1, &["Lead"])];
        let (requests, alone) = pack(&units);
        assert_eq!((requests, alone), (vec![vec![0, 2]], vec![1]));
    }
}
