//! The wasmtime engine: component model, async, pooling allocator, epochs and optional fuel.

use portico_model::Limits;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Engine-wide settings. Those that change compiled code (fuel metering, the memory
/// reservation) change the compile-cache key, which holds wasmtime's compatibility hash; the
/// pool's sizes and reset settings do not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// Default and maximum limits of an invocation; `limits.memory_bytes` also sizes each pool
    /// slot, so a tenant may lower it but not raise it.
    pub limits: Limits,
    /// Meter fuel (deterministic instruction counts, about 5-15% slower). The budget per
    /// invocation is `limits.fuel`; without it, fuel is only reported.
    pub fuel: bool,
    /// Instances that may run at once (pool slots).
    pub max_instances: u32,
    /// Core instances one component may create (Python components need ≥ 16).
    pub max_core_instances_per_component: u32,
    /// Memories (and tables) one component may create.
    pub max_memories_per_component: u32,
    /// The guest's stack limit in bytes; deeper recursion traps with the `stack_bytes` limit.
    pub max_wasm_stack: usize,
    /// Milliseconds per epoch tick, the resolution of the CPU limit.
    pub epoch_tick_ms: u64,
    /// Pre-linked plugins kept in memory (least recently used are dropped).
    pub loaded_plugins: usize,
    /// Bytes of a pool slot's linear memory kept resident between instances and reset in
    /// place, instead of being returned to the kernel (and faulted in again by the next one).
    pub memory_keep_resident: usize,
    /// Reset a finished instance's memory by rewriting only the pages it wrote, found with the
    /// kernel's `PAGEMAP_SCAN` (Linux ≥ 6.7; wasmtime's reset as patched in `vendor/`). Off, the
    /// whole kept-resident part is rewritten every time and the rest released.
    pub pagemap_scan: bool,
    /// Address space reserved for each linear memory, bytes. At 4 GiB (the default; with a 32
    /// MiB guard region around it) a 32-bit guest's loads and stores cannot leave it, so
    /// compiled code skips the bounds check on almost every one: about 20% faster for an
    /// interpreter such as a TypeScript plugin's (BENCHMARKS.md). Virtual only, nothing is
    /// committed: a pool reserves about 1 TiB of the 128 TiB a process may address (slots ×
    /// memories per component × 4 GiB). 0: the memory cap rounded up to a power of two, at
    /// least 64 MiB, with a check on each access (for a process whose address space is capped).
    pub memory_reservation: u64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            limits: Limits::default(),
            fuel: false,
            max_instances: 64,
            max_core_instances_per_component: 20,
            max_memories_per_component: 4,
            max_wasm_stack: 512 << 10,
            epoch_tick_ms: 1,
            loaded_plugins: 256,
            memory_keep_resident: 4 << 20,
            pagemap_scan: true,
            memory_reservation: 4 << 30,
        }
    }
}

/// The most address space the sandbox pool may reserve.
const MAX_POOL_ADDRESS_SPACE: u64 = 64 << 40;

impl RuntimeConfig {
    pub(super) fn epoch_tick(&self) -> Duration {
        Duration::from_millis(self.epoch_tick_ms.max(1))
    }

    /// Bytes reserved per linear memory and the guard after it.
    fn reservation(&self, max_memory: usize) -> anyhow::Result<(u64, u64)> {
        let cap = max_memory.next_power_of_two().max(64 << 20) as u64;
        let (reservation, guard) = match self.memory_reservation {
            0 => (cap, 64 << 10),
            r if r < max_memory as u64 => {
                anyhow::bail!("runtime.memory_reservation ({r} bytes) is below limits.memory_bytes ({max_memory})")
            }
            r if r >= 4 << 30 => (r, 32 << 20),
            r => (r, 64 << 10),
        };
        // Half of the 128 TiB a process may address, leaving room for everything else.
        let memories = u64::from(self.max_instances.max(1)) * u64::from(self.max_memories_per_component);
        let total = memories.saturating_mul(reservation + 2 * guard);
        if total > MAX_POOL_ADDRESS_SPACE {
            anyhow::bail!(
                "the sandbox pool would reserve {} GiB of address space ({memories} memories of {} MiB \
                 each); lower runtime.max_instances or set runtime.memory_reservation = 0",
                total >> 30,
                (reservation + 2 * guard) >> 20
            );
        }
        Ok((reservation, guard))
    }
}

