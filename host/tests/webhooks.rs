//! The webhook store on SQLite and PostgreSQL: endpoints per tenant, one delivery per event and
//! subscribed endpoint, claims with leases, retries, failures, listing and replay.

mod common;

use common::{T0, drop_schema, postgres, sqlite};
use portico_host::store::{Attempt, DeliveryReplay, DeliveryState, Store, WebhookEndpoint};

async fn tenants(store: &Store) {
    for t in ["acme", "other"] {
        assert!(store.create_tenant(t, t, "sealed", None, None, T0).await.unwrap());
    }
}

async fn endpoint(store: &Store, tenant: &str, id: &str, events: &[&str]) -> WebhookEndpoint {
    let endpoint = WebhookEndpoint {
        id: id.to_owned(),
        tenant_id: tenant.to_owned(),
        url: format!("https://hooks.example.com/{id}"),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        secret: "k1:sealed".to_owned(),
        auth: None,
        created_at: T0,
        disabled_at: None,
    };
    store.insert_webhook_endpoint(&endpoint).await.unwrap();
    endpoint
}

async fn endpoints_belong_to_their_tenant(store: Store) {
    tenants(&store).await;
    let mine = endpoint(&store, "acme", "we_1", &["job.failed"]).await;
    assert_eq!(store.webhook_endpoints("acme").await.unwrap(), vec![mine.clone()]);
    assert!(store.webhook_endpoints("other").await.unwrap().is_empty());
    assert_eq!(store.webhook_endpoint("acme", "we_1").await.unwrap(), Some(mine));
    assert_eq!(store.webhook_endpoint("other", "we_1").await.unwrap(), None, "another tenant's is missing");
    assert!(!store.disable_webhook_endpoint("other", "we_1", T0).await.unwrap());
    assert!(store.disable_webhook_endpoint("acme", "we_1", T0 + 1).await.unwrap());
    assert!(!store.disable_webhook_endpoint("acme", "we_1", T0 + 2).await.unwrap(), "already disabled");
    assert_eq!(store.webhook_endpoint("acme", "we_1").await.unwrap().unwrap().disabled_at, Some(T0 + 1));
}
on_every_backend!(endpoints_belong_to_their_tenant_everywhere, endpoints_belong_to_their_tenant);

