//! Cranelift's per-function cache, on disk in the compile cache folder (`functions/`).
//!
//! A TypeScript or Python plugin carries its language's whole engine (StarlingMonkey,
//! CPython): two plugins of one language share nearly every function, and differ in the heap
//! their build snapshotted. With this cache, Cranelift compiles each such function once per
//! cache folder; the next upload in that language reuses it and compiles only what differs.
//!
//! Keys are Cranelift's own (a hash of the function's IR and of the target's settings), so a
//! changed engine or target never finds a stale entry; values are what Cranelift serialised.
//! **Only this module writes the folder, and only with Cranelift's output** — that is what
//! makes reading an entry back sound, as for the compiled components beside it.
//!
//! Bounded: at most [`MAX_BYTES`] are kept, counted from the folder itself at the first insert
//! (so a start never lists it; that first compile does, about 1 s per 100,000 entries), then
//! by what this process writes: the bound is per process and approximate (another process
//! writing the same folder counts its own writes; a key written twice counts twice). Beyond it,
//! functions are compiled as usual and not kept. Nothing is evicted: entries of an older
//! wasmtime are never read again but still count, until the folder is emptied by hand.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use wasmtime::CacheStore;

/// The most the folder keeps. An engine's worth of functions is about 70 MB (measured for
/// componentize-js 0.23 and componentize-py 0.25 plugins, 27,000 files for both); this holds
/// several engine versions' worth and bounds what uploads can make the host write.
pub const MAX_BYTES: u64 = 1 << 30;

#[derive(Debug)]
pub(super) struct FunctionCache {
    dir: PathBuf,
    kept: OnceLock<AtomicU64>,
    max_bytes: u64,
    full: AtomicBool,
}

impl FunctionCache {
    /// The cache in `<cache_dir>/functions`.
    pub(super) fn open(cache_dir: &Path, max_bytes: u64) -> std::io::Result<FunctionCache> {
        let dir = cache_dir.join("functions");
        std::fs::create_dir_all(&dir)?;
        Ok(FunctionCache { dir, kept: OnceLock::new(), max_bytes, full: AtomicBool::new(false) })
    }

    /// The bytes the folder holds: counted once, then kept up to date by [`CacheStore::insert`].
    /// A folder that cannot be listed counts as full (and says so).
    fn kept(&self) -> &AtomicU64 {
        self.kept.get_or_init(|| {
            AtomicU64::new(folder_bytes(&self.dir).unwrap_or_else(|e| {
                tracing::warn!(dir = %self.dir.display(), error = %e, "cannot count the function cache: keeping no more");
                u64::MAX / 2
            }))
        })
    }

    /// `functions/ab/cdef…`: Cranelift's keys are 32-byte hashes, in 256 folders by first byte.
    fn path(&self, key: &[u8]) -> PathBuf {
        let name = hex::encode(key);
        let (shard, rest) = name.split_at(2.min(name.len()));
        self.dir.join(shard).join(if rest.is_empty() { "_" } else { rest })
    }
}

impl CacheStore for FunctionCache {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        std::fs::read(self.path(key)).ok().map(Cow::Owned)
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        let len = value.len() as u64;
        let kept = self.kept();
        if kept.fetch_add(len, Ordering::Relaxed) + len > self.max_bytes {
            kept.fetch_sub(len, Ordering::Relaxed);
            if !self.full.swap(true, Ordering::Relaxed) {
                tracing::warn!(dir = %self.dir.display(), max_bytes = self.max_bytes, "the function cache is full: new functions are not kept");
            }
            return false;
        }
        let path = self.path(key);
        // The shard folder is made the first time a write finds it missing, not at every write.
        let mut written = super::cache::write_atomically(&path, &value);
        if written.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
            written = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| super::cache::write_atomically(&path, &value));
        }
        let written = written.is_ok();
        if !written {
            kept.fetch_sub(len, Ordering::Relaxed);
        }
        written
    }
}

/// The bytes of the entries under `dir`. An entry gone while counting (another process's
/// temporary file, renamed) counts 0; a temporary file a crash left behind is removed.
fn folder_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut bytes = 0;
    for shard in std::fs::read_dir(dir)? {
        let shard = shard?;
        if !shard.file_type()?.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(shard.path())? {
            let entry = entry?;
            if super::cache::is_temporary(&entry.file_name()) {
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            match entry.metadata() {
                Ok(m) => bytes += m.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_entries_across_opens_within_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FunctionCache::open(dir.path(), 10).unwrap();
        assert!(cache.insert(&[0xab, 1], vec![1; 6]));
        assert_eq!(cache.get(&[0xab, 1]).as_deref(), Some(&[1u8; 6][..]));
        assert!(cache.get(&[0xab, 2]).is_none());
        // 6 + 6 > 10: compiled, not kept.
        assert!(!cache.insert(&[0xcd, 1], vec![2; 6]));
        assert!(cache.get(&[0xcd, 1]).is_none());
        assert!(cache.insert(&[0xcd, 2], vec![3; 4]));
        // A new process counts what the folder holds, without what a crash left half-written.
        let crashed = dir.path().join("functions/cd/ef.tmp123-0");
        std::fs::write(&crashed, [0; 100]).unwrap();
        let reopened = FunctionCache::open(dir.path(), 10).unwrap();
        assert_eq!(reopened.kept().load(Ordering::Relaxed), 10);
        assert!(!reopened.insert(&[0xef], vec![0; 1]));
        assert_eq!(reopened.get(&[0xcd, 2]).as_deref(), Some(&[3u8; 4][..]));
        assert!(!crashed.exists(), "the temporary file is removed");
    }
}
