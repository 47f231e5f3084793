//! One invocation: a fresh store from the pre-linked plugin, `map`, and what came of it.

use super::{MemoryLimiter, Plugin, Runtime, Sandbox};
use crate::capabilities::{booking_to_wit, mapping_error_from_wit};
use portico_model::crm::FailureClass;
use portico_model::session::LogLine;
use portico_model::staging::Unit;
use portico_model::text::{MAX_ERROR_BYTES, MAX_STDERR_BYTES, clip};
use portico_model::{Booking, Crm, Grant, Limit, LimitExceeded, Limits, MappingError, Session};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::ResourceTable;
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

/// What to run: a booking, under a tenant's grant, config and limits, against an org.
#[derive(Clone)]
pub struct Call {
    /// The booking.
    pub booking: Booking,
    /// What the tenant approved.
    pub grant: Arc<Grant>,
    /// The tenant's settings (manifest defaults fill the gaps).
    pub config: Arc<BTreeMap<String, String>>,
    /// The tenant's limits (clamped to the runtime's).
    pub limits: Limits,
    /// The org.
    pub crm: Arc<dyn Crm>,
}

/// Resources one invocation used.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Wall-clock time from instantiation to return.
    pub duration: Duration,
    /// Of `duration`, the time to instantiate the component (its memories and tables set up
    /// from the compiled image, its start functions run).
    pub instantiate: Duration,
    /// Guest execution time, in epoch ticks of `epoch_tick_ms`.
    pub cpu_ms: u64,
    /// Fuel consumed, when fuel metering is on.
    pub fuel: Option<u64>,
    /// The largest linear memory the guest had.
    pub peak_memory_bytes: u64,
    /// Host calls made.
    pub host_calls: u32,
    /// Records staged.
    pub staged_records: usize,
    /// Salesforce round trips (finds, describes the cache could not answer).
    pub salesforce_calls: u32,
}

/// Why an invocation produced no unit to commit.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum InvokeError {
    /// A sandbox limit was hit.
    #[error("{0}")]
    Limit(#[from] LimitExceeded),
    /// The plugin crashed (a panic, `unreachable`, a bad memory access …).
    #[error("the plugin crashed: {trap}{}", if .stderr.is_empty() { String::new() } else { format!("; it wrote: {}", .stderr) })]
    Trap {
        /// The trap.
        trap: String,
        /// What the guest wrote to stderr (its panic message), bounded.
        stderr: String,
    },
    /// The plugin returned an error, or staged records that fail the final checks.
    #[error("{0}")]
    Mapping(#[from] MappingError),
    /// A required config key is not set.
    #[error("the plugin configuration is incomplete: {0}")]
    Config(String),
    /// A fault in the host itself.
    #[error("internal error: {0}")]
    Internal(String),
}

impl InvokeError {
    /// A stable short name of the error class, for metrics and job records.
    pub fn kind(&self) -> &'static str {
        match self {
            InvokeError::Limit(l) => l.limit.name(),
            InvokeError::Trap { .. } => "trap",
            InvokeError::Mapping(_) => "mapping",
            InvokeError::Config(_) => "config",
            InvokeError::Internal(_) => "internal",
        }
    }
}

/// What came of an invocation.
#[derive(Debug)]
pub struct Outcome {
    /// The unit to commit, or why there is none.
    pub result: Result<Unit, InvokeError>,
    /// The plugin's log lines.
    pub logs: Vec<LogLine>,
    /// What the guest wrote to stdout/stderr, bounded.
    pub stderr: String,
    /// Resources used.
    pub usage: Usage,
    /// The org's last failure during the run, classed by the client: the job layer retries by
    /// it, whatever the plugin returned.
    pub crm_failure: Option<(FailureClass, String)>,
}

