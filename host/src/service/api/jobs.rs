//! A tenant's jobs (sync state of each booking), replay, and the audit trail.

use super::api_time;
use super::extract::{Json, Path, Query};
use crate::service::ops::{self, Principal};
use crate::service::{ApiResult, AppState};
use crate::store::{AuditRecord, Job};
use axum::extract::State;
use portico_model::text::{MAX_ERROR_BYTES, clip};
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
    /// `pending`, `running`, `succeeded`, `failed`, or `unknown`: a commit creating records
    /// got no answer; check the org, then replay the job or mark it done.
    pub state: String,
    /// Runs so far.
    pub attempts: i32,
    /// The reason of the last failure (Salesforce's or the plugin's words): its first
    /// 300 bytes in lists, up to 4 KiB in a job's detail.
    pub error: Option<String>,
    /// The plugin version of the last run.
    pub digest: Option<String>,
    /// Not before, for a pending retry (RFC 3339, UTC).
    pub run_after: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

/// The most bytes of a job's error in a list: lists are summaries.
const LIST_ERROR_BYTES: usize = 300;

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

impl JobView {
    fn new(j: &Job, error_bytes: usize) -> JobView {
        JobView {
            id: j.id,
            booking_id: j.booking_id.clone(),
            kind: j.kind.clone(),
            state: j.state().as_str().to_owned(),
            attempts: j.attempts,
            error: j.error.as_deref().map(|e| clip(e, error_bytes).into_owned()),
            digest: j.digest.clone(),
            run_after: api_time(j.run_after),
            created_at: api_time(j.created_at),
            updated_at: api_time(j.updated_at),
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
    /// RFC 3339, UTC.
    pub committed_at: String,
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
            committed_at: api_time(a.committed_at),
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

/// The tenant's jobs, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/jobs", tag = "jobs", operation_id = "list_jobs",
    params(("tenant" = String, Path), JobQuery), responses((status = 200, body = Vec<JobView>)))]
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Query(q): Query<JobQuery>,
) -> ApiResult<Json<Vec<JobView>>> {
    let jobs = ops::jobs::list(
        &state,
        &who,
        &id,
        ops::jobs::JobQuery { state: q.state.as_deref(), ..Default::default() },
        q.before,
        q.limit.unwrap_or(50),
    )
    .await?;
    Ok(Json(jobs.iter().map(|j| JobView::new(j, LIST_ERROR_BYTES)).collect()))
}

/// One job in full.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/jobs/{job}", tag = "jobs", operation_id = "get_job",
    params(("tenant" = String, Path), ("job" = i64, Path)), responses((status = 200, body = JobDetail)))]
pub async fn get(
    State(state): State<AppState>,
    who: Principal,
    Path((id, job_id)): Path<(String, i64)>,
) -> ApiResult<Json<JobDetail>> {
    let (job, records) = ops::jobs::get(&state, &who, &id, job_id).await?;
    let parse = |s: &Option<String>| s.as_deref().and_then(|s| serde_json::from_str(s).ok());
    Ok(Json(JobDetail {
        booking: serde_json::from_str(&job.payload).unwrap_or_default(),
        logs: parse(&job.logs),
        usage: parse(&job.usage),
        records: records.into_iter().map(AuditView::from).collect(),
        job: JobView::new(&job, MAX_ERROR_BYTES),
    }))
}

/// What a replay did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Replayed {
    /// Jobs put back in the queue.
    pub replayed: u64,
    /// Failed jobs left failed because a later job of the same booking already succeeded
    /// (replaying them would write older data over newer).
    pub superseded: u64,
}

/// Replays one failed job, or one whose commit's outcome is unknown (after checking the org).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/jobs/{job}/replay", tag = "jobs", operation_id = "replay_job",
    params(("tenant" = String, Path), ("job" = i64, Path)),
    responses((status = 200, body = Replayed),
        (status = 409, body = crate::service::ErrorBody, description = "not failed, its booking purged, or superseded by a later job")))]
pub async fn replay(
    State(state): State<AppState>,
    who: Principal,
    Path((id, job_id)): Path<(String, i64)>,
) -> ApiResult<Json<Replayed>> {
    ops::jobs::replay(&state, &who, &id, job_id).await?;
    Ok(Json(Replayed { replayed: 1, superseded: 0 }))
}

/// Replays every failed job of the tenant that no later job of its booking superseded.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/jobs/replay", tag = "jobs", operation_id = "replay_failed_jobs",
    params(("tenant" = String, Path)), responses((status = 200, body = Replayed)))]
pub async fn replay_all(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Replayed>> {
    let done = ops::jobs::replay_all(&state, &who, &id).await?;
    Ok(Json(Replayed { replayed: done.replayed, superseded: done.superseded }))
}

/// Marks a job whose commit's outcome is unknown as done: its records were found in the org.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/jobs/{job}/mark-done", tag = "jobs", operation_id = "mark_job_done",
    params(("tenant" = String, Path), ("job" = i64, Path)),
    responses((status = 200, body = JobView),
        (status = 409, body = crate::service::ErrorBody, description = "the job's outcome is not unknown")))]
pub async fn mark_done(
    State(state): State<AppState>,
    who: Principal,
    Path((id, job_id)): Path<(String, i64)>,
) -> ApiResult<Json<JobView>> {
    Ok(Json(JobView::new(&ops::jobs::mark_done(&state, &who, &id, job_id).await?, MAX_ERROR_BYTES)))
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
#[utoipa::path(get, path = "/v1/tenants/{tenant}/audit", tag = "jobs", operation_id = "list_audit",
    params(("tenant" = String, Path), AuditQuery), responses((status = 200, body = Vec<AuditView>)))]
pub async fn audit(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<AuditView>>> {
    let records = ops::jobs::audit(&state, &who, &id, q.job, q.before, q.limit.unwrap_or(100)).await?;
    Ok(Json(records.into_iter().map(AuditView::from).collect()))
}
