//! One claimed job through the pipeline: load the plugin, invoke it, commit the unit, build the
//! audit rows, record the result for this claim, and emit its webhook event (`job.succeeded`,
//! `job.failed`, `job.needs-attention`; a retry emits nothing).

use super::classify::{RunFailure, commit_failure, invoke_failure};
use crate::runtime::{Call, Outcome, Plugin};
use crate::salesforce::{Committed, CommittedRecord};
use crate::service::metrics::{FailureLabels, PluginLabels, TenantLabels};
use crate::service::webhooks::{self, Event};
use crate::service::{AppState, now_ms};
use crate::store::{Completion, Job, JobState, NewAudit, Next, RunReport};
use portico_model::staging::{Unit, WriteMode};
use portico_model::text::{MAX_ERROR_BYTES, clip};
use portico_model::{Booking, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Runs the job and records its success, retry or failure (for this claim only).
pub(super) async fn run_and_record(
    state: &AppState,
    job: &Job,
    worker: &str,
    tenant_limit: &mut Option<usize>,
    recording: &AtomicBool,
) {
    let inner = &state.inner;
    let mut report = RunReport::default();
    let result = execute(state, job, worker, &mut report, tenant_limit).await;
    recording.store(true, Ordering::SeqCst);
    let now = now_ms();
    let (stored, event, broken) = match result {
        Ok(audit) => {
            tracing::info!(records = audit.len(), "job committed");
            let done = Completion { id: job.id, worker: worker.to_owned(), report, audit };
            (inner.completions.submit(done).await, Some((Event::JobSucceeded, JobState::Succeeded, None)), false)
        }
        Err(failure) => {
            let config = &inner.config.workers;
            let (next, message) =
                failure.next(job.attempts, config.max_attempts, config.backoff_base_ms, config.backoff_max_ms, now);
            tracing::warn!(kind = failure.kind, class = failure.class.as_str(), next = ?next, "job failed: {message}");
            let stored =
                inner.store.settle(job.id, worker, &report, &message, next, now).await.map_err(|e| e.to_string());
            let event = match next {
                Next::Retry(_) => None,
                Next::Fail => Some((Event::JobFailed, JobState::Failed, Some(message))),
                Next::Unknown => Some((Event::JobNeedsAttention, JobState::Unknown, Some(message))),
            };
            (stored, event, failure.class == portico_model::crm::FailureClass::ReconnectNeeded)
        }
    };
    match stored {
        Ok(true) => {
            if let Some((event, state, error)) = event {
                // The job's result is recorded whatever becomes of its event.
                let error = error.map(|e| clip(&e, MAX_ERROR_BYTES).into_owned());
                let data = serde_json::json!({
                    "job_id": job.id,
                    "booking_id": job.booking_id,
                    "kind": job.kind,
                    "state": state.as_str(),
                    "attempts": job.attempts,
                    "error": error,
                });
                webhooks::emit_or_log(&inner.store, &job.tenant_id, event, data.clone()).await;
                if broken {
                    webhooks::emit_or_log(&inner.store, &job.tenant_id, Event::ConnectionBroken, data).await;
                }
            }
        }
        Ok(false) => tracing::warn!("the job's lease expired before it finished; another worker owns it now"),
        Err(e) => tracing::error!("recording the job's result failed: {e}"),
    }
}

async fn execute(
    state: &AppState,
    job: &Job,
    worker: &str,
    report: &mut RunReport,
    tenant_limit: &mut Option<usize>,
) -> Result<Vec<NewAudit>, RunFailure> {
    let inner = &state.inner;
    if let Some(at) = job.commit_started_at {
        // An earlier run of this claim's job died after it began committing records it creates.
        return Err(RunFailure {
            outcome_unknown: true,
            ..RunFailure::permanent(
                "outcome-unknown",
                format!("the run of {} stopped while its commit was under way", crate::service::api::api_time(at)),
            )
        });
    }
    let ctx = inner
        .contexts
        .get(&inner.store, &inner.keys, &inner.runtime.default_limits(), &job.tenant_id)
        .await
        .map_err(|e| match e {
            crate::service::context::ContextError::Corrupt { .. } => RunFailure::permanent("config", e.to_string()),
            e => RunFailure::internal(e.to_string()),
        })?
        .ok_or_else(|| RunFailure::permanent("config", "the tenant no longer exists"))?;
    let tenant = &ctx.tenant;
    *tenant_limit = Some(super::own_share(tenant.max_concurrency, inner.config.workers.per_tenant));
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
    let unit = match outcome.result {
        Ok(unit) => unit,
        Err(e) => {
            inner.metrics.failures.get_or_create(&failure_labels(e.kind())).inc();
            spent(state, tenant, &org, tenant_limit).await;
            inner.orgs.keep_rotated_token(&inner.store, &inner.keys, &tenant.id, &org).await;
            return Err(invoke_failure(e, outcome.crm_failure));
        }
    };
    let creates = unit.records.iter().any(|r| matches!(r.mode, WriteMode::Create));
    if creates {
        // Durably noted before the request leaves: if this run dies before the answer is
        // recorded, the next claim knows the records may exist and does not create them twice.
        match inner.commit_marks.submit((job.id, worker.to_owned())).await {
            Ok(true) => {}
            Ok(false) => return Err(RunFailure::permanent("lease", "the job's lease was lost before its commit")),
            Err(e) => return Err(RunFailure::internal(format!("noting the commit failed: {e}"))),
        }
    }
    let committed = org.client.commit(&unit).await;
    spent(state, tenant, &org, tenant_limit).await;
    inner.orgs.keep_rotated_token(&inner.store, &inner.keys, &tenant.id, &org).await;
    let committed = committed.map_err(|e| {
        inner.metrics.failures.get_or_create(&failure_labels("salesforce")).inc();
        commit_failure(e, creates)
    })?;
    inner.metrics.committed.get_or_create(&labels).inc();
    let audit = committed.records.iter().map(|c| audit_record(&unit, &committed, c)).collect();
    Ok(audit)
}

/// Counts the API calls the tenant's org made since the last count, against its budget; near
/// it, the tenant's jobs run one at a time.
async fn spent(
    state: &AppState,
    tenant: &crate::store::Tenant,
    org: &crate::service::orgs::Org,
    tenant_limit: &mut Option<usize>,
) {
    let inner = &state.inner;
    let labels = TenantLabels { tenant: tenant.id.clone() };
    let calls = org.new_calls();
    inner.metrics.salesforce_calls.get_or_create(&labels).inc_by(calls);
    let usage = org.client.api_usage();
    if let Some(usage) = usage {
        inner.metrics.salesforce_remaining.get_or_create(&labels).set(usage.max.saturating_sub(usage.used) as i64);
    }
    if inner.budgets.spent(state, tenant, calls, usage, now_ms()).await == crate::service::budget::Pace::Slow {
        *tenant_limit = Some(1);
    }
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
    use crate::service::context::PluginUnavailable;
    crate::service::context::load_plugin(state, tenant, digest).await.map_err(|e| match e {
        PluginUnavailable::Missing(m) => RunFailure::permanent("config", m),
        PluginUnavailable::Invalid(m) => RunFailure::permanent("load", m),
        PluginUnavailable::Internal(m) => RunFailure::internal(m),
    })
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
    usage["instantiate_us"] = (outcome.usage.instantiate.as_micros() as u64).into();
    if !outcome.stderr.is_empty() {
        usage["stderr"] = outcome.stderr.clone().into();
    }
    report.usage = Some(usage.to_string());
}
