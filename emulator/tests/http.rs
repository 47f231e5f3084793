//! The emulator over real HTTP, compared with the real captured responses.

mod common;

use common::{Session, fixtures, percent};
use portico_emulator::credentials::CLIENT_ID;
use portico_emulator::{ObjectPerms, Profile};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[tokio::test]
async fn describe_has_the_shape_of_the_real_capture_with_urls_rewritten() {
    let s = Session::start().await;
    let (status, lead) = s.get("/sobjects/Lead/describe").await;
    assert_eq!(status, StatusCode::OK);
    let capture: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("Lead.describe.json")).unwrap()).unwrap();
    assert_eq!(keys(&lead), keys(&capture));
    assert_eq!(keys(&lead["fields"][0]), keys(&capture["fields"][0]));
    assert_eq!(lead["fields"].as_array().unwrap().len(), capture["fields"].as_array().unwrap().len());
    assert_eq!(lead["urls"]["describe"], "/services/data/v62.0/sobjects/Lead/describe");
    for object in ["Account", "Contact", "Event", "User", "Custom__c", "With_External_Id__c"] {
        let (status, served) = s.get(&format!("/sobjects/{object}/describe")).await;
        assert_eq!(status, StatusCode::OK, "{object}");
        let path = fixtures().join(format!("{object}.describe.json"));
        let capture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(keys(&served), keys(&capture), "{object}: top-level keys");
        for (a, b) in served["fields"].as_array().unwrap().iter().zip(capture["fields"].as_array().unwrap()) {
            assert_eq!(keys(a), keys(b), "{object}.{}: field entry keys", b["name"]);
        }
    }
    let (_, event) = s.get("/sobjects/Event/describe").await;
    assert!(
        event["fields"].as_array().unwrap().iter().any(|f| f["name"] == "Booking_Id__c" && f["externalId"] == true)
    );
    let (status, global) = s.get("/sobjects").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys(&global), ["encoding", "maxBatchSize", "sobjects"]);
    assert!(global["sobjects"].as_array().unwrap().iter().any(|o| o["name"] == "Task" && o["keyPrefix"] == "00T"));
    let captured: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("global.sobjects.json")).unwrap()).unwrap();
    for entry in global["sobjects"].as_array().unwrap() {
        assert_eq!(keys(entry), keys(&captured["sobjects"][0]), "global entry {}", entry["name"]);
    }
}

