//! What the storage suites share: a store on SQLite in memory, a fresh PostgreSQL schema per
//! test when `PORTICO_TEST_DATABASE_URL` is set, and the macro that runs a suite on both.

#![allow(dead_code)]

use portico_host::store::Store;
use std::sync::atomic::{AtomicU32, Ordering};

pub const T0: i64 = 1_800_000_000_000;

pub async fn sqlite() -> Store {
    Store::open("sqlite::memory:").await.unwrap()
}

/// A fresh PostgreSQL schema, or `None` (with a note) when no test database is configured.
pub async fn postgres() -> Option<(Store, String, String)> {
    static N: AtomicU32 = AtomicU32::new(0);
    let Ok(base) = std::env::var("PORTICO_TEST_DATABASE_URL") else {
        // Written to the stderr handle itself: libtest captures `eprintln!` of passing tests,
        // and a skip must be seen.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: PostgreSQL storage tests need PORTICO_TEST_DATABASE_URL (e.g. \
             postgres://postgres@127.0.0.1:5432/test); .ci/run sets it ***\n"
        );
        return None;
    };
    let schema = format!("portico_test_{}_{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
    let admin = sqlx::PgPool::connect(&base).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin).await.unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    Some((Store::open(&url).await.unwrap(), url, schema))
}

pub async fn drop_schema(schema: &str) {
    let admin = sqlx::PgPool::connect(&std::env::var("PORTICO_TEST_DATABASE_URL").unwrap()).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&admin).await.unwrap();
}

/// Runs a suite function on every available backend.
#[macro_export]
macro_rules! on_every_backend {
    ($name:ident, $suite:ident) => {
        #[tokio::test]
        async fn $name() {
            $suite(sqlite().await).await;
            if let Some((store, _, schema)) = postgres().await {
                assert_eq!(store.backend_name(), "postgres");
                $suite(store).await;
                drop_schema(&schema).await;
            }
        }
    };
}
