//! A run's result: success with its audit rows, retry, failure, replay.

use super::audit::NewAudit;
use super::jobs::{Completion, JobState, RunReport, value_rows};
use super::{Store, StoreError, on_pool};
use portico_model::text::{MAX_ERROR_BYTES, clip};
use std::collections::HashMap;

/// Audit rows written by one statement (8 parameters each, well under both databases' limits).
const AUDIT_ROWS_PER_STATEMENT: usize = 1_000;

impl Store {
    #[cfg(feature = "testing")]
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
                    "UPDATE jobs SET state = 'succeeded', error = NULL, lease_owner = NULL, lease_until = NULL, commit_started_at = NULL, \
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

    #[cfg(feature = "testing")]
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
        let next = retry_at.map_or(Next::Fail, Next::Retry);
        self.settle(id, worker, report, error, next, now_ms).await
    }

    /// Records a run that did not commit: retry later, fail, or — a commit creating records
    /// whose answer never came — [`JobState::Unknown`]. The error text is clipped to
    /// [`MAX_ERROR_BYTES`]. `false` when `worker` no longer holds the job.
    pub async fn settle(
        &self,
        id: i64,
        worker: &str,
        report: &RunReport,
        error: &str,
        next: Next,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (state, run_after) = match next {
            Next::Retry(at) => (JobState::Pending, at),
            Next::Fail => (JobState::Failed, now_ms),
            Next::Unknown => (JobState::Unknown, now_ms),
        };
        // PostgreSQL text cannot hold NUL, and a plugin's error message may.
        let error = clip(error, MAX_ERROR_BYTES).replace('\0', "\u{FFFD}");
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET state = $1, error = $2, run_after = $3, lease_owner = NULL, lease_until = NULL, \
                 digest = $4, logs = $5, usage = $6, updated_at = $7, \
                 commit_started_at = CASE WHEN $1 = 'unknown' THEN commit_started_at ELSE NULL END \
                 WHERE id = $8 AND state = 'running' AND lease_owner = $9",
            )
            .bind(state.as_str())
            .bind(&error)
            .bind(run_after)
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

    /// Notes, durably and before the request leaves, that these claimed jobs begin committing
    /// units that create records (one statement for the batch); each `true` while its
    /// worker still holds the job.
    pub async fn mark_committing(&self, jobs: &[(i64, String)], now_ms: i64) -> Result<Vec<bool>, StoreError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "UPDATE jobs SET commit_started_at = $1 \
             WHERE state = 'running' AND (id, lease_owner) IN (VALUES {}) RETURNING id, lease_owner",
            value_rows(jobs.len(), 2, 1)
        );
        // A job twice in one batch (its old claim and the one that took it over) is marked for
        // the claim that holds it only: the answer is matched by job and claim.
        let marked: Vec<(i64, String)> = on_pool!(self, |pool| {
            let mut query = sqlx::query_as(&sql).bind(now_ms);
            for (id, worker) in jobs {
                query = query.bind(*id).bind(worker.as_str());
            }
            query.fetch_all(pool).await?
        });
        Ok(jobs.iter().map(|(id, worker)| marked.iter().any(|(m, w)| m == id && w == worker)).collect())
    }

    #[cfg(feature = "testing")]
    /// Puts a failed job back in the queue, whoever its tenant (tests only).
    pub async fn replay(&self, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        let tenant: Option<(String,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT tenant_id FROM jobs WHERE id = $1").bind(id).fetch_optional(pool).await?
        });
        match tenant {
            Some((tenant,)) => Ok(self.replay_for(&tenant, id, now_ms).await? == Replay::Replayed),
            None => Ok(false),
        }
    }

    /// Replays one of a tenant's failed (or outcome-unknown) jobs — unless a later job of the
    /// same booking has succeeded since: replaying it would write older data over newer (the
    /// old times of a moved meeting, a cancelled meeting brought back).
    pub async fn replay_for(&self, tenant: &str, id: i64, now_ms: i64) -> Result<Replay, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(&format!(
                "UPDATE jobs SET state = 'pending', run_after = $1, updated_at = $1, attempts = 0, commit_started_at = NULL \
                 WHERE id = $2 AND tenant_id = $3 AND state IN ('failed', 'unknown') AND {NOT_SUPERSEDED}"
            ))
            .bind(now_ms)
            .bind(id)
            .bind(tenant)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if done == 1 {
            return Ok(Replay::Replayed);
        }
        let Some(job) = self.job_for(tenant, id).await? else { return Ok(Replay::NotFound) };
        if job.purged_at.is_some() {
            return Ok(Replay::Purged);
        }
        if !matches!(job.state(), JobState::Failed | JobState::Unknown) {
            return Ok(Replay::NotReplayable(job.state()));
        }
        let newer: Option<(i64, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, kind FROM jobs WHERE tenant_id = $1 AND booking_id = $2 AND id > $3 \
                 AND state IN ('succeeded', 'running', 'unknown') ORDER BY id DESC LIMIT 1",
            )
            .bind(tenant)
            .bind(&job.booking_id)
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        match newer {
            Some((by, kind)) => Ok(Replay::Superseded { by, kind }),
            // It changed between the two statements: report what it is now.
            None => Ok(Replay::NotReplayable(self.job_for(tenant, id).await?.map_or(JobState::Failed, |j| j.state()))),
        }
    }

    /// Replays every failed job of a tenant that no later job of its booking has superseded;
    /// returns how many were replayed and how many were skipped as superseded. Jobs whose
    /// outcome is unknown are replayed one by one, after the org was checked.
    pub async fn replay_all_failed(&self, tenant: &str, now_ms: i64) -> Result<ReplayedAll, StoreError> {
        let (replayed, skipped) = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let replayed = sqlx::query(&format!(
                "UPDATE jobs SET state = 'pending', run_after = $1, updated_at = $1, attempts = 0 \
                 WHERE tenant_id = $2 AND state = 'failed' AND {NOT_SUPERSEDED}"
            ))
            .bind(now_ms)
            .bind(tenant)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let (skipped,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM jobs WHERE tenant_id = $1 AND state = 'failed' AND purged_at IS NULL",
            )
            .bind(tenant)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            (replayed, skipped as u64)
        });
        Ok(ReplayedAll { replayed, superseded: skipped })
    }

    /// Marks a job whose outcome was unknown as done: the tenant admin found its records in the
    /// org. `false` when the tenant has no such job in that state.
    pub async fn mark_done(&self, tenant: &str, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET state = 'succeeded', commit_started_at = NULL, updated_at = $1, \
                 error = 'marked done by a tenant admin: the records of the commit with no answer were found in the org' \
                 WHERE id = $2 AND tenant_id = $3 AND state = 'unknown'",
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
}

