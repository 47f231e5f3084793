//! Plugin lifecycle over the API: validation with reasons, content-addressed versions, grant
//! approval (never wider than requested), activation, rollback, config and replay.

use super::*;
use serde_json::json;

#[tokio::test]
async fn uploads_are_validated_with_the_reasons() {
    let service = sqlite_service(|c| c.runtime.limits.component_bytes = 2 << 20).await;
    let (_, key) = service.admin.create_tenant("acme", "Acme").await.unwrap();
    let api = service.admin.with_key(&key);
    let garbage = api.upload("acme", b"definitely not wasm").await.unwrap();
    assert_eq!((garbage.status.as_u16(), garbage.body["code"].as_str()), (422, Some("invalid-plugin")));
    assert!(garbage.body["message"].as_str().unwrap().contains("not a WebAssembly"), "{}", garbage.body);
    let core = api.upload("acme", &wat::parse_str("(module)").unwrap()).await.unwrap();
    assert_eq!(core.status, 422);
    assert!(core.body["message"].as_str().unwrap().contains("wasm32-wasip2"), "{}", core.body);
    let foreign = api
        .upload("acme", &std::fs::read(portico_plugins::wasm_path("portico_guest_foreign_import")).unwrap())
        .await
        .unwrap();
    assert_eq!((foreign.status.as_u16(), foreign.body["code"].as_str()), (422, Some("forbidden-imports")));
    assert!(foreign.body["message"].as_str().unwrap().contains("evil:net/raw"), "{}", foreign.body);
    let huge = api.upload("acme", &vec![0u8; 3 << 20]).await.unwrap();
    assert_eq!((huge.status.as_u16(), huge.body["code"].as_str()), (413, Some("too-large")));
    assert_eq!(api.get("/v1/tenants/acme/plugins").await.unwrap().body, json!([]), "nothing was stored");

    let wasm = portico_plugins::example("lead-event").unwrap().wasm;
    let first = api.upload("acme", wasm).await.unwrap();
    let again = api.upload("acme", wasm).await.unwrap();
    assert_eq!((first.status.as_u16(), again.status.as_u16()), (201, 200));
    assert_eq!(first.body["digest"], again.body["digest"]);
    assert!(first.body["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(first.body["requested_grant"]["Event"]["operations"], json!(["upsert"]), "{}", first.body);
    assert!(first.body["salesforce_permissions"].as_array().is_some_and(|p| !p.is_empty()));
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn grants_are_approved_at_most_as_requested_and_only_approved_versions_activate() {
    let service = sqlite_service(|_| {}).await;
    let (secret, key) = service.admin.create_tenant("acme", "Acme").await.unwrap();
    let api = service.admin.with_key(&key);
    let uploaded =
        api.upload("acme", portico_plugins::example("lead-event").unwrap().wasm).await.unwrap().ok().unwrap();
    let digest = uploaded["digest"].as_str().unwrap();
    let activate = api.post(&format!("/v1/tenants/acme/plugins/{digest}/activate"), &json!({})).await.unwrap();
    assert_eq!((activate.status.as_u16(), activate.body["code"].as_str()), (409, Some("not-approved")));

    let mut wider = uploaded["requested_grant"].clone();
    wider["Opportunity"] = json!({"operations": ["create"], "write": ["Name"]});
    wider["Event"]["write"].as_array_mut().unwrap().push(json!("OwnerId"));
    let refused =
        api.post(&format!("/v1/tenants/acme/plugins/{digest}/approve"), &json!({"grant": wider})).await.unwrap();
    assert_eq!((refused.status.as_u16(), refused.body["code"].as_str()), (422, Some("grant-exceeds-request")));
    let message = refused.body["message"].as_str().unwrap();
    assert!(message.contains("Opportunity") && message.contains("OwnerId"), "{message}");

    let mut narrower = uploaded["requested_grant"].clone();
    narrower["Event"]["write"].as_array_mut().unwrap().retain(|f| f != "Location");
    let approved =
        api.post(&format!("/v1/tenants/acme/plugins/{digest}/approve"), &json!({"grant": narrower})).await.unwrap();
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.body["approved_grant"], narrower);
    let activated =
        api.post(&format!("/v1/tenants/acme/plugins/{digest}/activate"), &json!({})).await.unwrap().ok().unwrap();
    assert_eq!(activated["active_digest"], json!(digest));

    // The narrower grant holds at run time: the plugin may not write Event.Location.
    let org = emulator().await;
    api.connect("acme", &org.base_url, CLIENT_ID, CLIENT_SECRET).await.unwrap();
    let booking = std::fs::read(root().join("plugins/lead-event/samples/new-lead.booking.json")).unwrap();
    let accepted = api.send_booking("acme", &secret, &booking).await.unwrap().ok().unwrap();
    let job = api.wait_for_job("acme", accepted["job_id"].as_i64().unwrap(), Duration::from_secs(30)).await.unwrap();
    assert_eq!(job["state"], "failed", "{job}");
    assert!(job["error"].as_str().unwrap().contains("Location"), "{job}");
    assert!(org.org.records("Event").iter().all(|e| e["Booking_Id__c"] != "bk_1001"), "nothing committed");
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_version_rolls_back_instantly_and_jobs_run_the_active_one() {
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    let v1 = acme.digest.clone();
    let booking = |id: &str| {
        let mut b: Value = serde_json::from_str(
            &std::fs::read_to_string(root().join("plugins/lead-event/samples/new-lead.booking.json")).unwrap(),
        )
        .unwrap();
        b["id"] = json!(id);
        serde_json::to_vec(&b).unwrap()
    };
    let run = |id: &'static str| {
        let acme = &acme;
        let body = booking(id);
        async move {
            let accepted = acme.api.send_booking("acme", &acme.secret, &body).await.unwrap().ok().unwrap();
            acme.finished(&accepted).await
        }
    };
    assert_eq!(run("bk_v1").await["digest"], json!(v1));

    let v2 = acme.api.install("acme", portico_plugins::example("followup-task").unwrap().wasm).await.unwrap();
    assert_ne!(v1, v2);
    let job = run("bk_v2").await;
    assert_eq!((job["digest"].as_str(), job["state"].as_str()), (Some(v2.as_str()), Some("succeeded")), "{job}");
    assert_eq!(job["records"][0]["sobject"], "Task");

    let rolled = acme.api.post("/v1/tenants/acme/plugins/rollback", &json!({})).await.unwrap().ok().unwrap();
    assert_eq!(
        (rolled["active_digest"].as_str(), rolled["previous_digest"].as_str()),
        (Some(v1.as_str()), Some(v2.as_str()))
    );
    let job = run("bk_back").await;
    assert_eq!((job["digest"].as_str(), job["state"].as_str()), (Some(v1.as_str()), Some("succeeded")));
    let versions = acme.get("/plugins").await;
    let active: Vec<&Value> = versions.as_array().unwrap().iter().filter(|v| v["active"] == true).collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["digest"], json!(v1));
    assert_eq!(acme.get("/plugins/activations").await.as_array().unwrap().len(), 3);
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn failed_jobs_replay_after_the_tenant_fixes_the_config() {
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let acme = tenant(&service, "acme", "configurable", &org).await;
    let first = acme.finished(&acme.send_sample("configurable", "new-attendee").await).await;
    assert_eq!(first["state"], "failed", "{first}");
    assert_eq!(first["attempts"], 1, "a config error is not retried");
    assert!(first["error"].as_str().unwrap().contains("mapping"), "names the missing key: {first}");
    let second = acme.finished(&acme.send_sample("configurable", "no-attendee-company").await).await;
    assert_eq!(second["state"], "failed");
    let failed = acme.get("/jobs?state=failed").await;
    assert_eq!(failed.as_array().unwrap().len(), 2);

    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("plugins/configurable/samples/config.json")).unwrap(),
    )
    .unwrap();
    acme.api.put("/v1/tenants/acme/config", &config).await.unwrap().ok().unwrap();
    let one = acme.api.post(&format!("/v1/tenants/acme/jobs/{}/replay", first["id"]), &json!({})).await.unwrap();
    assert_eq!(one.body["replayed"], 1);
    let replayed = acme.finished(&json!({"job_id": first["id"]})).await;
    assert_eq!(replayed["state"], "succeeded", "{replayed}");
    assert_eq!(replayed["records"].as_array().unwrap().len(), 3);
    let again = acme.api.post(&format!("/v1/tenants/acme/jobs/{}/replay", first["id"]), &json!({})).await.unwrap();
    assert_eq!((again.status.as_u16(), again.body["code"].as_str()), (409, Some("not-failed")));

    let bulk = acme.api.post("/v1/tenants/acme/jobs/replay", &json!({})).await.unwrap().ok().unwrap();
    assert_eq!(bulk["replayed"], 1);
    assert_eq!(acme.finished(&json!({"job_id": second["id"]})).await["state"], "succeeded");
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn platform_admins_set_a_tenants_limits_and_only_that_tenant_is_held_to_them() {
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    let globex = tenant(&service, "globex", "lead-event", &org).await;
    let by_tenant = acme.api.put("/v1/tenants/acme/limits", &json!({"staged_records": 20})).await.unwrap();
    assert_eq!(by_tenant.status, 403, "tenants do not set their own limits");
    for (bad, why) in [(json!({"staged_records": 30}), "at most 25"), (json!({"cpu_seconds": 1}), "cpu_seconds")] {
        let refused = service.admin.put("/v1/tenants/acme/limits", &bad).await.unwrap();
        assert_eq!((refused.status.as_u16(), refused.body["code"].as_str()), (422, Some("bad-limits")));
        assert!(refused.body["message"].as_str().unwrap().contains(why), "{}", refused.body);
    }
    let set = service.admin.put("/v1/tenants/acme/limits", &json!({"staged_records": 1})).await.unwrap().ok().unwrap();
    assert_eq!((set["staged_records"].as_u64(), set["cpu_ms"].as_u64()), (Some(1), Some(500)), "{set}");
    assert_eq!(acme.get("/limits").await["staged_records"], 1);

    let held = acme.finished(&acme.send_sample("lead-event", "new-lead").await).await;
    assert_eq!(held["state"], "failed", "{held}");
    assert!(held["error"].as_str().unwrap().contains("staged"), "names the limit: {held}");
    let free = globex.finished(&globex.send_sample("lead-event", "new-lead").await).await;
    assert_eq!(free["state"], "succeeded", "another tenant keeps the defaults: {free}");

    service.admin.put("/v1/tenants/acme/limits", &json!({})).await.unwrap().ok().unwrap();
    assert_eq!(acme.get("/limits").await["staged_records"], 25);
    service.running.shutdown().await.unwrap();
}

/// Platform staff suspend a tenant: its deliveries are still accepted and kept, none of its jobs
/// runs (while another tenant's newer ones do), and resuming runs them.
async fn suspension_pauses_a_tenant_and_loses_nothing(service: Service) {
    let org = emulator().await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    let other = tenant(&service, "other", "lead-event", &org).await;

    let own = acme.api.post("/v1/tenants/acme/suspend", &json!({"reason": "mine"})).await.unwrap();
    assert_eq!(own.status, 403, "a tenant owner cannot suspend or resume: {}", own.body);
    let vague = service.admin.post("/v1/tenants/acme/suspend", &json!({"reason": "  "})).await.unwrap();
    assert_eq!((vague.status.as_u16(), vague.body["code"].as_str()), (422, Some("bad-reason")));
    let suspended =
        service.admin.post("/v1/tenants/acme/suspend", &json!({"reason": "Invoice overdue"})).await.unwrap();
    let suspended = suspended.ok().unwrap();
    assert_eq!(suspended["suspended_reason"], "Invoice overdue");
    assert!(suspended["suspended_at"].is_string(), "{suspended}");
    assert_eq!(acme.get("").await["suspended_reason"], "Invoice overdue", "its members see why");

    // acme's booking is older, so a worker would claim it first were it not suspended.
    let waiting = acme.send(&booking_with_id("suspended-1")).await;
    let done = other.finished(&other.send(&booking_with_id("running-1")).await).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let job = waiting["job_id"].as_i64().unwrap();
    assert_eq!(acme.get(&format!("/jobs/{job}")).await["state"], "pending", "nothing of acme's ran");
    let log = acme.get("/security-events").await;
    assert!(log.to_string().contains("tenant-suspended"), "{log}");
    // Nor does a preview run the plugin against the org.
    use portico_host::service::ops::mappings::{PreviewBooking, preview};
    let operator = portico_host::service::ops::Principal::operator();
    let mapping = portico_host::service::ops::mapping_spec::Mapping::default();
    let refused = preview(service.state(), &operator, "acme", &mapping, PreviewBooking::Sample).await.unwrap_err();
    assert_eq!((refused.status.as_u16(), refused.code), (409, "tenant-suspended"), "{}", refused.message);

    let resumed = service.admin.post("/v1/tenants/acme/resume", &json!({})).await.unwrap().ok().unwrap();
    assert!(resumed["suspended_at"].is_null(), "{resumed}");
    assert_eq!(acme.finished(&waiting).await["state"], "succeeded");
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_suspended_tenant_keeps_its_bookings_and_runs_them_when_resumed() {
    suspension_pauses_a_tenant_and_loses_nothing(sqlite_service(|_| {}).await).await;
    if let Some((url, schema)) = postgres_url().await {
        suspension_pauses_a_tenant_and_loses_nothing(start(config(&url), &KeyRing::generate("t1")).await).await;
        drop_schema(&schema).await;
    }
}
