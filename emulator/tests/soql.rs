//! SOQL over real HTTP: the operators and connectives, ordering, paging with `nextRecordsUrl`
//! and `Sforce-Query-Options`, `queryAll`, `COUNT()`, date literals, and the refusals.

mod common;

use common::{Session, q};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const COMPANIES: [&str; 3] = ["A", "B", "C"];

/// `n` leads: `L000`…, Company cycling A, B, C, `AnnualRevenue` = i, every fifth without Email.
async fn load(s: &Session, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for start in (0..n).step_by(200) {
        let records: Vec<Value> = (start..n.min(start + 200))
            .map(|i| {
                let mut r = json!({"attributes": {"type": "Lead"}, "LastName": format!("L{i:03}"),
                                   "Company": COMPANIES[i % 3], "AnnualRevenue": i});
                if i % 5 != 0 {
                    r["Email"] = json!(format!("l{i}@x.example"));
                }
                r
            })
            .collect();
        let (_, results) = s.send(Method::POST, "/composite/sobjects", json!({"records": records})).await;
        ids.extend(results.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()));
    }
    ids
}

fn names(body: &Value) -> Vec<String> {
    body["records"].as_array().unwrap().iter().map(|r| r["LastName"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn filters_order_and_slices() {
    let s = Session::start().await;
    load(&s, 30).await;
    let run = |soql: &'static str| async { s.get(&q(soql)).await };
    let (status, body) = run(
        "SELECT LastName FROM Lead WHERE Company IN ('a', 'B') AND LastName LIKE 'l00%' ORDER BY LastName DESC LIMIT 3",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(names(&body), ["L009", "L007", "L006"]);
    let (_, body) = run("SELECT LastName FROM Lead WHERE (Company = 'A' OR Company = 'B') AND NOT AnnualRevenue < 25 ORDER BY AnnualRevenue").await;
    assert_eq!(names(&body), ["L025", "L027", "L028"]);
    let (_, body) =
        run("SELECT LastName FROM Lead WHERE AnnualRevenue >= 10 AND AnnualRevenue <= 12 AND Company != 'b'").await;
    assert_eq!(names(&body), ["L011", "L012"]);
    let (_, body) = run("SELECT LastName FROM Lead WHERE Company NOT IN ('A', 'B') AND AnnualRevenue > 20 ORDER BY LastName LIMIT 2 OFFSET 1").await;
    assert_eq!(names(&body), ["L026", "L029"]);
    let (_, body) =
        run("SELECT LastName, Email FROM Lead WHERE LastName LIKE 'L00_' ORDER BY Email NULLS LAST, LastName").await;
    assert_eq!(names(&body), ["L001", "L002", "L003", "L004", "L006", "L007", "L008", "L009", "L000", "L005"]);
    let (_, body) =
        run("SELECT LastName FROM Lead WHERE Email = null AND LastName LIKE 'L%' ORDER BY LastName DESC NULLS FIRST")
            .await;
    assert_eq!(names(&body), ["L025", "L020", "L015", "L010", "L005", "L000"]);
    let (_, body) = run("SELECT COUNT() FROM Lead WHERE Email != null AND LastName LIKE 'L%'").await;
    assert_eq!(body, json!({"totalSize": 24, "done": true, "records": []}));
    let (_, body) = run("select count(Email) from lead where lastname like 'l%'").await;
    assert_eq!(body["records"][0]["expr0"], 24);
    assert_eq!(body["records"][0]["attributes"]["type"], "AggregateResult");
}

#[tokio::test]
async fn nulls_sort_first_ascending_and_last_descending() {
    let s = Session::start().await;
    load(&s, 11).await;
    let (_, asc) = s.get(&q("SELECT LastName FROM Lead WHERE LastName LIKE 'L%' ORDER BY Email LIMIT 3")).await;
    assert_eq!(names(&asc), ["L000", "L005", "L010"]);
    let (_, desc) = s.get(&q("SELECT LastName FROM Lead WHERE LastName LIKE 'L%' ORDER BY Email DESC")).await;
    assert_eq!(names(&desc)[8..], ["L000", "L005", "L010"]);
    let (_, last) = s.get(&q("SELECT LastName FROM Lead WHERE LastName LIKE 'L%' ORDER BY Email ASC NULLS LAST")).await;
    assert_eq!(names(&last)[8..], ["L000", "L005", "L010"]);
}

#[tokio::test]
async fn pages_of_two_thousand_or_the_batch_size_asked_for() {
    let s = Session::start().await;
    load(&s, 2100).await;
    let soql = q("SELECT Id, LastName FROM Lead WHERE LastName LIKE 'L%' ORDER BY AnnualRevenue");
    let (_, first) = s.get(&soql).await;
    assert_eq!((first["totalSize"].as_u64(), first["done"].as_bool()), (Some(2100), Some(false)));
    assert_eq!(first["records"].as_array().unwrap().len(), 2000);
    let next = first["nextRecordsUrl"].as_str().unwrap();
    let (_, locator) = next.rsplit_once("/query/").unwrap();
    assert!(locator.ends_with("-2000"), "{next}");
    let more: Value = s
        .http
        .get(format!("{}{next}", s.emulator.base_url))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(more["done"], true);
    assert_eq!(names(&more)[0], "L2000");
    assert!(more.get("nextRecordsUrl").is_none());
    // The same locator under /queryAll/.
    let (status, _) = s.get(&format!("/queryAll/{locator}")).await;
    assert_eq!(status, StatusCode::OK);
    let r = s
        .http
        .get(s.url(&soql))
        .bearer_auth(&s.token)
        .header("Sforce-Query-Options", "batchSize=300")
        .send()
        .await
        .unwrap();
    let small: Value = r.json().await.unwrap();
    assert_eq!(small["records"].as_array().unwrap().len(), 300);
    assert!(small["nextRecordsUrl"].as_str().unwrap().ends_with("-300"));
    let r = s
        .http
        .get(s.url(&soql))
        .bearer_auth(&s.token)
        .header("Sforce-Query-Options", "batchSize=5")
        .send()
        .await
        .unwrap();
    let smallest: Value = r.json().await.unwrap();
    assert_eq!(smallest["records"].as_array().unwrap().len(), 200, "the smallest batch is 200");
    let (status, body) = s.get("/query/01gEm0000000nope-2000").await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("INVALID_QUERY_LOCATOR")));
}

#[tokio::test]
async fn query_all_includes_deleted_records() {
    let s = Session::start().await;
    let ids = load(&s, 4).await;
    s.call(Method::DELETE, &format!("/sobjects/Lead/{}", ids[1]), None).await;
    let soql = "SELECT Id, IsDeleted FROM Lead WHERE LastName LIKE 'L%'";
    let (_, live) = s.get(&q(soql)).await;
    assert_eq!(live["totalSize"], 3);
    let (_, all) = s.get(&q(soql).replacen("/query", "/queryAll", 1)).await;
    assert_eq!(all["totalSize"], 4);
    let deleted: Vec<&Value> = all["records"].as_array().unwrap().iter().filter(|r| r["IsDeleted"] == true).collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["Id"], ids[1].as_str());
}

#[tokio::test]
async fn date_literals_and_values_follow_the_org_clock() {
    let s = &Session::start().await;
    load(s, 3).await;
    // The org's clock starts at 2026-01-01; the seeded lead is dated 2026-02-01.
    let count = |soql: &'static str| async move {
        let (status, body) = s.get(&q(soql)).await;
        assert_eq!(status, StatusCode::OK, "{soql}: {body}");
        body["totalSize"].as_u64().unwrap()
    };
    assert_eq!(count("SELECT COUNT() FROM Lead WHERE CreatedDate = TODAY AND LastName LIKE 'L%'").await, 3);
    assert_eq!(count("SELECT COUNT() FROM Lead WHERE CreatedDate = LAST_N_DAYS:3 AND LastName LIKE 'L%'").await, 3);
    assert_eq!(count("SELECT COUNT() FROM Lead WHERE CreatedDate < YESTERDAY").await, 0);
    assert_eq!(count("SELECT COUNT() FROM Lead WHERE CreatedDate = THIS_MONTH").await, 3);
    assert_eq!(count("SELECT COUNT() FROM Lead WHERE CreatedDate = NEXT_MONTH").await, 1);
    assert_eq!(count("SELECT COUNT() FROM Lead WHERE CreatedDate > 2026-01-02T00:00:00Z").await, 1);
    assert_eq!(count("SELECT COUNT() FROM Account WHERE CreatedDate = 2026-01-04T10:00:00Z").await, 1);
    assert_eq!(count("SELECT COUNT() FROM Lead WHERE CreatedDate >= 2026-01-01T00:00:00.000+00:00 AND CreatedDate < NEXT_N_DAYS:1").await, 3);
    assert_eq!(count("SELECT COUNT() FROM Opportunity WHERE CloseDate = NEXT_YEAR").await, 0);
}

