//! Portico's fuzz targets, as plain functions.
//!
//! Each target in `fuzz_targets/` is one line that hands the fuzzer's bytes to a function here.
//! The function checks the target's properties and panics when one breaks, so the same code
//! runs under libFuzzer (`fuzz/run`) and in the normal test suite, which replays the seeds and
//! every input kept in `regressions/` (`tests/tests/fuzz_regressions.rs` includes these files
//! by path, so they stay free of anything that crate does not have).
//!
//! - [`light`]: booking JSON, Cal.com and Calendly payloads, the plugin manifest, SOQL literal
//!   escaping, the emulator's SOQL parser (model and emulator only: quick to build).
//! - [`host`] (feature `host`): the three signature schemes and component loading, which link
//!   the whole host (wasmtime).

pub mod light;

#[cfg(feature = "host")]
pub mod host;
