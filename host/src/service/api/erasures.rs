//! Erasure of one person's data by email (a data-subject request), and the record of past
//! erasures — which keeps who asked and what went, never the address.

use super::api_time;
use super::extract::{Json, Path};
use crate::service::ops::{self, Principal};
use crate::service::{ApiResult, AppState};
use crate::store::{Erasure, ErasureReport};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whose data to erase.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    /// The person's email address (case does not matter).
    #[schema(format = Email)]
    pub email: String,
}

/// What an erasure removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureView {
    /// Its id (absent in the answer to the request itself).
    pub id: Option<i64>,
    /// Hex SHA-256 of the erased address, trimmed and lowercased.
    pub email_sha256: String,
    /// Who asked (an API key prefix).
    pub requested_by: String,
    /// Jobs whose booking, logs, usage and error were dropped (the whole booking, other
    /// attendees included).
    pub jobs: u64,
    /// Of those, jobs that had not finished: they were ended as failed and will not run.
    pub stopped: u64,
    /// Audit rows whose field values were dropped (ids and field names stay).
    pub audit_rows: u64,
    /// RFC 3339, UTC.
    pub erased_at: String,
}

impl From<Erasure> for ErasureView {
    fn from(e: Erasure) -> ErasureView {
        ErasureView {
            id: Some(e.id),
            email_sha256: e.email_sha256,
            requested_by: e.requested_by,
            jobs: e.jobs.max(0) as u64,
            stopped: e.stopped.max(0) as u64,
            audit_rows: e.audit_rows.max(0) as u64,
            erased_at: api_time(e.erased_at),
        }
    }
}

/// Erases one person's data from the tenant's jobs (payloads, logs, errors) and audit values.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/erasures", tag = "jobs", operation_id = "erase_person",
    params(("tenant" = String, Path)), request_body = EraseRequest,
    responses((status = 200, body = ErasureView),
        (status = 400, body = crate::service::ErrorBody, description = "not an email address, or a malformed request")))]
pub async fn erase(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(request): Json<EraseRequest>,
) -> ApiResult<Json<ErasureView>> {
    let erased = ops::jobs::erase(&state, &who, &id, &request.email).await?;
    let ErasureReport { jobs, stopped, audit_rows } = erased.report;
    Ok(Json(ErasureView {
        id: None,
        email_sha256: erased.email_sha256,
        requested_by: erased.requested_by,
        jobs,
        stopped,
        audit_rows,
        erased_at: api_time(erased.at),
    }))
}

/// The tenant's erasures, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/erasures", tag = "jobs", operation_id = "list_erasures",
    params(("tenant" = String, Path)), responses((status = 200, body = Vec<ErasureView>)))]
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ErasureView>>> {
    Ok(Json(ops::jobs::erasures(&state, &who, &id).await?.into_iter().map(ErasureView::from).collect()))
}
