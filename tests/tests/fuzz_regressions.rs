//! The fuzz targets' properties in the normal suite, without a fuzzer: every seed
//! (`fuzz/seeds/<target>/`, the fixtures `fuzz/seeds/fixtures.txt` names) and every input a
//! fuzzer found (`fuzz/regressions/<target>/`) goes through the same check the target runs
//! (`fuzz/src/`, included here by path), so a fixed crash stays fixed.

#[path = "../../fuzz/src/host.rs"]
mod host;
#[path = "../../fuzz/src/light.rs"]
mod light;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `check` on every input of `target`; fails naming each input whose check panicked.
fn replay(target: &str, check: fn(&[u8])) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no seeds for {target}");
    let failed: Vec<String> = files
        .iter()
        .filter(|file| {
            let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            catch_unwind(AssertUnwindSafe(|| check(&data))).is_err()
        })
        .map(|file| file.strip_prefix(root()).unwrap_or(file).display().to_string())
        .collect();
    assert!(failed.is_empty(), "{target}: {} of {} inputs break a property: {failed:#?}", failed.len(), files.len());
}

fn inputs(target: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["fuzz/seeds", "fuzz/regressions"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir).join(target)) else { continue };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if path.is_file() && !name.starts_with('.') && !name.ends_with(".md") {
                files.push(path);
            }
        }
    }
    let listing = std::fs::read_to_string(root().join("fuzz/seeds/fixtures.txt")).expect("fuzz/seeds/fixtures.txt");
    for line in listing.lines().filter(|l| !l.starts_with('#')) {
        if let Some((t, pattern)) = line.split_once(char::is_whitespace)
            && t == target
        {
            files.extend(glob(&root(), pattern.trim()));
        }
    }
    files.sort();
    files
}

/// The files a pattern names, where `*` matches within one path segment.
fn glob(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let (segment, rest) = pattern.split_once('/').map_or((pattern, None), |(s, r)| (s, Some(r)));
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(|n| wildcard(segment, n)) {
            continue;
        }
        match rest {
            Some(rest) => found.extend(glob(&entry.path(), rest)),
            None if entry.path().is_file() => found.push(entry.path()),
            None => {}
        }
    }
    found
}

fn wildcard(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => name.strip_prefix(head).is_some_and(|rest| {
            (0..=rest.len()).filter(|&i| rest.is_char_boundary(i)).any(|i| wildcard(tail, &rest[i..]))
        }),
    }
}

#[test]
fn booking_json() {
    replay("booking_json", light::booking_json);
}

#[test]
fn calcom_payload() {
    replay("calcom_payload", light::calcom_payload);
}

#[test]
fn calendly_payload() {
    replay("calendly_payload", light::calendly_payload);
}

#[test]
fn manifest() {
    replay("manifest", light::manifest);
}

#[test]
fn soql_literal() {
    replay("soql_literal", light::soql_literal);
}

#[test]
fn soql_parser() {
    replay("soql_parser", light::soql_parser);
}

#[test]
fn signatures() {
    replay("signatures", host::signatures);
}

#[test]
fn load_component() {
    replay("load_component", host::load_component);
}

#[test]
fn the_glob_matches_within_a_segment() {
    assert!(wildcard("calcom-*.json", "calcom-created.json"));
    assert!(!wildcard("calcom-*.json", "calendly-created.json"));
    assert!(wildcard("*", "x"));
    let found = glob(&root(), "plugins/*/portico.toml");
    assert!(found.iter().any(|p| p.ends_with("plugins/lead-event/portico.toml")), "{found:?}");
}
