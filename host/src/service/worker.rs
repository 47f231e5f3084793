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

use super::metrics::{FailureLabels, PluginLabels, TenantLabels};
use super::{AppState, now_ms};
use crate::runtime::{Call, InvokeError, Outcome, Plugin};
use crate::salesforce::{Committed, CommittedRecord, SalesforceError};
use crate::store::{Claim, Completion, Job, NewAudit, RunReport};
use portico_model::staging::{Unit, WriteMode};
use portico_model::{Booking, ErrorKind, MappingError, Value};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Recording a job's result failed.
#[derive(Debug)]
struct StoreFault(String);

impl std::fmt::Display for StoreFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a run did not commit.
#[derive(Debug)]
pub struct RunFailure {
    /// Retrying later may succeed.
    pub transient: bool,
    /// A short class for metrics (`trap`, `cpu`, `mapping`, `salesforce`, `connection` …).
    pub kind: &'static str,
    /// The reason, shown to the tenant.
    pub message: String,
    /// Wait at least this long before retrying (Salesforce's request limit).
    pub min_delay: Option<Duration>,
}

impl RunFailure {
    fn permanent(kind: &'static str, message: impl Into<String>) -> RunFailure {
        RunFailure { transient: false, kind, message: message.into(), min_delay: None }
    }
}

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
    let mut purged = Instant::now();
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
                if purged.elapsed() > Duration::from_secs(60) {
                    purged = Instant::now();
                    let _ = state.inner.store.purge_nonces(now_ms()).await;
                }
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

/// Runs the job and records its success, retry or failure (for this claim only).
async fn run_and_record(
    state: &AppState,
    job: &Job,
    worker: &str,
    tenant_limit: &mut Option<usize>,
    recording: &AtomicBool,
) {
    let inner = &state.inner;
    let mut report = RunReport::default();
    let result = execute(state, job, &mut report, tenant_limit).await;
    recording.store(true, Ordering::SeqCst);
    let now = now_ms();
    let stored = match result {
        Ok(audit) => {
            tracing::info!(records = audit.len(), "job committed");
            let done = Completion { id: job.id, worker: worker.to_owned(), report, audit };
            inner.completions.submit(done).await.map_err(StoreFault)
        }
        Err(failure) => {
            let config = &inner.config.workers;
            let retry = failure.transient && job.attempts < config.max_attempts;
            let retry_at = retry.then(|| {
                let delay = backoff(job.attempts, config.backoff_base_ms, config.backoff_max_ms);
                now + delay.max(failure.min_delay.unwrap_or_default()).as_millis() as i64
            });
            let message = if failure.transient && !retry {
                format!("{} (gave up after {} attempts)", failure.message, job.attempts)
            } else {
                failure.message.clone()
            };
            tracing::warn!(kind = failure.kind, retry = retry, "job failed: {message}");
            inner
                .store
                .fail_with(job.id, worker, &report, &message, retry_at, now)
                .await
                .map_err(|e| StoreFault(e.to_string()))
        }
    };
    match stored {
        Ok(true) => {}
        Ok(false) => tracing::warn!("the job's lease expired before it finished; another worker owns it now"),
        Err(e) => tracing::error!("recording the job's result failed: {e}"),
    }
}

/// The delay before retry `attempt` (1-based): base·2^(attempt-1), capped, with ±50 % jitter.
pub fn backoff(attempt: i32, base_ms: u64, max_ms: u64) -> Duration {
    let exp = base_ms.saturating_mul(1u64 << (attempt.clamp(1, 30) - 1) as u32).min(max_ms);
    let r = u16::from_le_bytes(super::random_bytes::<2>()) as u64;
    let jittered = exp / 2 + exp * r / u16::MAX as u64;
    Duration::from_millis(jittered.min(max_ms).max(1))
}

async fn execute(
    state: &AppState,
    job: &Job,
    report: &mut RunReport,
    tenant_limit: &mut Option<usize>,
) -> Result<Vec<NewAudit>, RunFailure> {
    let inner = &state.inner;
    let ctx = inner
        .contexts
        .get(&inner.store, &inner.keys, &inner.runtime.default_limits(), &job.tenant_id)
        .await
        .map_err(|e| RunFailure { transient: true, kind: "internal", message: e.to_string(), min_delay: None })?
        .ok_or_else(|| RunFailure::permanent("config", "the tenant no longer exists"))?;
    let tenant = &ctx.tenant;
    *tenant_limit = Some(own_share(tenant.max_concurrency, inner.config.workers.per_tenant));
    let active = ctx.active.as_ref().ok_or_else(|| {
        RunFailure::permanent("config", "the tenant has no active plugin version; activate one, then replay")
    })?;
    report.digest = Some(active.digest.clone());
    let grant = active
        .grant
        .clone()
        .ok_or_else(|| RunFailure::permanent("config", format!("plugin version {} is not approved", active.digest)))?;
    let plugin = plugin(state, &tenant.id, &active.digest).await?;
    let labels = PluginLabels { tenant: tenant.id.clone(), plugin: active.name.clone() };
    let org = inner
        .orgs
        .get(&inner.keys, &tenant.id, ctx.connection.as_ref())
        .map_err(|e| RunFailure::permanent("connection", e.to_string()))?;
    let booking = Booking::from_json(&job.payload).map_err(|e| RunFailure::permanent("booking", e.to_string()))?;

    let call = Call {
        booking,
        grant,
        config: ctx.config.clone(),
        limits: inner.runtime.clamp(ctx.limits.clone()),
        crm: org.client.clone(),
    };
    let outcome = inner.runtime.invoke(&plugin, call).await;
    record_invocation(state, &labels, report, &outcome);
    let failure_labels =
        |kind: &str| FailureLabels { tenant: labels.tenant.clone(), plugin: labels.plugin.clone(), kind: kind.into() };
    let tenant_labels = TenantLabels { tenant: tenant.id.clone() };
    let unit = match outcome.result {
        Ok(unit) => unit,
        Err(e) => {
            inner.metrics.failures.get_or_create(&failure_labels(e.kind())).inc();
            inner.metrics.salesforce_calls.get_or_create(&tenant_labels).inc_by(org.new_calls());
            return Err(invoke_failure(e));
        }
    };
    let committed = org.client.commit(&unit).await;
    inner.metrics.salesforce_calls.get_or_create(&tenant_labels).inc_by(org.new_calls());
    if let Some(usage) = org.client.api_usage() {
        inner
            .metrics
            .salesforce_remaining
            .get_or_create(&tenant_labels)
            .set(usage.max.saturating_sub(usage.used) as i64);
    }
    let committed = committed.map_err(|e| {
        inner.metrics.failures.get_or_create(&failure_labels("salesforce")).inc();
        salesforce_failure(e)
    })?;
    inner.metrics.committed.get_or_create(&labels).inc();
    let audit = committed.records.iter().map(|c| audit_record(&unit, &committed, c)).collect();
    Ok(audit)
}

