//! `[webhooks]` settings: how deliveries are attempted and which addresses they may reach.

use ipnet::IpNet;
use serde::Deserialize;
use std::net::IpAddr;
use std::time::Duration;

/// Outbound webhooks. Unknown keys are refused.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Attempts before a delivery fails for good (a tenant admin may replay it).
    pub max_attempts: i32,
    /// The longest one attempt may take (connect, send, answer), seconds.
    pub timeout_seconds: u64,
    /// Allow `http://` endpoints (development only: the body and credentials travel in clear).
    pub allow_http: bool,
    /// Networks deliveries may reach although they are not public (`10.1.2.0/24`,
    /// `fd00::/8`, or a bare address): internal receivers the operator vouches for.
    pub allowed_networks: Vec<String>,
    /// The wait after each failed attempt, seconds: the n-th failure waits the n-th entry (the
    /// last repeats). Each wait varies by up to ±10 % so failures do not retry in lockstep.
    pub retry_delays_seconds: Vec<u64>,
    /// Deliveries attempted at once by this replica (`0`: this replica sends none).
    pub concurrency: usize,
    /// How often the deliverer looks for due deliveries, ms.
    pub poll_ms: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            max_attempts: 8,
            timeout_seconds: 10,
            allow_http: false,
            allowed_networks: Vec::new(),
            retry_delays_seconds: vec![30, 120, 600, 3_600, 3 * 3_600, 6 * 3_600, 12 * 3_600],
            concurrency: 8,
            poll_ms: 1_000,
        }
    }
}

impl WebhooksConfig {
    /// The operator's allow-list, parsed.
    pub fn networks(&self) -> anyhow::Result<Vec<IpNet>> {
        self.allowed_networks
            .iter()
            .map(|text| {
                let text = text.trim();
                text.parse::<IpNet>().or_else(|_| text.parse::<IpAddr>().map(IpNet::from)).map_err(|_| {
                    anyhow::anyhow!("webhooks.allowed_networks: `{text}` is not a network (e.g. 10.0.0.0/8)")
                })
            })
            .collect()
    }

    /// One attempt's time limit.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds.max(1))
    }

    /// The wait after the `failures`-th failed attempt (1-based), before jitter.
    pub fn retry_delay(&self, failures: i32) -> Duration {
        let index = usize::try_from(failures.max(1) - 1).unwrap_or(0);
        let seconds = self.retry_delays_seconds.get(index).or(self.retry_delays_seconds.last()).copied().unwrap_or(60);
        Duration::from_secs(seconds)
    }

    /// Refuses settings that would quietly stop deliveries from working.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.max_attempts < 1 {
            anyhow::bail!("webhooks.max_attempts must be at least 1");
        }
        if self.retry_delays_seconds.is_empty() {
            anyhow::bail!("webhooks.retry_delays_seconds is empty: give at least one wait (default 30, 120, 600, …)");
        }
        self.networks()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_delays_and_networks() {
        let config = WebhooksConfig::default();
        assert_eq!((config.max_attempts, config.timeout(), config.allow_http), (8, Duration::from_secs(10), false));
        let delays: Vec<u64> = (1..=9).map(|n| config.retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [30, 120, 600, 3_600, 10_800, 21_600, 43_200, 43_200, 43_200]);
        let config: WebhooksConfig = toml::from_str("allowed_networks = [\"10.1.0.0/16\", \"127.0.0.1\"]").unwrap();
        assert_eq!(config.networks().unwrap().len(), 2);
        let bad: WebhooksConfig = toml::from_str("allowed_networks = [\"intranet\"]").unwrap();
        assert!(bad.check().unwrap_err().to_string().contains("intranet"));
        assert!(toml::from_str::<WebhooksConfig>("max_attempt = 3").is_err(), "unknown keys are refused");
    }
}
