//! Failed authentications per client address, in the database so that every replica counts
//! the same failures and honours the same lockout.

use super::{Store, StoreError, on_pool, on_read_pool};

/// The lockout policy: `max_failures` within `window_ms` lock the address for `lockout_ms`.
#[derive(Clone, Copy, Debug)]
pub struct LockoutPolicy {
    /// Failures that lock the address out.
    pub max_failures: i64,
    /// How long failures are counted together.
    pub window_ms: i64,
    /// How long a lockout lasts.
    pub lockout_ms: i64,
}

impl Store {
    /// Until when `address` is locked out (Unix ms), if it is now.
    pub async fn locked_until(&self, address: &str, now_ms: i64) -> Result<Option<i64>, StoreError> {
        let row: Option<(Option<i64>,)> = on_read_pool!(self, |pool| {
            sqlx::query_as("SELECT locked_until FROM auth_failures WHERE address = $1")
                .bind(address)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.and_then(|(until,)| until).filter(|until| *until > now_ms))
    }

    /// Counts one failure of `address` (one statement: replicas counting at once never lose a
    /// failure) and returns its count in the current window and its lockout, if it is locked
    /// out now. A count starts again when its window has passed or its lockout ended; a
    /// success resets nothing.
    pub async fn count_auth_failure(
        &self,
        address: &str,
        policy: LockoutPolicy,
        now_ms: i64,
    ) -> Result<(i64, Option<i64>), StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "INSERT INTO auth_failures (address, failures, window_start, locked_until) \
                 VALUES ($1, 1, $2, CASE WHEN 1 >= $3 THEN $2 + $5 ELSE NULL END) \
                 ON CONFLICT (address) DO UPDATE SET \
                   failures = CASE WHEN ((auth_failures.window_start + $4 < $2 AND auth_failures.locked_until IS NULL) OR auth_failures.locked_until <= $2) THEN 1 ELSE auth_failures.failures + 1 END, \
                   window_start = CASE WHEN ((auth_failures.window_start + $4 < $2 AND auth_failures.locked_until IS NULL) OR auth_failures.locked_until <= $2) THEN $2 ELSE auth_failures.window_start END, \
                   locked_until = CASE \
                     WHEN (CASE WHEN ((auth_failures.window_start + $4 < $2 AND auth_failures.locked_until IS NULL) OR auth_failures.locked_until <= $2) THEN 1 ELSE auth_failures.failures + 1 END) >= $3 THEN $2 + $5 \
                     ELSE NULL END \
                 RETURNING failures, locked_until",
            )
            .bind(address)
            .bind(now_ms)
            .bind(policy.max_failures)
            .bind(policy.window_ms)
            .bind(policy.lockout_ms)
            .fetch_one(pool)
            .await?
        }))
    }

    /// Forgets addresses whose failures and lockout are over.
    pub async fn purge_auth_failures(&self, window_ms: i64, now_ms: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query(
                "DELETE FROM auth_failures WHERE window_start + $1 < $2 AND (locked_until IS NULL OR locked_until < $2)",
            )
            .bind(window_ms)
            .bind(now_ms)
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }
}
