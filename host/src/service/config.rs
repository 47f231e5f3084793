//! `portico serve` settings: a TOML file, then environment overrides, with safe defaults.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The service's settings. Every field has a default; unknown keys are refused. Its `Debug`
/// hides the database URL's password.
#[derive(Clone, Deserialize)]
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
    /// People's accounts: passwords, sessions, lockout, two-factor policy.
    pub accounts: super::accounts::AccountsConfig,
    /// Where invitations, reset links and sign-in codes are mailed (none: links are shown once).
    pub smtp: super::mail::SmtpConfig,
    /// The sandbox: engine settings and the default (and maximum) limits of every invocation;
    /// `runtime.limits.component_bytes` is also the largest plugin upload.
    pub runtime: crate::runtime::RuntimeConfig,
    /// How long personal data (booking payloads, logs, audit values) is kept.
    pub retention: RetentionConfig,
    /// Outbound webhooks: attempts, time limit, and the networks deliveries may reach.
    #[serde(default)]
    pub webhooks: super::webhooks::WebhooksConfig,
    /// The console's suggestions.
    #[serde(default)]
    pub console: ConsoleConfig,
    /// What is kept in memory of the tenants' orgs.
    #[serde(default)]
    pub orgs: OrgsConfig,
}

/// What a replica keeps in memory of the tenants' orgs. Both are bounded so that memory does
/// not grow with the number of tenants: an idle tenant's client (its token) and describes make
/// room for active ones, and cost a token request and a describe revalidation when it returns.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrgsConfig {
    /// Orgs' clients kept (least recently used out first).
    pub cached_clients: usize,
    /// Bytes of describes kept across all orgs (each counted as the size of the part Portico
    /// reads, as JSON; least recently used out first).
    pub describe_cache_bytes: usize,
    /// Under load, how long a tenant's combined `find` query or commit waits for more of its
    /// bookings before it goes, ms (at rest nothing waits; see `salesforce::coalesce`).
    pub batch_wait_ms: u64,
    /// Whether a tenant's concurrent finds and commits share requests at all (`false`: each is
    /// a request of its own, as before; for comparison).
    pub share_requests: bool,
    /// How long each tenant's `find` answers are reused, ms (0: never). Never across a commit
    /// of this replica that writes the sObject found or names a record found; changes made elsewhere (another replica,
    /// another integration, a user in Salesforce) show after at most this long. See
    /// `salesforce::recent`.
    pub find_cache_ms: u64,
}

impl Default for OrgsConfig {
    fn default() -> Self {
        OrgsConfig {
            cached_clients: 2_000,
            describe_cache_bytes: 256 << 20,
            batch_wait_ms: crate::salesforce::DEFAULT_BATCH_WAIT.as_millis() as u64,
            share_requests: true,
            find_cache_ms: crate::salesforce::DEFAULT_FIND_TTL.as_millis() as u64,
        }
    }
}

/// What the console suggests when a tenant admin connects Salesforce.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// The login URL the connect form starts with.
    pub login_url: String,
    /// The connected app's consumer key the connect form starts with (the operator's own
    /// connected app, when tenants authorize it rather than their own).
    pub client_id: String,
    /// The addresses Portico's requests to Salesforce come from, for orgs that restrict login
    /// IP ranges (shown on each tenant's trust page).
    pub egress_addresses: Vec<String>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            login_url: "https://login.salesforce.com".into(),
            client_id: String::new(),
            egress_addresses: Vec::new(),
        }
    }
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
    /// The share of an org's daily API allowance (percent) Portico leaves to the org's other
    /// integrations: below it, a tenant's jobs pause (see `service::budget`).
    pub org_api_reserve_percent: u8,
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
    /// Reverse proxies / load balancers in front of the service: for requests from these
    /// addresses the client is read from `X-Forwarded-For`, so one client's failures do not
    /// lock out everyone behind the proxy.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The shortest time between two connection preflights of one tenant (per replica): each
    /// spends Salesforce API calls.
    pub preflight_interval_seconds: u64,
}

/// Retention of personal data, run by every replica (see `service::retention`). `0` days keeps
/// that data for good.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days after a job finished (succeeded or failed) until its booking payload, logs, usage
    /// and error text are dropped; its row stays. A failed job can be replayed until then.
    pub job_days: u32,
    /// Days after a commit until its audit row's field values are dropped; ids and field names
    /// stay.
    pub audit_days: u32,
    /// Per tenant, the newest plugin uploads kept besides the active version, its rollback
    /// target and the versions unpurged jobs ran (`0`: keep every version).
    pub keep_plugin_versions: u32,
    /// Seconds between purges; expired nonces and OAuth states every minute (or this, if
    /// shorter).
    pub interval_seconds: u64,
}

impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("listen", &self.listen)
            .field("database_url", &redact_password(&self.database_url))
            .field("public_url", &self.public_url)
            .field("master_key_file", &self.master_key_file)
            .field("cache_dir", &self.cache_dir)
            .field("allow_hosts", &self.allow_hosts)
            .field("org_ca_file", &self.org_ca_file)
            .field("workers", &self.workers)
            .field("ingest", &self.ingest)
            .field("auth", &self.auth)
            .field("accounts", &self.accounts)
            .field("smtp", &self.smtp)
            .field("runtime", &self.runtime)
            .field("retention", &self.retention)
            .field("webhooks", &self.webhooks)
            .finish()
    }
}

