//! Outbound webhooks end to end: a failed job's `job.failed` reaches a local receiver signed in
//! Portico's own scheme, a delivery queued before a stop is sent by the next service on the same
//! database, and an endpoint on a refused address fails without a connection being made.

use super::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::serve::ListenerExt as _;
use portico_host::service::signing::verify_portico;
use portico_host::service::webhooks::{self, EndpointAuth, Event, Guard, NewEndpoint, Registered};
use portico_host::store::{DeliveryState, WebhookDelivery};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

/// What a receiver got: each request's headers and body, and how many connections it accepted.
#[derive(Clone, Default)]
struct Got {
    requests: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    connections: Arc<AtomicUsize>,
    arrived: Arc<tokio::sync::Notify>,
}

/// A receiver on 127.0.0.1 answering `200` to `POST /hook`.
async fn receiver() -> (SocketAddr, Got) {
    let got = Got::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(|State(got): State<Got>, headers: HeaderMap, body: Bytes| async move {
                got.requests.lock().unwrap().push((headers, body));
                got.arrived.notify_one();
                StatusCode::OK
            }),
        )
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = got.connections.clone();
    let listener = listener.tap_io(move |_| {
        connections.fetch_add(1, Ordering::SeqCst);
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, got)
}

/// Settings that let deliveries reach the local receiver.
fn allow_loopback(config: &mut ServeConfig) {
    config.webhooks.allow_http = true;
    config.webhooks.allowed_networks = vec!["127.0.0.0/8".to_owned()];
    config.webhooks.poll_ms = 20;
}

/// Registers an endpoint for `tenant` the way the API will (the guard used at registration
/// allows loopback; the service's own guard decides at delivery).
async fn register(service: &Service, tenant: &str, url: &str, auth: EndpointAuth) -> Registered {
    let inner = &service.state().inner;
    let guard = Guard::new(true, vec!["127.0.0.0/8".parse().unwrap()]);
    let new = NewEndpoint { url: url.to_owned(), events: vec![Event::JobFailed], auth };
    webhooks::register(&inner.store, &inner.keys, &guard, tenant, new, service::now_ms()).await.unwrap()
}

/// An endpoint registered through the API.
struct Hook {
    id: String,
    secret: String,
}

/// Registers an endpoint for `job.failed` through the API, as a tenant admin does.
async fn register_via_api(api: &PorticoClient, tenant: &str, url: &str, auth: Value) -> Hook {
    let body = json!({"url": url, "events": ["job.failed"], "auth": auth});
    let created = api.post(&format!("/v1/tenants/{tenant}/webhooks"), &body).await.unwrap().ok().unwrap();
    Hook {
        id: created["endpoint"]["id"].as_str().unwrap().to_owned(),
        secret: created["secret"].as_str().unwrap().to_owned(),
    }
}

/// Polls until `done` holds for the endpoint's newest delivery.
async fn delivery(
    service: &Service,
    tenant: &str,
    endpoint: &str,
    done: impl Fn(&WebhookDelivery) -> bool,
) -> WebhookDelivery {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    // The store has no signal of its own: it is read on a short tick until the deadline.
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        tick.tick().await;
        let newest = service.state().inner.store.webhook_deliveries(tenant, endpoint, 1).await.unwrap().pop();
        if let Some(d) = newest.filter(|d| done(d)) {
            return d;
        }
        assert!(tokio::time::Instant::now() < deadline, "no such delivery of {endpoint} in time");
    }
}

/// Waits until the receiver has `n` requests.
async fn requests(got: &Got, n: usize) -> Vec<(HeaderMap, Bytes)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let requests = got.requests.lock().unwrap().clone();
        if requests.len() >= n {
            return requests;
        }
        // Woken by the next request (one that came meanwhile left a permit behind).
        let seen = requests.len();
        tokio::time::timeout_at(deadline, got.arrived.notified())
            .await
            .unwrap_or_else(|_| panic!("the receiver got {seen} of {n} requests"));
    }
}

