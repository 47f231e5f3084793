//! Retention: personal data is kept only as long as it is needed, and erased on request.
//!
//! Booking payloads, plugin logs, error texts and audit values are personal data. A finished
//! job keeps its row (ids, state, booking id, kind, plugin version) but loses those after
//! [`Retention::jobs_for`]; an audit row keeps its ids and field names but loses the values
//! after [`Retention::audit_values_for`]; expired nonces and OAuth states go; plugin versions
//! nothing refers to go beyond the newest few. Every purge works in batches of [`BATCH`] rows a
//! statement, so a backlog never holds one long transaction (nor SQLite's one writer), and on
//! PostgreSQL replicas purging at once skip each other's rows. Erasure of one person's data
//! on request is [`erasure`].

use super::{Backend, Store, StoreError, on_pool, on_read_pool};
use serde::Serialize;
use std::time::Duration;

/// Rows one statement purges at most.
const BATCH: i64 = 1_000;

/// What a purged job's payload becomes (the column is NOT NULL): readers see why it is empty.
pub const PURGED_PAYLOAD: &str = r#"{"purged":true}"#;

/// How long personal data is kept; `None` keeps it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// How long after a job finished (succeeded or failed) its payload, logs, usage and error
    /// text are kept. Pending, running and outcome-unknown jobs keep everything.
    pub jobs_for: Option<Duration>,
    /// How long after its commit an audit row keeps its field values.
    pub audit_values_for: Option<Duration>,
    /// Per tenant, the newest uploads kept besides the versions still referred to (see
    /// [`Store::prune_plugin_versions`]).
    pub keep_plugin_versions: Option<u32>,
}

/// What one purge removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Purged {
    /// Finished jobs whose payload, logs, usage and error were dropped.
    pub jobs: u64,
    /// Audit rows whose field values were dropped.
    pub audit_rows: u64,
    /// Expired nonces forgotten.
    pub nonces: u64,
    /// Expired OAuth web-server flows forgotten.
    pub oauth_states: u64,
    /// Plugin versions deleted.
    pub plugin_versions: u64,
    /// Finished outbound webhook deliveries deleted (they carry job data and error text).
    pub webhook_deliveries: u64,
}

/// Writes audit rows back with every field value dropped, in the transaction `$tx` (a macro:
/// the transaction is either backend's).
macro_rules! write_redacted {
    ($tx:expr, $rows:expr, $now_ms:expr) => {{
        let rows: &[(i64, String)] = $rows;
        for chunk in rows.chunks(BATCH as usize) {
            let sql = format!(
                "UPDATE audit SET fields = v.column2, redacted_at = $1 FROM (VALUES {}) AS v WHERE audit.id = v.column1",
                $crate::store::jobs::value_rows(chunk.len(), 2, 1)
            );
            let mut query = sqlx::query(&sql).bind($now_ms);
            for (id, fields) in chunk {
                query = query.bind(*id).bind($crate::store::retention::without_values(fields));
            }
            query.execute(&mut *$tx).await?;
        }
    }};
}

mod erasure;

pub use erasure::{Erasure, ErasureReport, NotAnEmail, PersonEmail};

impl Store {
    /// Runs every purge the policy asks for, and always forgets expired nonces and OAuth
    /// states. Jobs go first, so that versions only their runs referred to can go in the same
    /// pass.
    pub async fn purge(&self, policy: &Retention, now_ms: i64) -> Result<Purged, StoreError> {
        let before = |age: Duration| now_ms.saturating_sub(i64::try_from(age.as_millis()).unwrap_or(i64::MAX));
        let mut purged = Purged::default();
        if let Some(age) = policy.jobs_for {
            purged.jobs = self.purge_finished_jobs(before(age), now_ms).await?;
            purged.webhook_deliveries = self.purge_webhook_deliveries(before(age)).await?;
        }
        if let Some(age) = policy.audit_values_for {
            purged.audit_rows = self.drop_audit_values(before(age), now_ms).await?;
        }
        (purged.nonces, purged.oauth_states) = self.purge_expired(now_ms).await?;
        if let Some(keep) = policy.keep_plugin_versions {
            purged.plugin_versions = self.prune_plugin_versions(keep).await?;
        }
        Ok(purged)
    }

