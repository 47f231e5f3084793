//! Saved plugin configurations: each save is a new version, so changes can be compared and
//! reverted.

use super::{Store, StoreError, on_pool, on_read_pool};
use serde::Serialize;

/// One saved configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ConfigVersion {
    /// 1, 2, … per tenant.
    pub version: i64,
    /// The settings (a JSON object of strings).
    pub config: String,
    /// Who saved it.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
}

impl Store {
    /// Replaces a tenant's plugin settings and records them as its next version, in one
    /// transaction. Returns the version, or `None` when there is no such tenant.
    pub async fn set_config(
        &self,
        id: &str,
        config_json: &str,
        by: &str,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let version = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            // The update locks the tenant's row (PostgreSQL; SQLite has one writer), so two
            // saves at once number their versions one after the other.
            let updated = sqlx::query("UPDATE tenants SET config = $1 WHERE id = $2")
                .bind(config_json)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if updated != 1 {
                return Ok(None);
            }
            let (version,): (i64,) = sqlx::query_as(
                "INSERT INTO config_versions (tenant_id, version, config, created_by, created_at) \
                 SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4 FROM config_versions WHERE tenant_id = $1 \
                 RETURNING version",
            )
            .bind(id)
            .bind(config_json)
            .bind(by)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            version
        });
        Ok(Some(version))
    }

    /// A tenant's saved configurations, newest first, at most `limit`.
    pub async fn config_versions(&self, tenant: &str, limit: i64) -> Result<Vec<ConfigVersion>, StoreError> {
        Ok(on_read_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT version, config, created_by, created_at FROM config_versions WHERE tenant_id = $1 \
                 ORDER BY version DESC LIMIT $2",
            )
            .bind(tenant)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// One saved configuration.
    pub async fn config_version(&self, tenant: &str, version: i64) -> Result<Option<ConfigVersion>, StoreError> {
        Ok(on_read_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT version, config, created_by, created_at FROM config_versions WHERE tenant_id = $1 AND version = $2",
            )
            .bind(tenant)
            .bind(version)
            .fetch_optional(pool)
            .await?
        }))
    }
}
