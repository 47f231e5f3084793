//! One storage suite, run against SQLite in memory and against PostgreSQL when
//! `PORTICO_TEST_DATABASE_URL` is set (`.ci/run` sets it); each PostgreSQL test gets its own
//! schema, dropped afterwards.

mod common;

use common::{T0, drop_schema, postgres, sqlite};
use portico_host::store::{Claim, JobFilter, JobState, Store};

async fn the_same_booking_is_stored_once(store: Store) {
    let a = store.enqueue("t1", "bk_1", "created", "{}", T0).await.unwrap();
    let again = store.enqueue("t1", "bk_1", "created", "{\"other\":1}", T0 + 5).await.unwrap();
    assert!(a.created && !again.created);
    assert_eq!(a.id, again.id);
    let other_kind = store.enqueue("t1", "bk_1", "cancelled", "{}", T0).await.unwrap();
    let other_tenant = store.enqueue("t2", "bk_1", "created", "{}", T0).await.unwrap();
    assert!(other_kind.created && other_tenant.created);
    assert_eq!(store.job(a.id).await.unwrap().unwrap().payload, "{}", "the first delivery is kept");
}
on_every_backend!(the_same_booking_is_stored_once_everywhere, the_same_booking_is_stored_once);

async fn a_claimed_job_runs_once(store: Store) {
    let id = store.enqueue("t1", "bk_1", "created", "{}", T0).await.unwrap().id;
    let job = store.claim("w1", T0, 30_000).await.unwrap().unwrap();
    assert_eq!((job.id, job.state(), job.attempts), (id, JobState::Running, 1));
    assert!(store.claim("w2", T0 + 1, 30_000).await.unwrap().is_none());
    assert!(store.succeed(id, "w1", T0 + 2).await.unwrap());
    assert_eq!(store.job(id).await.unwrap().unwrap().state(), JobState::Succeeded);
    assert!(store.claim("w2", T0 + 3, 30_000).await.unwrap().is_none());
}
on_every_backend!(a_claimed_job_runs_once_everywhere, a_claimed_job_runs_once);

async fn a_dead_workers_job_is_picked_up_again(store: Store) {
    let id = store.enqueue("t1", "bk_1", "created", "{}", T0).await.unwrap().id;
    store.claim("w1", T0, 100).await.unwrap().unwrap();
    let retaken = store.claim("w2", T0 + 200, 100).await.unwrap().unwrap();
    assert_eq!((retaken.id, retaken.attempts, retaken.lease_owner.as_deref()), (id, 2, Some("w2")));
    assert!(!store.succeed(id, "w1", T0 + 250).await.unwrap(), "the dead worker no longer holds it");
    assert!(store.succeed(id, "w2", T0 + 260).await.unwrap());
}
on_every_backend!(a_dead_workers_job_is_picked_up_again_everywhere, a_dead_workers_job_is_picked_up_again);

