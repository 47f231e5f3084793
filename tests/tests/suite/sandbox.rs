//! The adversarial suite: a hostile guest attacks its sandbox; each attack ends in its own
//! precise error, and the same runtime then serves a well-behaved call.

use super::{invoke, org, runtime, sample_booking};
use async_trait::async_trait;
use portico_host::{InvokeError, Outcome, Plugin, Runtime, RuntimeConfig};
use portico_model::describe::SObjectDescribe;
use portico_model::{Crm, CrmError, ErrorKind, FindQuery, Found, Limit, Limits, MappingError};
use std::sync::Arc;
use std::time::Duration;

fn hostile(rt: &Runtime) -> Arc<Plugin> {
    let bytes = std::fs::read(portico_plugins::wasm_path("portico_guest_hostile")).expect("hostile guest built");
    rt.load(&bytes).expect("hostile guest loads")
}

/// Tight limits so the attacks end quickly.
fn tight() -> Limits {
    Limits { cpu_ms: 100, memory_bytes: 16 << 20, log_bytes: 4 << 10, host_calls: 200, ..Limits::default() }
}

async fn attack_with(rt: &Runtime, attack: &str, limits: Limits) -> Outcome {
    invoke(rt, &hostile(rt), sample_booking(), &[("attack", attack)], limits, org()).await
}

async fn attack(attack: &str) -> Outcome {
    attack_with(runtime(), attack, tight()).await
}

/// After any attack, the runtime still serves a good call.
async fn still_serving(rt: &Runtime) {
    let outcome = attack_with(rt, "ok", Limits::default()).await;
    let unit = outcome.result.expect("a well-behaved call succeeds after the attack");
    assert_eq!(unit.records.len(), 1);
}

fn limit_of(outcome: &Outcome) -> Limit {
    match &outcome.result {
        Err(InvokeError::Limit(l)) => l.limit,
        other => panic!("expected a limit error, got {other:?}; stderr: {}", outcome.stderr),
    }
}

/// A booking's instance never reads what the one before it in the same pool slot wrote, whether
/// slots are reset from the kernel's page scan or by rewriting. The guest dirties hundreds of
/// separate runs of pages across the 4 MiB kept-resident bound: with the scan finishing (4 MiB
/// kept), running out of its budget (2 MiB kept: the rest is released) and off. The pool is
/// sized so that slots are reused from the second call on: one instance, two memory and two
/// table slots, for a guest with one memory and two tables. Freed table slots (and memory
/// slots with pages to release) wait in a batch until the pool runs out, which the second call
/// does for tables; its memory then goes to the slot that last held this module's.
#[tokio::test]
async fn each_instance_starts_from_pristine_memory_in_a_reused_slot() {
    for (pagemap_scan, keep_resident) in [(true, 4 << 20), (true, 2 << 20), (false, 4 << 20)] {
        let config = RuntimeConfig {
            max_instances: 1,
            max_memories_per_component: 2,
            pagemap_scan,
            memory_keep_resident: keep_resident,
            limits: Limits { memory_bytes: 32 << 20, ..Limits::default() },
            ..RuntimeConfig::default()
        };
        let rt = Runtime::new(config, Some(super::cache_dir())).expect("runtime");
        for call in 1..=6 {
            let outcome = attack_with(&rt, "fresh-memory", Limits::default()).await;
            let unit = outcome.result.unwrap_or_else(|e| {
                panic!("call {call}, pagemap_scan = {pagemap_scan}, {keep_resident} bytes kept: {e}")
            });
            assert_eq!(unit.records.len(), 1);
        }
    }
}

#[tokio::test]
async fn an_infinite_loop_hits_the_cpu_limit() {
    let outcome = attack("loop").await;
    assert_eq!(limit_of(&outcome), Limit::Cpu);
    assert_eq!(outcome.result.unwrap_err().to_string(), "limit exceeded: cpu_ms (max 100)");
    still_serving(runtime()).await;
}

