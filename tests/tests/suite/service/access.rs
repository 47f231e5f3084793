//! Tenants and access: roles, isolation (another tenant's things are 404), lockout, secrets
//! encrypted at rest.

use super::*;
use serde_json::json;

#[tokio::test]
async fn no_tenant_can_reach_another_tenants_data() {
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    let globex = tenant(&service, "globex", "lead-event", &org).await;
    let job = acme.finished(&acme.send_sample("lead-event", "new-lead").await).await;
    let job_id = job["id"].as_i64().unwrap();

    // Globex's admin key on every acme endpoint: exactly what a missing tenant looks like.
    let reads = ["", "/jobs", "/audit", "/plugins", "/config", "/connection", "/keys", "/plugins/activations"];
    for path in reads
        .iter()
        .map(|p| format!("/v1/tenants/acme{p}"))
        .chain([format!("/v1/tenants/acme/jobs/{job_id}"), format!("/v1/tenants/acme/plugins/{}", acme.digest)])
    {
        let answer = globex.api.get(&path).await.unwrap();
        assert_eq!(answer.status, 404, "GET {path}: {}", answer.body);
    }
    let writes = [
        ("PUT", "/v1/tenants/acme/config".to_owned()),
        ("POST", format!("/v1/tenants/acme/jobs/{job_id}/replay")),
        ("POST", "/v1/tenants/acme/jobs/replay".to_owned()),
        ("POST", "/v1/tenants/acme/keys".to_owned()),
        ("POST", "/v1/tenants/acme/webhook-secret".to_owned()),
        ("POST", format!("/v1/tenants/acme/plugins/{}/activate", acme.digest)),
        ("POST", "/v1/tenants/acme/plugins/rollback".to_owned()),
        ("POST", "/v1/tenants/acme/connection/preflight".to_owned()),
        ("DELETE", "/v1/tenants/acme/connection".to_owned()),
        ("DELETE", "/v1/tenants/acme/keys/000000000000".to_owned()),
    ];
    for (method, path) in &writes {
        let body = if path.ends_with("/keys") { json!({"role": "viewer"}) } else { json!({}) };
        let answer = globex.api.call(method.parse().unwrap(), path, Some(&body)).await.unwrap();
        assert_eq!(answer.status, 404, "{method} {path}: {}", answer.body);
    }
    let upload = globex.api.upload("acme", portico_plugins::example("lead-event").unwrap().wasm).await.unwrap();
    assert_eq!(upload.status, 404);
    // A job id of acme's under globex's own path is not found either.
    assert_eq!(globex.api.get(&format!("/v1/tenants/globex/jobs/{job_id}")).await.unwrap().status, 404);
    assert_eq!(globex.api.get(&format!("/v1/tenants/globex/audit?job={job_id}")).await.unwrap().body, json!([]));
    // Listing tenants shows only one's own.
    let listed = globex.api.get("/v1/tenants").await.unwrap().ok().unwrap();
    assert_eq!(listed.as_array().unwrap().iter().map(|t| t["id"].clone()).collect::<Vec<_>>(), vec![json!("globex")]);
    // A tenant admin is no platform admin.
    let create = globex.api.post("/v1/tenants", &json!({"id": "evil", "name": "x"})).await.unwrap();
    assert_eq!(create.status, 403);
    // Acme's state is untouched.
    assert_eq!(acme.get("/config").await, json!({}));
    assert_eq!(acme.get("/jobs").await.as_array().unwrap().len(), 1);
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn viewers_read_and_keys_are_shown_once_and_revocable() {
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    let created =
        acme.api.post("/v1/tenants/acme/keys", &json!({"role": "viewer", "label": "dashboard"})).await.unwrap();
    assert_eq!(created.status, 201);
    let viewer = acme.api.with_key(created.body["key"].as_str().unwrap());
    let prefix = created.body["prefix"].as_str().unwrap();
    assert_eq!(viewer.get("/v1/tenants/acme/jobs").await.unwrap().status, 200);
    assert_eq!(viewer.get("/v1/tenants/acme/plugins").await.unwrap().status, 200);
    for (method, path) in [
        ("PUT", "/v1/tenants/acme/config"),
        ("POST", "/v1/tenants/acme/jobs/replay"),
        ("POST", "/v1/tenants/acme/webhook-secret"),
        ("POST", "/v1/tenants/acme/plugins/rollback"),
    ] {
        let answer = viewer.call(method.parse().unwrap(), path, Some(&json!({}))).await.unwrap();
        assert_eq!(answer.status, 403, "{method} {path}");
        assert_eq!(answer.body["code"], "forbidden");
    }
    let listed = acme.get("/keys").await;
    let text = listed.to_string();
    assert!(text.contains(prefix) && !text.contains(created.body["key"].as_str().unwrap()), "secrets never listed");
    let platform_role = acme.api.post("/v1/tenants/acme/keys", &json!({"role": "platform-admin"})).await.unwrap();
    assert_eq!(platform_role.status, 422);

    let revoke =
        acme.api.call(reqwest::Method::DELETE, &format!("/v1/tenants/acme/keys/{prefix}"), None).await.unwrap();
    assert_eq!(revoke.status, 204);
    let after = viewer.get("/v1/tenants/acme/jobs").await.unwrap();
    assert_eq!((after.status.as_u16(), after.body["code"].as_str()), (401, Some("bad-key")));
    let none = PorticoClient::new(&service.url, None).get("/v1/tenants/acme/jobs").await.unwrap();
    assert_eq!((none.status.as_u16(), none.body["code"].as_str()), (401, Some("unauthenticated")));
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn repeated_failed_authentication_locks_the_client_out() {
    let service = sqlite_service(|c| {
        c.auth.max_failures = 3;
        c.auth.lockout_seconds = 60;
    })
    .await;
    let forged = service.admin.with_key("pk_000000000000_forged");
    for _ in 0..2 {
        assert_eq!(forged.get("/v1/tenants").await.unwrap().status, 401);
    }
    // A correct key between guesses resets nothing.
    assert_eq!(service.admin.get("/v1/tenants").await.unwrap().status, 200);
    assert_eq!(forged.get("/v1/tenants").await.unwrap().status, 401);
    let locked = service.admin.get("/v1/tenants").await.unwrap();
    assert_eq!(locked.status, 429, "even a good key waits out the lockout: {}", locked.body);
    assert_eq!(locked.body["code"], "locked-out");
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn secrets_are_encrypted_at_rest_and_never_shown() {
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    let store = &service.state().inner.store;
    let row = store.connection("acme").await.unwrap().unwrap();
    assert!(row.secrets.starts_with("t1:"), "sealed under the master key id: {}", row.secrets);
    assert!(!row.secrets.contains(CLIENT_SECRET));
    let tenant_row = store.tenant("acme").await.unwrap().unwrap();
    assert!(!tenant_row.webhook_secret.contains(&acme.secret));
    let shown = acme.get("/connection").await.to_string();
    assert!(!shown.contains(CLIENT_SECRET) && shown.contains("client-credentials"), "{shown}");
    // The webhook secret rotates: the old one stops working at once.
    let rotated = acme.api.post("/v1/tenants/acme/webhook-secret", &json!({})).await.unwrap().ok().unwrap();
    let booking = std::fs::read(root().join("plugins/lead-event/samples/new-lead.booking.json")).unwrap();
    let old = acme.api.send_booking("acme", &acme.secret, &booking).await.unwrap();
    assert_eq!(old.status, 401);
    let new = acme.api.send_booking("acme", rotated["webhook_secret"].as_str().unwrap(), &booking).await.unwrap();
    assert_eq!(new.status, 202);
    // Connections to hosts outside Salesforce (and the operator's allow-list) are refused.
    let evil = acme
        .api
        .put(
            "/v1/tenants/acme/connection",
            &json!({"kind": "client-credentials", "instance_url": "http://169.254.169.254", "client_id": "x", "client_secret": "y"}),
        )
        .await
        .unwrap();
    assert_eq!((evil.status.as_u16(), evil.body["code"].as_str()), (422, Some("url-refused")));
    service.running.shutdown().await.unwrap();
}
