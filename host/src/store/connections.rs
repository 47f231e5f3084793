//! Tenants' Salesforce connections and pending OAuth web-server flows (secrets sealed).

use super::{Store, StoreError, on_pool, on_read_pool};
use serde::Serialize;

/// A stored connection. `secrets` is sealed; only the service opens it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ConnectionRow {
    /// `client-credentials`, `jwt-bearer` or `web-server`.
    pub kind: String,
    /// The org's instance URL.
    pub instance_url: String,
    /// Where tokens come from.
    pub login_url: String,
    /// The connected app's consumer key.
    pub client_id: String,
    /// The integration user (JWT bearer).
    pub username: Option<String>,
    /// The sealed secrets.
    #[serde(skip)]
    pub secrets: String,
    /// Unix ms; also the connection's version (clients are rebuilt when it changes).
    pub updated_at: i64,
}

impl Store {
    /// Creates or replaces a tenant's connection.
    pub async fn put_connection(&self, tenant: &str, c: &ConnectionRow) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO connections (tenant_id, kind, instance_url, login_url, client_id, username, secrets, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id) DO UPDATE SET kind = excluded.kind, \
                 instance_url = excluded.instance_url, login_url = excluded.login_url, client_id = excluded.client_id, \
                 username = excluded.username, secrets = excluded.secrets, updated_at = excluded.updated_at",
            )
            .bind(tenant)
            .bind(&c.kind)
            .bind(&c.instance_url)
            .bind(&c.login_url)
            .bind(&c.client_id)
            .bind(&c.username)
            .bind(&c.secrets)
            .bind(c.updated_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Replaces the sealed secrets of the connection that was current at `version` (a refresh
    /// token Salesforce rotated), making `now_ms` its version; `false` when the connection was
    /// replaced meanwhile (then the new one's secrets stand).
    pub async fn rotate_connection_secrets(
        &self,
        tenant: &str,
        version: i64,
        sealed: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("UPDATE connections SET secrets = $1, updated_at = $2 WHERE tenant_id = $3 AND updated_at = $4")
                .bind(sealed)
                .bind(now_ms)
                .bind(tenant)
                .bind(version)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// A tenant's connection.
    pub async fn connection(&self, tenant: &str) -> Result<Option<ConnectionRow>, StoreError> {
        Ok(on_read_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT kind, instance_url, login_url, client_id, username, secrets, updated_at FROM connections \
                 WHERE tenant_id = $1",
            )
            .bind(tenant)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Removes a tenant's connection; `false` when it had none.
    pub async fn delete_connection(&self, tenant: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM connections WHERE tenant_id = $1")
                .bind(tenant)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Remembers a started web-server flow under its `state`.
    pub async fn put_oauth_state(
        &self,
        state: &str,
        tenant: &str,
        sealed: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query("INSERT INTO oauth_states (state, tenant_id, pending, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(state)
                .bind(tenant)
                .bind(sealed)
                .bind(expires_at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Takes (deletes and returns) a started flow that has not expired: each `state` works once.
    pub async fn take_oauth_state(&self, state: &str, now_ms: i64) -> Result<Option<(String, String)>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as("DELETE FROM oauth_states WHERE state = $1 AND expires_at > $2 RETURNING tenant_id, pending")
                .bind(state)
                .bind(now_ms)
                .fetch_optional(pool)
                .await?
        }))
    }
}