#[tokio::test]
async fn a_memory_bomb_hits_the_memory_limit() {
    let outcome = attack("memory").await;
    assert_eq!(limit_of(&outcome), Limit::Memory);
    // The hoard grows 1 MiB at a time: it got within a few MiB of the cap, and no further.
    let peak = outcome.usage.peak_memory_bytes;
    assert!(peak > 12 << 20 && peak <= 16 << 20, "peak {peak}");
    still_serving(runtime()).await;
}

#[tokio::test]
async fn deep_recursion_hits_the_stack_limit() {
    let outcome = attack("recursion").await;
    assert_eq!(limit_of(&outcome), Limit::Stack);
    still_serving(runtime()).await;
}

#[tokio::test]
async fn a_panic_message_reaches_the_tenant() {
    let outcome = attack("panic").await;
    let Err(InvokeError::Trap { stderr, .. }) = &outcome.result else { panic!("{:?}", outcome.result) };
    assert!(stderr.contains("hostile guest panicked on purpose"), "{stderr}");
    assert!(outcome.result.unwrap_err().to_string().contains("hostile guest panicked on purpose"));
    still_serving(runtime()).await;
}

#[tokio::test]
async fn staging_ten_thousand_records_stops_at_the_staged_record_limit() {
    let outcome = attack("stage").await;
    assert_eq!(limit_of(&outcome), Limit::StagedRecords);
    assert_eq!(outcome.usage.staged_records, 25);
    still_serving(runtime()).await;
}

#[tokio::test]
async fn endless_logging_hits_the_log_limit() {
    let outcome = attack("log").await;
    assert_eq!(limit_of(&outcome), Limit::LogBytes);
    let kept: usize = outcome.logs.iter().map(|l| l.message.len()).sum();
    assert!(kept <= 4 << 10, "kept {kept} bytes of logs");
    still_serving(runtime()).await;
}

#[tokio::test]
async fn flooding_stderr_is_bounded() {
    let outcome = attack("stderr").await;
    assert_eq!(limit_of(&outcome), Limit::LogBytes, "stderr counts toward log_bytes");
    assert!(outcome.stderr.len() <= (4 << 10) + 1, "stderr capture is bounded, got {}", outcome.stderr.len());
    assert!(outcome.stderr.starts_with("flooding stderr"), "{}", &outcome.stderr[..40.min(outcome.stderr.len())]);
    still_serving(runtime()).await;
}

#[tokio::test]
async fn endless_host_calls_hit_the_host_call_limit() {
    let outcome = attack("host-calls").await;
    assert_eq!(limit_of(&outcome), Limit::HostCalls);
    assert_eq!(outcome.usage.host_calls, 201);
    still_serving(runtime()).await;
}

