//! Job workers: claim, run the tenant's active plugin, commit, audit; retry or fail.
//!
//! One dispatcher per replica claims jobs while it has free slots (`workers.concurrency`),
//! skipping tenants already running their share (`workers.per_tenant`, or the tenant's own
//! lower limit), and runs each claimed job as a task. Claims are leases: a job whose replica
//! died is claimed again when its lease ends, and the upsert-by-booking-id plugins make the
//! second commit update, not duplicate. Each claim holds the job under its own token (the
//! replica's name and a random part), renewed until the result is recorded, so neither another
//! replica nor this one can run a job twice at once; a run that finds its lease gone stops
//! unrecorded. A job whose worker died `max_attempts` times fails as abandoned rather than
//! taking replica after replica down. Transient failures (Salesforce unreachable, 5xx,
//! `REQUEST_LIMIT_EXCEEDED`, row locks) go back to pending with exponential backoff and
//! jitter; everything else fails at once with the reason.

mod classify;
mod pipeline;

pub use classify::{RunFailure, backoff};

use super::{AppState, now_ms};
use crate::store::{Claim, Job};
use pipeline::run_and_record;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// The most jobs claimed in one statement.
const CLAIM_BATCH: usize = 32;

/// Runs the dispatcher until `stop` resolves, then waits (up to the drain time) for the jobs
/// in flight.
pub async fn run(state: AppState, stop: impl Future<Output = ()>) {
    let config = state.inner.config.workers.clone();
    if config.concurrency == 0 {
        stop.await;
        return;
    }
    let running: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let limits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let slots = Arc::new(tokio::sync::Semaphore::new(config.concurrency));
    let lease_ms = config.lease().as_millis() as i64;
    let worker = state.inner.replica.clone();
    tokio::pin!(stop);
    let mut abandoned_check = Instant::now() - Duration::from_secs(60);
    loop {
        let first = tokio::select! {
            permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            _ = &mut stop => break,
        };
        // Claim as many jobs as there are free slots (up to a batch), in one statement.
        let mut permits = vec![first];
        while permits.len() < CLAIM_BATCH {
            match slots.clone().try_acquire_owned() {
                Ok(permit) => permits.push(permit),
                Err(_) => break,
            }
        }
        if abandoned_check.elapsed() > Duration::from_secs(5) {
            abandoned_check = Instant::now();
            match state.inner.store.fail_abandoned(config.max_attempts, now_ms()).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::warn!("{n} jobs failed as abandoned: their workers stopped {} times", config.max_attempts)
                }
                Err(e) => tracing::error!("failing abandoned jobs failed: {e}"),
            }
        }
        let share = |t: &str, limits: &HashMap<String, usize>| limits.get(t).copied().unwrap_or(config.per_tenant);
        let busy: Vec<String> = {
            let running = running.lock().expect("running lock");
            let limits = limits.lock().expect("limits lock");
            running.iter().filter(|(t, n)| **n >= share(t, &limits)).map(|(t, _)| t.clone()).collect()
        };
        // This claim's own token: a job finishes only for the claim that holds it.
        let token = format!("{worker}/{}", hex::encode(super::random_bytes::<6>()));
        let claim = Claim { lease_ms, max_attempts: config.max_attempts, busy: &busy, limit: permits.len() };
        let claimed = state.inner.store.claim_batch(&token, now_ms(), &claim).await;
        let jobs = match claimed {
            Ok(jobs) if !jobs.is_empty() => jobs,
            Ok(_) => {
                drop(permits);
                tokio::select! {
                    _ = state.inner.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(config.poll_ms.max(10))) => {}
                    _ = &mut stop => break,
                }
                continue;
            }
            Err(e) => {
                drop(permits);
                tracing::error!("claiming jobs failed: {e}");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = &mut stop => break,
                }
                continue;
            }
        };
        for job in jobs {
            let permit = permits.pop().expect("no more jobs than permits");
            let known = limits.lock().expect("limits lock").contains_key(&job.tenant_id);
            if !known {
                // A tenant's own limit counts from its first job on this replica.
                let inner = &state.inner;
                let defaults = inner.runtime.default_limits();
                if let Ok(Some(ctx)) = inner.contexts.get(&inner.store, &inner.keys, &defaults, &job.tenant_id).await {
                    let share = own_share(ctx.tenant.max_concurrency, config.per_tenant);
                    limits.lock().expect("limits lock").insert(job.tenant_id.clone(), share);
                }
            }
            // A batch may hold more of one tenant's jobs than its share: give those back.
            let over_share = {
                let limits = limits.lock().expect("limits lock");
                let mut running = running.lock().expect("running lock");
                let n = running.entry(job.tenant_id.clone()).or_default();
                let over = *n >= share(&job.tenant_id, &limits);
                if !over {
                    *n += 1;
                }
                over
            };
            if over_share {
                if let Err(e) = state.inner.store.release(job.id, &token, now_ms()).await {
                    tracing::error!(job = job.id, "giving a job back failed (its lease will expire): {e}");
                }
                continue;
            }
            let (state, running, limits, token) = (state.clone(), running.clone(), limits.clone(), token.clone());
            let span = tracing::info_span!("job", job = job.id, tenant = %job.tenant_id, attempt = job.attempts);
            tokio::spawn(
                async move {
                    let tenant = job.tenant_id.clone();
                    if let Some(limit) = process(&state, &job, &token).await {
                        limits.lock().expect("limits lock").insert(tenant.clone(), limit);
                    }
                    let mut running = running.lock().expect("running lock");
                    if let Some(n) = running.get_mut(&tenant) {
                        *n -= 1;
                        if *n == 0 {
                            running.remove(&tenant);
                        }
                    }
                    drop(permit);
                }
                .instrument(span),
            );
        }
    }
    let drain = Duration::from_secs(config.drain_seconds);
    let all = u32::try_from(config.concurrency).unwrap_or(u32::MAX);
    if tokio::time::timeout(drain, slots.acquire_many(all)).await.is_err() {
        tracing::warn!("jobs still running after {drain:?}: their leases expire and another worker retries them");
    }
}

