//! Tenants and their API keys.

use super::{Store, StoreError, on_pool, on_read_pool};
use serde::Serialize;

/// A tenant as stored. The webhook secret stays sealed; only the service opens it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Tenant {
    /// Its id (lowercase letters, digits, `-`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The sealed webhook secret.
    #[serde(skip)]
    pub webhook_secret: String,
    /// The active plugin version.
    pub active_digest: Option<String>,
    /// Plugin settings, a JSON object of strings.
    #[serde(skip)]
    pub config: String,
    /// At most this many of its jobs run at once on one replica (default: the service's).
    pub max_concurrency: Option<i32>,
    /// Its sandbox limits that differ from the service's (a JSON object), if any.
    pub limits: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// The reseller tenant it belongs to, if any.
    pub parent_id: Option<String>,
    /// `1` when every member must use two-factor authentication.
    pub require_2fa: i64,
    /// Days a member's password stays valid (`None`: no expiry).
    pub password_max_age_days: Option<i64>,
    /// When the platform suspended it (Unix ms): its jobs wait until it is resumed.
    pub suspended_at: Option<i64>,
    /// Why, as the platform staff wrote it.
    pub suspended_reason: Option<String>,
    /// Salesforce API calls Portico may spend for it per UTC day (`None`: no budget of its own;
    /// the org's own limit still holds).
    pub api_daily_budget: Option<i64>,
    /// Until when (Unix ms) none of its jobs is claimed, because of its API budget or its org's
    /// remaining allowance.
    pub api_paused_until: Option<i64>,
    /// Why its jobs wait.
    pub api_paused_reason: Option<String>,
}

/// A stored API key (never the secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ApiKeyRow {
    /// The public part that names the key.
    pub prefix: String,
    /// Hex SHA-256 of the secret part.
    #[serde(skip)]
    pub secret_hash: String,
    /// The tenant it is scoped to (`None` for platform admins).
    pub tenant_id: Option<String>,
    /// `platform-admin`, `tenant-admin` or `viewer`.
    pub role: String,
    /// What it is for.
    pub label: String,
    /// Unix ms.
    pub created_at: i64,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// When it stops working, if it expires.
    pub expires_at: Option<i64>,
    /// When it last authenticated a request (to the minute).
    pub last_used_at: Option<i64>,
    /// Who issued it (`user:…`, `key:…`, `operator`).
    pub created_by: Option<String>,
}

const TENANT_COLUMNS: &str = "id, name, webhook_secret, active_digest, config, max_concurrency, limits, created_at, \
     parent_id, require_2fa, password_max_age_days, suspended_at, suspended_reason, api_daily_budget, \
     api_paused_until, api_paused_reason";
const KEY_COLUMNS: &str =
    "prefix, secret_hash, tenant_id, role, label, created_at, revoked_at, expires_at, last_used_at, created_by";

impl Store {
    /// Creates a tenant (a child of `parent`, if given); `false` when the id is taken.
    pub async fn create_tenant(
        &self,
        id: &str,
        name: &str,
        sealed_secret: &str,
        max_concurrency: Option<i32>,
        parent: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO tenants (id, name, webhook_secret, max_concurrency, created_at, parent_id) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(name)
            .bind(sealed_secret)
            .bind(max_concurrency)
            .bind(now_ms)
            .bind(parent)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// A tenant by id.
    pub async fn tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1");
        Ok(on_read_pool!(self, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?))
    }