/// What the trail keeps of one committed record: the fields as Salesforce received them, with
/// references to records of the same unit resolved to their new ids, and the upsert key.
fn audit_record(unit: &Unit, committed: &Committed, record: &CommittedRecord) -> NewAudit {
    let id_of = |reference: &str| {
        committed.records.iter().find(|c| c.reference_id == reference).map(|c| c.id.clone()).unwrap_or_default()
    };
    let mut fields = serde_json::Map::new();
    if let Some(staged) = unit.records.iter().find(|r| r.reference.reference_id == record.reference_id) {
        if let WriteMode::Upsert { key_field, key } = &staged.mode {
            fields.insert(key_field.clone(), key.clone().into());
        }
        for f in &staged.fields {
            let value = match &f.value {
                Value::RecordRef(r) => id_of(&r.reference_id).into(),
                other => other.to_salesforce_json(),
            };
            fields.insert(f.name.clone(), value);
        }
    }
    NewAudit {
        sobject: record.sobject.clone(),
        record_id: record.id.clone(),
        created: record.created,
        fields: serde_json::Value::Object(fields).to_string(),
    }
}

/// The pre-linked plugin: from memory, else its stored bytes (compiled or taken from the disk
/// cache off the async threads).
async fn plugin(state: &AppState, tenant: &str, digest: &str) -> Result<Arc<Plugin>, RunFailure> {
    if let Some(plugin) = state.inner.runtime.loaded(digest) {
        return Ok(plugin);
    }
    let bytes = state
        .inner
        .store
        .plugin_component(tenant, digest)
        .await
        .map_err(|e| RunFailure { transient: true, kind: "internal", message: e.to_string(), min_delay: None })?
        .ok_or_else(|| RunFailure::permanent("config", format!("plugin version {digest} is missing")))?;
    let runtime = state.inner.runtime.clone();
    tokio::task::spawn_blocking(move || runtime.load(&bytes))
        .await
        .map_err(|e| RunFailure { transient: true, kind: "internal", message: e.to_string(), min_delay: None })?
        .map_err(|e| RunFailure::permanent("load", e.to_string()))
}

fn record_invocation(state: &AppState, labels: &PluginLabels, report: &mut RunReport, outcome: &Outcome) {
    let metrics = &state.inner.metrics;
    metrics.invocations.get_or_create(labels).inc();
    metrics.duration.get_or_create(labels).observe(outcome.usage.duration.as_secs_f64());
    if let Some(fuel) = outcome.usage.fuel {
        metrics.fuel.get_or_create(labels).inc_by(fuel);
    }
    report.logs = Some(serde_json::to_string(&outcome.logs).unwrap_or_default());
    let mut usage = serde_json::to_value(&outcome.usage).unwrap_or_default();
    usage["duration_us"] = (outcome.usage.duration.as_micros() as u64).into();
    if !outcome.stderr.is_empty() {
        usage["stderr"] = outcome.stderr.clone().into();
    }
    report.usage = Some(usage.to_string());
}

fn invoke_failure(e: InvokeError) -> RunFailure {
    let transient = match &e {
        InvokeError::Mapping(MappingError::Host(h)) => h.kind == ErrorKind::Unavailable,
        InvokeError::Internal(_) => true,
        _ => false,
    };
    let message = format!("plugin: {e}");
    // The org's daily request allowance is spent: retrying soon only spends more.
    let min_delay = (transient && message.contains("REQUEST_LIMIT_EXCEEDED")).then(|| Duration::from_secs(5 * 60));
    RunFailure { transient, kind: e.kind(), message, min_delay }
}

fn salesforce_failure(e: SalesforceError) -> RunFailure {
    let min_delay = (e.code() == Some("REQUEST_LIMIT_EXCEEDED")).then(|| Duration::from_secs(5 * 60));
    RunFailure { transient: e.is_transient(), kind: "salesforce", message: format!("Salesforce: {e}"), min_delay }
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

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        for attempt in 1..=6 {
            let d = backoff(attempt, 1_000, 20_000).as_millis() as u64;
            let exp = (1_000u64 << (attempt - 1)).min(20_000);
            assert!(d >= exp / 2 && d <= exp.max(1) * 3 / 2 && d <= 20_000, "attempt {attempt}: {d} ms");
        }
        assert!(backoff(40, 1_000, 60_000) <= Duration::from_secs(60));
    }
}