/// How many jobs of a tenant one replica runs at once: its own limit, never above the service's.
fn own_share(tenant_limit: Option<i32>, per_tenant: usize) -> usize {
    tenant_limit.map_or(per_tenant, |n| usize::try_from(n.max(1)).unwrap_or(usize::MAX)).min(per_tenant)
}

/// Runs one claimed job to its next state, renewing its lease until the result is recorded.
/// When the lease is lost (this replica stalled past it and another worker took the job) the
/// run stops where it is and records nothing: the job is the other worker's now. Returns the
/// tenant's share of this replica's workers.
async fn process(state: &AppState, job: &Job, worker: &str) -> Option<usize> {
    let inner = &state.inner;
    let lease = inner.config.workers.lease();
    // Once the result is being recorded the run is no longer stopped: the job stops being
    // `running` when its own result commits, and that is not a lost lease.
    let recording = AtomicBool::new(false);
    let heartbeat = async {
        loop {
            tokio::time::sleep(lease / 3).await;
            let until = now_ms() + lease.as_millis() as i64;
            match inner.store.renew(job.id, worker, until).await {
                Ok(true) => {}
                Ok(false) if recording.load(Ordering::SeqCst) => std::future::pending::<()>().await,
                Ok(false) => return,
                Err(e) => tracing::warn!("renewing the job's lease failed: {e}"),
            }
        }
    };
    let mut tenant_limit = None;
    tokio::select! {
        () = run_and_record(state, job, worker, &mut tenant_limit, &recording) => {}
        () = heartbeat => {
            tracing::warn!("the job's lease was lost while it ran; stopped without recording, another worker owns it");
        }
    }
    tenant_limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_share_is_its_own_limit_capped_by_the_service() {
        assert_eq!(own_share(None, 16), 16);
        assert_eq!(own_share(Some(4), 16), 4);
        assert_eq!(own_share(Some(100), 16), 16, "a tenant cannot raise its share above the service's");
        assert_eq!(own_share(Some(0), 16), 1);
    }
}