/// The engine for `rc`; with a compile cache folder, Cranelift also keeps each compiled
/// function there ([`super::functions`]).
pub(super) fn build(rc: &RuntimeConfig, cache_dir: Option<&std::path::Path>) -> anyhow::Result<Engine> {
    let max_memory = usize::try_from(rc.limits.memory_bytes)?;
    let (reservation, guard) = rc.reservation(max_memory)?;
    let mut pool = PoolingAllocationConfig::default();
    let slots = rc.max_instances.max(1);
    pool.total_component_instances(slots)
        .total_core_instances(slots * rc.max_core_instances_per_component)
        .max_core_instances_per_component(rc.max_core_instances_per_component)
        .total_memories(slots * rc.max_memories_per_component)
        .max_memories_per_component(rc.max_memories_per_component)
        .total_tables(slots * rc.max_memories_per_component)
        .max_tables_per_component(rc.max_memories_per_component)
        .total_stacks(slots)
        .max_memory_size(max_memory)
        // Reset a finished instance's memory by rewriting the pages it touched (found with
        // PAGEMAP_SCAN where the kernel has it) instead of unmapping them: no page faults on the
        // next instance and no TLB shootdowns across cores, which dominate at high rates.
        // (wasmtime 48 as patched in vendor/: the scan also resets swapped-out pages and goes on
        // past 32 runs of dirty pages.)
        .pagemap_scan(if rc.pagemap_scan { wasmtime::Enabled::Auto } else { wasmtime::Enabled::No })
        .linear_memory_keep_resident(rc.memory_keep_resident)
        .table_keep_resident(16 << 10)
        .decommit_batch_size(16);

    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(rc.fuel)
        .max_wasm_stack(rc.max_wasm_stack)
        .async_stack_size(rc.max_wasm_stack + (1 << 20))
        // Each slot reserves virtual address space only (see `memory_reservation`).
        .memory_reservation(reservation)
        .memory_guard_size(guard)
        .memory_reservation_for_growth(0)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    // Only a speed-up: a folder it cannot use leaves the host compiling every function.
    match cache_dir.map(|dir| super::functions::FunctionCache::open(dir, super::functions::MAX_BYTES)) {
        Some(Ok(functions)) => {
            config.enable_incremental_compilation(Arc::new(functions)).map_err(anyhow::Error::from)?;
        }
        Some(Err(e)) => tracing::warn!(error = %e, "no function cache: every function is compiled"),
        None => {}
    }
    Engine::new(&config).map_err(anyhow::Error::from)
}

/// Advances the engine's epoch every tick on a background thread until dropped.
pub(super) struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub(super) fn start(engine: &Engine, tick: Duration) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.weak(), stop.clone());
        std::thread::Builder::new()
            .name("portico-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    match engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .expect("spawn the epoch thread");
        EpochTicker { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_reserves_4_gib_per_memory_by_default_and_refuses_more_than_the_process_has() {
        let rc = RuntimeConfig::default();
        let max = rc.limits.memory_bytes as usize;
        assert_eq!(rc.reservation(max).unwrap(), (4 << 30, 32 << 20));
        let checked = RuntimeConfig { memory_reservation: 0, ..RuntimeConfig::default() };
        assert_eq!(checked.reservation(max).unwrap().1, 64 << 10);
        let too_small = RuntimeConfig { memory_reservation: 1 << 20, ..RuntimeConfig::default() };
        assert!(too_small.reservation(max).unwrap_err().to_string().contains("below limits.memory_bytes"));
        let huge = RuntimeConfig { max_instances: 10_000, ..RuntimeConfig::default() };
        let e = huge.reservation(max).unwrap_err().to_string();
        assert!(e.contains("runtime.memory_reservation = 0"), "{e}");
        let huge_checked = RuntimeConfig { memory_reservation: 0, ..huge };
        huge_checked.reservation(max).expect("64 MiB per memory fits");
    }
}
