//! Personal data through the API: erasure of one person by email, and what is left afterwards.

use super::*;
use serde_json::json;

#[tokio::test]
async fn an_erasure_through_the_api_removes_the_persons_booking_and_audit_values() {
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    let globex = tenant(&service, "globex", "lead-event", &org).await;
    let job = acme.finished(&acme.send_sample("lead-event", "new-lead").await).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let other = globex.finished(&globex.send_sample("lead-event", "new-lead").await).await;
    assert!(job["booking"].to_string().contains("Ada@Analytical.example"), "{job}");

    let refused = acme.api.post("/v1/tenants/acme/erasures", &json!({"email": "nobody"})).await.unwrap();
    assert_eq!((refused.status.as_u16(), refused.body["code"].as_str()), (400, Some("bad-email")));
    let erased =
        acme.api.post("/v1/tenants/acme/erasures", &json!({"email": " ada@ANALYTICAL.example "})).await.unwrap();
    let erased = erased.ok().unwrap();
    assert_eq!(erased["jobs"], 1, "{erased}");
    assert!(erased["audit_rows"].as_u64().unwrap() >= 1, "{erased}");
    assert!(!erased.to_string().to_lowercase().contains("ada@analytical"), "the address itself is not kept: {erased}");

    let after = acme.get(&format!("/jobs/{}", job["id"])).await;
    assert!(!after.to_string().to_lowercase().contains("ada@analytical"), "{after}");
    assert_eq!(after["state"], "succeeded");
    let audit = acme.get("/audit").await;
    assert!(!audit.to_string().to_lowercase().contains("ada@analytical"), "{audit}");
    let list = acme.get("/erasures").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["email_sha256"], erased["email_sha256"]);

    // Another tenant's data about the same person stays: the request was acme's.
    let untouched = globex.get(&format!("/jobs/{}", other["id"])).await;
    assert!(untouched["booking"].to_string().contains("Ada@Analytical.example"), "{untouched}");
    service.running.shutdown().await.unwrap();
}

/// A plugin that asks for a field half a million times, through the whole service: its job
/// fails naming the limit, stores only clipped text, and the other tenant is served meanwhile.
#[tokio::test]
async fn a_hostile_plugin_fails_with_its_limit_named_while_another_tenant_is_served() {
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let good = tenant(&service, "good", "lead-event", &org).await;
    let (secret, key) = service.admin.create_tenant("evil", "Evil").await.unwrap();
    let evil = service.admin.with_key(&key);
    evil.install("evil", &std::fs::read(portico_plugins::wasm_path("portico_guest_hostile")).unwrap()).await.unwrap();
    evil.connect("evil", &org.base_url, CLIENT_ID, CLIENT_SECRET).await.unwrap();
    for (attack, id) in [("find-fields", "bk_evil_1"), ("huge-error", "bk_evil_2")] {
        evil.put("/v1/tenants/evil/config", &json!({"attack": attack})).await.unwrap().ok().unwrap();
        let accepted = evil.send_booking("evil", &secret, &booking_with_id(id)).await.unwrap().ok().unwrap();
        let served = good.finished(&good.send(&booking_with_id(&format!("bk_good_{attack}"))).await).await;
        assert_eq!(served["state"], "succeeded", "{served}");
        let job =
            evil.wait_for_job("evil", accepted["job_id"].as_i64().unwrap(), Duration::from_secs(30)).await.unwrap();
        assert_eq!(job["state"], "failed", "{job}");
        let error = job["error"].as_str().unwrap();
        match attack {
            "find-fields" => assert!(error.contains("limit exceeded: find_fields"), "{error}"),
            _ => assert!(error.len() <= 4096 + 64 && error.ends_with("more bytes]"), "{} bytes", error.len()),
        }
        let listed = evil.get("/v1/tenants/evil/jobs").await.unwrap().ok().unwrap();
        assert!(listed.to_string().len() < 4096, "a list shows summaries: {} bytes", listed.to_string().len());
    }
    service.running.shutdown().await.unwrap();
}
