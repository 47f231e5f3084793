//! Booking jobs: stored before `202 Accepted`, claimed with a lease, retried or failed.

use super::audit::NewAudit;
use super::{Backend, Store, StoreError, on_pool, on_read_pool};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Audit rows written by one statement (8 parameters each, well under both databases' limits).
const AUDIT_ROWS_PER_STATEMENT: usize = 1_000;

/// `rows` parenthesized tuples of `columns` numbered parameters, the first being `$(after+1)`:
/// the VALUES list of a statement that handles a whole batch.
fn value_rows(rows: usize, columns: usize, after: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", after + r * columns + c + 1));
        }
        sql.push(')');
    }
    sql
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for a worker (possibly until `run_after`).
    Pending,
    /// Claimed by a worker whose lease has not expired.
    Running,
    /// Committed.
    Succeeded,
    /// Failed permanently; can be replayed.
    Failed,
}

impl JobState {
    /// Its name in storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }

    /// Parses a stored state name.
    pub fn parse(s: &str) -> JobState {
        match s {
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            _ => JobState::Pending,
        }
    }
}

/// A stored job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Job {
    /// Its id.
    pub id: i64,
    /// The tenant.
    pub tenant_id: String,
    /// The booking platform's booking id.
    pub booking_id: String,
    /// created / rescheduled / cancelled.
    pub kind: String,
    /// The booking JSON.
    pub payload: String,
    #[sqlx(rename = "state")]
    #[serde(skip)]
    state_text: String,
    /// Attempts so far (claims).
    pub attempts: i32,
    /// Not to run before (Unix ms).
    pub run_after: i64,
    /// The worker holding the lease.
    pub lease_owner: Option<String>,
    /// When the lease ends (Unix ms).
    pub lease_until: Option<i64>,
    /// The last error.
    pub error: Option<String>,
    /// The plugin version of the last run.
    pub digest: Option<String>,
    /// The plugin's log lines of the last run (JSON).
    pub logs: Option<String>,
    /// Resources the last run used (JSON).
    pub usage: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// What a run left behind, kept with the job.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    /// The plugin version run.
    pub digest: Option<String>,
    /// Its log lines (JSON).
    pub logs: Option<String>,
    /// Resources used (JSON).
    pub usage: Option<String>,
}

/// A delivery to store: see [`Store::ingest`].
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The tenant.
    pub tenant: String,
    /// The nonce and when it may be forgotten (Unix ms).
    pub nonce: Option<(String, i64)>,
    /// The booking id.
    pub booking_id: String,
    /// Another id the platform gave this booking (a reschedule's new uid), remembered as an
    /// alias of `booking_id`: see [`Store::booking_alias`].
    pub alias: Option<String>,
    /// The delivery kind (`created`, `cancelled`, `rescheduled@<start>#<content digest>`).
    pub kind: String,
    /// The booking JSON.
    pub payload: String,
}

/// A success to record: see [`Store::succeed_with`].
#[derive(Clone, Debug)]
pub struct Completion {
    /// The job.
    pub id: i64,
    /// The worker that holds it.
    pub worker: String,
    /// The run report.
    pub report: RunReport,
    /// The committed records.
    pub audit: Vec<NewAudit>,
}

/// The result of a signed delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ingested {
    /// Stored (or found already stored).
    Job(Enqueued),
    /// The nonce was used before: nothing stored.
    NonceReused,
}

/// How many jobs are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueueDepth {
    /// Waiting.
    pub pending: i64,
    /// Claimed.
    pub running: i64,
    /// Failed permanently.
    pub failed: i64,
}

impl Job {
    /// Its state.
    pub fn state(&self) -> JobState {
        JobState::parse(&self.state_text)
    }
}

/// The result of enqueuing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Enqueued {
    /// The job id.
    pub id: i64,
    /// `false` when the same tenant, booking id and kind was already stored (nothing new).
    pub created: bool,
}

/// What one claim asks for.
#[derive(Clone, Copy, Debug)]
pub struct Claim<'a> {
    /// How long the claimed jobs are held.
    pub lease_ms: i64,
    /// Jobs abandoned (lease expired) after this many claims are left to
    /// [`Store::fail_abandoned`].
    pub max_attempts: i32,
    /// Tenants at their concurrency limit, whose jobs are skipped.
    pub busy: &'a [String],
    /// The most jobs claimed.
    pub limit: usize,
}

