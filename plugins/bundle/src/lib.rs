//! The example plugins, compiled to components at build time (see `build.rs`).
//!
//! `portico demo` and the tests use these; a plugin author builds their own with
//! `cargo build --target wasm32-wasip2 --profile plugin` (see `guest-sdk/README.md`).

use std::path::{Path, PathBuf};

/// The folder holding every built component (`<crate_name>.wasm`).
pub const WASM_DIR: &str = env!("PORTICO_WASM_DIR");

/// An example plugin shipped with Portico.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// Its name, e.g. `lead-event`.
    pub name: &'static str,
    /// The component.
    pub wasm: &'static [u8],
    /// Its source folder, relative to the repository root (samples live in `<dir>/samples`).
    pub dir: &'static str,
}

macro_rules! example {
    ($name:literal, $file:literal) => {
        Example {
            name: $name,
            wasm: include_bytes!(concat!(env!("PORTICO_WASM_DIR"), "/", $file, ".wasm")),
            dir: concat!("plugins/", $name),
        }
    };
}

/// All example plugins.
pub const EXAMPLES: &[Example] = &[
    example!("lead-event", "portico_plugin_lead_event"),
    example!("owner-routing", "portico_plugin_owner_routing"),
    example!("followup-task", "portico_plugin_followup_task"),
    example!("configurable", "portico_plugin_configurable"),
];

/// An example plugin by name.
pub fn example(name: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.name == name)
}

/// The path of a built component by crate name (e.g. `portico_guest_hostile`).
pub fn wasm_path(crate_name: &str) -> PathBuf {
    Path::new(WASM_DIR).join(format!("{crate_name}.wasm"))
}

/// The repository root (for samples and fixtures in development and tests).
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}