async fn a_renewed_lease_holds_and_an_abandoned_job_fails(store: Store) {
    let id = store.enqueue("t1", "bk_1", "created", "{}", T0).await.unwrap().id;
    store.claim("r1/a", T0, 100).await.unwrap().unwrap();
    assert!(store.renew(id, "r1/a", T0 + 500).await.unwrap(), "the holder renews");
    assert!(!store.renew(id, "r1/b", T0 + 900).await.unwrap(), "another claim cannot");
    assert!(store.claim("r1/b", T0 + 200, 100).await.unwrap().is_none(), "a renewed lease is not taken");
    // Its worker dies each time: after max_attempts claims the job fails as abandoned.
    store.claim("r1/b", T0 + 600, 100).await.unwrap().unwrap();
    assert!(!store.fail(id, "r1/a", "late", None, T0 + 650).await.unwrap(), "the first claim is over");
    store.claim("r1/c", T0 + 800, 100).await.unwrap().unwrap();
    assert_eq!(store.fail_abandoned(4, T0 + 850).await.unwrap(), 0, "its lease is still running");
    assert_eq!(store.fail_abandoned(4, T0 + 1_000).await.unwrap(), 0, "three claims of four: it may run again");
    store.claim("r1/d", T0 + 1_000, 100).await.unwrap().unwrap();
    // Its fourth lease ends too: a claim that knows the limit no longer takes it, even before
    // the sweep fails it.
    let limited = Claim { lease_ms: 100, max_attempts: 4, busy: &[], limit: 8 };
    assert!(store.claim_batch("r1/x", T0 + 1_150, &limited).await.unwrap().is_empty(), "four claims are enough");
    assert_eq!(store.job(id).await.unwrap().unwrap().attempts, 4);
    assert_eq!(store.fail_abandoned(4, T0 + 1_200).await.unwrap(), 1);
    let failed = store.job(id).await.unwrap().unwrap();
    assert_eq!(failed.state(), JobState::Failed);
    assert!(failed.error.as_deref().unwrap().contains("4 times"), "{:?}", failed.error);
    assert!(store.claim("r1/e", T0 + 2_000, 100).await.unwrap().is_none());
    // An error text with a NUL (a plugin's message) is stored, not refused by the database.
    assert!(store.replay(id, T0 + 3_000).await.unwrap());
    store.claim("r1/f", T0 + 3_000, 100).await.unwrap().unwrap();
    assert!(store.fail(id, "r1/f", "bad\0byte", None, T0 + 3_010).await.unwrap());
    assert_eq!(store.job(id).await.unwrap().unwrap().error.as_deref(), Some("bad\u{FFFD}byte"));
}
on_every_backend!(
    a_renewed_lease_holds_and_an_abandoned_job_fails_everywhere,
    a_renewed_lease_holds_and_an_abandoned_job_fails
);

async fn claims_skip_busy_tenants_and_jobs_abandoned_too_often(store: Store) {
    for (tenant, booking) in [("t1", "bk_1"), ("t2", "bk_2"), ("t3", "bk_3")] {
        store.enqueue(tenant, booking, "created", "{}", T0).await.unwrap();
    }
    let claim = |busy: &[&str], worker: &str, now: i64| {
        let busy: Vec<String> = busy.iter().map(|t| (*t).to_owned()).collect();
        let (store, worker) = (store.clone(), worker.to_owned());
        async move {
            let claim = Claim { lease_ms: 100, max_attempts: 2, busy: &busy, limit: 8 };
            let jobs = store.claim_batch(&worker, now, &claim).await.unwrap();
            jobs.into_iter().map(|j| (j.tenant_id, j.attempts)).collect::<Vec<_>>()
        }
    };
    let tenants = |pairs: &[(&str, i32)]| pairs.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect::<Vec<_>>();
    assert_eq!(claim(&[], "w/a", T0).await, tenants(&[("t1", 1), ("t2", 1), ("t3", 1)]));
    // Every lease has ended; t2 is at its share.
    assert_eq!(claim(&["t2"], "w/b", T0 + 200).await, tenants(&[("t1", 2), ("t3", 2)]), "t2 is skipped");
    assert_eq!(claim(&["t3"], "w/c", T0 + 400).await, tenants(&[("t2", 2)]), "t1 was claimed twice already");
    assert!(claim(&["t9"], "w/d", T0 + 600).await.is_empty(), "every job reached max_attempts");
    assert_eq!(store.fail_abandoned(2, T0 + 600).await.unwrap(), 3);
}
on_every_backend!(
    claims_skip_busy_tenants_and_jobs_abandoned_too_often_everywhere,
    claims_skip_busy_tenants_and_jobs_abandoned_too_often
);

