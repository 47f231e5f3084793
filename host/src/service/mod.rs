//! `portico serve`: the multi-tenant service.
//!
//! - [`api`] is the HTTP surface (`fn app(state) -> Router`): the admin API for tenants, keys,
//!   plugins, grants, config, connections, jobs and audit; signed booking ingestion; health,
//!   metrics and the OpenAPI document.
//! - [`worker`] claims stored jobs and runs them: the tenant's active plugin in a fresh
//!   sandbox, then one Composite commit, the audit trail, retries with backoff.
//! - [`auth`] (API keys, roles, lockout), [`signing`] (delivery signatures), [`secrets`]
//!   (AES-256-GCM at rest) and [`orgs`] (tenants' Salesforce clients) are the policies.
//! - [`retention`] purges personal data past its time, on a timer of its own.
//! - [`webhooks`] tells tenants' endpoints what happened (signed, durable, SSRF-guarded).
//!
//! State lives in the [`crate::store::Store`]; a replica keeps only caches, so several
//! replicas share one PostgreSQL database.

pub mod accounts;
pub mod api;
pub mod auth;
pub mod batch;
pub mod budget;
pub mod client;
pub mod config;
pub mod console;
pub mod context;
mod error;
pub mod mail;
pub mod metrics;
pub mod ops;
pub mod orgs;
mod rate;
pub mod retention;
pub mod secrets;
pub mod signing;
pub mod webhooks;
pub mod worker;

pub use config::ServeConfig;
pub use error::{ApiError, ApiResult, ErrorBody};

use crate::runtime::Runtime;
use crate::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The service's shared state (cheap to clone).
#[derive(Clone, Debug)]
pub struct AppState {
    /// Shared parts.
    pub inner: Arc<Inner>,
}

/// What every handler and worker shares.
#[derive(Debug)]
pub struct Inner {
    /// Settings.
    pub config: ServeConfig,
    /// The database.
    pub store: Store,
    /// The sandbox.
    pub runtime: Arc<Runtime>,
    /// Master keys.
    pub keys: secrets::KeyRing,
    /// Failed-authentication throttle.
    pub throttle: auth::Throttle,
    /// One preflight per tenant per `preflight_interval_seconds` on this replica.
    pub preflights: rate::Interval,
    /// Metrics.
    pub metrics: metrics::Metrics,
    /// Tenants' Salesforce clients.
    pub orgs: orgs::Orgs,
    /// What each tenant spent of its Salesforce API budget (see `budget`).
    pub budgets: budget::Budgets,
    /// Sends invitations, reset links and sign-in codes, when SMTP is configured.
    pub mailer: Option<mail::Mailer>,
    /// Tenants as the hot path sees them (cached briefly).
    pub contexts: context::Contexts,
    /// Wakes idle workers when a job is stored.
    pub wake: tokio::sync::Notify,
    /// This replica's name in job leases.
    pub replica: String,
    /// Deliveries, stored in shared transactions.
    pub deliveries: batch::Batcher<crate::store::Delivery, crate::store::Ingested>,
    /// Job successes, stored in shared transactions.
    pub completions: batch::Batcher<crate::store::Completion, bool>,
    /// "This job begins committing records it creates" (job, claim token), stored in shared
    /// transactions before the commit leaves.
    pub commit_marks: batch::Batcher<(i64, String), bool>,
}

impl AppState {
    /// Opens the database and builds the runtime and caches.
    pub async fn new(config: ServeConfig, keys: secrets::KeyRing) -> anyhow::Result<AppState> {
        let store = Store::open(&config.database_url).await?;
        let runtime = Arc::new(Runtime::new(config.runtime.clone(), config.cache_dir.clone())?);
        let extra_ca = match &config.org_ca_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read org_ca_file {}: {e}", path.display()))?,
            ),
            None => None,
        };
        let mailer = mail::Mailer::from_config(&config.smtp)?;
        let replica = format!("{}-{}", std::process::id(), hex::encode(random_bytes::<4>()));
        let (for_deliveries, for_completions, for_marks) = (store.clone(), store.clone(), store.clone());
        let deliveries = batch::Batcher::start(BATCH, move |items| {
            let store = for_deliveries.clone();
            async move { store.ingest_many(&items, now_ms()).await.map_err(batch_error) }
        });
        let completions = batch::Batcher::start(BATCH, move |items| {
            let store = for_completions.clone();
            async move { store.succeed_many(&items, now_ms()).await.map_err(batch_error) }
        });
        let commit_marks = batch::Batcher::start(BATCH, move |items| {
            let store = for_marks.clone();
            async move { store.mark_committing(&items, now_ms()).await.map_err(batch_error) }
        });
        Ok(AppState {
            inner: Arc::new(Inner {
                throttle: auth::Throttle::new(&config.auth),
                preflights: rate::Interval::new(std::time::Duration::from_secs(config.auth.preflight_interval_seconds)),
                orgs: orgs::Orgs::new(config.allow_hosts.clone(), extra_ca, &config.orgs),
                budgets: budget::Budgets::default(),
                mailer,
                metrics: metrics::Metrics::default(),
                contexts: context::Contexts::new(config.orgs.cached_clients),
                wake: tokio::sync::Notify::new(),
                replica,
                deliveries,
                completions,
                commit_marks,
                store,
                runtime,
                keys,
                config,
            }),
        })
    }
}

