//! Durability: transient failures retried with backoff, permanent ones failed at once, a dead
//! worker's job re-run without duplicate records, per-tenant fairness, and two replicas sharing
//! one PostgreSQL queue without double processing.

use super::*;
use portico_host::runtime::Call;
use portico_host::salesforce::{Auth, Connection, SalesforceClient, Secret};
use portico_host::store::JobState;
use portico_model::Booking;
use std::sync::Arc;

#[tokio::test]
async fn transient_salesforce_failures_are_retried_until_they_pass() {
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    org.org.with(|s| s.faults.unavailable = 2);
    let job = acme.finished(&acme.send_sample("lead-event", "new-lead").await).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert!(job["attempts"].as_i64().unwrap() >= 2, "retried: {job}");
    assert_eq!(org.org.records("Event").iter().filter(|e| e["Booking_Id__c"] == "bk_1001").count(), 1);
}

#[tokio::test]
async fn a_job_that_keeps_failing_transiently_gives_up_with_the_reason() {
    let service = sqlite_service(|c| c.workers.max_attempts = 2).await;
    let org = emulator().await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    org.org.with(|s| s.faults.request_limit_after = Some(0));
    // REQUEST_LIMIT_EXCEEDED waits minutes between attempts; make the test's clock irrelevant
    // by checking the state after the first attempt instead.
    let accepted = acme.send_sample("lead-event", "new-lead").await;
    let id = accepted["job_id"].as_i64().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let job = loop {
        let job = acme.get(&format!("/jobs/{id}")).await;
        if job["attempts"] == 1 && job["state"] == "pending" {
            break job;
        }
        assert!(tokio::time::Instant::now() < deadline, "{job}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(job["error"].as_str().unwrap().contains("REQUEST_LIMIT_EXCEEDED"), "{job}");
    let at = |key: &str| portico_model::DateTime::parse_rfc3339(job[key].as_str().unwrap()).unwrap();
    let wait = (at("run_after").seconds - at("updated_at").seconds) * 1000;
    assert!(wait >= 5 * 60 * 1000, "the org's request limit is honoured: retry in {wait} ms");

    org.org.with(|s| {
        s.faults.request_limit_after = None;
        s.faults.unavailable = 1000;
    });
    let acme2 = tenant(&service, "acme2", "lead-event", &org).await;
    let job = acme2.finished(&acme2.send_sample("lead-event", "new-lead").await).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["attempts"], 2);
    assert!(job["error"].as_str().unwrap().contains("gave up after 2 attempts"), "{job}");
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_dead_workers_job_is_run_again_without_duplicating_records() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("portico.db").display());
    let keys = KeyRing::generate("t1");
    let org = emulator().await;
    // Replica 1 only ingests (no workers).
    let mut ingest_only = config(&db);
    ingest_only.workers.concurrency = 0;
    let first = start(ingest_only, &keys).await;
    let acme = tenant(&first, "acme", "lead-event", &org).await;
    let accepted = acme.send_sample("lead-event", "new-lead").await;
    let job_id = accepted["job_id"].as_i64().unwrap();

    // A worker claims the job with a short lease, commits the records, and dies before it can
    // record success.
    let store = &first.state().inner.store;
    let job = store.claim("doomed-worker", portico_host::service::now_ms(), 200).await.unwrap().unwrap();
    assert_eq!(job.id, job_id);
    let allow = vec!["127.0.0.1".to_owned()];
    let auth = Auth::ClientCredentials { client_id: CLIENT_ID.into(), client_secret: Secret::new(CLIENT_SECRET) };
    let client =
        Arc::new(SalesforceClient::new(Connection::new(&org.base_url, &org.base_url, auth, &allow).unwrap()).unwrap());
    let rt = &first.state().inner.runtime;
    let plugin = rt.load(portico_plugins::example("lead-event").unwrap().wasm).unwrap();
    let call = Call {
        booking: Booking::from_json(&job.payload).unwrap(),
        grant: Arc::new(plugin.manifest.objects.clone()),
        config: Arc::default(),
        limits: rt.default_limits(),
        crm: client.clone(),
    };
    client.commit(&rt.invoke(&plugin, call).await.result.unwrap()).await.unwrap();
    let (events, leads) = (org.org.records("Event").len(), org.org.records("Lead").len());
    first.running.abort();

    // Replica 2 starts on the same database and picks the job up when the lease ends.
    let second = start(config(&db), &keys).await;
    let job = second.admin.wait_for_job("acme", job_id, Duration::from_secs(30)).await.unwrap();
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 2);
    assert_eq!(org.org.records("Event").len(), events, "the upsert updated the Event");
    assert_eq!(org.org.records("Lead").len(), leads, "the Lead was found, not created again");
    let event = job["records"].as_array().unwrap().iter().find(|r| r["sobject"] == "Event").unwrap().clone();
    assert_eq!(event["created"], false);
    second.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn one_tenants_backlog_does_not_starve_another() {
    let service = sqlite_service(|c| {
        c.workers.concurrency = 4;
        c.workers.per_tenant = 2;
    })
    .await;
    let slow_org = emulator().await;
    slow_org.org.with(|s| s.faults.latency = Duration::from_millis(300));
    let fast_org = emulator().await;
    let slow = tenant(&service, "slow", "lead-event", &slow_org).await;
    let fast = tenant(&service, "fast", "lead-event", &fast_org).await;
    let mut backlog = Vec::new();
    for i in 0..12 {
        let body = booking_with_id(&format!("bk_slow_{i}"));
        backlog.push(slow.api.send_booking("slow", &slow.secret, &body).await.unwrap().ok().unwrap());
    }
    let job = fast.finished(&fast.send_sample("lead-event", "new-lead").await).await;
    assert_eq!(job["state"], "succeeded");
    let mut last_slow = String::new();
    for accepted in &backlog {
        let done = slow.finished(accepted).await;
        assert_eq!(done["state"], "succeeded");
        last_slow = last_slow.max(done["updated_at"].as_str().unwrap().to_owned());
    }
    // Starved, the other tenant's job would have waited for the whole backlog; with shares it
    // finished first, however fast or slow this machine is. (RFC 3339 UTC sorts as time.)
    assert!(job["updated_at"].as_str().unwrap() < last_slow.as_str(), "{} vs {last_slow}", job["updated_at"]);
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn two_replicas_share_one_postgresql_queue_without_double_processing() {
    let Some((url, schema)) = postgres_url().await else { return };
    let keys = KeyRing::generate("pg1");
    let a = start(config(&url), &keys).await;
    let b = start(config(&url), &keys).await;
    let org = emulator().await;
    let acme = tenant(&a, "acme", "lead-event", &org).await;
    let on_b = &b.admin;
    let events_before = org.org.records("Event").len();
    let mut jobs = Vec::new();
    for i in 0..40 {
        let api = if i % 2 == 0 { &acme.api } else { on_b };
        let body = booking_with_id(&format!("bk_pg_{i}"));
        jobs.push(api.send_booking("acme", &acme.secret, &body).await.unwrap().ok().unwrap());
    }
    for accepted in &jobs {
        let job = acme.finished(accepted).await;
        assert_eq!((job["state"].as_str(), job["attempts"].as_i64()), (Some("succeeded"), Some(1)), "{job}");
    }
    assert_eq!(org.org.records("Event").len(), events_before + 40);
    // Commits of bookings running at once may share a Composite Graph request: at most one
    // commit request per booking, and each Event exactly once (above).
    let commits = org.org.calls("composite") + org.org.calls("graph");
    assert!((1..=40).contains(&commits), "each booking committed exactly once: {commits} commit requests");
    let invocations = |m: String| {
        m.lines()
            .filter(|l| l.starts_with("portico_plugin_invocations_total"))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum::<u64>()
    };
    let ma = reqwest::get(format!("{}/metrics", a.url)).await.unwrap().text().await.unwrap();
    let mb = reqwest::get(format!("{}/metrics", b.url)).await.unwrap().text().await.unwrap();
    assert_eq!(invocations(ma) + invocations(mb), 40, "both replicas together ran each job once");
    a.running.shutdown().await.unwrap();
    b.running.shutdown().await.unwrap();
    drop_schema(&schema).await;
}

#[tokio::test]
async fn shutdown_drains_the_jobs_in_flight() {
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    org.org.with(|s| s.faults.latency = Duration::from_millis(300));
    let accepted = acme.send_sample("lead-event", "new-lead").await;
    let id = accepted["job_id"].as_i64().unwrap();
    // Wait until a worker holds it, then stop the service while Salesforce is still answering.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while acme.get(&format!("/jobs/{id}")).await["state"] != "running" {
        assert!(tokio::time::Instant::now() < deadline, "the job was never claimed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let store = service.state().inner.store.clone();
    service.running.shutdown().await.unwrap();
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(job.state(), portico_host::store::JobState::Succeeded, "drained, not abandoned: {job:?}");
    assert_eq!(org.org.records("Event").iter().filter(|e| e["Booking_Id__c"] == "bk_1001").count(), 1);
}

/// A service whose leases last one second, and its tenant `acme` (lead-event) on an org that
/// answers each request after `latency_ms`.
async fn one_second_lease_slow_org(latency_ms: u64) -> (Service, Emulator, Tenant) {
    let service = sqlite_service(|c| c.workers.lease_seconds = 1).await;
    let org = emulator().await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    org.org.with(|s| s.faults.latency = Duration::from_millis(latency_ms));
    (service, org, acme)
}

#[tokio::test]
async fn a_job_longer_than_its_lease_keeps_it_and_runs_once() {
    // A one-second lease and a slow org: the job takes several leases' time. Its worker renews
    // the lease, so no worker (this replica's included) claims it a second time meanwhile.
    let (service, org, acme) = one_second_lease_slow_org(500).await;
    let job = acme.finished(&acme.send_sample("lead-event", "new-lead").await).await;
    // Each call to the org waits 500 ms there, so the run took at least calls × 500 ms: more
    // than its one-second lease, whatever the speed of this machine.
    let calls: u64 = org.org.with(|s| s.calls.values().sum());
    assert!(calls >= 3, "the run outlasted its lease: {calls} calls of 500 ms");
    assert_eq!((job["state"].as_str(), job["attempts"].as_i64()), (Some("succeeded"), Some(1)), "{job}");
    assert_eq!(org.org.records("Event").iter().filter(|e| e["Booking_Id__c"] == "bk_1001").count(), 1);
    service.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_run_whose_lease_was_taken_stops_and_commits_nothing() {
    // The job's claim is taken from its worker while the plugin waits on a slow org (as when
    // the replica stalled past its lease and another worker claimed the job). The first run's
    // next heartbeat finds the lease gone and stops it before it commits; only the run that
    // now holds the job commits, once.
    let (service, org, acme) = one_second_lease_slow_org(400).await;
    let accepted = acme.send_sample("lead-event", "new-lead").await;
    let id = accepted["job_id"].as_i64().unwrap();
    let store = &service.state().inner.store;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let first = loop {
        let job = store.job(id).await.unwrap().unwrap();
        if job.state() == JobState::Running {
            break job.lease_owner.expect("a running job has an owner");
        }
        assert!(std::time::Instant::now() < deadline, "the job was never claimed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(store.release(id, &first, portico_host::service::now_ms()).await.unwrap());
    let job = acme.finished(&accepted).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    // Shutting down drains every run in flight: a first run that kept going would have reached
    // Salesforce by the time it returns. No sleep, no guess at how long that takes.
    service.running.shutdown().await.unwrap();
    let commits: u64 = org.org.with(|s| {
        ["composite", "graph", "create", "upsert"].iter().map(|k| s.calls.get(*k).copied().unwrap_or(0)).sum()
    });
    assert_eq!(commits, 1, "only the run holding the job committed: {:?}", org.org.with(|s| s.calls.clone()));
    assert_eq!(org.org.records("Event").iter().filter(|e| e["Booking_Id__c"] == "bk_1001").count(), 1);
}
