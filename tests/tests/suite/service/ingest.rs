//! Signed ingestion: every refusal is a precise 4xx and stores nothing.

use super::*;
use portico_host::service::{now_ms, signing};
use serde_json::json;

fn sample() -> Vec<u8> {
    std::fs::read(root().join("plugins/lead-event/samples/new-lead.booking.json")).unwrap()
}

async fn raw(service: &Service, tenant: &str, headers: &[(&str, String)], body: Vec<u8>) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(format!("{}/v1/tenants/{tenant}/bookings", service.url)).body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

fn signed(secret: &str, ts: i64, nonce: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        (signing::TIMESTAMP, ts.to_string()),
        (signing::NONCE, nonce.to_owned()),
        (signing::SIGNATURE, signing::sign(secret, ts, nonce, body)),
    ]
}

#[tokio::test]
async fn every_bad_delivery_is_refused_precisely_and_stores_nothing() {
    let service = sqlite_service(|c| c.ingest.max_body_bytes = 16 << 10).await;
    let org = emulator().await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    let body = sample();
    let now = now_ms() / 1000;

    // What, expected status and code, headers, body.
    type Case<'a> = (&'a str, u16, &'a str, Vec<(&'a str, String)>, Vec<u8>);
    let cases: Vec<Case> = vec![
        ("wrong secret", 401, "bad-signature", signed("whsec_wrong", now, "nonce-0001", &body), body.clone()),
        (
            "body changed after signing",
            401,
            "bad-signature",
            signed(&acme.secret, now, "nonce-0002", b"{}"),
            body.clone(),
        ),
        ("stale timestamp", 401, "stale-timestamp", signed(&acme.secret, now - 301, "nonce-0003", &body), body.clone()),
        (
            "future timestamp",
            401,
            "stale-timestamp",
            signed(&acme.secret, now + 301, "nonce-0004", &body),
            body.clone(),
        ),
        ("no signature headers", 400, "bad-signature-headers", vec![], body.clone()),
        ("short nonce", 400, "bad-signature-headers", signed(&acme.secret, now, "abc", &body), body.clone()),
        (
            "not JSON",
            400,
            "malformed-booking",
            signed(&acme.secret, now, "nonce-0005", b"<booking/>"),
            b"<booking/>".to_vec(),
        ),
        (
            "not a booking",
            400,
            "malformed-booking",
            signed(&acme.secret, now, "nonce-0006", br#"{"id":"x"}"#),
            br#"{"id":"x"}"#.to_vec(),
        ),
    ];
    for (what, status, code, headers, body) in cases {
        let (got, answer) = raw(&service, "acme", &headers, body).await;
        assert_eq!((got, answer["code"].as_str()), (status, Some(code)), "{what}: {answer}");
        assert!(!answer["message"].as_str().unwrap_or_default().is_empty(), "{what} is explained");
    }
    let mut huge: Value = serde_json::from_slice(&body).unwrap();
    huge["description"] = json!("x".repeat(20 << 10));
    let huge = serde_json::to_vec(&huge).unwrap();
    let (got, answer) = raw(&service, "acme", &signed(&acme.secret, now, "nonce-0007", &huge), huge).await;
    assert_eq!((got, answer["code"].as_str()), (413, Some("too-large")), "{answer}");
    // An unknown tenant looks like a wrong signature: the URL does not tell which tenants exist.
    let (got, answer) = raw(&service, "nobody", &signed(&acme.secret, now, "nonce-0008", &body), body.clone()).await;
    assert_eq!((got, answer["code"].as_str()), (401, Some("bad-signature")), "{answer}");
    let mut nul: Value = serde_json::from_slice(&body).unwrap();
    nul["id"] = json!("bk\u{0}1");
    let nul = serde_json::to_vec(&nul).unwrap();
    let (got, answer) = raw(&service, "acme", &signed(&acme.secret, now, "nonce-0009", &nul), nul).await;
    assert_eq!((got, answer["code"].as_str()), (400, Some("malformed-booking")), "a NUL in the id: {answer}");
    assert_eq!(acme.get("/jobs").await, json!([]), "nothing was stored");

    // A nonce works once: the replay of an accepted delivery, or another body under its nonce.
    let (got, first) = raw(&service, "acme", &signed(&acme.secret, now, "nonce-once", &body), body.clone()).await;
    assert_eq!(got, 202, "{first}");
    let (got, answer) = raw(&service, "acme", &signed(&acme.secret, now, "nonce-once", &body), body.clone()).await;
    assert_eq!((got, answer["code"].as_str()), (409, Some("nonce-reused")));
    let mut other: Value = serde_json::from_slice(&body).unwrap();
    other["id"] = json!("bk_other");
    let other = serde_json::to_vec(&other).unwrap();
    let (got, _) = raw(&service, "acme", &signed(&acme.secret, now, "nonce-once", &other), other).await;
    assert_eq!(got, 409);
    let jobs = acme.get("/jobs").await;
    assert_eq!(jobs.as_array().unwrap().len(), 1, "only the accepted delivery: {jobs}");
    assert_eq!(jobs[0]["booking_id"], "bk_1001");
    let metrics = reqwest::get(format!("{}/metrics", service.url)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("portico_deliveries_total{outcome=\"bad-signature\"} 3"), "{metrics}");
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn reschedules_and_cancellations_are_jobs_of_their_own_processed_in_order() {
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    let mut booking: Value = serde_json::from_slice(&sample()).unwrap();
    let mut send = Vec::new();
    let mut previous: Option<&str> = None;
    let mut first_move = None;
    // Moved there, back, and there again: the second move to 12-02 is a move of its own.
    for (kind, start, end) in [
        ("created", "2026-12-01T15:00:00Z", "2026-12-01T15:30:00Z"),
        ("rescheduled", "2026-12-02T15:00:00Z", "2026-12-02T15:30:00Z"),
        ("rescheduled", "2026-12-03T15:00:00Z", "2026-12-03T15:30:00Z"),
        ("rescheduled", "2026-12-02T15:00:00Z", "2026-12-02T15:30:00Z"),
        ("cancelled", "2026-12-02T15:00:00Z", "2026-12-02T15:30:00Z"),
    ] {
        booking["kind"] = json!(kind);
        booking["start"] = json!(start);
        booking["end"] = json!(end);
        booking["previous_start"] = json!(previous);
        previous = Some(start);
        let body = serde_json::to_vec(&booking).unwrap();
        if kind == "rescheduled" && first_move.is_none() {
            first_move = Some(body.clone());
        }
        send.push(acme.api.send_booking("acme", &acme.secret, &body).await.unwrap().ok().unwrap());
    }
    let ids: std::collections::BTreeSet<i64> = send.iter().map(|a| a["job_id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 5, "every move of one meeting is a job of its own");
    let first_move = first_move.unwrap();
    let again = acme.api.send_booking("acme", &acme.secret, &first_move).await.unwrap().ok().unwrap();
    assert_eq!(again["job_id"], send[1]["job_id"], "a redelivered move is the same job");
    // Re-serialized by the sender: other key order, other spacing, the same move.
    let mut reordered: serde_json::Map<String, Value> = serde_json::from_slice(&first_move).unwrap();
    let id = reordered.shift_remove("id").unwrap();
    reordered.insert("id".into(), id);
    let resent = serde_json::to_vec_pretty(&reordered).unwrap();
    assert_ne!(resent, first_move);
    let again = acme.api.send_booking("acme", &acme.secret, &resent).await.unwrap().ok().unwrap();
    assert_eq!(again["job_id"], send[1]["job_id"], "a re-serialized redelivery is the same job: {again}");
    let mut finished_at = Vec::new();
    for accepted in &send {
        let job = acme.finished(accepted).await;
        assert_eq!(job["state"], "succeeded", "{job}");
        finished_at.push(job["updated_at"].as_str().unwrap().to_owned()); // RFC 3339 UTC: sorts as time
    }
    assert!(finished_at.windows(2).all(|w| w[0] <= w[1]), "one booking's jobs ran in order: {finished_at:?}");
    let events: Vec<_> = org.org.records("Event").into_iter().filter(|e| e["Booking_Id__c"] == "bk_1001").collect();
    assert_eq!(events.len(), 1, "one Event, updated by each delivery");
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn calcom_and_calendly_deliveries_become_jobs_directly() {
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    let fixture =
        |name: &str| std::fs::read(root().join(format!("model/tests/fixtures/platforms/{name}.json"))).unwrap();
    let post = |path: &'static str, header: &'static str, value: String, body: Vec<u8>| {
        let url = format!("{}/v1/tenants/acme/webhooks/{path}", service.url);
        async move {
            let response = reqwest::Client::new().post(url).header(header, value).body(body).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let calcom = |body: Vec<u8>| {
        let sig = signing::sign_calcom(&acme.secret, &body);
        post("calcom", signing::CALCOM_SIGNATURE, sig, body)
    };
    let (status, created) = calcom(fixture("calcom-created")).await;
    assert_eq!(status, 202, "{created}");
    let job = acme.finished(&created).await;
    assert_eq!(
        (job["state"].as_str(), job["booking_id"].as_str()),
        (Some("succeeded"), Some("bFJeNb2uX8ANpT3JL5EfXw"))
    );
    assert_eq!(job["booking"]["source"]["platform"], "calcom");
    let (status, moved) = calcom(fixture("calcom-rescheduled")).await;
    assert_eq!(status, 202);
    assert_eq!(acme.finished(&moved).await["state"], "succeeded");
    let events: Vec<_> =
        org.org.records("Event").into_iter().filter(|e| e["Booking_Id__c"] == "bFJeNb2uX8ANpT3JL5EfXw").collect();
    assert_eq!(events.len(), 1, "the reschedule updated the created Event");
    assert_eq!(events[0]["StartDateTime"], "2026-12-02T15:00:00.000Z");
    // Moved again (Cal.com names only the previous booking's uid), then cancelled (naming only
    // the latest uid): both still reach the first booking's job chain and Event.
    let mut again: Value = serde_json::from_slice(&fixture("calcom-rescheduled")).unwrap();
    again["payload"]["rescheduleUid"] = json!("nEwUiD8ANpT3JL5EfXw00");
    again["payload"]["uid"] = json!("tHiRdUiD8ANpT3JL5EfXw");
    again["payload"]["startTime"] = json!("2026-12-03T15:00:00Z");
    again["payload"]["endTime"] = json!("2026-12-03T15:30:00Z");
    let (status, moved_again) = calcom(serde_json::to_vec(&again).unwrap()).await;
    assert_eq!(status, 202, "{moved_again}");
    let mut cancel: Value = serde_json::from_slice(&fixture("calcom-cancelled")).unwrap();
    cancel["payload"]["uid"] = json!("tHiRdUiD8ANpT3JL5EfXw");
    cancel["payload"]["startTime"] = json!("2026-12-03T15:00:00Z");
    cancel["payload"]["endTime"] = json!("2026-12-03T15:30:00Z");
    let (status, cancelled) = calcom(serde_json::to_vec(&cancel).unwrap()).await;
    assert_eq!(status, 202, "{cancelled}");
    for accepted in [&moved_again, &cancelled] {
        let job = acme.finished(accepted).await;
        assert_eq!(
            (job["state"].as_str(), job["booking_id"].as_str()),
            (Some("succeeded"), Some("bFJeNb2uX8ANpT3JL5EfXw"))
        );
    }
    let events: Vec<_> =
        org.org.records("Event").into_iter().filter(|e| e["Booking_Id__c"] == "bFJeNb2uX8ANpT3JL5EfXw").collect();
    assert_eq!(events.len(), 1, "every move and the cancellation updated the one Event: {events:?}");
    assert_eq!(events[0]["StartDateTime"], "2026-12-03T15:00:00.000Z");
    assert_eq!(events[0]["Booking_Status__c"], "Cancelled", "{:?}", events[0]);
    let (status, ping) = calcom(fixture("calcom-ping")).await;
    assert_eq!((status, ping["ignored"].as_bool()), (200, Some(true)));
    let (status, wrong) =
        post("calcom", signing::CALCOM_SIGNATURE, signing::sign_calcom("whsec_other", b"x"), fixture("calcom-created"))
            .await;
    assert_eq!((status, wrong["code"].as_str()), (401, Some("bad-signature")));
    let (status, malformed) = calcom(br#"{"triggerEvent":"BOOKING_CREATED"}"#.to_vec()).await;
    assert_eq!((status, malformed["code"].as_str()), (400, Some("malformed-booking")));
    assert!(malformed["message"].as_str().unwrap().contains("payload"), "{malformed}");

    let calendly = |body: Vec<u8>, ts: i64| {
        let sig = signing::sign_calendly(&acme.secret, ts, &body);
        post("calendly", signing::CALENDLY_SIGNATURE, sig, body)
    };
    let now = now_ms() / 1000;
    let (status, created) = calendly(fixture("calendly-created"), now).await;
    assert_eq!(status, 202, "{created}");
    let job = acme.finished(&created).await;
    assert_eq!(
        (job["state"].as_str(), job["booking_id"].as_str()),
        (Some("succeeded"), Some("4f3b2a10-9c8d-4e7f-a6b5-1c2d3e4f5a60"))
    );
    let (status, again) = calendly(fixture("calendly-created"), now).await;
    assert_eq!((status, again["code"].as_str()), (409, Some("nonce-reused")), "the same signed delivery twice");
    let (status, half) = calendly(fixture("calendly-canceled-for-reschedule"), now).await;
    assert_eq!((status, half["ignored"].as_bool()), (200, Some(true)));
    let (status, stale) = calendly(fixture("calendly-rescheduled"), now - 3600).await;
    assert_eq!((status, stale["code"].as_str()), (401, Some("stale-timestamp")));
    let (status, moved) = calendly(fixture("calendly-rescheduled"), now).await;
    assert_eq!(status, 202);
    let job = acme.finished(&moved).await;
    assert_eq!(
        (job["state"].as_str(), job["booking_id"].as_str()),
        (Some("succeeded"), Some("4f3b2a10-9c8d-4e7f-a6b5-1c2d3e4f5a60"))
    );
    assert_eq!(acme.get("/jobs").await.as_array().unwrap().len(), 6, "four Cal.com and two Calendly jobs");
    service.running.shutdown().await.unwrap();
}
