//! The job queue: claims with leases, renewal, giving back, and jobs whose workers died.

use super::jobs::{COLUMNS, Claim, Job, value_rows};
use super::{Backend, Store, StoreError, on_pool};

impl Store {
    #[cfg(feature = "testing")]
    /// Claims the oldest runnable job for `worker` for `lease_ms`: a pending job whose time has
    /// come, or a running one whose lease expired (its worker died). A booking's jobs run in
    /// order: none is claimed while an earlier job of the same booking is unfinished.
    pub async fn claim(&self, worker: &str, now_ms: i64, lease_ms: i64) -> Result<Option<Job>, StoreError> {
        self.claim_excluding(worker, now_ms, lease_ms, &[]).await
    }

    #[cfg(feature = "testing")]
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
             AND j.tenant_id NOT IN (SELECT id FROM tenants WHERE suspended_at IS NOT NULL) \
             AND j.tenant_id NOT IN (SELECT id FROM tenants WHERE api_paused_until IS NOT NULL AND api_paused_until > $3) \
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
                "UPDATE jobs SET lease_owner = NULL, lease_until = NULL, updated_at = $1, \
                 state = CASE WHEN commit_started_at IS NULL THEN 'failed' ELSE 'unknown' END, \
                 error = 'abandoned: the worker running it stopped before finishing, ' || CAST(attempts AS TEXT) || ' times' \
                 || CASE WHEN commit_started_at IS NULL THEN '' ELSE ', once while committing records it creates: \
                 check the org for them, then replay the job or mark it done' END \
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
}