const COLUMNS: &str = "id, tenant_id, booking_id, kind, payload, state, attempts, run_after, lease_owner, \
    lease_until, error, digest, logs, usage, created_at, updated_at";

impl Store {
    /// Stores a job, once per (tenant, booking id, kind).
    pub async fn enqueue(
        &self,
        tenant: &str,
        booking_id: &str,
        kind: &str,
        payload: &str,
        now_ms: i64,
    ) -> Result<Enqueued, StoreError> {
        let delivery = Delivery {
            tenant: tenant.to_owned(),
            nonce: None,
            booking_id: booking_id.to_owned(),
            alias: None,
            kind: kind.to_owned(),
            payload: payload.to_owned(),
        };
        match self.ingest_many(std::slice::from_ref(&delivery), now_ms).await?.pop() {
            Some(Ingested::Job(enqueued)) => Ok(enqueued),
            _ => unreachable!("a delivery without a nonce is always stored"),
        }
    }

    /// Claims the oldest runnable job for `worker` for `lease_ms`: a pending job whose time has
    /// come, or a running one whose lease expired (its worker died). A booking's jobs run in
    /// order: none is claimed while an earlier job of the same booking is unfinished.
    pub async fn claim(&self, worker: &str, now_ms: i64, lease_ms: i64) -> Result<Option<Job>, StoreError> {
        self.claim_excluding(worker, now_ms, lease_ms, &[]).await
    }

    /// [`Store::claim`], skipping the jobs of `busy` tenants (those at their concurrency limit),
    /// so one tenant's backlog cannot hold the workers the others need.
    pub async fn claim_excluding(
        &self,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
        busy: &[String],
    ) -> Result<Option<Job>, StoreError> {
        let claim = Claim { lease_ms, max_attempts: i32::MAX, busy, limit: 1 };
        Ok(self.claim_batch(worker, now_ms, &claim).await?.pop())
    }