async fn a_failed_job_is_delivered_signed(service: Service) {
    let (addr, got) = receiver().await;
    let org = emulator().await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    let auth = json!({"type": "header", "name": "X-Api-Key", "value": "rk-123"});
    let hook = register_via_api(&acme.api, "acme", &format!("http://{addr}/hook"), auth).await;
    let listed = acme.get("/webhooks").await;
    assert_eq!((&listed[0]["id"], &listed[0]["has_auth"]), (&json!(hook.id), &json!(true)), "{listed}");
    assert!(!listed.to_string().contains("rk-123") && !listed.to_string().contains(&hook.secret), "never shown again");
    let job = acme.finished(&acme.send_sample("lead-event", "no-attendees").await).await;
    assert_eq!(job["state"], "failed", "{job}");

    let (headers, body) = requests(&got, 1).await.remove(0);
    let now_s = service::now_ms() / 1000;
    let verified = verify_portico(&headers, &body, &hook.secret, now_s, 300).expect("the documented scheme verifies");
    assert_eq!(headers["x-api-key"], "rk-123", "the endpoint's auth header is sent");
    assert_eq!(headers["content-type"], "application/json");
    let envelope: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(verified.nonce.as_deref(), envelope["id"].as_str(), "the nonce is the delivery id");
    assert_eq!(envelope["type"], "job.failed");
    assert_eq!(envelope["tenant"], "acme");
    assert!(portico_model::DateTime::parse_rfc3339(envelope["created_at"].as_str().unwrap()).is_ok(), "{envelope}");
    let data = &envelope["data"];
    assert_eq!(
        (&data["job_id"], &data["booking_id"], &data["state"]),
        (&job["id"], &job["booking_id"], &json!("failed"))
    );
    assert_eq!(data["error"], job["error"], "{envelope}");

    let sent = delivery(&service, "acme", &hook.id, |d| d.state != DeliveryState::Pending).await;
    assert_eq!((sent.state, sent.attempts, sent.last_status), (DeliveryState::Succeeded, 1, Some(200)));
    assert_eq!(sent.id, envelope["id"].as_str().unwrap());
    let listed = acme.get(&format!("/webhooks/{}/deliveries", hook.id)).await;
    assert_eq!((&listed[0]["state"], &listed[0]["last_status"]), (&json!("succeeded"), &json!(200)), "{listed}");
    // Replayed through the API, it is sent again with the same id.
    let replayed =
        acme.api.post(&format!("/v1/tenants/acme/webhook-deliveries/{}/replay", sent.id), &json!({})).await.unwrap();
    assert_eq!(replayed.status, 200, "{}", replayed.body);
    let (_, again) = requests(&got, 2).await.remove(1);
    assert_eq!(serde_json::from_slice::<Value>(&again).unwrap()["id"], envelope["id"]);
    // Only the subscribed event is sent: a success emits nothing to this endpoint.
    let ok = acme.finished(&acme.send_sample("lead-event", "new-lead").await).await;
    assert_eq!(ok["state"], "succeeded");
    assert_eq!(service.state().inner.store.webhook_deliveries("acme", &hook.id, 10).await.unwrap().len(), 1);
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failed_job_is_delivered_signed_on_sqlite() {
    a_failed_job_is_delivered_signed(sqlite_service(allow_loopback).await).await;
}

#[tokio::test]
async fn a_failed_job_is_delivered_signed_on_postgres() {
    let Some((url, schema)) = postgres_url().await else { return };
    let mut config = config(&url);
    allow_loopback(&mut config);
    a_failed_job_is_delivered_signed(start(config, &KeyRing::generate("pg1")).await).await;
    drop_schema(&schema).await;
}

#[tokio::test]
async fn a_delivery_queued_before_a_stop_is_sent_by_the_next_service_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_delivery_queued_before_a_stop_is_sent_by_the_next_service(&format!(
        "sqlite://{}",
        dir.path().join("portico.db").display()
    ))
    .await;
}

#[tokio::test]
async fn a_delivery_queued_before_a_stop_is_sent_by_the_next_service_on_postgres() {
    let Some((url, schema)) = postgres_url().await else { return };
    a_delivery_queued_before_a_stop_is_sent_by_the_next_service(&url).await;
    drop_schema(&schema).await;
}

