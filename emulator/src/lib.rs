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
mod http;
pub mod identity;
pub mod ids;
pub mod profile;
pub mod query;
pub mod rest;
pub mod schema;
pub mod soql;
pub mod store;

pub use http::app;
pub use profile::{ObjectPerms, Profile};

use schema::Schema;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
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

/// A running emulator.
#[derive(Debug)]
pub struct Emulator {
    /// The org.
    pub org: Arc<Org>,
    /// `http://127.0.0.1:<port>`, or `https://127.0.0.1:<port>` when serving TLS.
    pub base_url: String,
    /// With TLS: the generated self-signed certificate (PEM) clients must trust.
    pub certificate_pem: Option<String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    tls: Option<axum_server::Handle<SocketAddr>>,
}

impl Emulator {
    /// Serves `org` on 127.0.0.1 at an ephemeral port.
    pub async fn start(org: Org) -> anyhow::Result<Emulator> {
        Self::start_on(org, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Serves `org` on `addr`.
    pub async fn start_on(org: Org, addr: SocketAddr) -> anyhow::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let org = Arc::new(org);
        let router = app(org.clone(), base_url.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Emulator { org, base_url, certificate_pem: None, shutdown: Some(tx), tls: None })
    }

    /// Serves `org` over https on `addr` with a freshly generated self-signed certificate for
    /// `127.0.0.1` and `localhost` (see [`Emulator::certificate_pem`]).
    pub async fn start_tls_on(org: Org, addr: SocketAddr) -> anyhow::Result<Emulator> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
        let cert_pem = certified.cert.pem();
        let key_pem = certified.signing_key.serialize_pem();
        let config =
            axum_server::tls_rustls::RustlsConfig::from_pem(cert_pem.clone().into_bytes(), key_pem.into_bytes())
                .await?;
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let base_url = format!("https://127.0.0.1:{}", listener.local_addr()?.port());
        let org = Arc::new(org);
        let router = app(org.clone(), base_url.clone());
        let handle = axum_server::Handle::new();
        let server = axum_server::tls_rustls::from_tcp_rustls(listener, config)?.handle(handle.clone());
        tokio::spawn(async move {
            let _ = server.serve(router.into_make_service()).await;
        });
        Ok(Emulator { org, base_url, certificate_pem: Some(cert_pem), shutdown: None, tls: Some(handle) })
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.tls.take() {
            handle.shutdown();
        }
    }
}