    /// Claims up to `claim.limit` runnable jobs at once (oldest first), skipping `busy` tenants:
    /// one statement for a batch, so claiming keeps up with many workers. A job whose lease
    /// expired after `max_attempts` claims is not claimed again: its workers died each time, and
    /// [`Store::fail_abandoned`] fails it.
    pub async fn claim_batch(&self, worker: &str, now_ms: i64, claim: &Claim<'_>) -> Result<Vec<Job>, StoreError> {
        let Claim { lease_ms, max_attempts, busy, limit } = *claim;
        let skip = if busy.is_empty() {
            String::new()
        } else {
            format!("AND j.tenant_id NOT IN {} ", value_rows(1, busy.len(), 4))
        };
        // SQLite would otherwise collect every runnable job through `jobs_claimable` and sort
        // them, for each claim: under a backlog that is the whole queue. Walking the partial
        // index of open jobs in id order stops at the first claimable one.
        let from = match self.backend {
            Backend::Postgres(_) => "jobs j",
            Backend::Sqlite { .. } => "jobs j INDEXED BY jobs_open",
        };
        let candidates = format!(
            "SELECT j.id FROM {from} \
             WHERE j.state IN ('pending', 'running') \
             AND ((j.state = 'pending' AND j.run_after <= $3) OR (j.state = 'running' AND j.lease_until < $3 AND j.attempts < $4)) {skip}\
             AND NOT EXISTS (SELECT 1 FROM jobs e WHERE e.tenant_id = j.tenant_id AND e.booking_id = j.booking_id \
                             AND e.id < j.id AND e.state IN ('pending', 'running')) \
             ORDER BY j.id LIMIT {}",
            limit.max(1)
        );
        // PostgreSQL: replicas skip each other's locked rows. SQLite: one writer at a time.
        let lock = match self.backend {
            Backend::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite { .. } => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3 \
             WHERE id IN ({candidates}{lock}) RETURNING {COLUMNS}"
        );
        macro_rules! bound {
            () => {{
                let mut query =
                    sqlx::query_as(&sql).bind(worker).bind(now_ms + lease_ms).bind(now_ms).bind(max_attempts);
                for tenant in busy {
                    query = query.bind(tenant.as_str());
                }
                query
            }};
        }
        let mut jobs: Vec<Job> = match &self.backend {
            Backend::Sqlite { write, .. } => bound!().fetch_all(write).await?,
            Backend::Postgres(pool) => {
                // The walk in id order must not depend on table statistics: on a fresh or
                // suddenly grown queue the planner, thinking it small, would collect and sort
                // the whole backlog for every claim. Sorting and bitmap scans are off for this
                // one statement, which leaves the ordered scan of `jobs_open`.
                let mut tx = pool.begin().await?;
                sqlx::query("SET LOCAL enable_sort = off").execute(&mut *tx).await?;
                sqlx::query("SET LOCAL enable_bitmapscan = off").execute(&mut *tx).await?;
                let jobs = bound!().fetch_all(&mut *tx).await?;
                tx.commit().await?;
                jobs
            }
        };
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    /// Marks a claimed job done. `false` when `worker` no longer holds it (its lease expired and
    /// another worker took it): the caller must not report success twice.
    pub async fn succeed(&self, id: i64, worker: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.succeed_with(id, worker, &RunReport::default(), &[], now_ms).await
    }

    /// Marks a claimed job done with its run report, and adds the committed records to the
    /// audit trail in the same transaction. `false` (and nothing written) when `worker` no
    /// longer holds the job.
    pub async fn succeed_with(
        &self,
        id: i64,
        worker: &str,
        report: &RunReport,
        audit: &[NewAudit],
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = Completion { id, worker: worker.to_owned(), report: report.clone(), audit: audit.to_vec() };
        Ok(self.succeed_many(std::slice::from_ref(&done), now_ms).await?[0])
    }

    /// Records several successes in one transaction (group commit), each as
    /// [`Store::succeed_with`] would; the results are in order.
    pub async fn succeed_many(&self, completions: &[Completion], now_ms: i64) -> Result<Vec<bool>, StoreError> {
        // One statement marks every job this batch still holds done; one more writes all their
        // records to the trail (a round trip per batch, not per job). A job twice in one batch
        // (a claim whose lease ran out, and the claim that took the job over) goes into
        // separate rounds, in order: an UPDATE meets each row once, whichever claim matched.
        let mut rounds: Vec<Vec<usize>> = Vec::new();
        let mut seen: HashMap<i64, usize> = HashMap::new();
        for (i, c) in completions.iter().enumerate() {
            let round = seen.entry(c.id).or_default();
            if rounds.len() <= *round {
                rounds.push(Vec::new());
            }
            rounds[*round].push(i);
            *round += 1;
        }
        let results = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let mut tenants: Vec<Option<String>> = vec![None; completions.len()];
            for round in &rounds {
                let sql = format!(
                    "UPDATE jobs SET state = 'succeeded', error = NULL, lease_owner = NULL, lease_until = NULL, \
                     digest = v.column3, logs = v.column4, usage = v.column5, updated_at = $1 \
                     FROM (VALUES {}) AS v \
                     WHERE jobs.id = v.column1 AND jobs.state = 'running' AND jobs.lease_owner = v.column2 \
                     RETURNING jobs.id, jobs.tenant_id",
                    value_rows(round.len(), 5, 1)
                );
                let mut query = sqlx::query_as(&sql).bind(now_ms);
                for c in round.iter().map(|&i| &completions[i]) {
                    query = query
                        .bind(c.id)
                        .bind(&c.worker)
                        .bind(&c.report.digest)
                        .bind(&c.report.logs)
                        .bind(&c.report.usage);
                }
                let done: HashMap<i64, String> = query.fetch_all(&mut *tx).await?.into_iter().collect();
                for &i in round {
                    tenants[i] = done.get(&completions[i].id).cloned();
                }
            }
            let records: Vec<(&Completion, &str, &NewAudit)> = completions
                .iter()
                .zip(&tenants)
                .filter_map(|(c, t)| t.as_deref().map(|t| (c, t)))
                .flat_map(|(c, t)| c.audit.iter().map(move |a| (c, t, a)))
                .collect();
            for chunk in records.chunks(AUDIT_ROWS_PER_STATEMENT) {
                let sql = format!(
                    "INSERT INTO audit (tenant_id, job_id, digest, sobject, record_id, created, fields, committed_at) \
                     VALUES {}",
                    value_rows(chunk.len(), 8, 0)
                );
                let mut query = sqlx::query(&sql);
                for (c, tenant, record) in chunk {
                    query = query
                        .bind(*tenant)
                        .bind(c.id)
                        .bind(c.report.digest.as_deref().unwrap_or_default())
                        .bind(&record.sobject)
                        .bind(&record.record_id)
                        .bind(record.created)
                        .bind(&record.fields)
                        .bind(now_ms);
                }
                query.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            tenants.iter().map(Option::is_some).collect()
        });
        Ok(results)
    }