async fn a_delivery_queued_before_a_stop_is_sent_by_the_next_service(db: &str) {
    let (addr, got) = receiver().await;
    let db = db.to_owned();
    let keys = KeyRing::generate("t1");
    // The first service queues the event but sends nothing (its deliverer is off).
    let mut quiet = config(&db);
    allow_loopback(&mut quiet);
    quiet.webhooks.concurrency = 0;
    let first = start(quiet, &keys).await;
    let org = emulator().await;
    let acme = tenant(&first, "acme", "lead-event", &org).await;
    let hook = register_via_api(&acme.api, "acme", &format!("http://{addr}/hook"), Value::Null).await;
    let job = acme.finished(&acme.send_sample("lead-event", "no-attendees").await).await;
    assert_eq!(job["state"], "failed", "{job}");
    let store = &first.state().inner.store;
    assert_eq!(webhooks::emit(store, "acme", Event::JobSucceeded, json!({})).await.unwrap(), 0, "not subscribed");
    let pending = delivery(&first, "acme", &hook.id, |_| true).await;
    assert_eq!(pending.state, DeliveryState::Pending);
    first.running.shutdown().await.unwrap();
    assert!(got.requests.lock().unwrap().is_empty());

    let mut config = config(&db);
    allow_loopback(&mut config);
    let second = start(config, &keys).await;
    let (headers, body) = requests(&got, 1).await.remove(0);
    assert!(verify_portico(&headers, &body, &hook.secret, service::now_ms() / 1000, 300).is_ok());
    let envelope: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((&envelope["id"], &envelope["data"]["job_id"]), (&json!(pending.id), &job["id"]));
    let sent = delivery(&second, "acme", &hook.id, |d| d.state != DeliveryState::Pending).await;
    assert_eq!((sent.state, sent.attempts), (DeliveryState::Succeeded, 1));
    second.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_endpoint_on_a_refused_address_fails_without_connecting() {
    let (addr, got) = receiver().await;
    // http is allowed, loopback is not.
    let service = sqlite_service(|c| {
        c.webhooks.allow_http = true;
        c.webhooks.poll_ms = 20;
    })
    .await;
    service.admin.create_tenant("acme", "Acme").await.unwrap();
    let literal = register(&service, "acme", &format!("http://{addr}/hook"), EndpointAuth::None).await;
    let named = register(&service, "acme", &format!("http://localhost:{}/hook", addr.port()), EndpointAuth::None).await;
    let store = &service.state().inner.store;
    assert_eq!(webhooks::emit(store, "acme", Event::JobFailed, json!({"job_id": 1})).await.unwrap(), 2);

    let refused = delivery(&service, "acme", &literal.endpoint.id, |d| d.state != DeliveryState::Pending).await;
    assert_eq!((refused.state, refused.attempts, refused.last_status), (DeliveryState::Failed, 1, None));
    let error = refused.last_error.unwrap();
    assert!(error.contains("127.0.0.1 is refused (loopback)"), "{error}");
    // A name is checked after DNS, on the addresses the connection would use.
    let refused = delivery(&service, "acme", &named.endpoint.id, |d| d.state != DeliveryState::Pending).await;
    assert_eq!((refused.state, refused.attempts), (DeliveryState::Failed, 1), "refusals are not retried");
    let error = refused.last_error.unwrap();
    assert!(error.contains("every address of `localhost` is refused") && error.contains("(loopback)"), "{error}");
    assert!(got.requests.lock().unwrap().is_empty());
    assert_eq!(got.connections.load(Ordering::SeqCst), 0, "no connection was made");

    // Registration refuses what it can see before DNS.
    let inner = &service.state().inner;
    let guard = Guard::from_config(&inner.config.webhooks).unwrap();
    let new =
        NewEndpoint { url: format!("http://{addr}/hook"), events: vec![Event::JobFailed], auth: EndpointAuth::None };
    let e = webhooks::register(&inner.store, &inner.keys, &guard, "acme", new, 0).await.unwrap_err();
    assert!(e.to_string().contains("127.0.0.1 is refused (loopback)"), "{e}");
    let body = json!({"url": format!("https://{addr}/hook"), "events": ["job.failed"]});
    let refused = service.admin.post("/v1/tenants/acme/webhooks", &body).await.unwrap();
    assert_eq!(
        (refused.status.as_u16(), refused.body["code"].as_str()),
        (422, Some("url-refused")),
        "{}",
        refused.body
    );
    for url in ["https://10.0.0.5/hook", "https://169.254.169.254/latest", "https://[::1]/hook", "ftp://example.com/x"]
    {
        let answer = service
            .admin
            .post("/v1/tenants/acme/webhooks", &json!({"url": url, "events": ["job.failed"]}))
            .await
            .unwrap();
        assert_eq!(answer.status, 422, "{url}: {}", answer.body);
    }
    service.running.shutdown().await.unwrap();
}