/// `scheme://user:secret@host/…` → `scheme://user:***@host/…`; other text unchanged.
pub fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
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
            accounts: super::accounts::AccountsConfig::default(),
            smtp: super::mail::SmtpConfig::default(),
            runtime: crate::runtime::RuntimeConfig::default(),
            retention: RetentionConfig::default(),
            webhooks: super::webhooks::WebhooksConfig::default(),
            console: ConsoleConfig::default(),
            orgs: OrgsConfig::default(),
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
            org_api_reserve_percent: 5,
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
        AuthConfig {
            max_failures: 10,
            window_seconds: 60,
            lockout_seconds: 300,
            trusted_proxies: Vec::new(),
            preflight_interval_seconds: 60,
        }
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig { job_days: 30, audit_days: 90, keep_plugin_versions: 10, interval_seconds: 3_600 }
    }
}

impl RetentionConfig {
    /// What the store purges.
    pub fn policy(&self) -> crate::store::Retention {
        let days = |n: u32| (n > 0).then(|| Duration::from_secs(u64::from(n) * 86_400));
        crate::store::Retention {
            jobs_for: days(self.job_days),
            audit_values_for: days(self.audit_days),
            keep_plugin_versions: (self.keep_plugin_versions > 0).then_some(self.keep_plugin_versions),
        }
    }

    /// Time between purges.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_seconds.max(1))
    }
}

impl WorkerConfig {
    /// The lease length.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_seconds.max(1))
    }
}

impl ServeConfig {
    /// Whether session cookies are marked `Secure`: as configured, else when the public URL
    /// is https.
    pub fn secure_cookies(&self) -> bool {
        self.accounts.secure_cookies.unwrap_or_else(|| self.public_url.starts_with("https://"))
    }

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
        config.check()?;
        if config.cache_dir.is_none() {
            config.cache_dir =
                std::env::var_os("PORTICO_CACHE_DIR").map(PathBuf::from).or_else(crate::cli::default_cache_dir);
        }
        Ok(config)
    }

    /// Refuses settings that would quietly stop the service from working.
    pub fn check(&self) -> anyhow::Result<()> {
        let w = &self.workers;
        if w.concurrency > 0 && w.per_tenant == 0 {
            anyhow::bail!("workers.per_tenant is 0: no tenant's job could ever run (set 1 or more)");
        }
        if w.max_attempts < 1 {
            anyhow::bail!("workers.max_attempts must be at least 1");
        }
        if self.ingest.max_body_bytes == 0 {
            anyhow::bail!("ingest.max_body_bytes is 0: every delivery would be refused");
        }
        if self.retention.interval_seconds == 0 {
            anyhow::bail!("retention.interval_seconds is 0: set how often to purge (default 3600)");
        }
        self.webhooks.check()?;
        Ok(())
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
    fn settings_that_stop_the_service_are_refused_and_passwords_never_printed() {
        let config: ServeConfig = toml::from_str("[workers]\nper_tenant = 0\n").unwrap();
        assert!(config.check().unwrap_err().to_string().contains("per_tenant"));
        let config = ServeConfig { database_url: "postgres://portico:s3cret@db:5432/p".into(), ..Default::default() };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret") && shown.contains("postgres://portico:***@db:5432/p"), "{shown}");
    }

    #[test]
    fn retention_defaults_and_zero_days_keep_data() {
        let policy = ServeConfig::default().retention.policy();
        assert_eq!(policy.jobs_for, Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(policy.audit_values_for, Some(Duration::from_secs(90 * 86_400)));
        assert_eq!(policy.keep_plugin_versions, Some(10));
        let config: ServeConfig =
            toml::from_str("[retention]\njob_days = 0\naudit_days = 7\nkeep_plugin_versions = 0\n").unwrap();
        let policy = config.retention.policy();
        assert_eq!((policy.jobs_for, policy.keep_plugin_versions), (None, None), "0 keeps");
        assert_eq!(policy.audit_values_for, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(config.retention.interval_seconds, 3_600);
        let config: ServeConfig = toml::from_str("[retention]\ninterval_seconds = 0\n").unwrap();
        assert!(config.check().unwrap_err().to_string().contains("retention.interval_seconds"));
        assert!(toml::from_str::<ServeConfig>("[retention]\njob_day = 1\n").is_err(), "unknown keys are refused");
    }

    #[test]
    fn the_webhooks_section_has_defaults_and_is_checked() {
        let config: ServeConfig =
            toml::from_str("[webhooks]\nallow_http = true\nallowed_networks = [\"127.0.0.0/8\"]\n").unwrap();
        assert!(config.webhooks.allow_http && config.check().is_ok());
        assert_eq!((config.webhooks.max_attempts, config.webhooks.timeout_seconds), (8, 10), "defaults kept");
        let bad: ServeConfig = toml::from_str("[webhooks]\nallowed_networks = [\"intranet\"]\n").unwrap();
        assert!(bad.check().unwrap_err().to_string().contains("webhooks.allowed_networks"));
        assert!(!ServeConfig::default().webhooks.allow_http, "https only by default");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<ServeConfig>("[workers]\nconcurency = 4\n").unwrap_err();
        assert!(err.to_string().contains("concurency"), "{err}");
    }
}
