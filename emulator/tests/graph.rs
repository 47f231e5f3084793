//! Composite Graph over real HTTP: each graph all-or-nothing, the others committed, the
//! documented limits, and one API call for the whole request.

mod common;

use common::Session;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn lead(reference: &str, last_name: &str) -> Value {
    json!({"method": "POST", "url": "/services/data/v62.0/sobjects/Lead/", "referenceId": reference,
           "body": {"LastName": last_name, "Company": "Engines"}})
}

fn event(reference: &str, who: &str, body: Value) -> Value {
    let mut body = body;
    body["WhoId"] = json!(format!("@{{{who}.id}}"));
    json!({"method": "POST", "url": "/services/data/v62.0/sobjects/Event", "referenceId": reference, "body": body})
}

fn good_event() -> Value {
    json!({"StartDateTime": "2026-12-01T10:00:00.000Z", "DurationInMinutes": 30})
}

#[tokio::test]
async fn a_failing_graph_rolls_back_alone() {
    let s = Session::start().await;
    let before = s.emulator.org.api_calls();
    let body = json!({"graphs": [
        {"graphId": "g1", "compositeRequest": [lead("L", "Lovelace"), event("E", "L", good_event())]},
        {"graphId": "g2", "compositeRequest": [lead("L", "Babbage"), event("E", "L", json!({"Subject": "no time"}))]},
        {"graphId": "g3", "compositeRequest": [lead("L", "Hopper")]},
    ]});
    let (status, headers, answer) = s.call(Method::POST, "/composite/graph", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let graphs = answer["graphs"].as_array().unwrap();
    assert_eq!(graphs.len(), 3);
    assert_eq!((graphs[0]["graphId"].as_str(), graphs[0]["isSuccessful"].as_bool()), (Some("g1"), Some(true)));
    let g1 = &graphs[0]["graphResponse"]["compositeResponse"];
    assert_eq!(g1[0]["httpStatusCode"], 201);
    assert!(g1[0]["httpHeaders"]["Location"].as_str().unwrap().starts_with("/services/data/v62.0/sobjects/Lead/00Q"));
    assert_eq!(g1[1]["referenceId"], "E");
    assert_eq!(graphs[1]["isSuccessful"], false);
    let g2 = &graphs[1]["graphResponse"]["compositeResponse"];
    assert_eq!(g2[0]["httpStatusCode"], 400);
    assert_eq!(
        g2[0]["body"],
        json!([{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}])
    );
    assert_eq!(g2[1]["body"][0]["errorCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(g2[0]["httpHeaders"], json!({}));
    assert_eq!(graphs[2]["isSuccessful"], true);
    let names: Vec<String> =
        s.emulator.org.records("Lead").iter().filter_map(|r| r["LastName"].as_str().map(str::to_owned)).collect();
    assert!(names.contains(&"Lovelace".to_owned()) && names.contains(&"Hopper".to_owned()));
    assert!(!names.contains(&"Babbage".to_owned()), "the failed graph's lead was rolled back");
    let events = s.emulator.org.records("Event");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["WhoId"], g1[0]["body"]["id"]);
    assert_eq!(s.emulator.org.api_calls(), before + 1, "one API call for the whole request");
    assert_eq!(s.emulator.org.calls("graph"), 1);
    let usage = headers["sforce-limit-info"].to_str().unwrap();
    assert_eq!(usage, format!("api-usage={}/15000", before + 1));
}

#[tokio::test]
async fn after_fourteen_failed_graphs_the_rest_are_halted() {
    let s = Session::start().await;
    let mut graphs: Vec<Value> = (0..15)
        .map(
            |i| json!({"graphId": format!("bad{i}"), "compositeRequest": [lead("L", "x"), event("E", "L", json!({}))]}),
        )
        .collect();
    graphs.push(json!({"graphId": "good", "compositeRequest": [lead("L", "Kept out")]}));
    let (status, _, answer) = s.call(Method::POST, "/composite/graph", Some(json!({"graphs": graphs}))).await;
    assert_eq!(status, StatusCode::OK);
    let graphs = answer["graphs"].as_array().unwrap();
    assert_eq!(graphs[13]["graphResponse"]["compositeResponse"][1]["body"][0]["errorCode"], "REQUIRED_FIELD_MISSING");
    for halted in &graphs[14..] {
        assert_eq!(halted["isSuccessful"], false);
        for node in halted["graphResponse"]["compositeResponse"].as_array().unwrap() {
            assert_eq!(node["body"][0]["errorCode"], "PROCESSING_HALTED", "{halted}");
        }
    }
    assert!(s.emulator.org.records("Lead").iter().all(|r| r["LastName"] != "Kept out"));
}

#[tokio::test]
async fn the_documented_limits_refuse_the_whole_request() {
    let s = Session::start().await;
    let post = |body: Value| s.call(Method::POST, "/composite/graph", Some(body));
    let one = |id: String| json!({"graphId": id, "compositeRequest": [lead("L", "x")]});
    let refused = |answer: &Value, code: &str, words: &str| {
        assert_eq!(answer[0]["errorCode"], code, "{answer}");
        assert!(answer[0]["message"].as_str().unwrap().contains(words), "{answer}");
    };
    let leads_before = s.emulator.org.records("Lead").len();

    let (status, _, answer) = post(json!({"graphs": (0..76).map(|i| one(format!("g{i}"))).collect::<Vec<_>>()})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    refused(&answer, "LIMIT_EXCEEDED", "Limit of 75 reached for number of graphs");
    let (status, _, _) = post(json!({"graphs": (0..75).map(|i| one(format!("g{i}"))).collect::<Vec<_>>()})).await;
    assert_eq!(status, StatusCode::OK, "75 graphs are allowed");

    let nodes = |n: usize| (0..n).map(|i| lead(&format!("L{i}"), "x")).collect::<Vec<_>>();
    let (_, _, answer) = post(json!({"graphs": [{"graphId": "a", "compositeRequest": nodes(300)}, {"graphId": "b", "compositeRequest": nodes(201)}]})).await;
    refused(&answer, "LIMIT_EXCEEDED", "500");
    let (_, _, answer) = post(json!({"graphs": [{"graphId": "a", "compositeRequest": nodes(501)}]})).await;
    refused(&answer, "LIMIT_EXCEEDED", "500");

    // A chain of 16 references: each node updates the lead through the node before it.
    let mut chain = vec![lead("N0", "x")];
    for i in 1..16 {
        chain.push(json!({"method": "PATCH", "url": format!("/services/data/v62.0/sobjects/Lead/@{{N{}.id}}", i - 1),
                          "referenceId": format!("N{i}"), "body": {"Company": "c"}}));
    }
    let (_, _, answer) = post(json!({"graphs": [{"graphId": "deep", "compositeRequest": chain}]})).await;
    refused(&answer, "LIMIT_EXCEEDED", "depth");

    let kinds: Vec<Value> = (0..16)
        .map(|v| json!({"graphId": format!("k{v}"), "compositeRequest": [{"method": "POST", "url": format!("/services/data/v{}.0/sobjects/Lead", 40 + v), "referenceId": "L", "body": {"LastName": "x", "Company": "c"}}]}))
        .collect();
    let (_, _, answer) = post(json!({"graphs": kinds})).await;
    refused(&answer, "LIMIT_EXCEEDED", "different nodes");

    let (_, _, answer) = post(json!({"graphs": [one("same".into()), one("same".into())]})).await;
    refused(&answer, "INVALID_INPUT", "Duplicate graphId");
    for bad in ["_starts_badly", "has.period", &"x".repeat(40)] {
        let (_, _, answer) = post(json!({"graphs": [one(bad.to_owned())]})).await;
        refused(&answer, "INVALID_INPUT", "Invalid graphId");
    }
    let (status, _, answer) = post(json!({"graph": []})).await;
    assert_eq!((status, answer[0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("JSON_PARSER_ERROR")));
    assert_eq!(s.emulator.org.records("Lead").len(), leads_before + 75, "only the 75-graph request wrote");
}

#[tokio::test]
async fn graph_nodes_reach_sobject_rows_only() {
    let s = Session::start().await;
    let body = json!({"graphs": [{"graphId": "g", "compositeRequest": [
        {"method": "GET", "url": "/services/data/v62.0/query?q=SELECT+Id+FROM+Lead", "referenceId": "Q"}]}]});
    let (_, _, answer) = s.call(Method::POST, "/composite/graph", Some(body)).await;
    assert_eq!(answer["graphs"][0]["isSuccessful"], false);
    assert_eq!(answer["graphs"][0]["graphResponse"]["compositeResponse"][0]["httpStatusCode"], 400);
    // Rows by id and by external id: create, update, read, upsert and delete in one graph.
    let body = json!({"graphs": [{"graphId": "rows", "compositeRequest": [
        lead("L", "Lovelace"),
        {"method": "PATCH", "url": "/services/data/v62.0/sobjects/Lead/@{L.id}", "referenceId": "U", "body": {"Company": "Analytical"}},
        {"method": "GET", "url": "/services/data/v62.0/sobjects/Lead/@{L.id}?fields=Company", "referenceId": "G"},
        {"method": "PATCH", "url": "/services/data/v62.0/sobjects/Event/Booking_Id__c/bk_1", "referenceId": "E",
         "body": {"StartDateTime": "2026-12-01T10:00:00.000Z", "DurationInMinutes": 30, "WhoId": "@{G.Id}"}},
        {"method": "DELETE", "url": "/services/data/v62.0/sobjects/Event/Booking_Id__c/bk_1", "referenceId": "D"}]}]});
    let (_, _, answer) = s.call(Method::POST, "/composite/graph", Some(body)).await;
    let nodes = &answer["graphs"][0]["graphResponse"]["compositeResponse"];
    assert_eq!(answer["graphs"][0]["isSuccessful"], true, "{answer}");
    let statuses: Vec<u64> = nodes.as_array().unwrap().iter().map(|n| n["httpStatusCode"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [201, 204, 200, 201, 204]);
    assert_eq!(nodes[1]["body"], Value::Null);
    assert_eq!(nodes[2]["body"]["Company"], "Analytical");
    assert!(s.emulator.org.records("Event").is_empty());
    let (_, body) = s.send(Method::POST, "/composite/graph", json!({"graphs": []})).await;
    assert_eq!(body, json!({"graphs": []}));
}