#[tokio::test]
async fn refusals_name_the_problem_as_salesforce_does() {
    let s = &Session::start().await;
    let refused = |soql: &'static str, code: &'static str| async move {
        let (status, body) = s.get(&q(soql)).await;
        assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{soql}: {body}");
        body[0]["message"].as_str().unwrap().to_owned()
    };
    let message = refused("SELECT Bogus FROM Lead", "INVALID_FIELD").await;
    assert_eq!(
        message,
        "\nSELECT Bogus FROM Lead\n       ^\nERROR at Row:1:Column:8\nNo such column 'Bogus' on entity 'Lead'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
    );
    let message = refused("SELECT Id FROM Foo", "INVALID_TYPE").await;
    assert!(message.contains("sObject type 'Foo' is not supported"), "{message}");
    refused("SELECT Id FROM Lead WHERE Company = 'a' AND LastName = 'b' OR Email = 'c'", "MALFORMED_QUERY").await;
    refused("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY").await;
    refused("SELECT Id FROM Lead WHERE AnnualRevenue = '5'", "INVALID_FIELD").await;
    refused("SELECT Id FROM Lead WHERE CreatedDate = 2026-01-01", "INVALID_FIELD").await;
    refused("SELECT Id FROM Lead WHERE Company = 5", "INVALID_FIELD").await;
    refused("SELECT Id FROM Lead WHERE Id = 'nope'", "INVALID_QUERY_FILTER_OPERATOR").await;
    refused("SELECT Id FROM Lead WHERE Owner.Name = 'x'", "INVALID_FIELD").await;
    refused("SELECT Id FROM Lead LIMIT 1 OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE").await;
    let (status, body) = s.get("/query").await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("MALFORMED_QUERY")));
}
