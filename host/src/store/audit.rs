//! The audit trail: every record a job committed, queryable by its tenant.

use super::{Store, StoreError, on_read_pool};
use serde::Serialize;

/// One committed record.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct AuditRecord {
    /// Its id in the trail.
    pub id: i64,
    /// The job that committed it.
    pub job_id: i64,
    /// The plugin version that staged it.
    pub digest: String,
    /// Its sObject.
    pub sobject: String,
    /// The Salesforce id.
    pub record_id: String,
    /// Created (`false`: an upsert updated it).
    pub created: bool,
    /// The fields written, a JSON object.
    pub fields: String,
    /// Unix ms.
    pub committed_at: i64,
}

/// A record to add to the trail.
#[derive(Clone, Debug)]
pub struct NewAudit {
    /// Its sObject.
    pub sobject: String,
    /// The Salesforce id.
    pub record_id: String,
    /// Created or updated.
    pub created: bool,
    /// The fields written (JSON object).
    pub fields: String,
}

impl Store {
    /// A tenant's trail, newest first, optionally for one job, at most `limit` records before
    /// the id `before` (for paging).
    pub async fn audit(
        &self,
        tenant: &str,
        job: Option<i64>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(on_read_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, job_id, digest, sobject, record_id, created, fields, committed_at FROM audit \
                 WHERE tenant_id = $1 AND ($2 IS NULL OR job_id = $2) AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
            )
            .bind(tenant)
            .bind(job)
            .bind(before)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }
}