    /// Fails a claimed job: with `retry_at`, back to pending until then (a transient error);
    /// without, permanently.
    pub async fn fail(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        retry_at: Option<i64>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.fail_with(id, worker, &RunReport::default(), error, retry_at, now_ms).await
    }

    /// [`Store::fail`] keeping the run report with the job.
    pub async fn fail_with(
        &self,
        id: i64,
        worker: &str,
        report: &RunReport,
        error: &str,
        retry_at: Option<i64>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let state = if retry_at.is_some() { JobState::Pending } else { JobState::Failed };
        // PostgreSQL text cannot hold NUL, and a plugin's error message may.
        let error = error.replace('\0', "\u{FFFD}");
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET state = $1, error = $2, run_after = $3, lease_owner = NULL, lease_until = NULL, \
                 digest = $4, logs = $5, usage = $6, updated_at = $7 \
                 WHERE id = $8 AND state = 'running' AND lease_owner = $9",
            )
            .bind(state.as_str())
            .bind(&error)
            .bind(retry_at.unwrap_or(now_ms))
            .bind(&report.digest)
            .bind(&report.logs)
            .bind(&report.usage)
            .bind(now_ms)
            .bind(id)
            .bind(worker)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Keeps a running job's lease for `worker` until `until_ms` (a heartbeat while a job runs
    /// longer than a fraction of its lease). `false` when `worker` no longer holds the job.
    pub async fn renew(&self, id: i64, worker: &str, until_ms: i64) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("UPDATE jobs SET lease_until = $1 WHERE id = $2 AND state = 'running' AND lease_owner = $3")
                .bind(until_ms)
                .bind(id)
                .bind(worker)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Fails the running jobs whose lease expired after `max_attempts` claims: their workers
    /// died each time (a job that takes its replica down would otherwise loop forever).
    /// Returns how many.
    pub async fn fail_abandoned(&self, max_attempts: i32, now_ms: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_until = NULL, updated_at = $1, \
                 error = 'abandoned: the worker running it stopped before finishing, ' || CAST(attempts AS TEXT) || ' times' \
                 WHERE state = 'running' AND lease_until < $1 AND attempts >= $2",
            )
            .bind(now_ms)
            .bind(max_attempts)
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    /// Gives a claimed job back untouched (the worker is shutting down): pending again now.
    pub async fn release(&self, id: i64, worker: &str, now_ms: i64) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET state = 'pending', lease_owner = NULL, lease_until = NULL, run_after = $1, \
                 attempts = attempts - 1, updated_at = $1 WHERE id = $2 AND state = 'running' AND lease_owner = $3",
            )
            .bind(now_ms)
            .bind(id)
            .bind(worker)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Puts a failed job back in the queue (after the tenant fixed the plugin or config).
    pub async fn replay(&self, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET state = 'pending', run_after = $1, updated_at = $1, attempts = 0 \
                 WHERE id = $2 AND state = 'failed'",
            )
            .bind(now_ms)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Replays one of a tenant's failed jobs; `false` when the tenant has no such failed job.
    pub async fn replay_for(&self, tenant: &str, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET state = 'pending', run_after = $1, updated_at = $1, attempts = 0 \
                 WHERE id = $2 AND tenant_id = $3 AND state = 'failed'",
            )
            .bind(now_ms)
            .bind(id)
            .bind(tenant)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Replays every failed job of a tenant; returns how many.
    pub async fn replay_all_failed(&self, tenant: &str, now_ms: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET state = 'pending', run_after = $1, updated_at = $1, attempts = 0 \
                 WHERE tenant_id = $2 AND state = 'failed'",
            )
            .bind(now_ms)
            .bind(tenant)
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    /// Stores a signed delivery: records its nonce (until it expires) and enqueues the job in
    /// one transaction, so a reused nonce stores nothing.
    pub async fn ingest(
        &self,
        tenant: &str,
        nonce: Option<(&str, i64)>,
        booking_id: &str,
        kind: &str,
        payload: &str,
        now_ms: i64,
    ) -> Result<Ingested, StoreError> {
        let delivery = Delivery {
            tenant: tenant.to_owned(),
            nonce: nonce.map(|(n, e)| (n.to_owned(), e)),
            booking_id: booking_id.to_owned(),
            alias: None,
            kind: kind.to_owned(),
            payload: payload.to_owned(),
        };
        Ok(self.ingest_many(std::slice::from_ref(&delivery), now_ms).await?.remove(0))
    }

    /// Stores several deliveries in one transaction (group commit: one disk flush for all),
    /// each as [`Store::ingest`] would; the results are in order.
    pub async fn ingest_many(&self, deliveries: &[Delivery], now_ms: i64) -> Result<Vec<Ingested>, StoreError> {
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        // A statement per step for the whole batch: nonces, aliases, jobs, and the ids of jobs
        // stored before. Within a batch the first use of a nonce or a job key wins, as it
        // would one delivery at a time.
        let results = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let mut with_nonce: Vec<(&str, &str, i64)> = deliveries
                .iter()
                .filter_map(|d| d.nonce.as_ref().map(|(n, expires)| (d.tenant.as_str(), n.as_str(), *expires)))
                .collect();
            // In key order, so that two replicas inserting the same nonces cannot deadlock.
            with_nonce.sort_unstable();
            let mut unused: HashSet<(String, String)> = HashSet::new();
            if !with_nonce.is_empty() {
                let sql = format!(
                    "INSERT INTO nonces (tenant_id, nonce, expires_at) VALUES {} \
                     ON CONFLICT (tenant_id, nonce) DO NOTHING RETURNING tenant_id, nonce",
                    value_rows(with_nonce.len(), 3, 0)
                );
                let mut query = sqlx::query_as(&sql);
                for (tenant, nonce, expires) in &with_nonce {
                    query = query.bind(*tenant).bind(*nonce).bind(*expires);
                }
                unused = query.fetch_all(&mut *tx).await?.into_iter().collect();
            }
            let is_fresh: Vec<bool> = deliveries
                .iter()
                .map(|d| match &d.nonce {
                    Some((nonce, _)) => unused.remove(&(d.tenant.clone(), nonce.clone())),
                    None => true,
                })
                .collect();
            let fresh: Vec<&Delivery> = deliveries.iter().zip(&is_fresh).filter(|(_, f)| **f).map(|(d, _)| d).collect();
            let aliases: Vec<&Delivery> = fresh.iter().copied().filter(|d| d.alias.is_some()).collect();
            if !aliases.is_empty() {
                let sql = format!(
                    "INSERT INTO booking_aliases (tenant_id, alias, booking_id, created_at) VALUES {} \
                     ON CONFLICT (tenant_id, alias) DO NOTHING",
                    value_rows(aliases.len(), 4, 0)
                );
                let mut query = sqlx::query(&sql);
                for d in &aliases {
                    query = query.bind(&d.tenant).bind(&d.alias).bind(&d.booking_id).bind(now_ms);
                }
                query.execute(&mut *tx).await?;
            }
            type Key = (String, String, String);
            let key = |d: &Delivery| (d.tenant.clone(), d.booking_id.clone(), d.kind.clone());
            // Every fresh delivery's job id, and the keys this batch created (the first delivery
            // of a key reports the creation, a later one in the batch finds it stored).
            let mut ids: HashMap<Key, i64> = HashMap::new();
            let mut created: HashSet<Key> = HashSet::new();
            if !fresh.is_empty() {
                // Inserted in arrival order (ids are given in the order rows are inserted), so
                // one booking's deliveries keep their order.
                let sql = format!(
                    "INSERT INTO jobs (tenant_id, booking_id, kind, payload, state, run_after, created_at, updated_at) \
                     SELECT v.column1, v.column2, v.column3, v.column4, 'pending', $1, $1, $1 FROM (VALUES {}) AS v \
                     WHERE true ORDER BY v.column5 ON CONFLICT (tenant_id, booking_id, kind) DO NOTHING \
                     RETURNING id, tenant_id, booking_id, kind",
                    value_rows(fresh.len(), 5, 1)
                );
                let mut query = sqlx::query_as(&sql).bind(now_ms);
                for (arrival, d) in fresh.iter().enumerate() {
                    query =
                        query.bind(&d.tenant).bind(&d.booking_id).bind(&d.kind).bind(&d.payload).bind(arrival as i64);
                }
                let rows: Vec<(i64, String, String, String)> = query.fetch_all(&mut *tx).await?;
                for (id, t, b, k) in rows {
                    created.insert((t.clone(), b.clone(), k.clone()));
                    ids.insert((t, b, k), id);
                }
                let before: Vec<&Delivery> = fresh.iter().copied().filter(|d| !ids.contains_key(&key(d))).collect();
                if !before.is_empty() {
                    let sql = format!(
                        "SELECT j.id, j.tenant_id, j.booking_id, j.kind FROM jobs j JOIN (VALUES {}) AS v \
                         ON j.tenant_id = v.column1 AND j.booking_id = v.column2 AND j.kind = v.column3",
                        value_rows(before.len(), 3, 0)
                    );
                    let mut query = sqlx::query_as(&sql);
                    for d in &before {
                        query = query.bind(&d.tenant).bind(&d.booking_id).bind(&d.kind);
                    }
                    let rows: Vec<(i64, String, String, String)> = query.fetch_all(&mut *tx).await?;
                    ids.extend(rows.into_iter().map(|(id, t, b, k)| ((t, b, k), id)));
                }
            }
            let mut results = Vec::with_capacity(deliveries.len());
            for (d, fresh) in deliveries.iter().zip(is_fresh) {
                if !fresh {
                    results.push(Ingested::NonceReused);
                    continue;
                }
                let k = key(d);
                let id = ids.get(&k).copied().ok_or(sqlx::Error::RowNotFound)?;
                results.push(Ingested::Job(Enqueued { id, created: created.remove(&k) }));
            }
            tx.commit().await?;
            results
        });
        Ok(results)
    }

    /// The first id of the meeting a platform now calls `id`, if `id` is a later one (stored
    /// with a delivery's [`Delivery::alias`]).
    pub async fn booking_alias(&self, tenant: &str, id: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = on_read_pool!(self, |pool| {
            sqlx::query_as("SELECT booking_id FROM booking_aliases WHERE tenant_id = $1 AND alias = $2")
                .bind(tenant)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(id,)| id))
    }

    /// Forgets nonces whose timestamps can no longer pass the freshness check.
    pub async fn purge_nonces(&self, now_ms: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query("DELETE FROM nonces WHERE expires_at < $1").bind(now_ms).execute(pool).await?.rows_affected()
        }))
    }

    /// One of a tenant's jobs.
    pub async fn job_for(&self, tenant: &str, id: i64) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1 AND tenant_id = $2");
        Ok(on_read_pool!(self, |pool| sqlx::query_as(&sql).bind(id).bind(tenant).fetch_optional(pool).await?))
    }

    /// A tenant's jobs, newest first, optionally in one state, before id `before` (paging).
    pub async fn jobs(
        &self,
        tenant: &str,
        state: Option<JobState>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Job>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM jobs WHERE tenant_id = $1 AND ($2 IS NULL OR state = $2) \
             AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
        );
        Ok(on_read_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(tenant)
                .bind(state.map(JobState::as_str))
                .bind(before)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Jobs per state, for one tenant or all.
    pub async fn queue_depth(&self, tenant: Option<&str>) -> Result<QueueDepth, StoreError> {
        let rows: Vec<(String, i64)> = on_read_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT state, COUNT(*) FROM jobs WHERE ($1 IS NULL OR tenant_id = $1) \
                 AND state IN ('pending', 'running', 'failed') GROUP BY state",
            )
            .bind(tenant)
            .fetch_all(pool)
            .await?
        });
        let mut depth = QueueDepth::default();
        for (state, n) in rows {
            match JobState::parse(&state) {
                JobState::Pending => depth.pending = n,
                JobState::Running => depth.running = n,
                JobState::Failed => depth.failed = n,
                JobState::Succeeded => {}
            }
        }
        Ok(depth)
    }

    /// Checks the database answers (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_read_pool!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// A job by id.
    pub async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
        let job: Option<Job> = on_read_pool!(self, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?);
        Ok(job)
    }
}