#[tokio::test]
async fn describe_revalidates_with_if_modified_since() {
    let s = Session::start().await;
    let r = s.http.get(s.url("/sobjects/Lead/describe")).bearer_auth(&s.token).send().await.unwrap();
    let last_modified = r.headers()["last-modified"].to_str().unwrap().to_owned();
    assert!(r.headers()["sforce-limit-info"].to_str().unwrap().starts_with("api-usage="));
    let r = s
        .http
        .get(s.url("/sobjects/Lead/describe"))
        .bearer_auth(&s.token)
        .header("If-Modified-Since", last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn writes_are_validated_like_salesforce() {
    let s = Session::start().await;
    let (status, body) = s.send(reqwest::Method::POST, "/sobjects/Lead", json!({"LastName": "Lovelace"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!([{"message": "Required fields are missing: [Company]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Company"]}])
    );
    let (_, body) =
        s.send(reqwest::Method::POST, "/sobjects/Lead", json!({"LastName": "x".repeat(81), "Company": "c"})).await;
    assert_eq!(body[0]["errorCode"], "STRING_TOO_LONG");
    let (_, body) = s
        .send(
            reqwest::Method::POST,
            "/sobjects/Lead",
            json!({"Id": "00QEm0000000001AAA", "LastName": "x", "Company": "c"}),
        )
        .await;
    assert_eq!(body[0]["errorCode"], "INVALID_FIELD_FOR_INSERT_UPDATE");
    let (_, body) =
        s.send(reqwest::Method::POST, "/sobjects/Lead", json!({"LastName": "x", "Company": "c", "Shoe__c": 1})).await;
    assert_eq!(body[0]["errorCode"], "INVALID_FIELD");
    let event = json!({"Subject": "s", "StartDateTime": "2026-12-01T10:00:00.000Z", "EndDateTime": "2026-12-01T11:00:00.000Z", "Booking_Status__c": "Maybe"});
    let (_, body) = s.send(reqwest::Method::POST, "/sobjects/Event", event).await;
    assert_eq!(body[0]["errorCode"], "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    let (_, body) = s
        .send(
            reqwest::Method::POST,
            "/sobjects/Event",
            json!({"Subject": "s", "StartDateTime": "2026-12-01T10:00:00.000Z"}),
        )
        .await;
    assert_eq!(body[0]["errorCode"], "REQUIRED_FIELD_MISSING");
    let (_, body) = s.send(reqwest::Method::POST, "/sobjects/Event", json!({"StartDateTime": "2026-12-01T10:00:00.000Z", "DurationInMinutes": 30, "WhoId": "00QEm0000000zzzAAA"})).await;
    assert_eq!(body[0]["errorCode"], "INVALID_CROSS_REFERENCE_KEY");
    let (status, body) =
        s.send(reqwest::Method::POST, "/sobjects/Lead", json!({"LastName": "Lovelace", "Company": "Engines"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["success"], true);
    let id = body["id"].as_str().unwrap();
    assert_eq!(id.len(), 18);
    let (status, record) = s.get(&format!("/sobjects/Lead/{id}")).await;
    assert_eq!((status, record["LastName"].as_str()), (StatusCode::OK, Some("Lovelace")));
}

#[tokio::test]
async fn upsert_creates_then_updates_and_answers_per_api_version() {
    let s = Session::start().await;
    let body = json!({"Subject": "Intro", "StartDateTime": "2026-12-01T10:00:00.000Z", "DurationInMinutes": 30});
    let (status, first) = s.send(reqwest::Method::PATCH, "/sobjects/Event/Booking_Id__c/bk_1", body.clone()).await;
    assert_eq!((status, first["created"].as_bool()), (StatusCode::CREATED, Some(true)));
    let (status, second) =
        s.send(reqwest::Method::PATCH, "/sobjects/Event/Booking_Id__c/bk_1", json!({"Subject": "Moved"})).await;
    assert_eq!((status, second["created"].as_bool()), (StatusCode::OK, Some(false)));
    assert_eq!(first["id"], second["id"]);
    let old = s
        .http
        .patch(format!("{}/services/data/v45.0/sobjects/Event/Booking_Id__c/bk_1", s.emulator.base_url))
        .bearer_auth(&s.token)
        .json(&json!({"Subject": "Old API"}))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.emulator.org.records("Event").len(), 1);
}

#[tokio::test]
async fn composite_resolves_references_and_rolls_back_all_or_none() {
    let s = Session::start().await;
    let ok = json!({"allOrNone": true, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Lead", "referenceId": "Lead_1", "body": {"LastName": "L", "Company": "C"}},
        {"method": "PATCH", "url": "/services/data/v62.0/sobjects/Event/Booking_Id__c/bk%5F9", "referenceId": "Event_1",
         "body": {"StartDateTime": "2026-12-01T10:00:00.000Z", "DurationInMinutes": 30, "WhoId": "@{Lead_1.id}"}}]});
    let (status, body) = s.send(reqwest::Method::POST, "/composite", ok).await;
    assert_eq!(status, StatusCode::OK);
    let lead_id = body["compositeResponse"][0]["body"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["compositeResponse"][1]["httpStatusCode"], 201);
    let events = s.emulator.org.records("Event");
    assert_eq!(events[0]["WhoId"], lead_id.as_str());
    assert_eq!(events[0]["Booking_Id__c"], "bk_9");

    let leads_before = s.emulator.org.records("Lead").len();
    let failing = json!({"allOrNone": true, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Lead", "referenceId": "Lead_1", "body": {"LastName": "L2", "Company": "C"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Event", "referenceId": "Event_1", "body": {"WhoId": "@{Lead_1.id}"}}]});
    let (_, body) = s.send(reqwest::Method::POST, "/composite", failing).await;
    assert_eq!(body["compositeResponse"][0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(body["compositeResponse"][1]["body"][0]["errorCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(s.emulator.org.records("Lead").len(), leads_before, "rolled back");
    assert_eq!(s.emulator.org.calls("composite"), 2);
}

#[tokio::test]
async fn query_keeps_literals_literal_and_respects_field_security() {
    let s = Session::start().await;
    let q = |soql: &str| format!("/query?q={}", percent(soql));
    let (_, body) = s.get(&q("SELECT Id, Email FROM Lead WHERE Email = 'linus@kernel.example' LIMIT 1")).await;
    assert_eq!(body["totalSize"], 1);
    assert_eq!(body["records"][0]["attributes"]["type"], "Lead");
    let (_, body) = s.get(&q(r"SELECT Id FROM Lead WHERE Email = 'x\' OR Email != \'' LIMIT 5")).await;
    assert_eq!(body["totalSize"], 0);
    s.emulator.org.with(|st| st.profile = Profile::default().hide("Lead", "Email"));
    let (status, body) = s.get(&q("SELECT Id FROM Lead WHERE Email = 'a'")).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("INVALID_FIELD")));
    let (_, describe) = s.get("/sobjects/Lead/describe").await;
    assert!(!describe["fields"].as_array().unwrap().iter().any(|f| f["name"] == "Email"));
    let (_, body) = s
        .send(reqwest::Method::POST, "/sobjects/Lead", json!({"LastName": "x", "Company": "c", "Email": "a@b.c"}))
        .await;
    assert_eq!(body[0]["errorCode"], "INVALID_FIELD");
    s.emulator.org.with(|st| st.profile = Profile::default().with_object("Lead", ObjectPerms::READ));
    let (status, body) =
        s.send(reqwest::Method::POST, "/sobjects/Lead", json!({"LastName": "x", "Company": "c"})).await;
    assert_eq!(
        (status, body[0]["errorCode"].as_str()),
        (StatusCode::FORBIDDEN, Some("INSUFFICIENT_ACCESS_OR_READONLY"))
    );
}

#[tokio::test]
async fn faults_and_expired_sessions_answer_like_salesforce() {
    let s = Session::start().await;
    s.emulator.org.with(|st| st.faults.unavailable = 1);
    let (status, body) = s.get("/limits").await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("SERVER_UNAVAILABLE")));
    let (status, limits) = s.get("/limits").await;
    assert_eq!(status, StatusCode::OK);
    assert!(limits["DailyApiRequests"]["Remaining"].as_u64().unwrap() < 15_000);
    s.emulator.org.with(|st| st.faults.request_limit_after = Some(0));
    let (status, body) = s.get("/limits").await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::FORBIDDEN, Some("REQUEST_LIMIT_EXCEEDED")));
    s.emulator.org.with(|st| st.faults.request_limit_after = None);
    s.emulator.org.expire_sessions();
    let (status, body) = s.get("/limits").await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (StatusCode::UNAUTHORIZED, Some("INVALID_SESSION_ID")));
}

