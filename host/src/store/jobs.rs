//! Booking jobs: stored before `202 Accepted`, claimed with a lease, retried or failed.

use super::{Backend, Store, StoreError, on_pool};
use serde::Serialize;

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
    fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> JobState {
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

const COLUMNS: &str =
    "id, tenant_id, booking_id, kind, payload, state, attempts, run_after, lease_owner, lease_until, error";

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
        let inserted: Option<(i64,)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "INSERT INTO jobs (tenant_id, booking_id, kind, payload, state, run_after, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'pending', $5, $5, $5) \
                 ON CONFLICT (tenant_id, booking_id, kind) DO NOTHING RETURNING id",
            )
            .bind(tenant)
            .bind(booking_id)
            .bind(kind)
            .bind(payload)
            .bind(now_ms)
            .fetch_optional(pool)
            .await?
        });
        if let Some((id,)) = inserted {
            return Ok(Enqueued { id, created: true });
        }
        let (id,): (i64,) = on_pool!(self, |pool| {
            sqlx::query_as("SELECT id FROM jobs WHERE tenant_id = $1 AND booking_id = $2 AND kind = $3")
                .bind(tenant)
                .bind(booking_id)
                .bind(kind)
                .fetch_one(pool)
                .await?
        });
        Ok(Enqueued { id, created: false })
    }

    /// Claims the oldest runnable job for `worker` for `lease_ms`: a pending job whose time has
    /// come, or a running one whose lease expired (its worker died). A booking's jobs run in
    /// order: none is claimed while an earlier job of the same booking is unfinished.
    pub async fn claim(&self, worker: &str, now_ms: i64, lease_ms: i64) -> Result<Option<Job>, StoreError> {
        let candidates = "SELECT j.id FROM jobs j \
             WHERE ((j.state = 'pending' AND j.run_after <= $3) OR (j.state = 'running' AND j.lease_until < $3)) \
             AND NOT EXISTS (SELECT 1 FROM jobs e WHERE e.tenant_id = j.tenant_id AND e.booking_id = j.booking_id \
                             AND e.id < j.id AND e.state IN ('pending', 'running')) \
             ORDER BY j.id LIMIT 1";
        // PostgreSQL: replicas skip each other's locked rows. SQLite: one writer at a time.
        let lock = match self.backend {
            Backend::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3 \
             WHERE id = ({candidates}{lock}) RETURNING {COLUMNS}"
        );
        let job: Option<Job> = on_pool!(self, |pool| {
            sqlx::query_as(&sql).bind(worker).bind(now_ms + lease_ms).bind(now_ms).fetch_optional(pool).await?
        });
        Ok(job)
    }

    /// Marks a claimed job done. `false` when `worker` no longer holds it (its lease expired and
    /// another worker took it): the caller must not report success twice.
    pub async fn succeed(&self, id: i64, worker: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.finish(id, worker, JobState::Succeeded, None, now_ms, now_ms).await
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
        let state = if retry_at.is_some() { JobState::Pending } else { JobState::Failed };
        self.finish(id, worker, state, Some(error), retry_at.unwrap_or(now_ms), now_ms).await
    }

    async fn finish(
        &self,
        id: i64,
        worker: &str,
        state: JobState,
        error: Option<&str>,
        run_after: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET state = $1, error = $2, run_after = $3, lease_owner = NULL, lease_until = NULL, updated_at = $4 \
                 WHERE id = $5 AND state = 'running' AND lease_owner = $6",
            )
            .bind(state.as_str())
            .bind(error)
            .bind(run_after)
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
            sqlx::query("UPDATE jobs SET state = 'pending', run_after = $1, updated_at = $1, error = NULL WHERE id = $2 AND state = 'failed'")
                .bind(now_ms)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// A job by id.
    pub async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
        let job: Option<Job> = on_pool!(self, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?);
        Ok(job)
    }
}
