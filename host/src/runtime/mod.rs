//! The sandboxed plugin runtime: one wasmtime engine, many tenants' plugins.
//!
//! [`Runtime::load`] validates a component (a component of the `portico:mapper` world, only
//! imports the host offers, a valid manifest, within the size limit), compiles it once — or
//! takes the compiled artifact from the on-disk cache — and pre-links it. [`Runtime::invoke`]
//! runs `map` on one booking in a fresh [`Sandbox`] under the tenant's [`Limits`] and returns
//! the staged unit, logs and resource use.

pub mod cache;
mod engine;
mod functions;
mod invoke;
mod load;

pub use engine::RuntimeConfig;
pub use invoke::{Call, InvokeError, Outcome, Usage};
pub use load::{LoadError, Plugin, embedded_manifest};

use crate::bindings::MapperPre;
use engine::EpochTicker;
use portico_model::{Crm, Limits, Session};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// The host's runtime: the engine, the linker with every import, and the plugin caches.
pub struct Runtime {
    engine: Engine,
    linker: Linker<Sandbox>,
    config: RuntimeConfig,
    cache_dir: Option<PathBuf>,
    loaded: Mutex<lru::LruCache<String, Arc<Plugin>>>,
    _ticker: EpochTicker,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("config", &self.config).field("cache_dir", &self.cache_dir).finish()
    }
}

/// The store data of one invocation: its session, the CRM, and a deny-all WASI context.
pub struct Sandbox {
    pub(crate) session: Session,
    pub(crate) crm: Arc<dyn Crm>,
    wasi: WasiCtx,
    table: ResourceTable,
    stderr: MemoryOutputPipe,
    memory: MemoryLimiter,
    cpu_ticks: u64,
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Caps the linear memory of one instance — all its memories together, since a component
/// may hold several core modules with a memory each — and remembers when the cap was what
/// stopped the guest.
pub(crate) struct MemoryLimiter {
    pub(crate) max: usize,
    /// Bytes of all memories of the instance now.
    pub(crate) total: usize,
    /// The largest `total` seen.
    pub(crate) peak: usize,
    pub(crate) hit: bool,
}

impl MemoryLimiter {
    pub(crate) fn new(max: usize) -> MemoryLimiter {
        MemoryLimiter { max, total: 0, peak: 0, hit: false }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        // A new memory arrives as growth from 0 to its initial size, so the sum covers them all.
        let total = self.total.saturating_sub(current).saturating_add(desired);
        if total > self.max || maximum.is_some_and(|m| desired > m) {
            self.hit = true;
            return Ok(false);
        }
        self.total = total;
        self.peak = self.peak.max(total);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000 && maximum.is_none_or(|m| desired <= m))
    }
}

impl Runtime {
    /// A runtime with the given settings; compiled components are cached in `cache_dir`.
    pub fn new(config: RuntimeConfig, cache_dir: Option<PathBuf>) -> anyhow::Result<Runtime> {
        if let Some(dir) = &cache_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create the compile cache {}: {e}", dir.display()))?;
        }
        let engine = engine::build(&config, cache_dir.as_deref())?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
        crate::capabilities::add_to_linker(&mut linker).map_err(anyhow::Error::from)?;
        let ticker = EpochTicker::start(&engine, config.epoch_tick());
        let capacity = NonZeroUsize::new(config.loaded_plugins.max(1)).expect("nonzero");
        Ok(Runtime {
            engine,
            linker,
            config,
            cache_dir,
            loaded: Mutex::new(lru::LruCache::new(capacity)),
            _ticker: ticker,
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// The default limits, clamped to what the engine allows.
    pub fn default_limits(&self) -> Limits {
        self.clamp(self.config.limits.clone())
    }

    /// Tenant limits may lower the engine's, never raise them past what the pool reserves.
    /// Logs (stdout and stderr included) are kept with the job, so they stay under
    /// [`MAX_LOG_BYTES`] whatever a tenant's settings say.
    pub fn clamp(&self, mut limits: Limits) -> Limits {
        limits.memory_bytes = limits.memory_bytes.min(self.config.limits.memory_bytes);
        limits.log_bytes = limits.log_bytes.min(MAX_LOG_BYTES);
        limits
    }

    /// A plugin already loaded (pre-linked in memory) by its digest, without its bytes.
    pub fn loaded(&self, digest: &str) -> Option<Arc<Plugin>> {
        self.pre_for(digest)
    }

    fn pre_for(&self, digest: &str) -> Option<Arc<Plugin>> {
        self.loaded.lock().expect("plugin cache lock").get(digest).cloned()
    }
}

/// The most log bytes one invocation may keep (1 MiB).
pub const MAX_LOG_BYTES: u64 = 1 << 20;

/// Pre-linked instances by digest.
pub(crate) type Pre = MapperPre<Sandbox>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_cap_counts_every_memory_of_an_instance_together() {
        let mut limiter = MemoryLimiter::new(4 << 20);
        assert!(limiter.memory_growing(0, 3 << 20, None).unwrap(), "the first memory fits");
        assert!(!limiter.memory_growing(0, 3 << 20, None).unwrap(), "a second one would pass the cap");
        assert!(limiter.hit);
        assert!(limiter.memory_growing(3 << 20, 4 << 20, None).unwrap(), "growing the first to the cap");
        assert_eq!(limiter.peak, 4 << 20);
    }

    /// Two core modules with 3 MiB memories each, in one component, under a 4 MiB cap.
    #[test]
    fn a_component_with_two_memories_cannot_have_the_cap_twice() {
        let engine = wasmtime::Engine::default();
        let component = wasmtime::component::Component::new(
            &engine,
            r#"(component
                (core module $a (memory 48))
                (core module $b (memory 48))
                (core instance (instantiate $a))
                (core instance (instantiate $b)))"#,
        )
        .unwrap();
        let linker = wasmtime::component::Linker::<MemoryLimiter>::new(&engine);
        let mut store = wasmtime::Store::new(&engine, MemoryLimiter::new(4 << 20));
        store.limiter(|l| l);
        assert!(linker.instantiate(&mut store, &component).is_err());
        assert!(store.data().hit, "refused by the cap");
        let mut store = wasmtime::Store::new(&engine, MemoryLimiter::new(8 << 20));
        store.limiter(|l| l);
        linker.instantiate(&mut store, &component).unwrap();
        assert_eq!(store.data().peak, 6 << 20);
    }
}
