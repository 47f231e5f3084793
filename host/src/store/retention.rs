//! Retention: personal data is kept only as long as it is needed, and erased on request.
//!
//! Booking payloads, plugin logs, error texts and audit values are personal data. A finished
//! job keeps its row (ids, state, booking id, kind, plugin version) but loses those after
//! [`Retention::jobs_for`]; an audit row keeps its ids and field names but loses the values
//! after [`Retention::audit_values_for`]; expired nonces and OAuth states go; plugin versions
//! nothing refers to go beyond the newest few. Every purge works in batches of [`BATCH`] rows a
//! statement, so a backlog never holds one long transaction (nor SQLite's one writer), and on
//! PostgreSQL replicas purging at once skip each other's rows. [`Store::erase_person`] removes
//! one person's data from a tenant's jobs and audit values and records that it did.

use super::jobs::value_rows;
use super::{Backend, Store, StoreError, on_pool, on_read_pool};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Rows one statement purges at most.
const BATCH: i64 = 1_000;

/// What a purged job's payload becomes (the column is NOT NULL): readers see why it is empty.
pub const PURGED_PAYLOAD: &str = r#"{"purged":true}"#;

/// The error of an unfinished job an erasure ended.
const ERASED: &str = "erased on request before it finished: its booking data was removed";

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
}

/// An address whose owner's data is to be erased: trimmed, lowercased, one `@` with text on both
/// sides and no spaces — never a pattern that would match everyone. Its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonEmail(String);

/// Why a text is not an address to erase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not an email address: {0}")]
pub struct NotAnEmail(&'static str);

/// What an erasure removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ErasureReport {
    /// Jobs whose payload, logs, usage and error were dropped.
    pub jobs: u64,
    /// Of those, jobs that had not finished: they were ended as failed and will not run.
    pub stopped: u64,
    /// Audit rows whose field values were dropped.
    pub audit_rows: u64,
}

/// A recorded erasure: who asked and what was removed, never the address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Erasure {
    /// Its id.
    pub id: i64,
    /// Hex SHA-256 of the erased address (trimmed, lowercased).
    pub email_sha256: String,
    /// Who asked (an API key prefix).
    pub requested_by: String,
    /// Jobs erased.
    pub jobs: i64,
    /// Of those, jobs ended before they finished.
    pub stopped: i64,
    /// Audit rows whose values were dropped.
    pub audit_rows: i64,
    /// Unix ms.
    pub erased_at: i64,
}

impl PersonEmail {
    /// Checks and normalises an address.
    pub fn parse(text: &str) -> Result<PersonEmail, NotAnEmail> {
        let email = text.trim().to_lowercase();
        if email.len() > 320 {
            return Err(NotAnEmail("longer than 320 bytes"));
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(NotAnEmail("it has spaces or control characters"));
        }
        match email.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.is_empty() => Ok(PersonEmail(email)),
            _ => Err(NotAnEmail("it needs text on both sides of an `@`")),
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Hex SHA-256 of the normalised address: what the erasure record keeps.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for PersonEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PersonEmail(sha256:{})", &self.sha256()[..12])
    }
}

/// Writes audit rows back with every field value dropped, in the transaction `$tx`.
macro_rules! write_redacted {
    ($tx:expr, $rows:expr, $now_ms:expr) => {{
        let rows: &[(i64, String)] = $rows;
        for chunk in rows.chunks(BATCH as usize) {
            let sql = format!(
                "UPDATE audit SET fields = v.column2, redacted_at = $1 FROM (VALUES {}) AS v WHERE audit.id = v.column1",
                value_rows(chunk.len(), 2, 1)
            );
            let mut query = sqlx::query(&sql).bind($now_ms);
            for (id, fields) in chunk {
                query = query.bind(*id).bind(without_values(fields));
            }
            query.execute(&mut *$tx).await?;
        }
    }};
}

