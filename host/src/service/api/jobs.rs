//! A tenant's jobs (sync state of each booking), replay, and the audit trail.

use super::tenants::visible_tenant;
use crate::service::auth::{Caller, Need};
use crate::service::{ApiError, ApiResult, AppState, now_ms};
use crate::store::{AuditRecord, Job, JobState};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A job as shown to its tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    /// Its id.
    pub id: i64,
    /// The booking platform's booking id.
    pub booking_id: String,
    /// `created`, `cancelled`, or `rescheduled@<start>#<content digest>`.
    pub kind: String,
    /// `pending`, `running`, `succeeded` or `failed`.
    pub state: String,
    /// Runs so far.
    pub attempts: i32,
    /// The reason of the last failure (Salesforce's or the plugin's words).
    pub error: Option<String>,
    /// The plugin version of the last run.
    pub digest: Option<String>,
    /// Not before (Unix ms), for a pending retry.
    pub run_after: i64,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// A job with its booking, logs, resource use and committed records.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobDetail {
    /// The job.
    #[serde(flatten)]
    pub job: JobView,
    /// The booking as stored.
    #[schema(value_type = Object)]
    pub booking: serde_json::Value,
    /// The plugin's log lines of the last run.
    #[schema(value_type = Option<Vec<Object>>)]
    pub logs: Option<serde_json::Value>,
    /// Resources the last run used.
    #[schema(value_type = Option<Object>)]
    pub usage: Option<serde_json::Value>,
    /// The records it committed.
    pub records: Vec<AuditView>,
}

impl From<&Job> for JobView {
    fn from(j: &Job) -> JobView {
        JobView {
            id: j.id,
            booking_id: j.booking_id.clone(),
            kind: j.kind.clone(),
            state: j.state().as_str().to_owned(),
            attempts: j.attempts,
            error: j.error.clone(),
            digest: j.digest.clone(),
            run_after: j.run_after,
            created_at: j.created_at,
            updated_at: j.updated_at,
        }
    }
}

/// One audited record.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    /// Trail id.
    pub id: i64,
    /// The job.
    pub job_id: i64,
    /// The plugin version.
    pub digest: String,
    /// The sObject.
    pub sobject: String,
    /// The Salesforce id.
    pub record_id: String,
    /// Created (else updated by an upsert).
    pub created: bool,
    /// The fields written.
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    /// Unix ms.
    pub committed_at: i64,
}

impl From<AuditRecord> for AuditView {
    fn from(a: AuditRecord) -> AuditView {
        AuditView {
            id: a.id,
            job_id: a.job_id,
            digest: a.digest,
            sobject: a.sobject,
            record_id: a.record_id,
            created: a.created,
            fields: serde_json::from_str(&a.fields).unwrap_or_default(),
            committed_at: a.committed_at,
        }
    }
}

/// Paging and filtering.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct JobQuery {
    /// Only jobs in this state.
    pub state: Option<String>,
    /// Only ids below this (the last id of the previous page).
    pub before: Option<i64>,
    /// At most this many (default 50, max 500).
    pub limit: Option<i64>,
}

fn parse_state(s: &str) -> ApiResult<JobState> {
    match s {
        "pending" | "running" | "succeeded" | "failed" => Ok(JobState::parse(s)),
        other => Err(ApiError::bad_request(
            "bad-state",
            format!("unknown state `{other}`: pending, running, succeeded or failed"),
        )),
    }
}

/// The tenant's jobs, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/jobs", tag = "jobs",
    params(("tenant" = String, Path), JobQuery), responses((status = 200, body = Vec<JobView>)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<JobQuery>,
) -> ApiResult<Json<Vec<JobView>>> {
    visible_tenant(&state, &caller, &id, Need::Read).await?;
    let filter = q.state.as_deref().map(parse_state).transpose()?;
    let jobs = state.inner.store.jobs(&id, filter, q.before, q.limit.unwrap_or(50).clamp(1, 500)).await?;
    Ok(Json(jobs.iter().map(JobView::from).collect()))
}

/// One job in full.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/jobs/{job}", tag = "jobs",
    params(("tenant" = String, Path), ("job" = i64, Path)), responses((status = 200, body = JobDetail), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, job_id)): Path<(String, i64)>,
) -> ApiResult<Json<JobDetail>> {
    visible_tenant(&state, &caller, &id, Need::Read).await?;
    let job = state
        .inner
        .store
        .job_for(&id, job_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("tenant `{id}` has no job {job_id}")))?;
    let records = state.inner.store.audit(&id, Some(job_id), None, 100).await?;
    let parse = |s: &Option<String>| s.as_deref().and_then(|s| serde_json::from_str(s).ok());
    Ok(Json(JobDetail {
        booking: serde_json::from_str(&job.payload).unwrap_or_default(),
        logs: parse(&job.logs),
        usage: parse(&job.usage),
        records: records.into_iter().map(AuditView::from).collect(),
        job: JobView::from(&job),
    }))
}

/// What a replay did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Replayed {
    /// Jobs put back in the queue.
    pub replayed: u64,
}

/// Replays one failed job.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/jobs/{job}/replay", tag = "jobs",
    params(("tenant" = String, Path), ("job" = i64, Path)),
    responses((status = 200, body = Replayed), (status = 404), (status = 409, body = crate::service::ErrorBody)))]
pub async fn replay(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, job_id)): Path<(String, i64)>,
) -> ApiResult<Json<Replayed>> {
    visible_tenant(&state, &caller, &id, Need::Admin).await?;
    let store = &state.inner.store;
    if !store.replay_for(&id, job_id, now_ms()).await? {
        return match store.job_for(&id, job_id).await? {
            None => Err(ApiError::not_found(format!("tenant `{id}` has no job {job_id}"))),
            Some(job) => Err(ApiError::conflict(
                "not-failed",
                format!("job {job_id} is {}; only failed jobs are replayed", job.state().as_str()),
            )),
        };
    }
    state.inner.wake.notify_waiters();
    tracing::info!(tenant = %id, job = job_id, by = %caller.key, "job replayed");
    Ok(Json(Replayed { replayed: 1 }))
}

/// Replays every failed job of the tenant.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/jobs/replay", tag = "jobs",
    params(("tenant" = String, Path)), responses((status = 200, body = Replayed)))]
pub async fn replay_all(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Replayed>> {
    visible_tenant(&state, &caller, &id, Need::Admin).await?;
    let n = state.inner.store.replay_all_failed(&id, now_ms()).await?;
    state.inner.wake.notify_waiters();
    tracing::info!(tenant = %id, jobs = n, by = %caller.key, "failed jobs replayed");
    Ok(Json(Replayed { replayed: n }))
}

/// Filtering the trail.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Only this job's records.
    pub job: Option<i64>,
    /// Only ids below this (paging).
    pub before: Option<i64>,
    /// At most this many (default 100, max 1000).
    pub limit: Option<i64>,
}

/// The tenant's audit trail: every committed record, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/audit", tag = "jobs",
    params(("tenant" = String, Path), AuditQuery), responses((status = 200, body = Vec<AuditView>)))]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<AuditView>>> {
    visible_tenant(&state, &caller, &id, Need::Read).await?;
    let records = state.inner.store.audit(&id, q.job, q.before, q.limit.unwrap_or(100).clamp(1, 1000)).await?;
    Ok(Json(records.into_iter().map(AuditView::from).collect()))
}
