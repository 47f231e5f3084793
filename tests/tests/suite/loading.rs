//! What the host refuses at load, and the compile cache.

use super::{cache_dir, runtime};
use portico_host::runtime::cache::Compiled;
use portico_host::{LoadError, Runtime, RuntimeConfig};
use portico_model::Limits;

fn guest(name: &str) -> Vec<u8> {
    std::fs::read(portico_plugins::wasm_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn a_component_importing_an_unoffered_interface_is_refused_with_the_import_named() {
    let err = runtime().load(&guest("portico_guest_foreign_import")).unwrap_err();
    let LoadError::ForbiddenImports(imports) = &err else { panic!("{err}") };
    assert_eq!(imports, &["evil:net/raw"]);
    assert!(err.to_string().contains("evil:net/raw"));
}

#[test]
fn a_component_of_another_world_is_refused() {
    let err = runtime().load(&guest("other-world")).unwrap_err();
    let LoadError::WrongWorld(why) = &err else { panic!("{err}") };
    assert!(why.contains("does not export `map`") && why.contains("wasi:cli/run"), "{why}");
}

#[test]
fn a_core_module_is_refused_with_advice() {
    let module = wat::parse_str(r#"(module (func (export "map")))"#).unwrap();
    let err = runtime().load(&module).unwrap_err();
    assert!(matches!(err, LoadError::CoreModule), "{err}");
    assert!(err.to_string().contains("wasm32-wasip2"));
}

#[test]
fn random_bytes_are_refused() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    assert!(matches!(runtime().load(&bytes), Err(LoadError::NotWasm(_))));
    assert!(matches!(runtime().load(b""), Err(LoadError::NotWasm(_))));
}

#[test]
fn an_oversized_component_is_refused_by_the_limit() {
    let config =
        RuntimeConfig { limits: Limits { component_bytes: 10_000, ..Limits::default() }, ..RuntimeConfig::default() };
    let rt = Runtime::new(config, None).unwrap();
    let err = rt.load(portico_plugins::example("lead-event").unwrap().wasm).unwrap_err();
    assert!(err.to_string().contains("limit exceeded: component_bytes (max 10000)"), "{err}");
}

#[test]
fn a_component_is_compiled_once_then_loaded_from_the_disk_cache() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = portico_plugins::example("lead-event").unwrap().wasm;
    let first = Runtime::new(RuntimeConfig::default(), Some(dir.path().to_owned())).unwrap();
    assert_eq!(first.load(wasm).unwrap().compiled, Compiled::Fresh);
    drop(first);
    let second = Runtime::new(RuntimeConfig::default(), Some(dir.path().to_owned())).unwrap();
    let plugin = second.load(wasm).unwrap();
    assert_eq!(plugin.compiled, Compiled::Cached);
    let compiled = files(dir.path()).into_keys().filter(|p| p.extension() == Some("cwasm".as_ref())).count();
    assert_eq!(compiled, 1);
    // Different engine settings must not reuse the artifact.
    let fuel =
        Runtime::new(RuntimeConfig { fuel: true, ..RuntimeConfig::default() }, Some(dir.path().to_owned())).unwrap();
    assert_eq!(fuel.load(wasm).unwrap().compiled, Compiled::Fresh);
    let _ = cache_dir();
}

/// The files under `dir`, at any depth, with their inode numbers.
fn files(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, u64> {
    use std::os::unix::fs::MetadataExt;
    let mut found = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            let ino = std::fs::metadata(&path).unwrap().ino();
            found.insert(path, ino);
        }
    }
    found
}

/// A new component whose functions were all compiled before (here: the same code with one more
/// custom section) is compiled mostly from Cranelift's per-function cache, as two TypeScript or
/// two Python plugins share their engine's functions.
#[test]
fn a_new_component_reuses_the_functions_compiled_for_another() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = portico_plugins::example("lead-event").unwrap().wasm;
    let rt = Runtime::new(RuntimeConfig::default(), Some(dir.path().to_owned())).unwrap();
    assert_eq!(rt.load(wasm).unwrap().compiled, Compiled::Fresh);
    let before = files(&dir.path().join("functions"));
    assert!(before.len() > 10, "the functions were kept: {}", before.len());
    // A custom section (id 0, 6 bytes: the name `note` and one byte) appended at the end.
    let other = [wasm, &[0, 6, 4, b'n', b'o', b't', b'e', 1][..]].concat();
    let plugin = rt.load(&other).unwrap();
    assert_eq!(plugin.compiled, Compiled::Fresh, "another component, compiled");
    let after = files(&dir.path().join("functions"));
    // Every function kept stays as it was written (a miss would write it again, as a new file):
    // they came from the cache.
    for (path, ino) in &before {
        assert_eq!(after.get(path), Some(ino), "{} was written again", path.display());
    }
    // A few functions (7–11% here, about 10% for the language ports) get keys of their own per
    // component; the rest come from the cache.
    let added = after.len() - before.len();
    assert!(added * 5 < before.len(), "{added} functions compiled again, of {}", before.len());
}
