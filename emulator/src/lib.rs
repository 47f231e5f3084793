//! A faithful emulator of the Salesforce REST API, for tests, benchmarks, `portico emulator`
//! and `portico dev`.
//!
//! No Salesforce org is reachable from our machines, so everything runs against this, and so
//! can the Salesforce client libraries people use (`tests/clients/`): OAuth, the versions list,
//! global and per-object describe (real captured bodies, filtered by the connected user's
//! permission profile, `If-Modified-Since` → 304), sObject rows (create, get, update, delete,
//! upsert by external id), sObject Collections, Composite, Composite Batch and Composite Graph,
//! SOQL with pagination and `queryAll`, `/limits` and `Sforce-Limit-Info`, Salesforce's error
//! bodies and codes, and fault injection. Everything it holds is inspectable from tests.
//!
//! Layout: [`schema`] (describe data), [`profile`] (CRUD and FLS), [`store`] (records,
//! server-side validation, tombstones, transactions), [`soql`] (the query language),
//! [`rest`] (the API as one `dispatch` function), [`composite`] (the composite resources,
//! through `dispatch`), [`auth`] and [`identity`] (OAuth), `http` (the gate and routes);
//! [`query`] is the `find` shape for the fuzz targets.

pub mod auth;
pub mod composite;
pub mod error;
#[cfg(feature = "server")]
mod http;
pub mod identity;
pub mod ids;
pub mod profile;
pub mod query;
pub mod rest;
pub mod schema;
#[cfg(feature = "server")]
mod server;
pub mod soql;
pub mod store;

#[cfg(feature = "server")]
pub use http::app;
pub use profile::{ObjectPerms, Profile};
#[cfg(feature = "server")]
pub use server::Emulator;

use schema::Schema;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;
use store::Store;

/// The emulator's test consumer (connected app) and user.
pub mod credentials {
    /// The connected app's consumer key.
    pub const CLIENT_ID: &str = "3MVG9portico.emulator.consumer";
    /// The connected app's consumer secret.
    pub const CLIENT_SECRET: &str = "portico-emulator-secret";
    /// The integration user's username.
    pub const USERNAME: &str = "integration@portico.example";
}

/// Faults to inject into the next requests.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Delay before every answer.
    pub latency: Duration,
    /// Answer this many next API requests with `503 SERVER_UNAVAILABLE`.
    pub unavailable: u32,
    /// Answer `403 REQUEST_LIMIT_EXCEEDED` once this many API calls have been made.
    pub request_limit_after: Option<u64>,
    /// Drop the connection mid-answer on this many next API requests (after the request took
    /// effect, the worst case for a client: it cannot know whether the write happened).
    pub drop_connections: u32,
}

/// The mutable part of the org.
#[derive(Debug, Default)]
pub struct State {
    /// The records.
    pub store: Store,
    /// The connected user's permissions.
    pub profile: Profile,
    /// Faults to inject.
    pub faults: Faults,
    /// API calls made, by kind (`describe`, `composite`, `query`, `token`, …).
    pub calls: BTreeMap<String, u64>,
    /// Issued access tokens and refresh tokens.
    pub tokens: auth::Tokens,
    /// Open query cursors (`nextRecordsUrl`).
    pub cursors: rest::query::Cursors,
}

impl State {
    /// API calls made so far, all kinds (token requests are not API calls).
    pub fn api_calls(&self) -> u64 {
        self.calls.iter().filter(|(k, _)| k.as_str() != "token").map(|(_, n)| n).sum()
    }
}

/// An emulated org.
#[derive(Debug)]
pub struct Org {
    /// The schema.
    pub schema: Schema,
    /// Records, profile, faults, counters, tokens.
    pub state: Mutex<State>,
    /// The daily API request allowance reported by `/limits`.
    pub daily_api_requests: u64,
}

impl Org {
    /// An org with the schema and records of a recorded org folder.
    pub fn load(dir: &Path) -> anyhow::Result<Org> {
        let schema = Schema::load(dir)?;
        let mut store = Store::default();
        let records = dir.join("records.json");
        if records.exists() {
            let by_object: BTreeMap<String, Vec<store::Record>> =
                serde_json::from_str(&std::fs::read_to_string(&records)?)?;
            for (object, list) in by_object {
                for r in list {
                    store.seed(&schema, &object, r);
                }
            }
        }
        Ok(Org { schema, state: Mutex::new(State { store, ..State::default() }), daily_api_requests: 15_000 })
    }

    /// Runs `f` on the state.
    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().expect("org lock"))
    }

    /// API calls made so far, all kinds.
    pub fn api_calls(&self) -> u64 {
        self.with(|s| s.api_calls())
    }

    /// API calls of one kind.
    pub fn calls(&self, kind: &str) -> u64 {
        self.with(|s| s.calls.get(kind).copied().unwrap_or(0))
    }

    /// The live records of an object, as stored (deleted ones are not listed).
    pub fn records(&self, object: &str) -> Vec<store::Record> {
        self.with(|s| s.store.live(object).cloned().collect())
    }

    /// Expires every access token (refresh tokens stay valid).
    pub fn expire_sessions(&self) {
        self.with(|s| s.tokens.expire_all());
    }
}