/// The most writes of one kind shared by one transaction.
const BATCH: usize = 128;

/// A running service: where it listens, and how to stop it.
#[derive(Debug)]
pub struct Running {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// The state.
    pub state: AppState,
    shutdown: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    workers: tokio::task::JoinHandle<()>,
    retention: tokio::task::JoinHandle<()>,
    webhooks: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting requests, lets in-flight requests and jobs finish (up to the drain
    /// time), then returns.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.workers.await?;
        self.retention.await?;
        self.webhooks.await?;
        self.server.await??;
        Ok(())
    }

    /// Stops without draining anything, as a crash would (tests of recovery).
    pub fn abort(self) {
        self.server.abort();
        self.workers.abort();
        self.retention.abort();
        self.webhooks.abort();
    }
}

/// Binds and starts the HTTP server, the workers, the retention schedule and the webhook
/// deliverer.
pub async fn start(state: AppState) -> anyhow::Result<Running> {
    state.inner.config.webhooks.check()?;
    let listener = tokio::net::TcpListener::bind(state.inner.config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", state.inner.config.listen))?;
    let addr = listener.local_addr()?;
    let (shutdown, mut rx) = tokio::sync::watch::channel(false);
    let app = api::app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let mut server_rx = rx.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = server_rx.wait_for(|stop| *stop).await;
            })
            .await
    });
    let mut retention_rx = rx.clone();
    let (store, config) = (state.inner.store.clone(), state.inner.config.retention.clone());
    // Sign-in failures are counted over the accounts' lockout window, API key failures over the
    // auth window: a count is forgotten only when both are over.
    let login_window_ms = state.inner.config.accounts.lockout_minutes.max(1) as i64 * 60_000;
    let auth_window_ms = state.inner.throttle.window_ms().max(login_window_ms);
    let retention = tokio::spawn(retention::run(store, config, auth_window_ms, async move {
        let _ = retention_rx.wait_for(|stop| *stop).await;
    }));
    let mut webhooks_rx = rx.clone();
    let webhooks = tokio::spawn(webhooks::deliver::run(state.clone(), async move {
        let _ = webhooks_rx.wait_for(|stop| *stop).await;
    }));
    let worker_state = state.clone();
    let workers = tokio::spawn(async move {
        let stop = async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        worker::run(worker_state, stop).await;
    });
    tracing::info!(%addr, replica = %state.inner.replica, backend = state.inner.store.backend_name(), "portico is serving");
    Ok(Running { addr, state, shutdown, server, workers, retention, webhooks })
}

/// Runs until `stop` resolves, then drains.
pub async fn run(state: AppState, stop: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
    let running = start(state).await?;
    println!("portico: serving on http://{}", running.addr);
    stop.await;
    tracing::info!("shutting down: draining in-flight requests and jobs");
    running.shutdown().await
}

/// A failed shared write: split per item only when the database refused an item.
fn batch_error(e: crate::store::StoreError) -> batch::BatchError {
    batch::BatchError { refused: e.refused(), message: e.to_string() }
}

/// Now, Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).expect("the operating system's random source");
    bytes
}

/// An instant as the API shows it: RFC 3339 in UTC with milliseconds.
pub(crate) fn api_time(ms: i64) -> String {
    let t =
        portico_model::DateTime { seconds: ms.div_euclid(1000), nanoseconds: (ms.rem_euclid(1000) * 1_000_000) as u32 };
    t.to_salesforce()
}