#[tokio::test]
async fn the_web_server_flow_with_pkce_refresh_and_revoke() {
    let s = Session::start().await;
    let base = &s.emulator.base_url;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = no_redirects
        .get(format!("{base}/services/oauth2/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", "https://portico.example/cb"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("state", "xyz"),
        ])
        .send()
        .await
        .unwrap();
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("https://portico.example/cb?code=") && location.ends_with("&state=xyz"), "{location}");
    let code = percent_encoding_decode(location.split("code=").nth(1).unwrap().split('&').next().unwrap());
    let token = |form: Vec<(&'static str, String)>| {
        let http = s.http.clone();
        let url = format!("{base}/services/oauth2/token");
        async move { http.post(url).form(&form).send().await.unwrap() }
    };
    let wrong = token(vec![
        ("grant_type", "authorization_code".into()),
        ("code", code.clone()),
        ("client_id", CLIENT_ID.into()),
        ("redirect_uri", "https://portico.example/cb".into()),
        ("code_verifier", "wrong".into()),
    ])
    .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    // The code was consumed by the failed attempt, as Salesforce does; authorize again.
    let r = no_redirects
        .get(format!("{base}/services/oauth2/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", "https://portico.example/cb"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    let code = percent_encoding_decode(
        r.headers()["location"].to_str().unwrap().split("code=").nth(1).unwrap().split('&').next().unwrap(),
    );
    let granted: Value = token(vec![
        ("grant_type", "authorization_code".into()),
        ("code", code),
        ("client_id", CLIENT_ID.into()),
        ("redirect_uri", "https://portico.example/cb".into()),
        ("code_verifier", verifier.into()),
    ])
    .await
    .json()
    .await
    .unwrap();
    let refresh = granted["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(granted["instance_url"], base.as_str());
    let refreshed = token(vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", refresh.clone()),
        ("client_id", CLIENT_ID.into()),
    ])
    .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let revoked = s
        .http
        .post(format!("{base}/services/oauth2/revoke"))
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let after: Value = token(vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", refresh),
        ("client_id", CLIENT_ID.into()),
    ])
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(after["error"], "invalid_grant");
}

fn percent_encoding_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn opportunities_need_a_stage_and_a_close_date() {
    let s = Session::start().await;
    let (status, body) = s.send(reqwest::Method::POST, "/sobjects/Opportunity", json!({"Name": "Renewal"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body[0]["message"], "Required fields are missing: [StageName, CloseDate]");
    let opp = json!({"Name": "Renewal", "StageName": "Prospecting", "CloseDate": "2027-01-31", "Amount": 12000, "AccountId": "001Dn00000QrStUIAZ"});
    let (status, body) = s.send(reqwest::Method::POST, "/sobjects/Opportunity", opp).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["id"].as_str().unwrap().starts_with("006"));
}
