//! Builds every plugin in `plugins/` — and, with the `test-guests` feature (the test suite
//! turns it on), every test guest in `tests/guests/` — as a `wasm32-wasip2` component, so
//! `cargo run` and `cargo test` work on a fresh clone with no separate build step. The hostile
//! guests are never built for `cargo run -- dev`.
//!
//! A nested `cargo build` runs with its own target directory (`target/wasm-plugins`), so it
//! never waits on the outer build's lock; the outer jobserver is inherited, so the two together
//! still use only the cores cargo was given.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The example plugins.
const EXAMPLES: &[&str] = &[
    "portico-plugin-lead-event",
    "portico-plugin-owner-routing",
    "portico-plugin-followup-task",
    "portico-plugin-configurable",
];

/// The test suite's guests (feature `test-guests`).
const TEST_GUESTS: &[&str] = &["portico-guest-hostile", "portico-guest-foreign-import"];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().and_then(Path::parent).expect("workspace root").to_owned();
    for dir in ["plugins", "guest-sdk", "model", "wit", "tests/guests", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    ensure_wasm_target();
    let target_dir = outer_target_dir().join("wasm-plugins");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--target", "wasm32-wasip2", "--profile", "plugin"])
        .arg("--target-dir")
        .arg(&target_dir);
    let guests = std::env::var_os("CARGO_FEATURE_TEST_GUESTS").is_some();
    for p in EXAMPLES.iter().chain(if guests { TEST_GUESTS } else { &[] }) {
        cmd.args(["-p", p]);
    }
    // A clean environment for the inner build: not the outer one's wrapper (clippy), flags or
    // target settings.
    for var in [
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_MAKEFLAGS_OVERRIDE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("could not run cargo to build the plugins");
    if !status.success() {
        panic!(
            "building the plugins for wasm32-wasip2 failed (see above). If the target is missing, run: \
             rustup target add wasm32-wasip2"
        );
    }
    let out = target_dir.join("wasm32-wasip2").join("plugin");
    println!("cargo:rustc-env=PORTICO_WASM_DIR={}", out.display());
}

/// Installs the `wasm32-wasip2` standard library with rustup when it is missing, so a fresh
/// clone builds with plain `cargo` commands.
fn ensure_wasm_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let installed = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", "wasm32-wasip2"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .is_some_and(|dir| Path::new(dir.trim()).exists());
    if installed {
        return;
    }
    println!("cargo:warning=installing the wasm32-wasip2 target with rustup (once)");
    let ok = Command::new("rustup").args(["target", "add", "wasm32-wasip2"]).status().is_ok_and(|s| s.success());
    if !ok {
        panic!("the wasm32-wasip2 target is missing and `rustup target add wasm32-wasip2` failed; run it by hand");
    }
}

/// The outer build's target directory: `OUT_DIR` is `<target>/<profile>/build/<pkg>/out`.
fn outer_target_dir() -> PathBuf {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    out_dir.ancestors().nth(4).expect("OUT_DIR is inside the target directory").to_owned()
}
