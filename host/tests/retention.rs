//! Retention and erasure, run against SQLite in memory and against PostgreSQL when
//! `PORTICO_TEST_DATABASE_URL` is set (each PostgreSQL test in a schema of its own, dropped
//! afterwards), as `tests/store.rs` does.

mod common;

use common::{T0, drop_schema, postgres, sqlite};
use portico_host::store::{
    Delivery, Ingested, JobState, NewAudit, Next, PURGED_PAYLOAD, PersonEmail, Purged, Retention, RunReport, Store,
};
use std::time::Duration;

const DAY: i64 = 86_400_000;

/// How a test job ends up.
enum End {
    Succeeded(Vec<NewAudit>),
    Failed,
    Unknown,
    /// Claimed by worker `w`, lease running.
    Running,
    Pending,
}

/// Stores a job and takes it to `end` at `at`. Jobs left claimable (pending, running) must be
/// made after the others: each claim here takes the oldest claimable job.
async fn job(store: &Store, tenant: &str, booking: &str, payload: &str, report: &RunReport, end: End, at: i64) -> i64 {
    let id = store.enqueue(tenant, booking, "created", payload, at).await.unwrap().id;
    if matches!(end, End::Pending) {
        return id;
    }
    assert_eq!(store.claim("w", at, 60_000).await.unwrap().unwrap().id, id);
    let settled = match end {
        End::Succeeded(audit) => store.succeed_with(id, "w", report, &audit, at).await.unwrap(),
        End::Failed => store.settle(id, "w", report, "REQUIRED_FIELD_MISSING: Company", Next::Fail, at).await.unwrap(),
        End::Unknown => store.settle(id, "w", report, "no answer", Next::Unknown, at).await.unwrap(),
        End::Running | End::Pending => true,
    };
    assert!(settled);
    id
}