impl Store {
    /// Runs every purge the policy asks for, and always forgets expired nonces and OAuth
    /// states. Jobs go first, so that versions only their runs referred to can go in the same
    /// pass.
    pub async fn purge(&self, policy: &Retention, now_ms: i64) -> Result<Purged, StoreError> {
        let before = |age: Duration| now_ms.saturating_sub(i64::try_from(age.as_millis()).unwrap_or(i64::MAX));
        let mut purged = Purged::default();
        if let Some(age) = policy.jobs_for {
            purged.jobs = self.purge_finished_jobs(before(age), now_ms).await?;
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

    /// Removes one person's data from a tenant's jobs and audit trail, and records the erasure
    /// (with the address's SHA-256, never the address) as requested `by` someone.
    ///
    /// A job whose payload, logs, error or usage mentions the address (case-insensitively, as a
    /// whole address: `ann@x.io` is not found in `joann@x.io`) loses all four, as a purge by
    /// age would — the whole booking, other attendees included. An unfinished job is ended as
    /// failed (a run in flight records nothing: its claim is gone). Every audit row of those
    /// jobs, and every other audit row of the tenant whose values mention the address, loses its
    /// values. Other tenants' rows are never read. Works in windows of [`BATCH`] rows, each in
    /// its own transaction; running it again is harmless.
    pub async fn erase_person(
        &self,
        tenant: &str,
        email: &PersonEmail,
        by: &str,
        now_ms: i64,
    ) -> Result<ErasureReport, StoreError> {
        let pattern = like_pattern(email.as_str());
        let mut report = ErasureReport::default();
        let mut after = 0;
        while let Some(last) = self.window_end("jobs", tenant, after).await? {
            let (jobs, stopped, audit_rows) =
                self.erase_jobs_in(tenant, email, &pattern, (after, last), now_ms).await?;
            report.jobs += jobs;
            report.stopped += stopped;
            report.audit_rows += audit_rows;
            after = last;
        }
        after = 0;
        while let Some(last) = self.window_end("audit", tenant, after).await? {
            report.audit_rows += self.erase_audit_in(tenant, email, &pattern, (after, last), now_ms).await?;
            after = last;
        }
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO erasures (tenant_id, email_sha256, requested_by, jobs, stopped, audit_rows, erased_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(tenant)
            .bind(email.sha256())
            .bind(by)
            .bind(report.jobs as i64)
            .bind(report.stopped as i64)
            .bind(report.audit_rows as i64)
            .bind(now_ms)
            .execute(pool)
            .await?;
        });
        Ok(report)
    }

    /// A tenant's erasures, newest first.
    pub async fn erasures(&self, tenant: &str) -> Result<Vec<Erasure>, StoreError> {
        Ok(on_read_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, email_sha256, requested_by, jobs, stopped, audit_rows, erased_at FROM erasures \
                 WHERE tenant_id = $1 ORDER BY id DESC",
            )
            .bind(tenant)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The last id of the next window of a tenant's rows in `table` (`jobs` or `audit`) after
    /// id `after`, or `None` past the last.
    async fn window_end(&self, table: &str, tenant: &str, after: i64) -> Result<Option<i64>, StoreError> {
        let sql = format!(
            "SELECT MAX(id) FROM (SELECT id FROM {table} WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3) w"
        );
        let (last,): (Option<i64>,) =
            on_pool!(self, |pool| sqlx::query_as(&sql).bind(tenant).bind(after).bind(BATCH).fetch_one(pool).await?);
        Ok(last)
    }

    /// Erases the person from a tenant's jobs with ids in `(after, last]` and from those jobs'
    /// audit rows. Returns (jobs erased, of which stopped, audit rows).
    async fn erase_jobs_in(
        &self,
        tenant: &str,
        email: &PersonEmail,
        pattern: &str,
        (after, last): (i64, i64),
        now_ms: i64,
    ) -> Result<(u64, u64, u64), StoreError> {
        // Locked until the commit (PostgreSQL), so no claim, replay or result slips between
        // reading a job and erasing it.
        let select = format!(
            "SELECT id, payload, logs, error, usage FROM jobs WHERE tenant_id = $1 AND id > $2 AND id <= $3 \
             AND (LOWER(payload) LIKE LOWER($4) ESCAPE '!' OR LOWER(logs) LIKE LOWER($4) ESCAPE '!' \
             OR LOWER(error) LIKE LOWER($4) ESCAPE '!' OR LOWER(usage) LIKE LOWER($4) ESCAPE '!'){}",
            self.for_update()
        );
        type Row = (i64, String, Option<String>, Option<String>, Option<String>);
        Ok(on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let rows: Vec<Row> =
                sqlx::query_as(&select).bind(tenant).bind(after).bind(last).bind(pattern).fetch_all(&mut *tx).await?;
            let ids: Vec<i64> = rows
                .iter()
                .filter(|(_, payload, logs, error, usage)| {
                    [Some(payload), logs.as_ref(), error.as_ref(), usage.as_ref()]
                        .into_iter()
                        .flatten()
                        .any(|text| mentions(text, email.as_str()))
                })
                .map(|row| row.0)
                .collect();
            if ids.is_empty() {
                tx.rollback().await?;
                (0, 0, 0)
            } else {
                // The tenant first, the ids last: `id IN ($n, …)` follows the fixed parameters.
                let stop = format!(
                    "UPDATE jobs SET state = 'failed', error = $2, payload = $3, logs = NULL, usage = NULL, \
                     lease_owner = NULL, lease_until = NULL, commit_started_at = NULL, purged_at = $4, updated_at = $4 \
                     WHERE tenant_id = $1 AND state IN ('pending', 'running', 'unknown') AND id IN {}",
                    value_rows(1, ids.len(), 4)
                );
                let mut query = sqlx::query(&stop).bind(tenant).bind(ERASED).bind(PURGED_PAYLOAD).bind(now_ms);
                for id in &ids {
                    query = query.bind(*id);
                }
                let stopped = query.execute(&mut *tx).await?.rows_affected();
                let purge = format!(
                    "UPDATE jobs SET payload = $2, logs = NULL, usage = NULL, error = NULL, purged_at = $3 \
                     WHERE tenant_id = $1 AND state IN ('succeeded', 'failed') AND purged_at IS NULL AND id IN {}",
                    value_rows(1, ids.len(), 3)
                );
                let mut query = sqlx::query(&purge).bind(tenant).bind(PURGED_PAYLOAD).bind(now_ms);
                for id in &ids {
                    query = query.bind(*id);
                }
                let purged = query.execute(&mut *tx).await?.rows_affected();
                let audit = format!(
                    "SELECT id, fields FROM audit WHERE tenant_id = $1 AND redacted_at IS NULL AND job_id IN {}{}",
                    value_rows(1, ids.len(), 1),
                    self.for_update()
                );
                let mut query = sqlx::query_as(&audit).bind(tenant);
                for id in &ids {
                    query = query.bind(*id);
                }
                let records: Vec<(i64, String)> = query.fetch_all(&mut *tx).await?;
                write_redacted!(tx, &records, now_ms);
                tx.commit().await?;
                (stopped + purged, stopped, records.len() as u64)
            }
        }))
    }

