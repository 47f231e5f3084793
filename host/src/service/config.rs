//! `portico serve` settings: a TOML file, then environment overrides, with safe defaults.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The service's settings. Every field has a default; unknown keys are refused.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// Where to listen (`PORTICO_LISTEN`).
    pub listen: SocketAddr,
    /// `sqlite://file` (default `sqlite://portico.db`) or `postgres://…` (`DATABASE_URL`).
    pub database_url: String,
    /// The service's own public base URL, for the OAuth callback (`PORTICO_PUBLIC_URL`).
    pub public_url: String,
    /// Master keys for secrets at rest: `PORTICO_MASTER_KEY` (`id:base64,…`, first encrypts)
    /// or this file (`PORTICO_MASTER_KEY_FILE`) holding the same text.
    pub master_key_file: Option<PathBuf>,
    /// Compiled-component cache folder (`portico serve` defaults it to
    /// `$PORTICO_CACHE_DIR` or `~/.cache/portico/compiled`; `None` compiles without a disk cache).
    pub cache_dir: Option<PathBuf>,
    /// Hosts allowed as org URLs besides Salesforce's domains (development orgs, the emulator).
    pub allow_hosts: Vec<String>,
    /// Extra CA certificate (PEM file) trusted for org connections (the emulator's https).
    pub org_ca_file: Option<PathBuf>,
    /// The job workers.
    pub workers: WorkerConfig,
    /// Booking ingestion.
    pub ingest: IngestConfig,
    /// API key authentication.
    pub auth: AuthConfig,
    /// The sandbox: engine settings and the default (and maximum) limits of every invocation;
    /// `runtime.limits.component_bytes` is also the largest plugin upload.
    pub runtime: crate::runtime::RuntimeConfig,
}

/// Job workers.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// Jobs run at once by this replica (`0` runs no workers: an ingest-only replica).
    pub concurrency: usize,
    /// Jobs of one tenant run at once by this replica (a tenant may set fewer).
    pub per_tenant: usize,
    /// How long a claim holds a job before another replica may take it, seconds.
    pub lease_seconds: u64,
    /// Attempts before a transiently failing job fails for good.
    pub max_attempts: i32,
    /// First retry delay, ms; doubles per attempt, with ±50 % jitter.
    pub backoff_base_ms: u64,
    /// Longest retry delay, ms.
    pub backoff_max_ms: u64,
    /// How long to wait for in-flight jobs at shutdown, seconds.
    pub drain_seconds: u64,
    /// How often idle workers look for jobs ingested by other replicas, ms.
    pub poll_ms: u64,
}

/// Booking ingestion.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Largest booking delivery, bytes.
    pub max_body_bytes: usize,
    /// Accepted clock difference of a signed timestamp, seconds.
    pub tolerance_seconds: i64,
}

/// API key authentication.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Failed attempts (per client address) before a lockout.
    pub max_failures: u32,
    /// The window failures are counted in, seconds.
    pub window_seconds: u64,
    /// How long a lockout lasts, seconds.
    pub lockout_seconds: u64,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://portico.db".into(),
            public_url: "http://127.0.0.1:8080".into(),
            master_key_file: None,
            cache_dir: None,
            allow_hosts: Vec::new(),
            org_ca_file: None,
            workers: WorkerConfig::default(),
            ingest: IngestConfig::default(),
            auth: AuthConfig::default(),
            runtime: crate::runtime::RuntimeConfig::default(),
        }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 64,
            per_tenant: 16,
            lease_seconds: 60,
            max_attempts: 8,
            backoff_base_ms: 1_000,
            backoff_max_ms: 5 * 60_000,
            drain_seconds: 30,
            poll_ms: 250,
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig { max_body_bytes: 256 << 10, tolerance_seconds: 300 }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig { max_failures: 10, window_seconds: 60, lockout_seconds: 300 }
    }
}

impl WorkerConfig {
    /// The lease length.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_seconds.max(1))
    }
}

impl ServeConfig {
    /// Reads the file (if any), then applies `PORTICO_LISTEN`, `DATABASE_URL`,
    /// `PORTICO_PUBLIC_URL` and `PORTICO_MASTER_KEY_FILE` from the environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<ServeConfig> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read the config file {}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            }
            None => ServeConfig::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        if config.cache_dir.is_none() {
            config.cache_dir =
                std::env::var_os("PORTICO_CACHE_DIR").map(PathBuf::from).or_else(crate::cli::default_cache_dir);
        }
        Ok(config)
    }

    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(listen) = var("PORTICO_LISTEN") {
            self.listen = listen.parse().map_err(|e| anyhow::anyhow!("PORTICO_LISTEN `{listen}`: {e}"))?;
        }
        if let Some(url) = var("DATABASE_URL") {
            self.database_url = url;
        }
        if let Some(url) = var("PORTICO_PUBLIC_URL") {
            self.public_url = url;
        }
        if let Some(file) = var("PORTICO_MASTER_KEY_FILE") {
            self.master_key_file = Some(file.into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let mut config: ServeConfig =
            toml::from_str("listen = \"0.0.0.0:9000\"\n[workers]\nconcurrency = 4\n").unwrap();
        assert_eq!(config.workers.concurrency, 4);
        assert_eq!(config.workers.per_tenant, 16, "unset fields keep their defaults");
        config.apply_env(|n| (n == "DATABASE_URL").then(|| "postgres://db/portico".to_owned())).unwrap();
        assert_eq!(config.database_url, "postgres://db/portico");
        assert_eq!(config.listen.port(), 9000);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<ServeConfig>("[workers]\nconcurency = 4\n").unwrap_err();
        assert!(err.to_string().contains("concurency"), "{err}");
    }
}