async fn a_platforms_later_id_leads_to_the_first(store: Store) {
    use portico_host::store::Delivery;
    let moved = Delivery {
        tenant: "t1".into(),
        nonce: None,
        booking_id: "first".into(),
        alias: Some("second".into()),
        kind: "rescheduled@x".into(),
        payload: "{}".into(),
    };
    store.ingest_many(&[moved], T0).await.unwrap();
    assert_eq!(store.booking_alias("t1", "second").await.unwrap().as_deref(), Some("first"));
    assert_eq!(store.booking_alias("t2", "second").await.unwrap(), None, "aliases are per tenant");
    assert_eq!(store.booking_alias("t1", "first").await.unwrap(), None);
}
on_every_backend!(a_platforms_later_id_leads_to_the_first_everywhere, a_platforms_later_id_leads_to_the_first);

async fn a_batch_is_stored_as_its_deliveries_one_by_one_would_be(store: Store) {
    use portico_host::store::{Completion, Delivery, Enqueued, Ingested, NewAudit, RunReport};
    let delivery = |tenant: &str, nonce: Option<&str>, booking: &str, kind: &str| Delivery {
        tenant: tenant.into(),
        nonce: nonce.map(|n| (n.to_owned(), T0 + 60_000)),
        booking_id: booking.into(),
        alias: None,
        kind: kind.into(),
        payload: format!("{{\"booking\":\"{booking}\",\"kind\":\"{kind}\"}}"),
    };
    let earlier = store.enqueue("t1", "bk_old", "created", "{}", T0).await.unwrap();
    let batch = [
        delivery("t1", Some("n1"), "bk_1", "created"),
        delivery("t1", Some("n1"), "bk_2", "created"), // nonce used by the first
        delivery("t2", Some("n1"), "bk_1", "created"), // another tenant's nonce
        delivery("t1", Some("n2"), "bk_1", "cancelled"),
        Delivery { payload: "{\"resent\":true}".into(), ..delivery("t1", Some("n3"), "bk_1", "created") }, // the same job as the first
        delivery("t1", None, "bk_old", "created"), // stored before this batch
        delivery("t1", None, "bk_3", "created"),
        Delivery { alias: Some("bk_2_alias".into()), ..delivery("t1", Some("n2"), "bk_2", "created") }, // reused nonce
        Delivery { alias: Some("bk_3_alias".into()), ..delivery("t1", Some("n4"), "bk_3", "cancelled") },
    ];
    let got = store.ingest_many(&batch, T0 + 1).await.unwrap();
    let job = |i: usize| match got[i] {
        Ingested::Job(e) => e,
        Ingested::NonceReused => panic!("delivery {i} was refused: {got:?}"),
    };
    assert_eq!((got[1], got[7]), (Ingested::NonceReused, Ingested::NonceReused));
    assert!(job(0).created && job(2).created && job(3).created && job(6).created && job(8).created);
    assert_eq!(store.job(job(0).id).await.unwrap().unwrap().payload, r#"{"booking":"bk_1","kind":"created"}"#);
    assert!(
        store.enqueue("t1", "bk_2", "created", "{}", T0 + 1).await.unwrap().created,
        "a refused delivery stores no job"
    );
    assert_eq!(store.booking_alias("t1", "bk_2_alias").await.unwrap(), None, "nor its alias");
    assert_eq!(store.booking_alias("t1", "bk_3_alias").await.unwrap().as_deref(), Some("bk_3"));
    assert_eq!(job(4), Enqueued { id: job(0).id, created: false });
    assert_eq!(job(5), Enqueued { id: earlier.id, created: false });
    assert!(job(0).id < job(3).id, "one booking's deliveries keep their order");
    assert_eq!(store.job(job(3).id).await.unwrap().unwrap().payload, r#"{"booking":"bk_1","kind":"cancelled"}"#);
    let again = store.ingest_many(&[delivery("t1", Some("n3"), "bk_9", "created")], T0 + 2).await.unwrap();
    assert_eq!(again, [Ingested::NonceReused], "nonces of a batch are remembered");
    assert!(store.ingest_many(&[], T0).await.unwrap().is_empty());

    // Completions of a batch: only the claims still held succeed, with their records.
    let claimed = store.claim_batch("w/a", T0 + 10, &Claim { lease_ms: 60_000, max_attempts: 5, busy: &[], limit: 8 });
    let claimed = claimed.await.unwrap();
    assert_eq!(
        claimed.len(),
        5,
        "old, bk_1 created, bk_1 on t2, bk_3, bk_2 (later ones of a booking wait): {claimed:?}"
    );
    let record = |sobject: &str| NewAudit {
        sobject: sobject.into(),
        record_id: format!("00U{sobject}"),
        created: true,
        fields: "{}".into(),
    };
    let completion = |id: i64, worker: &str, audit: Vec<NewAudit>| Completion {
        id,
        worker: worker.into(),
        report: RunReport { digest: Some("sha256:d".into()), ..RunReport::default() },
        audit,
    };
    let done = store
        .succeed_many(
            &[
                completion(claimed[0].id, "w/a", vec![record("Event")]),
                completion(claimed[1].id, "w/other", vec![record("Lead")]), // not its claim
                completion(claimed[2].id, "w/a", vec![record("Lead"), record("Event")]),
                completion(claimed[3].id, "w/a", vec![]),
            ],
            T0 + 20,
        )
        .await
        .unwrap();
    assert_eq!(done, [true, false, true, true]);
    assert_eq!(store.job(claimed[1].id).await.unwrap().unwrap().state(), JobState::Running);
    let t1: Vec<_> =
        store.audit("t1", None, None, 100).await.unwrap().into_iter().map(|a| (a.job_id, a.sobject)).collect();
    assert_eq!(t1, [(claimed[0].id, "Event".to_owned())], "nothing of the refused completion: {t1:?}");
    let t2 = store.audit("t2", None, None, 100).await.unwrap();
    assert_eq!(t2.len(), 2);
    assert!(t2.iter().all(|a| a.job_id == claimed[2].id && a.digest == "sha256:d" && a.committed_at == T0 + 20));
    assert_eq!(store.job(claimed[0].id).await.unwrap().unwrap().digest.as_deref(), Some("sha256:d"));
    assert!(store.succeed_many(&[], T0).await.unwrap().is_empty());
    // A job twice in one batch: its stale claim and the claim that took it over, in either
    // order. Only the holder's completion counts, with its records.
    let late = claimed[4].id;
    store
        .claim_batch("w/b", T0 + 70_000, &Claim { lease_ms: 60_000, max_attempts: 5, busy: &[], limit: 8 })
        .await
        .unwrap();
    let done = store
        .succeed_many(
            &[completion(late, "w/a", vec![record("Task")]), completion(late, "w/b", vec![record("Contact")])],
            T0 + 70_001,
        )
        .await
        .unwrap();
    assert_eq!(done, [false, true]);
    let trail: Vec<_> = store.audit("t1", Some(late), None, 10).await.unwrap().into_iter().map(|a| a.sobject).collect();
    assert_eq!(trail, ["Contact"]);
}
on_every_backend!(
    a_batch_is_stored_as_its_deliveries_one_by_one_would_be_everywhere,
    a_batch_is_stored_as_its_deliveries_one_by_one_would_be
);

async fn failures_retry_later_or_wait_for_replay(store: Store) {
    let id = store.enqueue("t1", "bk_1", "created", "{}", T0).await.unwrap().id;
    store.claim("w1", T0, 30_000).await.unwrap().unwrap();
    assert!(store.fail(id, "w1", "503 SERVER_UNAVAILABLE", Some(T0 + 1_000), T0 + 10).await.unwrap());
    assert!(store.claim("w1", T0 + 500, 30_000).await.unwrap().is_none(), "not before the backoff");
    store.claim("w1", T0 + 1_000, 30_000).await.unwrap().unwrap();
    assert!(store.fail(id, "w1", "REQUIRED_FIELD_MISSING: Company", None, T0 + 1_010).await.unwrap());
    let failed = store.job(id).await.unwrap().unwrap();
    assert_eq!((failed.state(), failed.error.as_deref()), (JobState::Failed, Some("REQUIRED_FIELD_MISSING: Company")));
    assert!(store.claim("w1", T0 + 9_000, 30_000).await.unwrap().is_none());
    assert!(store.replay(id, T0 + 10_000).await.unwrap());
    assert!(!store.replay(id, T0 + 10_000).await.unwrap(), "only failed jobs replay");
    let replayed = store.claim("w1", T0 + 10_000, 30_000).await.unwrap().unwrap();
    assert_eq!(replayed.attempts, 1, "a replay gets the full retry budget again");
}
on_every_backend!(failures_retry_later_or_wait_for_replay_everywhere, failures_retry_later_or_wait_for_replay);

async fn a_bookings_jobs_run_in_order(store: Store) {
    let created = store.enqueue("t1", "bk_1", "created", "{}", T0).await.unwrap().id;
    let moved = store.enqueue("t1", "bk_1", "rescheduled", "{}", T0 + 1).await.unwrap().id;
    let other = store.enqueue("t1", "bk_2", "created", "{}", T0 + 2).await.unwrap().id;
    assert_eq!(store.claim("w1", T0 + 3, 30_000).await.unwrap().unwrap().id, created);
    assert_eq!(store.claim("w2", T0 + 3, 30_000).await.unwrap().unwrap().id, other, "the reschedule waits");
    assert!(store.claim("w3", T0 + 3, 30_000).await.unwrap().is_none());
    store.succeed(created, "w1", T0 + 4).await.unwrap();
    assert_eq!(store.claim("w3", T0 + 5, 30_000).await.unwrap().unwrap().id, moved);
}
on_every_backend!(a_bookings_jobs_run_in_order_everywhere, a_bookings_jobs_run_in_order);

async fn a_replay_never_writes_an_older_delivery_over_a_newer_one(store: Store) {
    use portico_host::store::Replay;
    let created = store.enqueue("t1", "bk_1", "created", "{}", T0).await.unwrap().id;
    let moved = store.enqueue("t1", "bk_1", "rescheduled@x", "{}", T0 + 1).await.unwrap().id;
    let other = store.enqueue("t1", "bk_2", "created", "{}", T0 + 2).await.unwrap().id;
    store.claim("w1", T0 + 3, 30_000).await.unwrap().unwrap();
    store.fail(created, "w1", "REQUIRED_FIELD_MISSING", None, T0 + 4).await.unwrap();
    assert_eq!(store.claim("w1", T0 + 5, 30_000).await.unwrap().unwrap().id, moved);
    store.succeed(moved, "w1", T0 + 6).await.unwrap();
    assert_eq!(store.claim("w1", T0 + 7, 30_000).await.unwrap().unwrap().id, other);
    store.fail(other, "w1", "REQUIRED_FIELD_MISSING", None, T0 + 8).await.unwrap();
    // The move succeeded after the creation failed: replaying the creation would bring the old
    // times back.
    assert_eq!(
        store.replay_for("t1", created, T0 + 9).await.unwrap(),
        Replay::Superseded { by: moved, kind: "rescheduled@x".into() }
    );
    assert_eq!(store.job_for("t1", created).await.unwrap().unwrap().state(), JobState::Failed);
    let all = store.replay_all_failed("t1", T0 + 10).await.unwrap();
    assert_eq!((all.replayed, all.superseded), (1, 1), "bk_2's creation replays, bk_1's does not");
    assert_eq!(store.job_for("t1", other).await.unwrap().unwrap().state(), JobState::Pending);
    assert_eq!(store.replay_for("t1", moved, T0 + 11).await.unwrap(), Replay::NotReplayable(JobState::Succeeded));
    assert_eq!(store.replay_for("t2", created, T0 + 11).await.unwrap(), Replay::NotFound, "another tenant's job");
    // A later job of the booking still running also holds a replay back: they would race.
    let first = store.enqueue("t1", "bk_3", "created", "{}", T0 + 12).await.unwrap().id;
    let second = store.enqueue("t1", "bk_3", "cancelled", "{}", T0 + 12).await.unwrap().id;
    while let Some(job) = store.claim("w2", T0 + 13, 30_000).await.unwrap() {
        if job.id == first {
            store.fail(first, "w2", "REQUIRED_FIELD_MISSING", None, T0 + 14).await.unwrap();
        } else if job.id != second {
            store.succeed(job.id, "w2", T0 + 14).await.unwrap();
        }
    }
    assert!(
        matches!(store.replay_for("t1", first, T0 + 15).await.unwrap(), Replay::Superseded { by, .. } if by == second)
    );
}
on_every_backend!(
    a_replay_never_writes_an_older_delivery_over_a_newer_one_everywhere,
    a_replay_never_writes_an_older_delivery_over_a_newer_one
);

async fn a_commit_without_an_answer_waits_for_a_person(store: Store) {
    use portico_host::store::{Next, Replay, RunReport};
    let id = store.enqueue("t1", "bk_1", "created", "{}", T0).await.unwrap().id;
    store.claim("w1", T0, 30_000).await.unwrap().unwrap();
    // The same job twice in one batch: only the claim that holds it is told its mark is down.
    assert_eq!(store.mark_committing(&[(id, "w2".into()), (id, "w1".into())], T0 + 1).await.unwrap(), [false, true]);
    assert_eq!(store.mark_committing(&[(id, "stale".into())], T0 + 1).await.unwrap(), [false]);
    // The worker dies mid-commit; its lease runs out and the next claim sees the mark.
    let again = store.claim("w2", T0 + 40_000, 30_000).await.unwrap().unwrap();
    assert_eq!(again.commit_started_at, Some(T0 + 1));
    assert!(
        store.settle(id, "w2", &RunReport::default(), "outcome unknown", Next::Unknown, T0 + 40_001).await.unwrap()
    );
    let job = store.job_for("t1", id).await.unwrap().unwrap();
    assert_eq!(job.state(), JobState::Unknown);
    assert!(store.claim("w2", T0 + 90_000, 30_000).await.unwrap().is_none(), "never retried by itself");
    assert_eq!(store.queue_depth(Some("t1")).await.unwrap().unknown, 1);
    assert!(!store.mark_done("t2", id, T0 + 90_001).await.unwrap(), "another tenant's job");
    assert!(store.mark_done("t1", id, T0 + 90_001).await.unwrap());
    assert_eq!(store.job_for("t1", id).await.unwrap().unwrap().state(), JobState::Succeeded);
    // Or replayed, after checking the org: the mark is cleared.
    let id2 = store.enqueue("t1", "bk_2", "created", "{}", T0).await.unwrap().id;
    store.claim("w3", T0 + 90_002, 30_000).await.unwrap().unwrap();
    store.mark_committing(&[(id2, "w3".into())], T0 + 90_003).await.unwrap();
    store.settle(id2, "w3", &RunReport::default(), "no answer", Next::Unknown, T0 + 90_004).await.unwrap();
    assert_eq!(store.replay_for("t1", id2, T0 + 90_005).await.unwrap(), Replay::Replayed);
    assert_eq!(store.claim("w3", T0 + 90_006, 30_000).await.unwrap().unwrap().commit_started_at, None);
}
on_every_backend!(
    a_commit_without_an_answer_waits_for_a_person_everywhere,
    a_commit_without_an_answer_waits_for_a_person
);

async fn a_worker_that_died_committing_leaves_an_unknown_outcome(store: Store) {
    let id = store.enqueue("t1", "bk_1", "created", "{}", T0).await.unwrap().id;
    let plain = store.enqueue("t1", "bk_2", "created", "{}", T0).await.unwrap().id;
    store.claim("w1", T0, 1_000).await.unwrap().unwrap();
    store.claim("w1", T0, 1_000).await.unwrap().unwrap();
    store.mark_committing(&[(id, "w1".into())], T0 + 1).await.unwrap();
    assert_eq!(store.fail_abandoned(1, T0 + 2_000).await.unwrap(), 2);
    let job = store.job_for("t1", id).await.unwrap().unwrap();
    assert_eq!(job.state(), JobState::Unknown, "{job:?}");
    assert!(job.error.unwrap().contains("check the org"));
    assert_eq!(store.job_for("t1", plain).await.unwrap().unwrap().state(), JobState::Failed);
}
on_every_backend!(
    a_worker_that_died_committing_leaves_an_unknown_outcome_everywhere,
    a_worker_that_died_committing_leaves_an_unknown_outcome
);

async fn a_huge_error_is_stored_clipped(store: Store) {
    let id = store.enqueue("t1", "bk_1", "created", "{}", T0).await.unwrap().id;
    store.claim("w1", T0, 30_000).await.unwrap().unwrap();
    let huge = "e".repeat(32 << 20);
    store.fail(id, "w1", &huge, None, T0 + 1).await.unwrap();
    let error = store.job_for("t1", id).await.unwrap().unwrap().error.unwrap();
    assert!(error.len() <= 4096 + 64, "{}", error.len());
    assert!(error.ends_with("more bytes]"));
}
on_every_backend!(a_huge_error_is_stored_clipped_everywhere, a_huge_error_is_stored_clipped);

/// A stored state that is none of ours (written by hand, or by a newer version) is an error.
#[tokio::test]
async fn a_corrupt_job_state_is_an_error_not_pending() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let store = Store::open(&url).await.unwrap();
    let id = store.enqueue("t1", "bk_1", "created", "{}", T0).await.unwrap().id;
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE jobs SET state = 'pendnig' WHERE id = $1").bind(id).execute(&raw).await.unwrap();
    let err = store.job_for("t1", id).await.unwrap_err();
    assert!(err.to_string().contains("unknown job state `pendnig`"), "{err}");
    if let Some((store, url, schema)) = postgres().await {
        let id = store.enqueue("t1", "bk_1", "created", "{}", T0).await.unwrap().id;
        let raw = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query("UPDATE jobs SET state = 'pendnig' WHERE id = $1").bind(id).execute(&raw).await.unwrap();
        let err = store.job_for("t1", id).await.unwrap_err();
        assert!(err.to_string().contains("unknown job state `pendnig`"), "{err}");
        drop_schema(&schema).await;
    }
}

async fn failed_authentications_are_shared_and_a_success_resets_nothing(store: Store) {
    use portico_host::store::LockoutPolicy;
    let policy = LockoutPolicy { max_failures: 3, window_ms: 60_000, lockout_ms: 300_000 };
    let ip = "203.0.113.7";
    assert_eq!(store.count_auth_failure(ip, policy, T0).await.unwrap(), (1, None));
    assert_eq!(store.count_auth_failure(ip, policy, T0 + 1).await.unwrap(), (2, None));
    assert_eq!(store.locked_until(ip, T0 + 2).await.unwrap(), None);
    assert_eq!(store.count_auth_failure(ip, policy, T0 + 3).await.unwrap(), (3, Some(T0 + 300_003)));
    assert_eq!(store.locked_until(ip, T0 + 4).await.unwrap(), Some(T0 + 300_003));
    assert_eq!(store.locked_until("203.0.113.8", T0 + 4).await.unwrap(), None, "others are not affected");
    assert_eq!(store.locked_until(ip, T0 + 300_004).await.unwrap(), None, "the lockout ends");
    assert_eq!(store.count_auth_failure(ip, policy, T0 + 300_005).await.unwrap(), (1, None), "a new count");
    // A window passes: the count starts again.
    store.count_auth_failure("198.51.100.1", policy, T0).await.unwrap();
    assert_eq!(store.count_auth_failure("198.51.100.1", policy, T0 + 61_000).await.unwrap(), (1, None));
    assert_eq!(store.purge_auth_failures(60_000, T0 + 500_000).await.unwrap(), 2);
}
on_every_backend!(
    failed_authentications_are_shared_and_a_success_resets_nothing_everywhere,
    failed_authentications_are_shared_and_a_success_resets_nothing
);

#[tokio::test]
async fn two_replicas_on_one_postgres_never_claim_the_same_job() {
    let Some((first, url, schema)) = postgres().await else { return };
    let second = Store::open(&url).await.unwrap();
    for n in 0..60 {
        first.enqueue("t1", &format!("bk_{n}"), "created", "{}", T0).await.unwrap();
    }
    let mut workers = Vec::new();
    for w in 0..8 {
        let store = if w % 2 == 0 { first.clone() } else { second.clone() };
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = store.claim(&format!("w{w}"), T0 + 1, 60_000).await.unwrap() {
                mine.push(job.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    all.sort();
    let unique = all.len();
    all.dedup();
    assert_eq!((unique, all.len()), (60, 60), "every job claimed exactly once");
    drop_schema(&schema).await;
}

#[tokio::test]
async fn a_sqlite_file_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("portico.db").display());
    let id = Store::open(&url).await.unwrap().enqueue("t1", "bk_1", "created", "{}", T0).await.unwrap().id;
    let reopened = Store::open(&url).await.unwrap();
    assert_eq!(reopened.job(id).await.unwrap().unwrap().booking_id, "bk_1");
    assert!(matches!(Store::open("mysql://x").await, Err(portico_host::store::StoreError::UnsupportedUrl(_))));
}

async fn the_job_list_filters_by_state_booking_and_date_and_pages_by_id(store: Store) {
    // Ten jobs a minute apart, bk_0 … bk_9, the first failed; another tenant's job in between.
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(store.enqueue("t1", &format!("bk_{i}"), "created", "{}", T0 + i * 60_000).await.unwrap().id);
        store.enqueue("t2", &format!("bk_{i}"), "created", "{}", T0 + i * 60_000).await.unwrap();
    }
    let first = store.claim("w", T0 + 700_000, 30_000).await.unwrap().unwrap();
    assert_eq!(first.id, ids[0]);
    assert!(store.fail(first.id, "w", "broken", None, T0 + 700_001).await.unwrap());
    let list = |filter: JobFilter<'static>, before: Option<i64>, limit: i64| {
        let store = store.clone();
        async move {
            store.jobs("t1", filter, before, limit).await.unwrap().into_iter().map(|j| j.booking_id).collect::<Vec<_>>()
        }
    };
    assert_eq!(list(JobFilter::default(), None, 3).await, ["bk_9", "bk_8", "bk_7"]);
    assert_eq!(list(JobFilter::default(), Some(ids[7]), 2).await, ["bk_6", "bk_5"], "the next page");
    let failed = JobFilter { state: Some(JobState::Failed), ..JobFilter::default() };
    assert_eq!(list(failed, None, 50).await, ["bk_0"]);
    let one = JobFilter { booking_id: Some("bk_4"), ..JobFilter::default() };
    assert_eq!(list(one, None, 50).await, ["bk_4"]);
    // Received before bk_5's time: bk_4 and older, newest first; with a page below bk_3.
    let dated = JobFilter { created_before: Some(T0 + 5 * 60_000), ..JobFilter::default() };
    assert_eq!(list(dated, None, 2).await, ["bk_4", "bk_3"]);
    assert_eq!(list(dated, Some(ids[3]), 50).await, ["bk_2", "bk_1", "bk_0"]);
    let none = JobFilter { created_before: Some(T0), ..JobFilter::default() };
    assert!(list(none, None, 50).await.is_empty());
    // The platform's health lists the tenants with jobs waiting for their admin.
    assert_eq!(store.failures_by_tenant(10).await.unwrap(), [("t1".to_owned(), 1, 0)]);
}
on_every_backend!(the_job_list_filters_everywhere, the_job_list_filters_by_state_booking_and_date_and_pages_by_id);
