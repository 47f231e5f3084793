//! Booking jobs: stored before `202 Accepted`, claimed with a lease, retried or failed.

use super::audit::NewAudit;
use super::{Store, StoreError, on_read_pool};
use serde::Serialize;

/// `rows` parenthesized tuples of `columns` numbered parameters, the first being `$(after+1)`:
/// the VALUES list of a statement that handles a whole batch.
pub(super) fn value_rows(rows: usize, columns: usize, after: usize) -> String {
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
    /// A commit that creates records was sent and no answer came (the connection dropped, the
    /// worker died): the records may or may not exist. Never retried by itself; the tenant
    /// admin checks the org, then replays the job or marks it done.
    Unknown,
}

impl JobState {
    /// Its name in storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Unknown => "unknown",
        }
    }

    /// Every state, in the order of a job's life.
    pub const ALL: [JobState; 5] =
        [JobState::Pending, JobState::Running, JobState::Succeeded, JobState::Failed, JobState::Unknown];

    /// Parses a state name; `None` for anything else.
    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|state| state.as_str() == s)
    }
}

/// Stored as its name; a name that is none of ours does not decode.
impl<DB: sqlx::Database> sqlx::Type<DB> for JobState
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for JobState
where
    String: sqlx::Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<JobState, sqlx::error::BoxDynError> {
        Ok(JobState::try_from(String::decode(value)?)?)
    }
}

/// A stored job state that is none of ours.
#[derive(Debug, thiserror::Error)]
#[error("unknown job state `{0}` in the database")]
pub struct UnknownState(String);

impl TryFrom<String> for JobState {
    type Error = UnknownState;

    /// A stored state that is none of ours is an error, never a silent default.
    fn try_from(s: String) -> Result<JobState, UnknownState> {
        JobState::parse(&s).ok_or(UnknownState(s))
    }
}

/// Which jobs a list shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct JobFilter<'a> {
    /// In this state.
    pub state: Option<JobState>,
    /// Of this booking.
    pub booking_id: Option<&'a str>,
    /// Received before this time (Unix ms): jobs up to the last one received before it.
    pub created_before: Option<i64>,
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
    #[serde(skip)]
    state: JobState,
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
    /// When a run began committing a unit that creates records (Unix ms): see
    /// [`JobState::Unknown`].
    pub commit_started_at: Option<i64>,
    /// When retention or an erasure dropped the booking, logs and error (Unix ms): the job
    /// stays as a record, with nothing left to run or replay.
    pub purged_at: Option<i64>,
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
    /// Outcome unknown: waiting for the tenant admin.
    pub unknown: i64,
}

impl Job {
    /// Its state.
    pub fn state(&self) -> JobState {
        self.state
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

pub(super) const COLUMNS: &str = "id, tenant_id, booking_id, kind, payload, state, attempts, run_after, lease_owner, \
    lease_until, error, digest, logs, usage, created_at, updated_at, commit_started_at, purged_at";

impl Store {
    /// One of a tenant's jobs.
    pub async fn job_for(&self, tenant: &str, id: i64) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1 AND tenant_id = $2");
        Ok(on_read_pool!(self, |pool| sqlx::query_as(&sql).bind(id).bind(tenant).fetch_optional(pool).await?))
    }

    /// A tenant's jobs, newest first, optionally in one state, before id `before` (paging).
    pub async fn jobs(
        &self,
        tenant: &str,
        filter: JobFilter<'_>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Job>, StoreError> {
        // Only the conditions asked for are in the statement, so each filter can use its index
        // (`jobs_tenant`, `jobs_failed`, `jobs_booking`) on a tenant with a million jobs;
        // `id` is the keyset for the next page.
        // "Received before a time" is the keyset of the last job received before it (ids grow
        // with time), found by `jobs_tenant_created`; the list then pages by id as usual.
        let before = match filter.created_before {
            Some(at) => {
                let last: Option<(i64,)> = on_read_pool!(self, |pool| {
                    sqlx::query_as(
                        "SELECT id FROM jobs WHERE tenant_id = $1 AND created_at < $2 ORDER BY created_at DESC LIMIT 1",
                    )
                    .bind(tenant)
                    .bind(at)
                    .fetch_optional(pool)
                    .await?
                });
                let Some((last,)) = last else { return Ok(Vec::new()) };
                Some(before.map_or(last + 1, |b| b.min(last + 1)))
            }
            None => before,
        };
        let mut sql = format!("SELECT {COLUMNS} FROM jobs WHERE tenant_id = $1");
        let mut n = 1;
        let mut next = |condition: &str| {
            n += 1;
            sql.push_str(&format!(" AND {condition} ${n}"));
        };
        let state = filter.state.map(JobState::as_str);
        if state.is_some() {
            next("state =");
        }
        if filter.booking_id.is_some() {
            next("booking_id =");
        }
        if before.is_some() {
            next("id <");
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", n + 1));
        Ok(on_read_pool!(self, |pool| {
            let mut q = sqlx::query_as(&sql).bind(tenant);
            if let Some(s) = state {
                q = q.bind(s);
            }
            if let Some(b) = filter.booking_id {
                q = q.bind(b);
            }
            if let Some(b) = before {
                q = q.bind(b);
            }
            q.bind(limit).fetch_all(pool).await?
        }))
    }

    /// Jobs per state, for one tenant or all.
    pub async fn queue_depth(&self, tenant: Option<&str>) -> Result<QueueDepth, StoreError> {
        let rows: Vec<(String, i64)> = on_read_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT state, COUNT(*) FROM jobs WHERE ($1 IS NULL OR tenant_id = $1) \
                 AND state IN ('pending', 'running', 'failed', 'unknown') GROUP BY state",
            )
            .bind(tenant)
            .fetch_all(pool)
            .await?
        });
        let mut depth = QueueDepth::default();
        for (state, n) in rows {
            match JobState::try_from(state).map_err(|e| StoreError::Corrupt(e.to_string()))? {
                JobState::Pending => depth.pending = n,
                JobState::Running => depth.running = n,
                JobState::Failed => depth.failed = n,
                JobState::Unknown => depth.unknown = n,
                JobState::Succeeded => {}
            }
        }
        Ok(depth)
    }

    /// The `limit` tenants with the most jobs waiting for their admin, as (tenant, failed,
    /// outcome unknown), most first.
    pub async fn failures_by_tenant(&self, limit: i64) -> Result<Vec<(String, i64, i64)>, StoreError> {
        Ok(on_read_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT tenant_id, CAST(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS BIGINT) AS failed, \
                 CAST(SUM(CASE WHEN state = 'unknown' THEN 1 ELSE 0 END) AS BIGINT) AS unknown \
                 FROM jobs WHERE state IN ('failed', 'unknown') GROUP BY tenant_id \
                 ORDER BY COUNT(*) DESC, tenant_id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Checks the database answers (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_read_pool!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    #[cfg(feature = "testing")]
    /// A job by id.
    pub async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
        let job: Option<Job> = on_read_pool!(self, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?);
        Ok(job)
    }
}
