//! A tenant's jobs: reading them and the audit trail, replaying, marking done, and erasing a
//! person's data.

use super::tenants::open;
use super::{OpResult, Ops, Permission, Principal};
use crate::service::{ApiError, now_ms};
use crate::store::{AuditRecord, Erasure, ErasureReport, Job, JobFilter, JobState, PersonEmail, Replay, ReplayedAll};

/// The tenant's jobs, newest first: in `state` if given, of one booking, received before a
/// time, below `before` (a job id, for the next page), at most `limit` (1–500).
pub async fn list(
    ops: &Ops,
    who: &Principal,
    tenant: &str,
    query: JobQuery<'_>,
    before: Option<i64>,
    limit: i64,
) -> OpResult<Vec<Job>> {
    open(ops, who, tenant, Permission::JobsView, "list-jobs").await?;
    let state = query
        .state
        .filter(|s| !s.is_empty())
        .map(|s| {
            JobState::parse(s).ok_or_else(|| {
                ApiError::bad_request(
                    "bad-state",
                    format!("unknown state `{s}`: pending, running, succeeded, failed or unknown"),
                )
            })
        })
        .transpose()?;
    let filter = JobFilter {
        state,
        booking_id: query.booking_id.filter(|b| !b.is_empty()),
        created_before: query.created_before,
    };
    Ok(ops.inner.store.jobs(tenant, filter, before, limit.clamp(1, 500)).await?)
}

/// A job list's filter, as asked.
#[derive(Clone, Copy, Debug, Default)]
pub struct JobQuery<'a> {
    /// `pending`, `running`, `succeeded`, `failed` or `unknown`.
    pub state: Option<&'a str>,
    /// A booking's id.
    pub booking_id: Option<&'a str>,
    /// Received before (Unix ms).
    pub created_before: Option<i64>,
}

/// One job and the records it committed.
pub async fn get(ops: &Ops, who: &Principal, tenant: &str, job: i64) -> OpResult<(Job, Vec<AuditRecord>)> {
    open(ops, who, tenant, Permission::JobsView, "view-job").await?;
    let store = &ops.inner.store;
    let found = store
        .job_for(tenant, job)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("tenant `{tenant}` has no job {job}")))?;
    Ok((found, store.audit(tenant, Some(job), None, 100).await?))
}

/// Replays one failed job, or one whose commit's outcome is unknown (after checking the org).
pub async fn replay(ops: &Ops, who: &Principal, tenant: &str, job: i64) -> OpResult<()> {
    open(ops, who, tenant, Permission::JobsReplay, "replay-job").await?;
    match ops.inner.store.replay_for(tenant, job, now_ms()).await? {
        Replay::Replayed => {}
        Replay::NotFound => return Err(ApiError::not_found(format!("tenant `{tenant}` has no job {job}"))),
        Replay::NotReplayable(s) => {
            return Err(ApiError::conflict(
                "not-failed",
                format!("job {job} is {}; only failed jobs and jobs of unknown outcome are replayed", s.as_str()),
            ));
        }
        Replay::Purged => {
            return Err(ApiError::conflict(
                "purged",
                format!("job {job}'s booking was purged by the retention policy or erased: nothing is left to replay"),
            ));
        }
        Replay::Superseded { by, kind } => {
            return Err(ApiError::conflict(
                "superseded",
                format!(
                    "job {job} is not replayed: job {by} ({kind}) of the same booking succeeded, is running or may have committed, \
                     and replaying the older delivery would write its data over the newer"
                ),
            ));
        }
    }
    ops.inner.wake.notify_waiters();
    tracing::info!(tenant, job, by = %who.actor.label(), "job replayed");
    Ok(())
}

/// Replays every failed job of the tenant that no later job of its booking superseded.
pub async fn replay_all(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<ReplayedAll> {
    open(ops, who, tenant, Permission::JobsReplay, "replay-jobs").await?;
    let done = ops.inner.store.replay_all_failed(tenant, now_ms()).await?;
    ops.inner.wake.notify_waiters();
    tracing::info!(tenant, jobs = done.replayed, superseded = done.superseded, by = %who.actor.label(), "failed jobs replayed");
    Ok(done)
}

/// Marks a job whose commit's outcome is unknown as done: its records were found in the org.
pub async fn mark_done(ops: &Ops, who: &Principal, tenant: &str, job: i64) -> OpResult<Job> {
    open(ops, who, tenant, Permission::JobsReplay, "mark-job-done").await?;
    let store = &ops.inner.store;
    if !store.mark_done(tenant, job, now_ms()).await? {
        return match store.job_for(tenant, job).await? {
            None => Err(ApiError::not_found(format!("tenant `{tenant}` has no job {job}"))),
            Some(found) => Err(ApiError::conflict(
                "not-unknown",
                format!("job {job} is {}; only jobs of unknown outcome are marked done", found.state().as_str()),
            )),
        };
    }
    tracing::info!(tenant, job, by = %who.actor.label(), "job of unknown outcome marked done");
    store.job_for(tenant, job).await?.ok_or_else(|| ApiError::not_found(format!("job {job}")))
}

/// The tenant's audit trail, newest first (one job's, if given), at most `limit` (1–1000).
pub async fn audit(
    ops: &Ops,
    who: &Principal,
    tenant: &str,
    job: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> OpResult<Vec<AuditRecord>> {
    open(ops, who, tenant, Permission::AuditView, "view-audit").await?;
    Ok(ops.inner.store.audit(tenant, job, before, limit.clamp(1, 1000)).await?)
}

/// What an erasure did.
#[derive(Debug)]
pub struct Erased {
    /// The address's SHA-256 (what is kept of it).
    pub email_sha256: String,
    /// Who asked.
    pub requested_by: String,
    /// What was erased.
    pub report: ErasureReport,
    /// When.
    pub at: i64,
}

/// Erases one person's data from the tenant's jobs (payloads, logs, errors) and audit values.
pub async fn erase(ops: &Ops, who: &Principal, tenant: &str, email: &str) -> OpResult<Erased> {
    open(ops, who, tenant, Permission::JobsReplay, "erase-person").await?;
    let email = PersonEmail::parse(email).map_err(|e| ApiError::bad_request("bad-email", e.to_string()))?;
    let now = now_ms();
    let report = ops.inner.store.erase_person(tenant, &email, &who.actor.label(), now).await?;
    ops.inner.contexts.invalidate(tenant);
    tracing::info!(tenant, email_sha256 = %email.sha256(), jobs = report.jobs, stopped = report.stopped,
        audit_rows = report.audit_rows, by = %who.actor.label(), "person's data erased");
    Ok(Erased { email_sha256: email.sha256(), requested_by: who.actor.label(), report, at: now })
}

/// The tenant's erasures, newest first.
pub async fn erasures(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<Vec<Erasure>> {
    open(ops, who, tenant, Permission::JobsReplay, "list-erasures").await?;
    Ok(ops.inner.store.erasures(tenant).await?)
}