impl Runtime {
    /// Runs `map` on one booking in a fresh sandbox.
    pub async fn invoke(&self, plugin: &Plugin, call: Call) -> Outcome {
        let limits = self.clamp(call.limits.clone());
        let early = |e: InvokeError| Outcome {
            result: Err(e),
            logs: Vec::new(),
            stderr: String::new(),
            usage: Usage::default(),
            crm_failure: None,
        };
        if call.booking.raw.len() as u64 > limits.booking_bytes {
            return early(limits.exceeded(Limit::BookingSize).into());
        }
        let config = match effective_config(plugin, &call.config) {
            Ok(c) => c,
            Err(e) => return early(e),
        };

        // What the guest writes to stdout and stderr counts against `log_bytes` with its log
        // lines; one byte over what the limit allows marks the limit as hit.
        let capture_capacity = limits.log_bytes as usize + 1;
        let capture = MemoryOutputPipe::new(capture_capacity);
        let wasi = WasiCtxBuilder::new()
            .stdout(capture.clone())
            .stderr(capture.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let sandbox = Sandbox {
            session: Session::new(call.grant.clone(), config, limits.clone()),
            crm: call.crm.clone(),
            wasi,
            table: ResourceTable::new(),
            stderr: capture,
            memory: MemoryLimiter::new(limits.memory_bytes as usize),
            cpu_ticks: 0,
        };
        let mut store = Store::new(&self.engine, sandbox);
        store.limiter(|s| &mut s.memory);
        let budget = limits.cpu_ms.div_ceil(self.config.epoch_tick_ms.max(1));
        let cpu_limit = limits.exceeded(Limit::Cpu);
        store.epoch_deadline_callback(move |mut ctx| {
            let data = ctx.data_mut();
            data.cpu_ticks += 1;
            if data.cpu_ticks > budget {
                return Err(wasmtime::Error::new(cpu_limit));
            }
            Ok(UpdateDeadline::Yield(1))
        });
        store.set_epoch_deadline(1);
        let fuel_budget = limits.fuel.unwrap_or(u64::MAX);
        if self.config.fuel {
            store.set_fuel(fuel_budget).expect("fuel is enabled");
        }

        let booking = booking_to_wit(&call.booking);
        let started = Instant::now();
        let mut instantiate = Duration::ZERO;
        let run = tokio::time::timeout(limits.wall_clock(), async {
            let mapper = plugin.pre.instantiate_async(&mut store).await?;
            instantiate = started.elapsed();
            mapper.call_map(&mut store, &booking).await
        })
        .await;
        let duration = started.elapsed();

        let fuel = self.config.fuel.then(|| fuel_budget - store.get_fuel().unwrap_or(0));
        let mut data = store.into_data();
        let written = data.stderr.contents();
        let stderr = clip(String::from_utf8_lossy(&written).trim(), MAX_STDERR_BYTES).into_owned();
        let over_log_limit =
            written.len() >= capture_capacity || data.session.charge_log_bytes(written.len() as u64).is_err();
        let result = match run {
            _ if over_log_limit => Err(limits.exceeded(Limit::LogBytes).into()),
            Err(_elapsed) => Err(limits.exceeded(Limit::WallClock).into()),
            Ok(Err(e)) => Err(classify(e, &limits, &data, self.config.max_wasm_stack, &stderr)),
            Ok(Ok(Err(e))) => match mapping_error_from_wit(e) {
                // A runtime that turns a refused memory growth into an exception (Python's
                // MemoryError) and fails with it hit the memory cap: say so, not its message.
                // The plugin's own errors (invalid booking, config, a host refusal) stand.
                MappingError::Other(_) if data.memory.hit => Err(limits.exceeded(Limit::Memory).into()),
                e => Err(InvokeError::Mapping(e)),
            },
            Ok(Ok(Ok(()))) => data.session.finish().cloned().map_err(|e| InvokeError::Mapping(MappingError::Host(e))),
        };
        let usage = Usage {
            duration,
            instantiate,
            cpu_ms: data.cpu_ticks * self.config.epoch_tick_ms,
            fuel,
            peak_memory_bytes: data.memory.peak as u64,
            host_calls: data.session.host_calls,
            staged_records: data.session.unit.records.len(),
            salesforce_calls: data.session.salesforce_calls,
        };
        Outcome { result, logs: data.session.logs, stderr, usage, crm_failure: data.session.crm_failure }
    }
}

/// The tenant's config with the manifest's defaults, refusing when a required key is unset.
fn effective_config(
    plugin: &Plugin,
    tenant: &BTreeMap<String, String>,
) -> Result<Arc<BTreeMap<String, String>>, InvokeError> {
    let mut config = tenant.clone();
    let mut missing = Vec::new();
    for (key, spec) in &plugin.manifest.config {
        match (&spec.default, config.contains_key(key)) {
            (_, true) => {}
            (Some(default), false) => {
                config.insert(key.clone(), default.clone());
            }
            (None, false) if spec.required => missing.push(format!("`{key}` ({})", spec.description)),
            (None, false) => {}
        }
    }
    if missing.is_empty() {
        Ok(Arc::new(config))
    } else {
        Err(InvokeError::Config(format!("set {}", missing.join(", "))))
    }
}

/// The end of what the guest wrote (a panic message comes last), bounded for the job's error.
fn excerpt(stderr: &str) -> String {
    let mut start = stderr.len().saturating_sub(MAX_ERROR_BYTES / 2);
    while !stderr.is_char_boundary(start) {
        start += 1;
    }
    if start == 0 { stderr.to_owned() } else { format!("…{}", &stderr[start..]) }
}

/// Names the limit behind a trap when there is one.
fn classify(e: wasmtime::Error, limits: &Limits, data: &Sandbox, max_stack: usize, stderr: &str) -> InvokeError {
    if let Some(limit) = e.downcast_ref::<LimitExceeded>() {
        return InvokeError::Limit(*limit);
    }
    if data.memory.hit {
        return limits.exceeded(Limit::Memory).into();
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => limits.exceeded(Limit::Fuel).into(),
        Some(Trap::StackOverflow) => LimitExceeded { limit: Limit::Stack, max: max_stack as u64 }.into(),
        Some(trap) => InvokeError::Trap { trap: trap.to_string(), stderr: excerpt(stderr) },
        None => {
            InvokeError::Trap { trap: clip(&format!("{e:#}"), MAX_ERROR_BYTES).into_owned(), stderr: excerpt(stderr) }
        }
    }
}
