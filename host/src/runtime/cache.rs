//! The on-disk cache of compiled components.
//!
//! Keyed by the component's SHA-256 digest and the engine's compatibility hash (wasmtime
//! version, target and every setting that affects code), so a component is compiled once, not
//! at every start, and a changed engine never loads stale code.
//!
//! **Only this module writes the compiled components (`*.cwasm`), and only artifacts wasmtime
//! produced** — that is what makes `Component::deserialize_file` (which trusts its input) sound
//! here. Cranelift's per-function cache has its own folder inside, `functions/`
//! ([`super::functions`]).

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// How a component was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compiled {
    /// Compiled now (and stored when a cache folder is set).
    Fresh,
    /// Loaded from the cache folder.
    Cached,
}

fn cache_path(dir: &Path, engine: &Engine, digest: &str) -> PathBuf {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let key = Sha256::new().chain_update(digest).chain_update(h.finish().to_le_bytes()).finalize();
    dir.join(format!("{}.cwasm", &hex::encode(key)[..40]))
}

/// The compiled component for `bytes`, from the cache when possible.
pub(super) fn compile(
    engine: &Engine,
    dir: Option<&Path>,
    digest: &str,
    bytes: &[u8],
) -> wasmtime::Result<(Component, Compiled)> {
    let Some(dir) = dir else {
        return Ok((Component::from_binary(engine, bytes)?, Compiled::Fresh));
    };
    let path = cache_path(dir, engine, digest);
    if path.exists() {
        // SAFETY: files in the cache folder are written only by `store` below, from
        // `Component::serialize` of this same engine configuration (the key includes it).
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok((component, Compiled::Cached)),
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "discarding unusable compiled component"),
        }
    }
    let component = Component::from_binary(engine, bytes)?;
    if let Err(e) = store(&path, &component) {
        tracing::warn!(path = %path.display(), error = %e, "could not cache the compiled component");
    }
    Ok((component, Compiled::Fresh))
}

fn store(path: &Path, component: &Component) -> anyhow::Result<()> {
    let bytes = component.serialize().map_err(anyhow::Error::from)?;
    Ok(write_atomically(path, &bytes)?)
}

/// Writes atomically: a temporary file renamed into place, so readers never see half a file.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temp_path(path);
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A temporary name beside `path`, unique per write, not per process: two threads compiling
/// the same component at once must not write into one file.
fn temp_path(path: &Path) -> std::path::PathBuf {
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    path.with_extension(format!("tmp{}-{n}", std::process::id()))
}

/// Whether `name` is one of [`temp_path`]'s: a write in progress, or one a crash left behind.
pub(super) fn is_temporary(name: &std::ffi::OsStr) -> bool {
    name.to_string_lossy().contains(".tmp")
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_write_has_its_own_temporary_file() {
        let path = std::path::Path::new("/cache/abc.cwasm");
        assert_ne!(super::temp_path(path), super::temp_path(path));
    }
}