    /// Drops the values of a tenant's audit rows with ids in `(after, last]` that mention the
    /// person. Returns how many.
    async fn erase_audit_in(
        &self,
        tenant: &str,
        email: &PersonEmail,
        pattern: &str,
        (after, last): (i64, i64),
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let select = format!(
            "SELECT id, fields FROM audit WHERE tenant_id = $1 AND id > $2 AND id <= $3 AND redacted_at IS NULL \
             AND LOWER(fields) LIKE LOWER($4) ESCAPE '!'{}",
            self.for_update()
        );
        Ok(on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let mut rows: Vec<(i64, String)> =
                sqlx::query_as(&select).bind(tenant).bind(after).bind(last).bind(pattern).fetch_all(&mut *tx).await?;
            rows.retain(|(_, fields)| mentions(fields, email.as_str()));
            write_redacted!(tx, &rows, now_ms);
            tx.commit().await?;
            rows.len() as u64
        }))
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

/// `%text%` for `LIKE … ESCAPE '!'`: `_` and `%` are common in addresses and must not match any
/// character.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '!' | '%' | '_') {
            pattern.push('!');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Whether `text` mentions the (lowercase) address as a whole: not inside a longer one
/// (`joann@x.io`, `ann@x.io.au`). SQL's `LIKE` finds candidates; this decides.
fn mentions(text: &str, email: &str) -> bool {
    let text = text.to_lowercase();
    let part_of_address = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-');
    text.match_indices(email).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let mut after = text[at + email.len()..].chars();
        let starts_clean = !before.is_some_and(part_of_address);
        let ends_clean = match after.next() {
            None => true,
            // A full stop ends a sentence, not a domain, unless a label follows.
            Some('.') => !after.next().is_some_and(|c| c.is_alphanumeric()),
            Some(c) => !(c.is_alphanumeric() || matches!(c, '-' | '_')),
        };
        starts_clean && ends_clean
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_addresses_are_erased() {
        let email = PersonEmail::parse("  Ann.Lee@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "ann.lee@example.com");
        assert_eq!(email.sha256(), hex::encode(Sha256::digest(b"ann.lee@example.com")));
        assert!(!format!("{email:?}").contains("ann"), "Debug hides the address");
        for bad in ["", "@", "ann@", "@example.com", "ann lee@example.com", "ann", "a\n@b"] {
            assert!(PersonEmail::parse(bad).is_err(), "{bad:?}");
        }
        assert!(PersonEmail::parse(&format!("{}@x.io", "a".repeat(320))).is_err());
    }

    #[test]
    fn an_address_is_found_whole_in_any_case() {
        let ann = "ann_lee@example.com";
        for text in [
            r#"{"email":"ANN_LEE@example.com"}"#,
            r#"{"raw":"{\"email\":\"ann_lee@example.com\"}"}"#,
            "mail ann_lee@example.com.",
            "<ann_lee@example.com>",
            "?to=ann_lee@example.com&x=1",
            "ann_lee@example.com",
        ] {
            assert!(mentions(text, ann), "{text}");
        }
        for text in [
            "joann_lee@example.com",
            "jo.ann_lee@example.com",
            "ann_lee@example.com.au",
            "ann_lee@example.community",
            "annxlee@example.com",
            "ann_lee@example-com",
        ] {
            assert!(!mentions(text, ann), "{text}");
        }
    }

    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(like_pattern("a_b%c!d@x.io"), "%a!_b!%c!!d@x.io%");
    }

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