fn report(digest: &str, logs: &str) -> RunReport {
    RunReport { digest: Some(digest.into()), logs: Some(logs.into()), usage: Some(r#"{"fuel":1}"#.into()) }
}

fn record(sobject: &str, fields: &str) -> NewAudit {
    NewAudit { sobject: sobject.into(), record_id: format!("00{sobject}"), created: true, fields: fields.into() }
}

fn days(n: u64) -> Option<Duration> {
    Some(Duration::from_secs(n * 86_400))
}

async fn old_finished_jobs_lose_their_data_and_others_keep_it(store: Store) {
    let run = report("sha256:v1", r#"["mapped ann@example.com"]"#);
    let payload = r#"{"attendees":[{"email":"ann@example.com"}]}"#;
    let now = T0 + 40 * DAY;
    let cutoff = now - 30 * DAY;
    let old_success = job(&store, "t1", "bk_1", payload, &run, End::Succeeded(vec![]), T0).await;
    let old_failure = job(&store, "t1", "bk_2", payload, &run, End::Failed, cutoff - 1).await;
    let at_cutoff = job(&store, "t1", "bk_3", payload, &run, End::Succeeded(vec![]), cutoff).await;
    let young = job(&store, "t2", "bk_4", payload, &run, End::Failed, now - DAY).await;
    let unknown = job(&store, "t1", "bk_5", payload, &run, End::Unknown, T0).await;
    let running = job(&store, "t1", "bk_6", payload, &run, End::Running, T0 + 39 * DAY).await;
    let pending = job(&store, "t1", "bk_7", payload, &run, End::Pending, T0).await;

    let policy = Retention { jobs_for: days(30), ..Retention::default() };
    let purged = store.purge(&policy, now).await.unwrap();
    assert_eq!(purged, Purged { jobs: 2, ..Purged::default() });
    for id in [old_success, old_failure] {
        let job = store.job(id).await.unwrap().unwrap();
        assert_eq!(
            (job.payload.as_str(), &job.logs, &job.usage, &job.error),
            (PURGED_PAYLOAD, &None, &None, &None),
            "job {id} keeps no personal data"
        );
        assert_eq!(job.digest.as_deref(), Some("sha256:v1"), "the row keeps what ran");
        assert!(job.booking_id.starts_with("bk_") && job.kind == "created");
    }
    assert_eq!(store.job(old_failure).await.unwrap().unwrap().state(), JobState::Failed, "its state stays");
    for id in [at_cutoff, young, unknown, running, pending] {
        let job = store.job(id).await.unwrap().unwrap();
        assert_eq!(job.payload, payload, "job {id} ({:?}) is kept whole", job.state());
    }
    assert!(store.job(young).await.unwrap().unwrap().error.is_some());
    assert!(store.job(unknown).await.unwrap().unwrap().logs.is_some(), "an unknown outcome waits for a person");
    assert_eq!(store.purge(&policy, now).await.unwrap(), Purged::default(), "nothing twice");
    assert_eq!(store.purge(&Retention::default(), now + 365 * DAY).await.unwrap(), Purged::default(), "0 days keeps");
    let later = store.purge(&policy, now + 365 * DAY).await.unwrap();
    assert_eq!(later.jobs, 2, "the job at the cutoff and the young one, in their time; never the unfinished");
    assert_eq!(store.job(pending).await.unwrap().unwrap().payload, payload);
}
on_every_backend!(
    old_finished_jobs_lose_their_data_and_others_keep_it_everywhere,
    old_finished_jobs_lose_their_data_and_others_keep_it
);

async fn audit_rows_keep_ids_and_names_but_lose_values(store: Store) {
    let run = report("sha256:v1", "[]");
    let fields = r#"{"LastName":"Lee","Email":"ann@example.com","NumberOfEmployees":12}"#;
    let old =
        job(&store, "t1", "bk_1", "{}", &run, End::Succeeded(vec![record("Lead", fields), record("Event", "{}")]), T0)
            .await;
    let young =
        job(&store, "t1", "bk_2", "{}", &run, End::Succeeded(vec![record("Lead", fields)]), T0 + 60 * DAY).await;
    let before = store.audit("t1", None, None, 10).await.unwrap();

    let policy = Retention { audit_values_for: days(90), ..Retention::default() };
    let purged = store.purge(&policy, T0 + 90 * DAY + 1).await.unwrap();
    assert_eq!(purged, Purged { audit_rows: 2, ..Purged::default() });
    let after = store.audit("t1", None, None, 10).await.unwrap();
    assert_eq!(after.len(), before.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            (a.id, a.job_id, &a.sobject, &a.record_id, a.committed_at),
            (b.id, b.job_id, &b.sobject, &b.record_id, b.committed_at)
        );
        let expected = match a.job_id {
            id if id == old && a.sobject == "Lead" => r#"{"LastName":null,"Email":null,"NumberOfEmployees":null}"#,
            id if id == old => "{}",
            _ => fields,
        };
        assert_eq!(a.fields, expected, "{} of job {}", a.sobject, a.job_id);
    }
    assert!(after.iter().any(|a| a.job_id == young));
    assert_eq!(store.job(old).await.unwrap().unwrap().logs.as_deref(), Some("[]"), "jobs have their own period");
    assert_eq!(store.purge(&policy, T0 + 90 * DAY + 1).await.unwrap(), Purged::default());
}
on_every_backend!(
    audit_rows_keep_ids_and_names_but_lose_values_everywhere,
    audit_rows_keep_ids_and_names_but_lose_values
);

async fn expired_nonces_and_oauth_states_go(store: Store) {
    let delivery = |nonce: &str, booking: &str, expires: i64| Delivery {
        tenant: "t1".into(),
        nonce: Some((nonce.into(), expires)),
        booking_id: booking.into(),
        alias: None,
        kind: "created".into(),
        payload: "{}".into(),
    };
    let now = T0 + 600_000;
    store.ingest_many(&[delivery("n_old", "bk_1", now - 1), delivery("n_new", "bk_2", now)], T0).await.unwrap();
    store.put_oauth_state("s_old", "t1", "sealed", now).await.unwrap();
    store.put_oauth_state("s_new", "t1", "sealed", now + 1).await.unwrap();

    // No policy at all: expired tokens go whatever it says.
    let purged = store.purge(&Retention::default(), now).await.unwrap();
    assert_eq!(purged, Purged { nonces: 1, oauth_states: 1, ..Purged::default() });
    let retried = [delivery("n_old", "bk_3", now + 60_000), delivery("n_new", "bk_4", now)];
    let again = store.ingest_many(&retried, now).await.unwrap();
    assert!(matches!(again[0], Ingested::Job(_)), "the expired nonce was forgotten: {again:?}");
    assert_eq!(again[1], Ingested::NonceReused, "the live nonce is remembered");
    assert_eq!(store.take_oauth_state("s_old", T0).await.unwrap(), None, "the expired flow is gone");
    assert_eq!(store.take_oauth_state("s_new", T0).await.unwrap(), Some(("t1".into(), "sealed".into())));
}
on_every_backend!(expired_nonces_and_oauth_states_go_everywhere, expired_nonces_and_oauth_states_go);

async fn plugin_versions_nothing_refers_to_are_pruned(store: Store) {
    for tenant in ["t1", "t2"] {
        assert!(store.create_tenant(tenant, tenant, "sealed", None, None, T0).await.unwrap());
    }
    let upload = |tenant: &'static str, n: i64| {
        let store = store.clone();
        async move {
            let digest = format!("sha256:{tenant}v{n}");
            store.insert_plugin_version(tenant, &digest, "p", &n.to_string(), "", &[0; 64], T0 + n).await.unwrap();
        }
    };
    for n in 1..=8 {
        upload("t1", n).await;
    }
    for n in 1..=3 {
        upload("t2", n).await;
    }
    for v in ["sha256:t1v2", "sha256:t1v5", "sha256:t1v6"] {
        store.activate_plugin("t1", v, T0 + 100).await.unwrap();
    }
    // v3 ran a job still kept; v1 ran one since purged.
    let ran_v1 = job(&store, "t1", "bk_1", "{}", &report("sha256:t1v1", "[]"), End::Succeeded(vec![]), T0).await;
    job(&store, "t1", "bk_2", "{}", &report("sha256:t1v3", "[]"), End::Failed, T0 + DAY).await;
    assert_eq!(store.purge_finished_jobs(T0 + 1, T0 + DAY).await.unwrap(), 1);
    assert_eq!(store.job(ran_v1).await.unwrap().unwrap().payload, PURGED_PAYLOAD);

    let off = store.purge(&Retention::default(), T0 + DAY).await.unwrap();
    assert_eq!(off.plugin_versions, 0, "without a count every version is kept");
    let keep_two = Retention { keep_plugin_versions: Some(2), ..Retention::default() };
    assert_eq!(store.purge(&keep_two, T0 + DAY).await.unwrap().plugin_versions, 4);
    let left = |tenant: &'static str| {
        let store = store.clone();
        async move {
            let mut versions: Vec<String> =
                store.plugin_versions(tenant).await.unwrap().into_iter().map(|v| v.version).collect();
            versions.sort();
            versions
        }
    };
    // 8 and 7 are the newest, 6 is active, 5 is what a rollback returns to, 3 ran a kept job.
    assert_eq!(left("t1").await, ["3", "5", "6", "7", "8"]);
    assert_eq!(left("t2").await, ["2", "3"], "another tenant's newest are its own");
    let history = store.activations("t1").await.unwrap();
    assert_eq!(history.len(), 3, "the history keeps the digests of versions that went");
    assert_eq!(history[0].previous_digest.as_deref(), Some("sha256:t1v5"));
    assert!(store.plugin_component("t1", "sha256:t1v5").await.unwrap().is_some(), "rollback still works");
    // After a rollback, the version rolled back from is the way forward again.
    store.activate_plugin("t1", "sha256:t1v5", T0 + 200).await.unwrap();
    for n in 9..=10 {
        upload("t1", n).await;
    }
    let purged = store.prune_plugin_versions(2).await.unwrap();
    assert_eq!(purged, 2, "7 and 8 are no longer the newest");
    assert_eq!(left("t1").await, ["10", "3", "5", "6", "9"]);
}
on_every_backend!(
    plugin_versions_nothing_refers_to_are_pruned_everywhere,
    plugin_versions_nothing_refers_to_are_pruned
);