fn logged(outcome: &Outcome) -> String {
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    outcome.logs.iter().map(|l| l.message.as_str()).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn files_sockets_and_the_environment_give_nothing() {
    assert_eq!(logged(&attack("file").await), "file read: false; write: false; list: false");
    assert_eq!(logged(&attack("socket").await), "tcp: false; udp: false");
    let env = logged(&attack("env").await);
    assert!(env.starts_with("env vars: 0; args: 0;"), "{env}");
    still_serving(runtime()).await;
}

#[tokio::test]
async fn a_find_asking_for_a_field_half_a_million_times_is_refused_at_once() {
    let outcome = attack_with(runtime(), "find-fields", Limits::default()).await;
    assert_eq!(limit_of(&outcome), Limit::FindFields);
    assert!(outcome.result.as_ref().unwrap_err().to_string().starts_with("limit exceeded: find_fields (max "));
    assert_eq!(outcome.usage.salesforce_calls, 1, "only the describe: no query was sent");
    still_serving(runtime()).await;
}

#[tokio::test]
async fn a_loop_of_finds_stops_at_the_salesforce_call_limit() {
    let outcome = attack_with(runtime(), "find-loop", Limits::default()).await;
    assert_eq!(limit_of(&outcome), Limit::SalesforceCalls);
    assert_eq!(outcome.result.unwrap_err().to_string(), "limit exceeded: salesforce_calls (max 10)");
    // The config read, then finds: the tenth needs the eleventh round trip (the first find also
    // described Lead).
    assert_eq!(outcome.usage.host_calls, 11, "stopped at the tenth find, not the 990th");
    assert_eq!(outcome.usage.salesforce_calls, 11);
    still_serving(runtime()).await;
}

#[tokio::test]
async fn a_huge_error_message_is_kept_clipped() {
    let outcome = attack_with(runtime(), "huge-error", Limits::default()).await;
    let Err(InvokeError::Mapping(MappingError::Other(message))) = &outcome.result else {
        panic!("{:?}", outcome.result)
    };
    assert!(message.len() <= 4096 + 64, "{}", message.len());
    assert!(message.ends_with("more bytes]"), "{}", &message[message.len() - 40..]);
    still_serving(runtime()).await;
}

#[tokio::test]
async fn writing_a_field_outside_the_grant_is_refused_by_name() {
    let outcome = attack("ungranted").await;
    let Err(InvokeError::Mapping(MappingError::Host(e))) = &outcome.result else { panic!("{:?}", outcome.result) };
    assert_eq!(e.kind, ErrorKind::NotGranted);
    assert_eq!((e.sobject.as_deref(), e.field.as_deref()), (Some("Lead"), Some("Phone")));
    still_serving(runtime()).await;
}

#[tokio::test]
async fn an_oversized_booking_is_refused_before_the_plugin_runs() {
    let mut booking = sample_booking();
    booking.raw = "x".repeat(300 << 10);
    let rt = runtime();
    let outcome = invoke(rt, &hostile(rt), booking, &[], Limits::default(), org()).await;
    assert_eq!(limit_of(&outcome), Limit::BookingSize);
    assert_eq!(outcome.usage.host_calls, 0);
    still_serving(rt).await;
}

/// An org that answers slowly, like Salesforce on a bad day.
struct SlowOrg(Duration);

#[async_trait]
impl Crm for SlowOrg {
    async fn describe(&self, sobject: &str) -> Result<Arc<SObjectDescribe>, CrmError> {
        tokio::time::sleep(self.0).await;
        org().describe(sobject).await
    }
    async fn sobjects(&self) -> Result<Vec<String>, CrmError> {
        org().sobjects().await
    }
    async fn find(&self, query: &FindQuery) -> Result<Vec<Found>, CrmError> {
        org().find(query).await
    }
}

#[tokio::test]
async fn the_wall_clock_deadline_covers_host_calls() {
    let rt = runtime();
    let limits = Limits { wall_clock_ms: 200, ..Limits::default() };
    let slow: Arc<dyn Crm> = Arc::new(SlowOrg(Duration::from_secs(5)));
    let outcome = invoke(rt, &hostile(rt), sample_booking(), &[("attack", "ok")], limits, slow).await;
    assert_eq!(limit_of(&outcome), Limit::WallClock);
    assert!(outcome.usage.duration < Duration::from_secs(2), "stopped at the deadline, not after the call");
    still_serving(rt).await;
}

#[tokio::test]
async fn fuel_stops_a_loop_deterministically_and_is_reported() {
    let config = RuntimeConfig { fuel: true, ..RuntimeConfig::default() };
    let rt = Runtime::new(config, Some(super::cache_dir())).unwrap();
    let limits = Limits { fuel: Some(5_000_000), cpu_ms: 10_000, ..Limits::default() };
    let outcome = attack_with(&rt, "loop", limits).await;
    assert_eq!(limit_of(&outcome), Limit::Fuel);
    assert_eq!(outcome.usage.fuel, Some(5_000_000));
    let ok = attack_with(&rt, "ok", Limits::default()).await;
    assert!(ok.result.is_ok());
    assert!(ok.usage.fuel.is_some_and(|f| f > 0));
}
