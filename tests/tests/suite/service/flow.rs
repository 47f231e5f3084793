//! The whole flow per example plugin: signed ingest → job → plugin → one Composite commit →
//! audit, checked against each sample's expected request.

use super::*;
use serde_json::json;

/// Every sample with an expected request, per example (samples with an expected error too).
fn samples(example: &str) -> Vec<(String, Option<Value>, Option<String>)> {
    let dir = root().join(format!("plugins/{example}/samples"));
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(sample) = name.strip_suffix(".booking.json") else { continue };
        let expected = std::fs::read_to_string(dir.join(format!("{sample}.expected.json")))
            .ok()
            .map(|t| serde_json::from_str(&t).unwrap());
        let error = std::fs::read_to_string(dir.join(format!("{sample}.expected-error.txt"))).ok();
        out.push((sample.to_owned(), expected, error));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn every_example_plugin_runs_end_to_end_through_the_service() {
    let service = sqlite_service(|_| {}).await;
    for example in portico_plugins::EXAMPLES.iter().map(|e| e.name) {
        let org = emulator().await;
        let tenant = tenant(&service, example, example, &org).await;
        if let Ok(config) = std::fs::read_to_string(root().join(format!("plugins/{example}/samples/config.json"))) {
            let config: Value = serde_json::from_str(&config).unwrap();
            tenant.api.put(&format!("/v1/tenants/{example}/config"), &config).await.unwrap().ok().unwrap();
        }
        for (sample, expected, error) in samples(example) {
            // Each sample against the org as recorded, as its expected request was made.
            let org = emulator().await;
            tenant.api.connect(&tenant.id, &org.base_url, CLIENT_ID, CLIENT_SECRET).await.unwrap();
            let job = tenant.finished(&tenant.send_sample(example, &sample).await).await;
            let what = format!("{example}/{sample}: {job}");
            assert_eq!(job["digest"], json!(tenant.digest), "{what}");
            if let Some(error) = error {
                assert_eq!(job["state"], "failed", "{what}");
                assert!(job["error"].as_str().unwrap().contains(error.trim()), "{what}");
                assert_eq!(job["attempts"], 1, "a plugin error is permanent: {what}");
                continue;
            }
            assert_eq!(job["state"], "succeeded", "{what}");
            let expected = expected.unwrap();
            let requests = expected["compositeRequest"].as_array().unwrap();
            let mut records = job["records"].as_array().unwrap().clone();
            records.reverse();
            assert_eq!(records.len(), requests.len(), "one audit record per committed record: {what}");
            for (record, request) in records.iter().zip(requests) {
                let url = request["url"].as_str().unwrap();
                let sobject = url.split("/sobjects/").nth(1).unwrap().split('/').next().unwrap();
                assert_eq!(record["sobject"], sobject, "{what}");
                let id = record["record_id"].as_str().unwrap();
                assert_eq!(id.len(), 18, "{what}");
                let stored = org.org.records(sobject);
                assert!(stored.iter().any(|r| r["Id"] == id), "{sobject} {id} is in the org: {what}");
                for (field, value) in request["body"].as_object().unwrap() {
                    let written = &record["fields"][field];
                    if value.as_str().is_some_and(|v| v.starts_with("@{")) {
                        assert_eq!(written.as_str().map(str::len), Some(18), "{field} resolved to an id: {what}");
                    } else {
                        assert_eq!(written, value, "{field}: {what}");
                    }
                }
            }
            assert_eq!(org.org.calls("composite"), 1, "one commit per booking: {what}");
        }
    }
    let metrics = reqwest::get(format!("{}/metrics", service.url)).await.unwrap().text().await.unwrap();
    for needle in [
        "portico_plugin_invocations_total{tenant=\"lead-event\",plugin=\"lead-event\"}",
        "portico_plugin_duration_seconds_bucket",
        "portico_salesforce_api_calls_total{tenant=\"lead-event\"}",
        "portico_salesforce_api_remaining{tenant=\"lead-event\"}",
        "portico_job_failures_total{tenant=\"lead-event\",plugin=\"lead-event\",kind=\"mapping\"} 1",
        "portico_queue_jobs{state=\"pending\"} 0",
        "portico_deliveries_total{outcome=\"accepted\"}",
    ] {
        assert!(metrics.contains(needle), "{needle} in\n{metrics}");
    }
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_same_booking_twice_is_one_job_and_one_set_of_records() {
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let tenant = tenant(&service, "acme", "lead-event", &org).await;
    let first = tenant.send_sample("lead-event", "new-lead").await;
    let again = tenant.send_sample("lead-event", "new-lead").await;
    assert_eq!(first["job_id"], again["job_id"]);
    assert_eq!((first["created"].as_bool(), again["created"].as_bool()), (Some(true), Some(false)));
    let events_before = emulator().await.org.records("Event").len();
    assert_eq!(tenant.finished(&first).await["state"], "succeeded");
    assert_eq!(org.org.records("Event").len(), events_before + 1);
    let jobs = tenant.get("/jobs").await;
    assert_eq!(jobs.as_array().unwrap().len(), 1);
    let audit = tenant.get("/audit").await;
    assert_eq!(audit.as_array().unwrap().len(), 2, "Lead and Event: {audit}");
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn operations_endpoints_answer() {
    let service = sqlite_service(|_| {}).await;
    let get = |path: &str| reqwest::get(format!("{}{path}", service.url));
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    let spec: Value = get("/openapi.json").await.unwrap().json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/tenants",
        "/v1/tenants/{tenant}/bookings",
        "/v1/tenants/{tenant}/webhooks/calcom",
        "/v1/tenants/{tenant}/plugins/{digest}/approve",
        "/v1/tenants/{tenant}/plugins/rollback",
        "/v1/tenants/{tenant}/connection/authorize",
        "/v1/tenants/{tenant}/jobs/replay",
        "/v1/tenants/{tenant}/audit",
    ] {
        assert!(spec["paths"][path].is_object(), "{path} is documented");
    }
    let missing = get("/v2/nothing").await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.json::<Value>().await.unwrap()["code"], "not-found");
    service.running.shutdown().await.unwrap();
}
