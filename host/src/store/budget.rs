//! The Salesforce API budget: a tenant's daily budget, the calls Portico spent for it per UTC
//! day (each replica adds what it spent), and the pause that keeps its jobs from being claimed.

use super::{Store, StoreError, on_pool, on_read_pool};

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// The UTC day (days since the Unix epoch) of a Unix-ms time.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

impl Store {
    /// Sets the tenant's daily budget (`None`: none); `false` when there is no such tenant.
    pub async fn set_api_budget(&self, tenant: &str, calls_per_day: Option<i64>) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("UPDATE tenants SET api_daily_budget = $1 WHERE id = $2")
                .bind(calls_per_day)
                .bind(tenant)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Adds calls spent on `day`; the day's total across replicas.
    pub async fn add_api_calls(&self, tenant: &str, day: i64, calls: i64) -> Result<i64, StoreError> {
        let total: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar(
                "INSERT INTO api_usage (tenant_id, day, calls) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant_id, day) DO UPDATE SET calls = api_usage.calls + excluded.calls \
                 RETURNING calls",
            )
            .bind(tenant)
            .bind(day)
            .bind(calls)
            .fetch_one(pool)
            .await?
        });
        Ok(total)
    }

    /// Calls spent for the tenant on `day`.
    pub async fn api_calls_on(&self, tenant: &str, day: i64) -> Result<i64, StoreError> {
        let total: Option<i64> = on_read_pool!(self, |pool| {
            sqlx::query_scalar("SELECT calls FROM api_usage WHERE tenant_id = $1 AND day = $2")
                .bind(tenant)
                .bind(day)
                .fetch_optional(pool)
                .await?
        });
        Ok(total.unwrap_or(0))
    }

    /// Keeps the tenant's jobs from being claimed until `until` (Unix ms), saying why; `None`
    /// lifts the pause. A longer pause already in place is kept.
    pub async fn pause_api(&self, tenant: &str, pause: Option<(i64, &str)>) -> Result<(), StoreError> {
        let Some((until, reason)) = pause else {
            on_pool!(self, |pool| {
                sqlx::query(
                    "UPDATE tenants SET api_paused_until = NULL, api_paused_reason = NULL \
                     WHERE id = $1 AND api_paused_until IS NOT NULL",
                )
                .bind(tenant)
                .execute(pool)
                .await?
                .rows_affected()
            });
            return Ok(());
        };
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE tenants SET api_paused_reason = CASE WHEN api_paused_until IS NULL OR api_paused_until < $1 \
                 THEN $2 ELSE api_paused_reason END, \
                 api_paused_until = CASE WHEN api_paused_until IS NULL OR api_paused_until < $1 \
                 THEN $1 ELSE api_paused_until END WHERE id = $3",
            )
            .bind(until)
            .bind(reason)
            .bind(tenant)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }
}