/// No later job of the same booking has succeeded, is running, or may have committed (its
/// outcome unknown) — a replay would then write older data over newer, or race it — and the
/// job's booking was not purged or erased (the `jobs` row being updated).
const NOT_SUPERSEDED: &str = "NOT EXISTS (SELECT 1 FROM jobs n WHERE n.tenant_id = jobs.tenant_id \
     AND n.booking_id = jobs.booking_id AND n.id > jobs.id AND n.state IN ('succeeded', 'running', 'unknown')) \
     AND jobs.purged_at IS NULL";

/// What happens to a job after a run that did not commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Pending again from this time (Unix ms): a transient failure.
    Retry(i64),
    /// Failed; a tenant admin may replay it.
    Fail,
    /// The commit's outcome is unknown: see [`JobState::Unknown`].
    Unknown,
}

/// What a replay of one job did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replay {
    /// Back in the queue.
    Replayed,
    /// The tenant has no such job.
    NotFound,
    /// Only failed and outcome-unknown jobs are replayed.
    NotReplayable(JobState),
    /// Its booking was purged (retention) or erased: nothing is left to run.
    Purged,
    /// A later job of the same booking succeeded, is running, or may have committed (outcome
    /// unknown): replaying would write older data over newer.
    Superseded {
        /// That job.
        by: i64,
        /// Its kind.
        kind: String,
    },
}

/// What a replay of all failed jobs did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayedAll {
    /// Put back in the queue.
    pub replayed: u64,
    /// Left failed: a later job of the same booking already succeeded.
    pub superseded: u64,
}
