//! Plugin versions (content-addressed per tenant), approvals and activations.

use super::{Backend, Store, StoreError, on_pool, on_read_pool};
use serde::Serialize;

/// A stored plugin version, without its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PluginVersion {
    /// `sha256:<hex>` of the component.
    pub digest: String,
    /// The manifest's plugin name.
    pub name: String,
    /// The manifest's plugin version.
    pub version: String,
    /// The embedded manifest (TOML).
    pub manifest: String,
    /// Component size in bytes.
    pub size: i64,
    /// The approved grant (JSON), `None` until approved.
    pub approved_grant: Option<String>,
    /// Unix ms.
    pub approved_at: Option<i64>,
    /// Unix ms.
    pub uploaded_at: i64,
}

/// One activation, for the history and rollback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Activation {
    /// The version activated.
    pub digest: String,
    /// The version it replaced.
    pub previous_digest: Option<String>,
    /// Unix ms.
    pub activated_at: i64,
}

/// What an upload did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uploaded {
    /// A new version.
    New,
    /// The tenant already had these exact bytes.
    Existing,
}

const COLUMNS: &str = "digest, name, version, manifest, size, approved_grant, approved_at, uploaded_at";

impl Store {
    /// Stores a validated component as a version of the tenant's plugin (idempotent by digest).
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_plugin_version(
        &self,
        tenant: &str,
        digest: &str,
        name: &str,
        version: &str,
        manifest: &str,
        component: &[u8],
        now_ms: i64,
    ) -> Result<Uploaded, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO plugin_versions (tenant_id, digest, name, version, manifest, component, size, uploaded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, digest) DO NOTHING",
            )
            .bind(tenant)
            .bind(digest)
            .bind(name)
            .bind(version)
            .bind(manifest)
            .bind(component)
            .bind(component.len() as i64)
            .bind(now_ms)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(if done == 1 { Uploaded::New } else { Uploaded::Existing })
    }

    /// A tenant's versions, newest first.
    pub async fn plugin_versions(&self, tenant: &str) -> Result<Vec<PluginVersion>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM plugin_versions WHERE tenant_id = $1 ORDER BY uploaded_at DESC, digest");
        Ok(on_read_pool!(self, |pool| sqlx::query_as(&sql).bind(tenant).fetch_all(pool).await?))
    }

    /// One of a tenant's versions.
    pub async fn plugin_version(&self, tenant: &str, digest: &str) -> Result<Option<PluginVersion>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM plugin_versions WHERE tenant_id = $1 AND digest = $2");
        Ok(on_read_pool!(self, |pool| sqlx::query_as(&sql).bind(tenant).bind(digest).fetch_optional(pool).await?))
    }

    /// The component bytes of one of a tenant's versions.
    pub async fn plugin_component(&self, tenant: &str, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<(Vec<u8>,)> = on_read_pool!(self, |pool| {
            sqlx::query_as("SELECT component FROM plugin_versions WHERE tenant_id = $1 AND digest = $2")
                .bind(tenant)
                .bind(digest)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(bytes,)| bytes))
    }

    /// Records the approved grant (JSON) of a version.
    pub async fn approve_plugin(
        &self,
        tenant: &str,
        digest: &str,
        grant_json: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE plugin_versions SET approved_grant = $1, approved_at = $2 WHERE tenant_id = $3 AND digest = $4",
            )
            .bind(grant_json)
            .bind(now_ms)
            .bind(tenant)
            .bind(digest)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Makes an approved version the tenant's active one and records the activation. Returns
    /// the version it replaced.
    pub async fn activate_plugin(&self, tenant: &str, digest: &str, now_ms: i64) -> Result<Option<String>, StoreError> {
        // Two activations at once must each see the other's result as their previous version:
        // PostgreSQL locks the row; SQLite's single writer runs one transaction at a time.
        let select = match self.backend {
            Backend::Postgres(_) => "SELECT active_digest FROM tenants WHERE id = $1 FOR UPDATE",
            Backend::Sqlite { .. } => "SELECT active_digest FROM tenants WHERE id = $1",
        };
        let previous = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let (previous,): (Option<String>,) = sqlx::query_as(select).bind(tenant).fetch_one(&mut *tx).await?;
            sqlx::query("UPDATE tenants SET active_digest = $1 WHERE id = $2")
                .bind(digest)
                .bind(tenant)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO activations (tenant_id, digest, previous_digest, activated_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(tenant)
            .bind(digest)
            .bind(&previous)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            previous
        });
        Ok(previous)
    }

    /// A tenant's activations, newest first.
    pub async fn activations(&self, tenant: &str) -> Result<Vec<Activation>, StoreError> {
        Ok(on_read_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT digest, previous_digest, activated_at FROM activations WHERE tenant_id = $1 ORDER BY id DESC",
            )
            .bind(tenant)
            .fetch_all(pool)
            .await?
        }))
    }
}
