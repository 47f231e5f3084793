//! The retention schedule: purges on a timer of its own, whatever the queue's load.
//!
//! Every replica runs it (purges are batched, and on PostgreSQL replicas skip each other's
//! rows). Expired nonces and OAuth states go every minute — they pile up with every delivery —
//! and the purges by age ([`crate::store::Store::purge`]) every `retention.interval_seconds`.
//! The first pass comes shortly after start, not during it.

use super::config::RetentionConfig;
use super::now_ms;
use crate::store::{Purged, Store};
use std::future::Future;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

/// How long after start the first pass runs (or the interval, if shorter).
const FIRST_PASS: Duration = Duration::from_secs(30);

/// How often expired nonces and OAuth states go (or the interval, if shorter).
const EXPIRED_EVERY: Duration = Duration::from_secs(60);

/// Purges until `stop` resolves; a pass in progress is abandoned (its batch rolls back).
/// Failed-authentication counts older than `auth_window_ms` (and not locked out) go with the
/// expired nonces.
pub async fn run(store: Store, config: RetentionConfig, auth_window_ms: i64, stop: impl Future<Output = ()>) {
    let policy = config.policy();
    let every = config.interval();
    let expired_every = EXPIRED_EVERY.min(every);
    let start = Instant::now();
    let mut next_full = start + FIRST_PASS.min(every);
    let mut next_expired = start + FIRST_PASS.min(expired_every);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = sleep_until(next_full.min(next_expired)) => {}
            () = &mut stop => return,
        }
        let full = Instant::now() >= next_full;
        let pass = async {
            let forgotten = store.purge_auth_failures(auth_window_ms, now_ms()).await?;
            tracing::debug!(addresses = forgotten, "retention: forgot old failed-authentication counts");
            // Sessions that ended or expired a day ago have nothing left to show in "my sessions".
            let sessions = store.purge_sessions(now_ms() - 86_400_000).await?;
            tracing::debug!(sessions, "retention: forgot ended sessions");
            if full {
                store.purge(&policy, now_ms()).await
            } else {
                let (nonces, oauth_states) = store.purge_expired(now_ms()).await?;
                Ok(Purged { nonces, oauth_states, ..Purged::default() })
            }
        };
        let began = std::time::Instant::now();
        let result = tokio::select! {
            result = pass => result,
            () = &mut stop => return,
        };
        log(full, &result, began.elapsed());
        let now = Instant::now();
        if full {
            // A failed pass is tried again at the next minute, not the next interval.
            next_full = now + if result.is_ok() { every } else { expired_every };
        }
        next_expired = now + expired_every;
    }
}

fn log(full: bool, result: &Result<Purged, crate::store::StoreError>, took: Duration) {
    let took_ms = took.as_millis() as u64;
    match result {
        Ok(p) if full => tracing::info!(
            jobs = p.jobs,
            audit_rows = p.audit_rows,
            nonces = p.nonces,
            oauth_states = p.oauth_states,
            plugin_versions = p.plugin_versions,
            webhook_deliveries = p.webhook_deliveries,
            took_ms,
            "retention: purged what is past its time"
        ),
        Ok(p) => tracing::debug!(
            nonces = p.nonces,
            oauth_states = p.oauth_states,
            took_ms,
            "retention: forgot expired nonces and OAuth states"
        ),
        // Every batch that committed stays done; the next pass picks up the rest.
        Err(e) => tracing::error!("retention: purging failed: {e}"),
    }
}
