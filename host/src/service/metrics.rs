//! Prometheus metrics, served at `/metrics`.
//!
//! Labels are bounded: tenants and plugin names come from stored, authenticated state, never
//! from unauthenticated input (a forged tenant id in an ingestion URL is not a label).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Tenant and plugin.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginLabels {
    /// Tenant id.
    pub tenant: String,
    /// Plugin name.
    pub plugin: String,
}

/// A failure class of a tenant's plugin.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    /// Tenant id.
    pub tenant: String,
    /// Plugin name.
    pub plugin: String,
    /// `trap`, `mapping`, `cpu`, `memory`, `salesforce`, …
    pub kind: String,
}

/// A tenant.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabels {
    /// Tenant id.
    pub tenant: String,
}

/// An outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// What happened.
    pub outcome: String,
}

/// A queue state.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    /// pending, running, failed.
    pub state: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric the service exports.
pub struct Metrics {
    registry: Registry,
    /// Plugin invocations.
    pub invocations: Family<PluginLabels, Counter>,
    /// Invocation wall time, seconds.
    pub duration: HistogramFamily<PluginLabels>,
    /// Fuel consumed (when fuel metering is on).
    pub fuel: Family<PluginLabels, Counter>,
    /// Failed job runs by kind.
    pub failures: Family<FailureLabels, Counter>,
    /// Jobs committed.
    pub committed: Family<PluginLabels, Counter>,
    /// Salesforce REST API requests.
    pub salesforce_calls: Family<TenantLabels, Counter>,
    /// The org's remaining daily API requests, as Salesforce last reported.
    pub salesforce_remaining: Family<TenantLabels, Gauge>,
    /// Salesforce API calls spent for the tenant today (UTC), as this replica knows them.
    pub api_used_today: Family<TenantLabels, Gauge>,
    /// Orgs' clients kept in memory (set at scrape time).
    pub org_clients: Gauge,
    /// Describes kept in memory, their bytes and how many were dropped to stay within the
    /// budget (set at scrape time).
    pub describe_entries: Gauge,
    /// See `describe_entries`.
    pub describe_bytes: Gauge,
    /// See `describe_entries`.
    pub describe_evictions: Gauge,
    /// Finds answered from tenants' recent answers since start (set at scrape time).
    pub find_cache_hits: Gauge,
    /// Jobs per state (all tenants), read from the database at scrape time.
    pub queue_depth: Family<StateLabels, Gauge>,
    /// Booking deliveries by outcome.
    pub deliveries: Family<OutcomeLabels, Counter>,
    /// Ingestion latency, seconds (verified, stored, answered).
    pub ingest_latency: HistogramFamily<OutcomeLabels>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("portico");
        let m = Metrics {
            invocations: Family::default(),
            duration: Family::new_with_constructor(latency_histogram),
            fuel: Family::default(),
            failures: Family::default(),
            committed: Family::default(),
            salesforce_calls: Family::default(),
            salesforce_remaining: Family::default(),
            api_used_today: Family::default(),
            org_clients: Gauge::default(),
            describe_entries: Gauge::default(),
            describe_bytes: Gauge::default(),
            describe_evictions: Gauge::default(),
            find_cache_hits: Gauge::default(),
            queue_depth: Family::default(),
            deliveries: Family::default(),
            ingest_latency: Family::new_with_constructor(latency_histogram),
            registry: Registry::default(),
        };
        registry.register("plugin_invocations", "Plugin invocations", m.invocations.clone());
        registry.register("plugin_duration_seconds", "Plugin invocation wall time", m.duration.clone());
        registry.register("plugin_fuel", "Fuel consumed by plugins", m.fuel.clone());
        registry.register("job_failures", "Failed job runs by kind", m.failures.clone());
        registry.register("jobs_committed", "Jobs whose records were committed", m.committed.clone());
        registry.register("salesforce_api_calls", "Salesforce REST API requests", m.salesforce_calls.clone());
        registry.register(
            "salesforce_api_remaining",
            "Remaining daily Salesforce API requests as last reported",
            m.salesforce_remaining.clone(),
        );
        registry.register(
            "salesforce_api_used_today",
            "Salesforce API calls spent for the tenant today (UTC), against its daily budget",
            m.api_used_today.clone(),
        );
        registry.register("salesforce_clients", "Orgs' clients kept in memory", m.org_clients.clone());
        registry.register("describe_cache_entries", "Describes kept in memory", m.describe_entries.clone());
        registry.register("describe_cache_bytes", "Bytes of describes kept in memory", m.describe_bytes.clone());
        registry.register(
            "describe_cache_evictions",
            "Describes dropped to stay within the cache's bytes",
            m.describe_evictions.clone(),
        );
        registry.register(
            "salesforce_find_cache_hits",
            "Finds answered from a tenant's recent answers (no query sent), since start",
            m.find_cache_hits.clone(),
        );
        registry.register("queue_jobs", "Jobs per state", m.queue_depth.clone());
        registry.register("deliveries", "Booking deliveries by outcome", m.deliveries.clone());
        registry.register("ingest_latency_seconds", "Booking ingestion latency", m.ingest_latency.clone());
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }

    /// Counts a delivery and its latency.
    pub fn delivery(&self, outcome: &str, seconds: f64) {
        let labels = OutcomeLabels { outcome: outcome.to_owned() };
        self.deliveries.get_or_create(&labels).inc();
        self.ingest_latency.get_or_create(&labels).observe(seconds);
    }
}