async fn an_event_queues_one_delivery_per_subscribed_endpoint(store: Store) {
    tenants(&store).await;
    endpoint(&store, "acme", "we_failed", &["job.failed"]).await;
    endpoint(&store, "acme", "we_both", &["job.succeeded", "job.failed"]).await;
    endpoint(&store, "acme", "we_succeeded", &["job.succeeded"]).await;
    endpoint(&store, "acme", "we_off", &["job.failed"]).await;
    store.disable_webhook_endpoint("acme", "we_off", T0).await.unwrap();
    endpoint(&store, "other", "we_theirs", &["job.failed"]).await;
    // A name that is a part of a subscribed one is not subscribed.
    assert_eq!(store.enqueue_webhook_event("acme", "job", "{}", T0).await.unwrap(), 0);
    assert_eq!(store.enqueue_webhook_event("acme", "job.failed", r#"{"job_id":1}"#, T0).await.unwrap(), 2);
    assert_eq!(store.enqueue_webhook_event("nobody", "job.failed", "{}", T0).await.unwrap(), 0);
    let failed = store.webhook_deliveries("acme", "we_failed", 10).await.unwrap();
    let both = store.webhook_deliveries("acme", "we_both", 10).await.unwrap();
    assert_eq!((failed.len(), both.len()), (1, 1));
    assert!(store.webhook_deliveries("acme", "we_succeeded", 10).await.unwrap().is_empty());
    assert!(store.webhook_deliveries("other", "we_theirs", 10).await.unwrap().is_empty());
    assert!(store.webhook_deliveries("other", "we_failed", 10).await.unwrap().is_empty(), "filtered by tenant");
    let d = &failed[0];
    assert_ne!(d.id, both[0].id);
    assert!(d.id.starts_with("wd_") && d.id.ends_with("-we_failed"), "{}", d.id);
    assert_eq!(
        (d.event.as_str(), d.payload.as_str(), d.state),
        ("job.failed", r#"{"job_id":1}"#, DeliveryState::Pending)
    );
    assert_eq!((d.attempts, d.next_attempt_at, d.created_at, d.finished_at), (0, T0, T0, None));
    assert_eq!(store.webhook_delivery("acme", &d.id).await.unwrap().as_ref(), Some(d));
    assert_eq!(store.webhook_delivery("other", &d.id).await.unwrap(), None);
}
on_every_backend!(
    an_event_queues_one_delivery_per_subscribed_endpoint_everywhere,
    an_event_queues_one_delivery_per_subscribed_endpoint
);

async fn a_claimed_delivery_retries_then_fails_and_replays(store: Store) {
    tenants(&store).await;
    let e = endpoint(&store, "acme", "we_1", &["job.failed"]).await;
    store.enqueue_webhook_event("acme", "job.failed", "{}", T0).await.unwrap();
    assert!(store.claim_webhook_deliveries(T0 - 1, 1_000, 8).await.unwrap().is_empty(), "not due yet");
    let claimed = store.claim_webhook_deliveries(T0, 1_000, 8).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let (d, lease) = (&claimed[0].delivery, claimed[0].delivery.lease_until.unwrap());
    assert_eq!((lease, &claimed[0].endpoint), (T0 + 1_000, &e));
    assert!(store.claim_webhook_deliveries(T0 + 10, 1_000, 8).await.unwrap().is_empty(), "held by its lease");

    let retry = Attempt::Retry { at: T0 + 5_000, status: Some(503), error: "the endpoint answered 503" };
    assert!(!store.record_webhook_attempt(&d.id, lease + 1, retry, T0 + 20).await.unwrap(), "not this claim");
    assert!(store.record_webhook_attempt(&d.id, lease, retry, T0 + 20).await.unwrap());
    assert!(!store.record_webhook_attempt(&d.id, lease, retry, T0 + 21).await.unwrap(), "recorded once");
    let after = store.webhook_delivery("acme", &d.id).await.unwrap().unwrap();
    assert_eq!((after.state, after.attempts, after.next_attempt_at), (DeliveryState::Pending, 1, T0 + 5_000));
    assert_eq!((after.last_status, after.last_error.as_deref()), (Some(503), Some("the endpoint answered 503")));
    assert!(store.claim_webhook_deliveries(T0 + 4_999, 1_000, 8).await.unwrap().is_empty(), "waits its backoff");

    // Its deliverer dies: the lease runs out and another claim takes it, the old claim is void.
    let first = store.claim_webhook_deliveries(T0 + 5_000, 100, 8).await.unwrap().remove(0).delivery;
    let second = store.claim_webhook_deliveries(T0 + 5_101, 1_000, 8).await.unwrap().remove(0).delivery;
    assert_eq!(first.id, second.id);
    let failed = Attempt::Failed { status: None, error: &format!("bad\0byte {}", "x".repeat(10_000)) };
    assert!(!store.record_webhook_attempt(&d.id, first.lease_until.unwrap(), failed, T0 + 5_200).await.unwrap());
    assert!(store.record_webhook_attempt(&d.id, second.lease_until.unwrap(), failed, T0 + 5_200).await.unwrap());
    let done = store.webhook_delivery("acme", &d.id).await.unwrap().unwrap();
    assert_eq!(
        (done.state, done.attempts, done.finished_at, done.lease_until),
        (DeliveryState::Failed, 2, Some(T0 + 5_200), None)
    );
    let error = done.last_error.unwrap();
    assert!(
        error.starts_with("bad\u{FFFD}byte") && error.len() < 4_200 && error.contains("[truncated:"),
        "{}",
        error.len()
    );
    assert!(store.claim_webhook_deliveries(T0 + 99_999, 1_000, 8).await.unwrap().is_empty(), "failed is final");

    assert_eq!(store.replay_webhook_delivery("other", &d.id, T0 + 6_000).await.unwrap(), DeliveryReplay::NotFound);
    assert_eq!(store.replay_webhook_delivery("acme", &d.id, T0 + 6_000).await.unwrap(), DeliveryReplay::Replayed);
    assert_eq!(store.replay_webhook_delivery("acme", &d.id, T0 + 6_000).await.unwrap(), DeliveryReplay::Pending);
    let again = store.claim_webhook_deliveries(T0 + 6_000, 1_000, 8).await.unwrap().remove(0).delivery;
    assert_eq!(again.attempts, 0, "a replay gets the full budget");
    let ok = Attempt::Succeeded { status: 204 };
    assert!(store.record_webhook_attempt(&d.id, again.lease_until.unwrap(), ok, T0 + 6_100).await.unwrap());
    let sent = store.webhook_delivery("acme", &d.id).await.unwrap().unwrap();
    assert_eq!(
        (sent.state, sent.attempts, sent.last_status, sent.finished_at),
        (DeliveryState::Succeeded, 1, Some(204), Some(T0 + 6_100))
    );
    assert_eq!(sent.last_error, None);
}
on_every_backend!(
    a_claimed_delivery_retries_then_fails_and_replays_everywhere,
    a_claimed_delivery_retries_then_fails_and_replays
);

async fn listings_are_newest_first_and_bounded(store: Store) {
    tenants(&store).await;
    endpoint(&store, "acme", "we_1", &["job.succeeded"]).await;
    for n in 0..120 {
        store.enqueue_webhook_event("acme", "job.succeeded", &format!("{{\"n\":{n}}}"), T0 + n).await.unwrap();
    }
    let page = store.webhook_deliveries("acme", "we_1", 5).await.unwrap();
    let ns: Vec<&str> = page.iter().map(|d| d.payload.as_str()).collect();
    assert_eq!(ns, [r#"{"n":119}"#, r#"{"n":118}"#, r#"{"n":117}"#, r#"{"n":116}"#, r#"{"n":115}"#]);
    assert_eq!(store.webhook_deliveries("acme", "we_1", 10_000).await.unwrap().len(), 100, "capped");
    // A batch claim takes the oldest due first.
    let claimed = store.claim_webhook_deliveries(T0 + 1_000, 1_000, 3).await.unwrap();
    let ns: Vec<&str> = claimed.iter().map(|d| d.delivery.payload.as_str()).collect();
    assert_eq!(ns, [r#"{"n":0}"#, r#"{"n":1}"#, r#"{"n":2}"#]);
}
on_every_backend!(listings_are_newest_first_and_bounded_everywhere, listings_are_newest_first_and_bounded);

async fn disabling_an_endpoint_fails_what_it_had_pending(store: Store) {
    tenants(&store).await;
    endpoint(&store, "acme", "we_1", &["job.failed"]).await;
    endpoint(&store, "acme", "we_2", &["job.failed"]).await;
    store.enqueue_webhook_event("acme", "job.failed", "{}", T0).await.unwrap();
    assert!(store.disable_webhook_endpoint("acme", "we_1", T0 + 1).await.unwrap());
    let gone = store.webhook_deliveries("acme", "we_1", 10).await.unwrap().remove(0);
    assert_eq!((gone.state, gone.last_error.as_deref()), (DeliveryState::Failed, Some("the endpoint was disabled")));
    let claimed = store.claim_webhook_deliveries(T0 + 2, 1_000, 8).await.unwrap();
    assert_eq!(claimed.iter().map(|d| d.endpoint.id.as_str()).collect::<Vec<_>>(), ["we_2"]);
    let replay = store.replay_webhook_delivery("acme", &gone.id, T0 + 3).await.unwrap();
    assert_eq!(replay, DeliveryReplay::EndpointDisabled);
    assert_eq!(store.enqueue_webhook_event("acme", "job.failed", "{}", T0 + 4).await.unwrap(), 1, "only we_2");
    // Retention deletes finished deliveries past their time, never pending ones.
    assert_eq!(store.purge_webhook_deliveries(T0 + 1).await.unwrap(), 0, "finished at T0 + 1, not before");
    assert_eq!(store.purge_webhook_deliveries(T0 + 100).await.unwrap(), 1);
    assert!(store.webhook_deliveries("acme", "we_1", 10).await.unwrap().is_empty());
    assert_eq!(store.webhook_deliveries("acme", "we_2", 10).await.unwrap().len(), 2, "pending ones stay");
}
on_every_backend!(
    disabling_an_endpoint_fails_what_it_had_pending_everywhere,
    disabling_an_endpoint_fails_what_it_had_pending
);

#[tokio::test]
async fn two_replicas_on_one_postgres_never_claim_the_same_delivery() {
    let Some((first, url, schema)) = postgres().await else { return };
    let second = Store::open(&url).await.unwrap();
    tenants(&first).await;
    endpoint(&first, "acme", "we_1", &["job.failed"]).await;
    for n in 0..60 {
        first.enqueue_webhook_event("acme", "job.failed", &format!("{{\"n\":{n}}}"), T0).await.unwrap();
    }
    let mut deliverers = Vec::new();
    for w in 0..8 {
        let store = if w % 2 == 0 { first.clone() } else { second.clone() };
        deliverers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = store.claim_webhook_deliveries(T0 + 1, 60_000, 3).await.unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|d| d.delivery.id));
            }
        }));
    }
    let mut all = Vec::new();
    for d in deliverers {
        all.extend(d.await.unwrap());
    }
    all.sort();
    let claimed = all.len();
    all.dedup();
    assert_eq!((claimed, all.len()), (60, 60), "every delivery claimed exactly once");
    drop_schema(&schema).await;
}