    /// Deletes outbound webhook deliveries that succeeded or failed before `finished_before`.
    pub async fn purge_webhook_deliveries(&self, finished_before: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query("DELETE FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < $1")
                .bind(finished_before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Drops the payload (to [`PURGED_PAYLOAD`]), logs, usage and error text of jobs that
    /// succeeded or failed before `finished_before` (Unix ms). The error goes too: plugins and
    /// Salesforce quote the values they refused. Returns how many.
    pub async fn purge_finished_jobs(&self, finished_before: i64, now_ms: i64) -> Result<u64, StoreError> {
        // The outer conditions repeat the inner ones: a job replayed since the subquery read it
        // is pending again and keeps its payload.
        const PURGEABLE: &str = "purged_at IS NULL AND state IN ('succeeded', 'failed') AND updated_at < $3";
        let sql = format!(
            "UPDATE jobs SET payload = $1, logs = NULL, usage = NULL, error = NULL, purged_at = $2 \
             WHERE id IN (SELECT id FROM jobs WHERE {PURGEABLE} LIMIT $4{}) AND {PURGEABLE}",
            self.skip_locked()
        );
        self.in_batches(|| async {
            Ok(on_pool!(self, |pool| {
                sqlx::query(&sql)
                    .bind(PURGED_PAYLOAD)
                    .bind(now_ms)
                    .bind(finished_before)
                    .bind(BATCH)
                    .execute(pool)
                    .await?
                    .rows_affected()
            }))
        })
        .await
    }

    /// Drops the field values of audit rows committed before `committed_before` (Unix ms):
    /// `{"Email":"a@b.c","LastName":"Doe"}` becomes `{"Email":null,"LastName":null}`.
    pub async fn drop_audit_values(&self, committed_before: i64, now_ms: i64) -> Result<u64, StoreError> {
        let select = format!(
            "SELECT id, fields FROM audit WHERE redacted_at IS NULL AND committed_at < $1 LIMIT $2{}",
            self.skip_locked()
        );
        self.in_batches(|| async {
            Ok(on_pool!(self, |pool| {
                let mut tx = pool.begin().await?;
                let rows: Vec<(i64, String)> =
                    sqlx::query_as(&select).bind(committed_before).bind(BATCH).fetch_all(&mut *tx).await?;
                write_redacted!(tx, &rows, now_ms);
                tx.commit().await?;
                rows.len() as u64
            }))
        })
        .await
    }

    /// Forgets nonces whose timestamps can no longer pass the freshness check and OAuth flows
    /// that can no longer complete. Returns (nonces, OAuth states).
    pub async fn purge_expired(&self, now_ms: i64) -> Result<(u64, u64), StoreError> {
        let lock = self.skip_locked();
        let nonces = format!(
            "DELETE FROM nonces WHERE (tenant_id, nonce) IN \
             (SELECT tenant_id, nonce FROM nonces WHERE expires_at < $1 LIMIT $2{lock})"
        );
        // `take_oauth_state` takes a state only while `expires_at > now`.
        let states = format!(
            "DELETE FROM oauth_states WHERE state IN (SELECT state FROM oauth_states WHERE expires_at <= $1 LIMIT $2{lock})"
        );
        let mut counts = [0; 2];
        for (sql, count) in [nonces, states].iter().zip(&mut counts) {
            *count = self
                .in_batches(|| async {
                    Ok(on_pool!(self, |pool| {
                        sqlx::query(sql).bind(now_ms).bind(BATCH).execute(pool).await?.rows_affected()
                    }))
                })
                .await?;
        }
        Ok((counts[0], counts[1]))
    }

    /// Deletes plugin versions (their component bytes are most of a tenant's storage) that
    /// nothing refers to and are not among the tenant's `keep` newest uploads. A version is
    /// referred to when it is
    /// - the tenant's active version;
    /// - the version `POST …/plugins/rollback` returns to: the one the newest activation of the
    ///   active version replaced;
    /// - the version a job not yet purged last ran (its logs, usage and audit rows name it; a
    ///   pending or outcome-unknown job is never purged).
    ///
    /// Other versions in the activation history may go: the history keeps their digests.
    pub async fn prune_plugin_versions(&self, keep: u32) -> Result<u64, StoreError> {
        // Versions past the newest `$1` that are neither active nor the rollback target: found
        // from the small tables alone, so that the check against the jobs (a scan of the
        // unpurged ones) runs only when there is something to prune.
        const UNPINNED: &str = "SELECT p.tenant_id, p.digest FROM (SELECT tenant_id, digest, \
                 ROW_NUMBER() OVER (PARTITION BY tenant_id ORDER BY uploaded_at DESC, digest) AS newest \
                 FROM plugin_versions) p \
             JOIN tenants t ON t.id = p.tenant_id \
             WHERE p.newest > $1 \
             AND (t.active_digest IS NULL OR t.active_digest <> p.digest) \
             AND NOT EXISTS (SELECT 1 FROM activations a WHERE a.tenant_id = p.tenant_id AND a.previous_digest = p.digest \
                 AND a.id = (SELECT MAX(b.id) FROM activations b WHERE b.tenant_id = p.tenant_id AND b.digest = t.active_digest))";
        let any = format!("SELECT COUNT(*) FROM ({UNPINNED} LIMIT 1) c");
        let (candidates,): (i64,) =
            on_read_pool!(self, |pool| { sqlx::query_as(&any).bind(i64::from(keep)).fetch_one(pool).await? });
        if candidates == 0 {
            return Ok(0);
        }
        let delete = format!(
            "DELETE FROM plugin_versions WHERE (tenant_id, digest) IN ({UNPINNED} \
             AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = p.tenant_id AND j.digest = p.digest \
                 AND j.purged_at IS NULL) \
             LIMIT $2)"
        );
        self.in_batches(|| async {
            Ok(on_pool!(self, |pool| {
                sqlx::query(&delete).bind(i64::from(keep)).bind(BATCH).execute(pool).await?.rows_affected()
            }))
        })
        .await
    }

    /// Runs `batch` until it handles fewer than [`BATCH`] rows; the total.
    async fn in_batches<F, Fut>(&self, batch: F) -> Result<u64, StoreError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<u64, StoreError>>,
    {
        let mut total = 0;
        loop {
            let n = batch().await?;
            total += n;
            if n < BATCH as u64 {
                return Ok(total);
            }
        }
    }

    /// PostgreSQL: rows another replica's purge holds are left to it.
    fn skip_locked(&self) -> &'static str {
        match self.backend {
            Backend::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite { .. } => "",
        }
    }

    /// PostgreSQL: rows read to be changed are held until the commit.
    fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Postgres(_) => " FOR UPDATE",
            Backend::Sqlite { .. } => "",
        }
    }
}

/// A JSON object's field names, every value `null`; anything else has no names to keep: `{}`.
fn without_values(fields: &str) -> String {
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(fields) {
        Ok(map) => {
            serde_json::Value::Object(map.into_iter().map(|(k, _)| (k, serde_json::Value::Null)).collect()).to_string()
        }
        Err(_) => "{}".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_values_go_and_names_stay() {
        assert_eq!(
            without_values(r#"{"LastName":"Lee","Email":"a@b.c","Count":3,"Nested":{"x":1}}"#),
            r#"{"LastName":null,"Email":null,"Count":null,"Nested":null}"#
        );
        assert_eq!(without_values("{}"), "{}");
        assert_eq!(without_values("not json"), "{}");
        assert_eq!(without_values("[1,2]"), "{}");
    }
}
