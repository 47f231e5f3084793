//! Erasure of one person's data on request (by email): from a tenant's job payloads, logs and
//! errors and its audit values, recorded by the address's digest, never the address.

use super::super::{Store, StoreError, on_pool, on_read_pool};
use super::{BATCH, PURGED_PAYLOAD};
use crate::store::jobs::value_rows;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The error of an unfinished job an erasure ended.
const ERASED: &str = "erased on request before it finished: its booking data was removed";

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

impl Store {
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
}