    /// Every tenant, by id.
    pub async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY id");
        Ok(on_read_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await?))
    }

    /// The child tenants of `parents`, as (child, parent).
    pub async fn children(&self, parents: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        if parents.is_empty() {
            return Ok(Vec::new());
        }
        let list = (1..=parents.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT id, parent_id FROM tenants WHERE parent_id IN ({list}) ORDER BY id");
        Ok(on_read_pool!(self, |pool| {
            let mut query = sqlx::query_as(&sql);
            for p in parents {
                query = query.bind(p);
            }
            query.fetch_all(pool).await?
        }))
    }

    /// Sets a tenant's security policy.
    pub async fn set_security_policy(
        &self,
        id: &str,
        require_2fa: bool,
        password_max_age_days: Option<i64>,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("UPDATE tenants SET require_2fa = $1, password_max_age_days = $2 WHERE id = $3")
                .bind(i64::from(require_2fa))
                .bind(password_max_age_days)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Replaces a tenant's sealed webhook secret.
    pub async fn set_webhook_secret(&self, id: &str, sealed: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("UPDATE tenants SET webhook_secret = $1 WHERE id = $2")
                .bind(sealed)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Replaces a tenant's sandbox limit overrides (a JSON object; `None` clears them).
    pub async fn set_limits(&self, id: &str, limits_json: Option<&str>) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("UPDATE tenants SET limits = $1 WHERE id = $2")
                .bind(limits_json)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Suspends the tenant (`Some((since, reason))`) or resumes it (`None`); `false` when there
    /// is no such tenant. A suspension keeps the time it began.
    pub async fn set_suspension(&self, id: &str, suspension: Option<(i64, &str)>) -> Result<bool, StoreError> {
        let (at, reason) = suspension.map_or((None, None), |(at, reason)| (Some(at), Some(reason)));
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE tenants SET suspended_at = CASE WHEN $1 IS NULL THEN NULL ELSE COALESCE(suspended_at, $1) END, \
                 suspended_reason = $2 WHERE id = $3",
            )
            .bind(at)
            .bind(reason)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Stores a new API key.
    pub async fn insert_key(&self, key: &ApiKeyRow) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO api_keys (prefix, secret_hash, tenant_id, role, label, created_at, expires_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&key.prefix)
            .bind(&key.secret_hash)
            .bind(&key.tenant_id)
            .bind(&key.role)
            .bind(&key.label)
            .bind(key.created_at)
            .bind(key.expires_at)
            .bind(&key.created_by)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// A key by its prefix (revoked ones too).
    pub async fn key(&self, prefix: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE prefix = $1");
        Ok(on_read_pool!(self, |pool| sqlx::query_as(&sql).bind(prefix).fetch_optional(pool).await?))
    }

    /// Notes that a key was used now, at most once a minute (a write per request would be a
    /// write per request).
    pub async fn touch_key(&self, prefix: &str, now_ms: i64) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE api_keys SET last_used_at = $1 WHERE prefix = $2 AND (last_used_at IS NULL OR last_used_at < $1 - 60000)",
            )
            .bind(now_ms)
            .bind(prefix)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// A tenant's keys (`None`: the platform admins' keys).
    pub async fn keys(&self, tenant: Option<&str>) -> Result<Vec<ApiKeyRow>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE {} ORDER BY created_at, prefix",
            if tenant.is_some() { "tenant_id = $1" } else { "tenant_id IS NULL" }
        );
        Ok(on_read_pool!(self, |pool| {
            let query = sqlx::query_as(&sql);
            let query = if let Some(t) = tenant { query.bind(t) } else { query };
            query.fetch_all(pool).await?
        }))
    }

    /// Revokes a tenant's key; `false` when there is no such live key of that tenant.
    pub async fn revoke_key(&self, tenant: Option<&str>, prefix: &str, now_ms: i64) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE api_keys SET revoked_at = $1 WHERE prefix = $2 AND revoked_at IS NULL AND {}",
            if tenant.is_some() { "tenant_id = $3" } else { "tenant_id IS NULL" }
        );
        let done = on_pool!(self, |pool| {
            let query = sqlx::query(&sql).bind(now_ms).bind(prefix);
            let query = if let Some(t) = tenant { query.bind(t) } else { query };
            query.execute(pool).await?.rows_affected()
        });
        Ok(done == 1)
    }
}
