//! The REST surface common clients use, over real HTTP: versions, trailing slashes, rows by id,
//! sObject Collections, Composite Batch, `Sforce-Limit-Info` and Salesforce's refusals.

mod common;

use common::Session;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn new_lead(s: &Session, last_name: &str) -> String {
    let (status, body) =
        s.send(Method::POST, "/sobjects/Lead/", json!({"LastName": last_name, "Company": "Engines"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn versions_resources_and_trailing_slashes() {
    let s = Session::start().await;
    let base = &s.emulator.base_url;
    let versions: Value = s.http.get(format!("{base}/services/data/")).send().await.unwrap().json().await.unwrap();
    assert!(
        versions
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == &json!({"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"}))
    );
    let (status, resources) = s.get("/").await;
    assert_eq!((status, resources["query"].as_str()), (StatusCode::OK, Some("/services/data/v62.0/query")));
    for path in ["/sobjects/", "/sobjects/Lead/describe/", "/limits/"] {
        assert_eq!(s.get(path).await.0, StatusCode::OK, "{path}");
    }
    let (status, info) = s.get("/sobjects/Lead").await;
    assert_eq!((status, info["objectDescribe"]["name"].as_str()), (StatusCode::OK, Some("Lead")));
    // `objectDescribe` is a global describe entry: the captured entry's keys.
    let captured: Value =
        serde_json::from_str(&std::fs::read_to_string(common::fixtures().join("global.sobjects.json")).unwrap())
            .unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<std::collections::BTreeSet<_>>();
    assert_eq!(keys(&info["objectDescribe"]), keys(&captured["sobjects"][0]));
    let unknown =
        s.http.get(format!("{base}/services/data/v19.0/sobjects")).bearer_auth(&s.token).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let (status, body) = s.get("/nothing/here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]));
}

#[tokio::test]
async fn rows_update_and_delete_by_id_and_by_external_id() {
    let s = Session::start().await;
    let id = new_lead(&s, "Lovelace").await;
    let (status, _, body) =
        s.call(Method::PATCH, &format!("/sobjects/Lead/{id}"), Some(json!({"Company": "Analytical"}))).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (_, record) = s.get(&format!("/sobjects/Lead/{id}?fields=Company,LastName")).await;
    assert_eq!(record["Company"], "Analytical");
    assert_eq!(record["Id"], id.as_str());
    assert!(record.get("Email").is_none(), "only the fields asked for");
    let (_, full) = s.get(&format!("/sobjects/Lead/{id}")).await;
    assert_eq!(
        (full["Email"].clone(), full["IsDeleted"].clone(), full["Name"].clone()),
        (Value::Null, json!(false), json!("Lovelace"))
    );
    let (status, body) = s.get(&format!("/sobjects/Lead/{id}?fields=Shoe__c")).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("INVALID_FIELD")));

    let (status, _, _) = s.call(Method::DELETE, &format!("/sobjects/Lead/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = s.get(&format!("/sobjects/Lead/{id}")).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::NOT_FOUND, Some("NOT_FOUND")));
    let (status, _, body) = s.call(Method::DELETE, &format!("/sobjects/Lead/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!([{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}]));
    let (status, _, body) = s.call(Method::PATCH, &format!("/sobjects/Lead/{id}"), Some(json!({"Company": "x"}))).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::NOT_FOUND, Some("ENTITY_IS_DELETED")));
    assert!(s.emulator.org.records("Lead").iter().all(|r| r["Id"] != id.as_str()));

    let event = json!({"StartDateTime": "2026-12-01T10:00:00.000Z", "DurationInMinutes": 30});
    s.send(Method::PATCH, "/sobjects/Event/Booking_Id__c/bk_7", event).await;
    let (status, found) = s.get("/sobjects/Event/Booking_Id__c/bk_7").await;
    assert_eq!((status, found["Booking_Id__c"].as_str()), (StatusCode::OK, Some("bk_7")));
    let (status, _, _) = s.call(Method::DELETE, "/sobjects/Event/Booking_Id__c/bk_7", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/sobjects/Event/Booking_Id__c/bk_7").await.0, StatusCode::NOT_FOUND);
    // The upsert creates anew once the old one is deleted.
    let (status, _) = s
        .send(
            Method::PATCH,
            "/sobjects/Event/Booking_Id__c/bk_7",
            json!({"StartDateTime": "2026-12-01T10:00:00.000Z", "DurationInMinutes": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(s.emulator.org.calls("delete"), 3);
    assert_eq!(s.emulator.org.calls("update"), 2);
}

#[tokio::test]
async fn refusals_have_salesforce_bodies_and_every_answer_reports_usage() {
    let s = Session::start().await;
    let (status, headers, body) = s.call(Method::PUT, "/sobjects/Lead", Some(json!({}))).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body[0]["errorCode"], "METHOD_NOT_ALLOWED");
    assert_eq!(body[0]["message"], "HTTP Method 'PUT' not allowed. Allowed are GET,HEAD,POST");
    assert!(headers["sforce-limit-info"].to_str().unwrap().starts_with("api-usage="));
    assert!(headers["content-type"].to_str().unwrap().starts_with("application/json"));
    let r = s
        .http
        .post(s.url("/sobjects/Lead"))
        .bearer_auth(&s.token)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().contains_key("sforce-limit-info"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "JSON_PARSER_ERROR");
    let long = format!("/query?q={}", "x".repeat(portico_emulator::rest::query::DEFAULT_BATCH * 9));
    assert_eq!(s.get(&long).await.0, StatusCode::URI_TOO_LONG);
    let bad = s.http.get(s.url("/limits")).bearer_auth("nope").send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert!(bad.headers().contains_key("sforce-limit-info"));
}

#[tokio::test]
async fn collections_write_two_hundred_records_all_or_none() {
    let s = Session::start().await;
    let leads = |n: usize| -> Vec<Value> {
        (0..n).map(|i| json!({"attributes": {"type": "Lead"}, "LastName": format!("C{i}"), "Company": "c"})).collect()
    };
    let (status, results) =
        s.send(Method::POST, "/composite/sobjects", json!({"allOrNone": true, "records": leads(200)})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(results.as_array().unwrap().iter().all(|r| r["success"] == true && r["errors"] == json!([])));
    let ids: Vec<String> = results.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    let (status, body) = s.send(Method::POST, "/composite/sobjects", json!({"records": leads(201)})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!([{"message": "record limit reached. cannot submit more than 200 records into this call", "errorCode": "EXCEEDED_ID_LIMIT"}])
    );

    // One bad record: with allOrNone nothing is written; without, the others are.
    let mixed = json!([{"attributes": {"type": "Lead"}, "LastName": "Ok", "Company": "c"}, {"attributes": {"type": "Lead"}, "LastName": "NoCompany"}]);
    let before = s.emulator.org.records("Lead").len();
    let (_, results) = s.send(Method::POST, "/composite/sobjects", json!({"allOrNone": true, "records": mixed})).await;
    assert_eq!(results[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_eq!(
        results[1]["errors"][0],
        json!({"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Company]", "fields": ["Company"]})
    );
    assert_eq!(s.emulator.org.records("Lead").len(), before);
    let (_, results) = s.send(Method::POST, "/composite/sobjects", json!({"allOrNone": false, "records": mixed})).await;
    assert_eq!((results[0]["success"].as_bool(), results[1]["success"].as_bool()), (Some(true), Some(false)));
    assert_eq!(s.emulator.org.records("Lead").len(), before + 1);

    let update = json!({"records": [{"attributes": {"type": "Lead"}, "id": ids[0], "Company": "Renamed"}, {"attributes": {"type": "Lead"}, "Company": "no id"}]});
    let (_, results) = s.send(Method::PATCH, "/composite/sobjects", update).await;
    assert_eq!(results[0], json!({"id": ids[0], "success": true, "errors": []}));
    assert_eq!(results[1]["errors"][0]["statusCode"], "MISSING_ARGUMENT");

    let upsert = json!({"allOrNone": true, "records": [
        {"attributes": {"type": "Event"}, "Booking_Id__c": "bk_a", "StartDateTime": "2026-12-01T10:00:00.000Z", "DurationInMinutes": 30},
        {"attributes": {"type": "Event"}, "Booking_Id__c": "bk_a", "Subject": "again"}]});
    let (status, results) = s.send(Method::PATCH, "/composite/sobjects/Event/Booking_Id__c", upsert).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((results[0]["created"].as_bool(), results[1]["created"].as_bool()), (Some(true), Some(false)));

    let (_, retrieved) =
        s.get(&format!("/composite/sobjects/Lead?ids={},{},00QEm0000000zzzAAA&fields=Company", ids[0], ids[1])).await;
    assert_eq!(retrieved[0]["Company"], "Renamed");
    assert_eq!(retrieved[2], Value::Null);
    let (_, retrieved) =
        s.send(Method::POST, "/composite/sobjects/Lead", json!({"ids": [ids[1]], "fields": ["LastName"]})).await;
    assert_eq!(retrieved[0]["LastName"], "C1");

    let list = ids[..3].join(",");
    let (status, _, results) =
        s.call(Method::DELETE, &format!("/composite/sobjects?ids={list}&allOrNone=true"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(results.as_array().unwrap().len(), 3);
    let again = format!("/composite/sobjects?ids={},{}&allOrNone=true", ids[3], ids[0]);
    let (_, _, results) = s.call(Method::DELETE, &again, None).await;
    assert_eq!(results[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_eq!(results[1]["errors"][0]["statusCode"], "ENTITY_IS_DELETED");
    assert_eq!(s.get(&format!("/sobjects/Lead/{}", ids[3])).await.0, StatusCode::OK, "rolled back");
    assert_eq!(s.emulator.org.calls("collections"), 10);
}

#[tokio::test]
async fn composite_batch_runs_each_on_its_own_and_halts_on_error() {
    let s = Session::start().await;
    let id = new_lead(&s, "Batch").await;
    let before = s.emulator.org.api_calls();
    let body = json!({"haltOnError": false, "batchRequests": [
        {"method": "PATCH", "url": format!("v62.0/sobjects/Lead/{id}"), "richInput": {"Company": "Renamed"}},
        {"method": "GET", "url": format!("v62.0/sobjects/Lead/{id}?fields=Company")},
        {"method": "POST", "url": "v62.0/sobjects/Lead", "richInput": {"LastName": "NoCompany"}},
        {"method": "GET", "url": "v62.0/query?q=SELECT+COUNT()+FROM+Lead"}]});
    let (status, answer) = s.send(Method::POST, "/composite/batch", body).await;
    assert_eq!(status, StatusCode::OK);
    let codes: Vec<u64> =
        answer["results"].as_array().unwrap().iter().map(|r| r["statusCode"].as_u64().unwrap()).collect();
    assert_eq!(codes, [204, 200, 400, 200]);
    assert_eq!(answer["hasErrors"], true);
    assert_eq!(answer["results"][1]["result"]["Company"], "Renamed");
    assert_eq!(s.emulator.org.api_calls(), before + 4, "each subrequest counts");
    let halting = json!({"haltOnError": true, "batchRequests": [
        {"method": "GET", "url": "v62.0/sobjects/Lead/00QEm0000000zzzAAA"},
        {"method": "GET", "url": "v62.0/limits"}]});
    let (_, answer) = s.send(Method::POST, "/composite/batch", halting).await;
    assert_eq!(answer["results"][1]["statusCode"], 412);
    assert_eq!(answer["results"][1]["result"][0]["errorCode"], "BATCH_PROCESSING_HALTED");
    let too_many: Vec<Value> = (0..26).map(|_| json!({"method": "GET", "url": "v62.0/limits"})).collect();
    let (status, _) = s.send(Method::POST, "/composite/batch", json!({"batchRequests": too_many})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn composite_reaches_queries_and_collections_and_refuses_26_subrequests() {
    let s = Session::start().await;
    let body = json!({"allOrNone": true, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/composite/sobjects", "referenceId": "Many",
         "body": {"records": [{"attributes": {"type": "Lead"}, "LastName": "A", "Company": "c"}]}},
        {"method": "GET", "url": "/services/data/v62.0/query/?q=SELECT+Id+FROM+Lead+WHERE+LastName='A'", "referenceId": "Q"},
        {"method": "GET", "url": "/services/data/v62.0/sobjects/Lead/@{Q.records[0].Id}", "referenceId": "G"}]});
    let (status, answer) = s.send(Method::POST, "/composite", body).await;
    assert_eq!(status, StatusCode::OK);
    let codes: Vec<u64> =
        answer["compositeResponse"].as_array().unwrap().iter().map(|r| r["httpStatusCode"].as_u64().unwrap()).collect();
    assert_eq!(codes, [200, 200, 200], "{answer}");
    assert_eq!(answer["compositeResponse"][2]["body"]["LastName"], "A");
    let many: Vec<Value> = (0..26)
        .map(|i| json!({"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": format!("r{i}")}))
        .collect();
    let (status, answer) = s.send(Method::POST, "/composite", json!({"compositeRequest": many})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["compositeResponse"][0]["body"][0]["errorCode"], "LIMIT_EXCEEDED");
    let bad_ref = json!({"compositeRequest": [{"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "has space"}]});
    let (status, answer) = s.send(Method::POST, "/composite", bad_ref).await;
    assert_eq!((status, answer[0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("INVALID_INPUT")));
}
