//! Durable storage: SQLite by default (one file, WAL), PostgreSQL for several replicas.
//!
//! One [`Store`] over either backend; queries are written once in the SQL both accept
//! (`$n` placeholders in order, `ON CONFLICT`, `RETURNING`), and only what truly differs —
//! row locking with `FOR UPDATE SKIP LOCKED` — is per backend. Migrations are per backend
//! (`host/migrations/{sqlite,postgres}`).

mod accounts;
mod audit;
mod budget;
mod config_versions;
mod connections;
mod ingest;
mod jobs;
mod plugins;
mod queue;
mod results;
mod retention;
mod security;
mod sessions;
mod tenants;
mod throttle;
mod tokens;
mod webhooks;

pub use accounts::{MembershipRow, RoleRow, UserRow};
pub use audit::{AuditRecord, NewAudit};
pub use budget::{DAY_MS, day_of};
pub use config_versions::ConfigVersion;
pub use connections::ConnectionRow;
pub use jobs::{Claim, Completion, Delivery, Enqueued, Ingested, Job, JobFilter, JobState, QueueDepth, RunReport};
pub use plugins::{Activation, PluginVersion, Uploaded};
pub use results::{Next, Replay, ReplayedAll};
pub use retention::{Erasure, ErasureReport, NotAnEmail, PURGED_PAYLOAD, PersonEmail, Purged, Retention};
pub use security::{NewSecurityEvent, SecurityEvent};
pub use sessions::SessionRow;
pub use tenants::{ApiKeyRow, Tenant};
pub use throttle::LockoutPolicy;
pub use tokens::{TokenKind, TokenRow};
pub use webhooks::{
    Attempt, DeliveryReplay, DeliveryState, DueDelivery, MAX_DELIVERY_PAGE, WebhookDelivery, WebhookEndpoint,
};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value is not one the service writes (a state, a grant, a config): an error,
    /// never a silent default.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The URL names no supported database.
    #[error("unsupported database URL `{0}`: use sqlite://… or postgres://…")]
    UnsupportedUrl(String),
}

impl StoreError {
    /// The database refused something the statement carried — a constraint or a value (SQLSTATE
    /// classes 22 and 23), or a value that cannot be encoded — rather than failing itself
    /// (unreachable, timed out, disk full, deadlock, shutting down): one item of a batch may be
    /// to blame.
    pub fn refused(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => {
                let class = db.code().map(|c| c.chars().take(2).collect::<String>()).unwrap_or_default();
                db.kind() != sqlx::error::ErrorKind::Other || class == "22" || class == "23"
            }
            StoreError::Database(sqlx::Error::Encode(_)) => true,
            _ => false,
        }
    }
}

#[derive(Clone, Debug)]
enum Backend {
    /// One writer connection and a few readers: SQLite has one writer at a time, and writers
    /// that wait in sqlx's pool queue fairly, where writers waiting on the database lock would
    /// sleep in SQLite's busy handler (up to 100 ms a try).
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
    },
    Postgres(PgPool),
}

/// The database.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
}

/// Runs the same statement on whichever pool the store has.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite { write: $pool, .. } => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Runs a read-only statement (SQLite: on a reader connection, beside the writer).
macro_rules! on_read_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite { read: $pool, .. } => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_read_pool;

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`: `sqlite://path`,
    /// `sqlite::memory:` or `postgres://…`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let backend = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(std::time::Duration::from_secs(5))
                // Every commit is on disk before it returns: a job is durable before `202`.
                .synchronous(sqlx::sqlite::SqliteSynchronous::Full);
            let write = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
            sqlx::migrate!("migrations/sqlite").run(&write).await?;
            // An in-memory database lives in its one connection: readers share the writer.
            let read = if url.contains(":memory:") {
                write.clone()
            } else {
                SqlitePoolOptions::new().max_connections(4).connect_with(options.read_only(true)).await?
            };
            Backend::Sqlite { write, read }
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new().max_connections(16).connect_with(options).await?;
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
            Backend::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        Ok(Store { backend })
    }

    /// Which backend this is: `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_a_refused_item_splits_a_shared_write() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER NOT NULL UNIQUE)").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)").execute(&pool).await.unwrap();
        for refused in ["INSERT INTO t VALUES (NULL)", "INSERT INTO t VALUES (1)"] {
            let e = sqlx::query(refused).execute(&pool).await.unwrap_err();
            assert!(StoreError::Database(e).refused(), "{refused}");
        }
        let missing = sqlx::query("INSERT INTO nowhere VALUES (1)").execute(&pool).await.unwrap_err();
        assert!(!StoreError::Database(missing).refused(), "not an item's fault");
        assert!(!StoreError::Database(sqlx::Error::PoolTimedOut).refused());
    }
}
