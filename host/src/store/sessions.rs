//! Sign-in sessions, server-side so that every replica knows them and a logout or revoke ends
//! them everywhere at once. The cookie holds a random token; only its SHA-256 is stored.

use super::{Store, StoreError, on_pool};

/// A stored session.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    /// Its public id (safe to show and to revoke by).
    pub id: String,
    /// Hex SHA-256 of the cookie's token.
    pub token_hash: String,
    /// Whose.
    pub user_id: String,
    /// The token state-changing requests must echo (`X-CSRF-Token`).
    pub csrf_token: String,
    /// Where it signed in from.
    pub address: String,
    /// The browser's `User-Agent` (clipped).
    pub user_agent: String,
    /// Unix ms.
    pub created_at: i64,
    /// Last request (to the minute).
    pub last_seen_at: i64,
    /// The absolute end.
    pub expires_at: i64,
    /// When it was ended (logout, revoke, replaced).
    pub ended_at: Option<i64>,
}

const SESSION_COLUMNS: &str =
    "id, token_hash, user_id, csrf_token, address, user_agent, created_at, last_seen_at, expires_at, ended_at";

impl Store {
    /// Stores a new session.
    pub async fn insert_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO sessions (id, token_hash, user_id, csrf_token, address, user_agent, created_at, last_seen_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&s.id)
            .bind(&s.token_hash)
            .bind(&s.user_id)
            .bind(&s.csrf_token)
            .bind(&s.address)
            .bind(&s.user_agent)
            .bind(s.created_at)
            .bind(s.last_seen_at)
            .bind(s.expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// A live session by its token's hash: not ended, not past its absolute end, and used
    /// within `idle_ms`.
    pub async fn live_session(
        &self,
        token_hash: &str,
        idle_ms: i64,
        now_ms: i64,
    ) -> Result<Option<SessionRow>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1 AND ended_at IS NULL AND expires_at > $2 \
             AND last_seen_at + $3 > $2"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(token_hash)
            .bind(now_ms)
            .bind(idle_ms)
            .fetch_optional(pool)
            .await?))
    }

    /// Notes a session was used now (at most once a minute).
    pub async fn touch_session(&self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1 - 60000")
                .bind(now_ms)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// A user's live sessions, oldest first.
    pub async fn user_sessions(&self, user: &str, idle_ms: i64, now_ms: i64) -> Result<Vec<SessionRow>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND ended_at IS NULL AND expires_at > $2 \
             AND last_seen_at + $3 > $2 ORDER BY created_at, id"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(&sql).bind(user).bind(now_ms).bind(idle_ms).fetch_all(pool).await?))
    }

    /// Ends one of a user's sessions; `false` when it was not live.
    pub async fn end_session(&self, user: &str, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND id = $3 AND ended_at IS NULL")
                .bind(now_ms)
                .bind(user)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Ends every session of a user except `keep`; how many ended.
    pub async fn end_sessions(&self, user: &str, keep: Option<&str>, now_ms: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query("UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL AND id <> $3")
                .bind(now_ms)
                .bind(user)
                .bind(keep.unwrap_or(""))
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Forgets sessions that ended or expired before `before`.
    pub async fn purge_sessions(&self, before_ms: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE COALESCE(ended_at, expires_at) < $1")
                .bind(before_ms)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}
