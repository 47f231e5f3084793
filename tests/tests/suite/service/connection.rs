//! Connecting a tenant's org through the API: client credentials, JWT bearer, the web-server
//! flow with PKCE through the service's own callback, and the preflight.

use super::*;
use portico_emulator::Profile;
use serde_json::json;

#[tokio::test]
async fn every_oauth_flow_connects_through_the_api_and_the_preflight_names_what_is_missing() {
    // Preflights spend Salesforce calls: at most one a minute per tenant, unless told otherwise.
    let limited = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let acme = tenant(&limited, "acme", "lead-event", &org).await;
    acme.api.post("/v1/tenants/acme/connection/preflight", &json!({})).await.unwrap().ok().unwrap();
    let again = acme.api.post("/v1/tenants/acme/connection/preflight", &json!({})).await.unwrap();
    assert_eq!((again.status.as_u16(), again.body["code"].as_str()), (429, Some("too-soon")), "{}", again.body);
    limited.running.shutdown().await.unwrap();

    let service = sqlite_service(|c| c.auth.preflight_interval_seconds = 0).await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    let preflight = acme.api.post("/v1/tenants/acme/connection/preflight", &json!({})).await.unwrap().ok().unwrap();
    assert_eq!((preflight["ready"].as_bool(), preflight["digest"].as_str()), (Some(true), Some(acme.digest.as_str())));

    // JWT bearer for the integration user.
    let bad_key = json!({"kind": "jwt-bearer", "instance_url": org.base_url, "login_url": org.base_url,
        "client_id": CLIENT_ID, "username": portico_emulator::credentials::USERNAME, "private_key": "not a key"});
    let refused = acme.api.put("/v1/tenants/acme/connection", &bad_key).await.unwrap();
    assert_eq!((refused.status.as_u16(), refused.body["code"].as_str()), (422, Some("bad-private-key")));
    let mut jwt = bad_key.clone();
    jwt["private_key"] = json!(portico_emulator::auth::TEST_CONSUMER_PRIVATE_KEY);
    let shown = acme.api.put("/v1/tenants/acme/connection", &jwt).await.unwrap().ok().unwrap();
    assert_eq!(shown["kind"], "jwt-bearer");
    assert!(!shown.to_string().contains("PRIVATE KEY"));
    assert_eq!(acme.finished(&acme.send_sample("lead-event", "new-lead").await).await["state"], "succeeded");

    // The connected user lacks a field the plugin writes: the preflight says exactly that.
    org.org.with(|s| s.profile = Profile::default().read_only("Event", "Location"));
    let preflight = acme.api.post("/v1/tenants/acme/connection/preflight", &json!({})).await.unwrap().ok().unwrap();
    assert_eq!(preflight["ready"], false);
    assert!(preflight["missing"].to_string().contains("Event.Location"), "{preflight}");
    org.org.with(|s| s.profile = Profile::default());

    // The web-server flow: start, the user's browser approves at Salesforce, which redirects to
    // the service's callback; the service exchanges the code with the PKCE verifier.
    let started = acme
        .api
        .post("/v1/tenants/acme/connection/authorize", &json!({"login_url": org.base_url, "client_id": CLIENT_ID}))
        .await
        .unwrap()
        .ok()
        .unwrap();
    let authorize = started["authorize_url"].as_str().unwrap();
    assert!(authorize.contains("code_challenge_method=S256"), "{authorize}");
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let location = browser.get(authorize).send().await.unwrap().headers()["location"].to_str().unwrap().to_owned();
    let callback = url::Url::parse(&location).unwrap();
    assert_eq!(callback.path(), "/v1/oauth/callback");
    let on_service = format!("{}/v1/oauth/callback?{}", service.url, callback.query().unwrap());
    let forged = format!("{}/v1/oauth/callback?code=x&state=forged", service.url);
    assert_eq!(reqwest::get(&forged).await.unwrap().status(), 400);
    let connected: Value = reqwest::get(&on_service).await.unwrap().json().await.unwrap();
    assert_eq!(connected["kind"], "web-server", "{connected}");
    assert_eq!(reqwest::get(&on_service).await.unwrap().status(), 400, "a state works once");
    let job = acme.finished(&acme.send_sample("lead-event", "existing-contact").await).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let row = service.state().inner.store.connection("acme").await.unwrap().unwrap();
    assert_eq!(row.kind, "web-server");

    // The org rotates refresh tokens: each refresh revokes the token used. The one Salesforce
    // hands back is stored, so the connection keeps working after the next session expiry.
    let stored_token = |row: &portico_host::store::ConnectionRow| {
        let secrets: Value =
            serde_json::from_str(&service.state().inner.keys.open("acme", &row.secrets).unwrap()).unwrap();
        secrets["refresh_token"].as_str().unwrap().to_owned()
    };
    let first_token = stored_token(&row);
    org.org.with(|s| {
        s.tokens.rotate_refresh_tokens = true;
        s.tokens.expire_all();
    });
    let job = acme.finished(&acme.send(&booking_with_id("bk_rotation_1")).await).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let rotated = service.state().inner.store.connection("acme").await.unwrap().unwrap();
    let second_token = stored_token(&rotated);
    assert_ne!(second_token, first_token, "the rotated refresh token was stored");
    assert!(
        org.org.with(|s| s.tokens.refresh_token_valid(&second_token) && !s.tokens.refresh_token_valid(&first_token))
    );
    org.org.with(|s| s.tokens.expire_all());
    let job = acme.finished(&acme.send(&booking_with_id("bk_rotation_2")).await).await;
    assert_eq!(job["state"], "succeeded", "after the next expiry too: {job}");
    service.running.shutdown().await.unwrap();
}