async fn a_backlog_is_purged_in_batches(store: Store) {
    const N: usize = 2_345;
    let deliveries: Vec<Delivery> = (0..N)
        .map(|n| Delivery {
            tenant: "t1".into(),
            nonce: Some((format!("n{n}"), T0 + 1)),
            booking_id: format!("bk_{n}"),
            alias: None,
            kind: "created".into(),
            payload: r#"{"email":"ann@example.com"}"#.into(),
        })
        .collect();
    for chunk in deliveries.chunks(500) {
        store.ingest_many(chunk, T0).await.unwrap();
    }
    let claim = portico_host::store::Claim { lease_ms: 60_000, max_attempts: 5, busy: &[], limit: N };
    let claimed = store.claim_batch("w", T0, &claim).await.unwrap();
    assert_eq!(claimed.len(), N);
    let done: Vec<_> = claimed
        .iter()
        .map(|j| portico_host::store::Completion {
            id: j.id,
            worker: "w".into(),
            report: report("sha256:v1", "[]"),
            audit: vec![record("Lead", r#"{"Email":"ann@example.com"}"#)],
        })
        .collect();
    for chunk in done.chunks(500) {
        assert!(store.succeed_many(chunk, T0).await.unwrap().into_iter().all(|ok| ok));
    }
    let policy = Retention { jobs_for: days(1), audit_values_for: days(1), ..Retention::default() };
    let purged = store.purge(&policy, T0 + 2 * DAY).await.unwrap();
    let n = N as u64;
    assert_eq!(purged, Purged { jobs: n, audit_rows: n, nonces: n, ..Purged::default() });
    let jobs = store.jobs("t1", Default::default(), None, N as i64).await.unwrap();
    assert!(jobs.len() == N && jobs.iter().all(|j| j.payload == PURGED_PAYLOAD));
    let trail = store.audit("t1", None, None, N as i64).await.unwrap();
    assert!(trail.len() == N && trail.iter().all(|a| a.fields == r#"{"Email":null}"#));
}
on_every_backend!(a_backlog_is_purged_in_batches_everywhere, a_backlog_is_purged_in_batches);

async fn an_erasure_removes_one_persons_data_in_one_tenant_only(store: Store) {
    let ann = r#"{"attendees":[{"name":"Ann Lee","email":"Ann.Lee@Example.com","phone":"+4930"}],"raw":"{}"}"#;
    let bob = r#"{"attendees":[{"name":"Bob","email":"bob@example.com"},{"email":"joann.lee@example.com"}]}"#;
    let in_raw = r#"{"attendees":[],"raw":"{\"invitee\":{\"email\":\"ann.lee@example.com\"}}"}"#;
    let lead = |email: &str| record("Lead", &format!(r#"{{"LastName":"Lee","Email":"{email}"}}"#));
    let event = record("Event", r#"{"Subject":"Meeting with Ann Lee"}"#);
    let run = report("sha256:v1", r#"["upserted lead"]"#);

    let anns =
        job(&store, "t1", "bk_1", ann, &run, End::Succeeded(vec![lead("ann.lee@example.com"), event.clone()]), T0)
            .await;
    // Another tenant's rows among this tenant's: ids alone do not keep tenants apart.
    let other_tenant =
        job(&store, "t2", "bk_1", ann, &run, End::Succeeded(vec![lead("ann.lee@example.com")]), T0).await;
    let bobs = job(&store, "t1", "bk_2", bob, &run, End::Succeeded(vec![lead("bob@example.com")]), T0).await;
    let bobs_assistant = record("Contact", r#"{"LastName":"Bob","Assistant_Email__c":"ANN.LEE@example.com"}"#);
    let bobs_other = job(&store, "t1", "bk_3", "{}", &run, End::Succeeded(vec![bobs_assistant]), T0).await;
    let logged = job(
        &store,
        "t1",
        "bk_4",
        "{}",
        &report("sha256:v1", r#"["no lead for ann.lee@example.com"]"#),
        End::Failed,
        T0,
    )
    .await;
    let unknown = job(&store, "t1", "bk_5", in_raw, &run, End::Unknown, T0).await;
    let running = job(&store, "t1", "bk_6", ann, &run, End::Running, T0).await;
    let pending = job(&store, "t1", "bk_7", in_raw, &run, End::Pending, T0).await;
    let t2_trail = store.audit("t2", None, None, 10).await.unwrap();

    let email = PersonEmail::parse(" ANN.LEE@example.COM").unwrap();
    let erased = store.erase_person("t1", &email, "pk_admin", T0 + 1).await.unwrap();
    assert_eq!((erased.jobs, erased.stopped, erased.audit_rows), (5, 3, 3), "{erased:?}");

    for id in [anns, logged, unknown, running, pending] {
        let job = store.job(id).await.unwrap().unwrap();
        assert_eq!((job.payload.as_str(), &job.logs, &job.usage), (PURGED_PAYLOAD, &None, &None), "job {id}");
    }
    assert_eq!(store.job(anns).await.unwrap().unwrap().state(), JobState::Succeeded);
    assert_eq!(store.job(logged).await.unwrap().unwrap().error, None, "the error text may quote her too");
    for id in [unknown, running, pending] {
        let job = store.job(id).await.unwrap().unwrap();
        assert_eq!(job.state(), JobState::Failed, "job {id} will not run on without her data");
        assert!(job.error.unwrap().starts_with("erased"));
    }
    let late = store.succeed_with(running, "w", &run, &[lead("ann.lee@example.com")], T0 + 2).await.unwrap();
    assert!(!late, "the run in flight records nothing");
    assert!(store.claim("w2", T0 + DAY, 60_000).await.unwrap().is_none(), "nothing of hers runs");
    assert_eq!(store.job(bobs).await.unwrap().unwrap().payload, bob, "joann.lee@ is someone else");

    let trail = store.audit("t1", None, None, 10).await.unwrap();
    let fields = |job: i64, sobject: &str| {
        trail.iter().find(|a| a.job_id == job && a.sobject == sobject).map(|a| a.fields.clone()).unwrap()
    };
    assert_eq!(fields(anns, "Lead"), r#"{"LastName":null,"Email":null}"#);
    assert_eq!(fields(anns, "Event"), r#"{"Subject":null}"#, "every record of her booking");
    assert_eq!(fields(bobs_other, "Contact"), r#"{"LastName":null,"Assistant_Email__c":null}"#);
    assert_eq!(fields(bobs, "Lead"), r#"{"LastName":"Lee","Email":"bob@example.com"}"#);
    assert!(trail.iter().all(|a| a.job_id != running), "{trail:?}");

    assert_eq!(store.job(other_tenant).await.unwrap().unwrap().payload, ann, "another tenant's data is its own");
    assert_eq!(store.audit("t2", None, None, 10).await.unwrap(), t2_trail);
    assert!(store.erasures("t2").await.unwrap().is_empty());
    let recorded = store.erasures("t1").await.unwrap();
    assert_eq!(recorded.len(), 1);
    let e = &recorded[0];
    assert_eq!(
        (e.email_sha256.as_str(), e.requested_by.as_str(), e.jobs, e.stopped, e.audit_rows, e.erased_at),
        (email.sha256().as_str(), "pk_admin", 5, 3, 3, T0 + 1)
    );
    assert!(!format!("{recorded:?}").contains("ann"), "the record never holds the address");

    let again = store.erase_person("t1", &email, "pk_admin", T0 + 3).await.unwrap();
    assert_eq!((again.jobs, again.stopped, again.audit_rows), (0, 0, 0));
    assert_eq!(store.erasures("t1").await.unwrap().len(), 2, "every request is recorded");
}
on_every_backend!(
    an_erasure_removes_one_persons_data_in_one_tenant_only_everywhere,
    an_erasure_removes_one_persons_data_in_one_tenant_only
);

async fn the_schedule_purges_by_itself(store: Store) {
    use portico_host::service::config::RetentionConfig;
    // Real time here: a job finished in 2020 is past any retention period.
    let long_ago = 1_600_000_000_000;
    let id =
        job(&store, "t1", "bk_1", r#"{"email":"ann@example.com"}"#, &report("sha256:v1", "[]"), End::Failed, long_ago)
            .await;
    let config = RetentionConfig { interval_seconds: 1, ..RetentionConfig::default() };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(portico_host::service::retention::run(store.clone(), config, 60_000, async {
        let _ = stopped.await;
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while store.job(id).await.unwrap().unwrap().payload != PURGED_PAYLOAD {
        assert!(tokio::time::Instant::now() < deadline, "the schedule never purged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task).await.expect("it stops when asked").unwrap();
}
on_every_backend!(the_schedule_purges_by_itself_everywhere, the_schedule_purges_by_itself);
