//! The security log: sign-ins, enrolments, role and membership changes, invitations, keys,
//! masquerade and webhook endpoint changes — who, when, from where.

use super::{Store, StoreError, on_pool, on_read_pool};

/// One entry to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSecurityEvent {
    /// Unix ms.
    pub at: i64,
    /// The tenant it concerns (`None`: the platform or a person's own account).
    pub tenant_id: Option<String>,
    /// Who (`user:…`, `key:…`, `operator`, or the email a failed sign-in named).
    pub actor: String,
    /// The parent tenant a reseller acted from.
    pub via: Option<String>,
    /// What happened (`login`, `login-failed`, `role-changed`, …).
    pub action: String,
    /// What it happened to.
    pub subject: String,
    /// The client address.
    pub address: Option<String>,
    /// More, for a person.
    pub detail: String,
}

/// A recorded entry.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SecurityEvent {
    /// Its position in the log.
    pub seq: i64,
    /// Unix ms.
    pub at: i64,
    /// The tenant.
    pub tenant_id: Option<String>,
    /// Who.
    pub actor: String,
    /// Acting from this parent tenant.
    pub via: Option<String>,
    /// What.
    pub action: String,
    /// To what.
    pub subject: String,
    /// From where.
    pub address: Option<String>,
    /// More.
    pub detail: String,
}

impl Store {
    /// Records an entry.
    pub async fn insert_security_event(&self, e: &NewSecurityEvent) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO security_events (at, tenant_id, actor, via, action, subject, address, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(e.at)
            .bind(&e.tenant_id)
            .bind(&e.actor)
            .bind(&e.via)
            .bind(&e.action)
            .bind(&e.subject)
            .bind(&e.address)
            .bind(&e.detail)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Entries newest first, before `before` (a `seq`), at most `limit`: one tenant's, or with
    /// `None` every entry.
    pub async fn security_events(
        &self,
        tenant: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<SecurityEvent>, StoreError> {
        let sql = format!(
            "SELECT seq, at, tenant_id, actor, via, action, subject, address, detail FROM security_events \
             WHERE seq < $1 {} ORDER BY seq DESC LIMIT $2",
            if tenant.is_some() { "AND tenant_id = $3" } else { "" }
        );
        Ok(on_read_pool!(self, |pool| {
            let query = sqlx::query_as(&sql).bind(before.unwrap_or(i64::MAX)).bind(limit);
            let query = if let Some(t) = tenant { query.bind(t) } else { query };
            query.fetch_all(pool).await?
        }))
    }
}
