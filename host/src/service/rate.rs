//! A per-key minimum interval for operations that spend a tenant's Salesforce allowance on
//! demand (preflight): one run per key per interval on each replica.

use super::error::ApiError;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Admits one call per key per `interval`.
#[derive(Debug)]
pub struct Interval {
    interval: Duration,
    last: Mutex<HashMap<String, Instant>>,
}

impl Interval {
    /// At most one call per key per `interval`.
    pub fn new(interval: Duration) -> Interval {
        Interval { interval, last: Mutex::new(HashMap::new()) }
    }

    /// Admits a call for `key`, or answers `429` with how long to wait.
    pub fn admit(&self, key: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut last = self.last.lock().expect("rate lock");
        if last.len() > 10_000 {
            last.retain(|_, at| now.duration_since(*at) < self.interval);
        }
        if let Some(at) = last.get(key)
            && now.duration_since(*at) < self.interval
        {
            let wait = self.interval - now.duration_since(*at);
            let mut e = ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "too-soon",
                format!(
                    "run at most once every {} s; try again in {} s",
                    self.interval.as_secs(),
                    wait.as_secs().max(1)
                ),
            );
            e.retry_after = Some(wait.as_secs().max(1));
            return Err(e);
        }
        last.insert(key.to_owned(), now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_call_per_key_per_interval() {
        let rate = Interval::new(Duration::from_secs(60));
        rate.admit("acme").unwrap();
        let e = rate.admit("acme").unwrap_err();
        assert_eq!(e.status, 429);
        assert!(e.retry_after.unwrap() > 0);
        rate.admit("globex").unwrap();
        let zero = Interval::new(Duration::ZERO);
        zero.admit("acme").unwrap();
        zero.admit("acme").unwrap();
    }
}
