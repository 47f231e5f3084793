//! Loading a plugin: validate the artifact, read its manifest, compile (cached), pre-link.

use super::cache::{self, Compiled};
use super::{Pre, Runtime};
use crate::bindings::MapperPre;
use portico_model::manifest::MANIFEST_SECTION;
use portico_model::{Limit, LimitExceeded, Manifest};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use wasmparser::{Encoding, Parser, Payload};

/// A validated, compiled and pre-linked plugin.
pub struct Plugin {
    /// `sha256:<hex>` of the component bytes: the plugin version's identity.
    pub digest: String,
    /// The manifest embedded in the component.
    pub manifest: Manifest,
    /// The manifest text as embedded.
    pub manifest_text: String,
    /// Component size in bytes.
    pub size: usize,
    /// Every import of the component (all offered by the host).
    pub imports: Vec<String>,
    /// Whether it was compiled now or taken from the disk cache.
    pub compiled: Compiled,
    pub(crate) pre: Pre,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin").field("digest", &self.digest).field("name", &self.manifest.plugin.name).finish()
    }
}

/// Why a component was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Bigger than the component size limit.
    #[error("the component is {size} bytes; {limit}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: LimitExceeded,
    },
    /// Not WebAssembly at all.
    #[error("this is not a WebAssembly file: {0}")]
    NotWasm(String),
    /// A core module instead of a component.
    #[error(
        "this is a core WebAssembly module, not a component; build the plugin for the \
         wasm32-wasip2 target (cargo build --target wasm32-wasip2) or wrap it with wasm-tools component new"
    )]
    CoreModule,
    /// No embedded manifest.
    #[error(
        "the component has no `{MANIFEST_SECTION}` section; plugins built with portico_sdk::export_mapper! embed \
         their portico.toml there"
    )]
    NoManifest,
    /// The manifest is not valid.
    #[error("{0}")]
    BadManifest(#[from] portico_model::manifest::ManifestError),
    /// Imports the host does not offer.
    #[error("the component imports what Portico does not offer: {}", .0.join(", "))]
    ForbiddenImports(Vec<String>),
    /// Not a component of the `portico:mapper` world.
    #[error("the component is not a portico:mapper@0.1.0 plugin: {0}")]
    WrongWorld(String),
    /// Compilation failed.
    #[error("the component could not be compiled: {0}")]
    Compile(String),
}

/// Interfaces the host offers: `portico:mapper` and the WASI 0.2 interfaces language runtimes
/// import (all backed by an empty, deny-all context).
const OFFERED_WASI: &[&str] = &[
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:cli/exit",
    "wasi:cli/environment",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:sockets/ip-name-lookup",
];

const OFFERED_PORTICO: &[&str] = &[
    "portico:mapper/types",
    "portico:mapper/describe",
    "portico:mapper/records",
    "portico:mapper/config",
    "portico:mapper/log",
];

/// Whether the host offers an import name such as `wasi:io/streams@0.2.3`.
pub(crate) fn is_offered(import: &str) -> bool {
    let (name, version) = import.split_once('@').unwrap_or((import, ""));
    (OFFERED_WASI.contains(&name) && version.starts_with("0.2."))
        || (OFFERED_PORTICO.contains(&name) && version.starts_with("0.1."))
}

/// What a component carries, read without compiling it.
struct Inspection {
    /// The embedded manifest text.
    manifest: Option<String>,
    /// The names the top-level component exports.
    exports: Vec<String>,
    /// The names the top-level component imports.
    imports: Vec<String>,
}

/// The manifest a component carries, if any (read without compiling it).
pub fn embedded_manifest(bytes: &[u8]) -> Result<Option<String>, LoadError> {
    Ok(inspect(bytes)?.manifest)
}

/// Reads the manifest and top-level exports, refusing what is not a component.
fn inspect(bytes: &[u8]) -> Result<Inspection, LoadError> {
    if !bytes.starts_with(b"\0asm") {
        return Err(LoadError::NotWasm(if bytes.is_empty() {
            "the file is empty".to_owned()
        } else {
            "it does not start with the WebAssembly magic bytes `\\0asm`".to_owned()
        }));
    }
    let mut found = Inspection { manifest: None, exports: Vec::new(), imports: Vec::new() };
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| LoadError::NotWasm(e.to_string()))?;
        match payload {
            Payload::Version { encoding, .. } => {
                if depth == 0 && encoding == Encoding::Module {
                    return Err(LoadError::CoreModule);
                }
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentExportSection(exports) if depth == 1 => {
                for export in exports {
                    let export = export.map_err(|e| LoadError::NotWasm(e.to_string()))?;
                    found.exports.push(export.name.name.to_owned());
                }
            }
            Payload::ComponentImportSection(imports) if depth == 1 => {
                for import in imports {
                    let import = import.map_err(|e| LoadError::NotWasm(e.to_string()))?;
                    // Type imports (`use types.{booking}` in a world) are names, not capabilities.
                    if !matches!(import.ty, wasmparser::ComponentTypeRef::Type(_)) {
                        found.imports.push(import.name.name.to_owned());
                    }
                }
            }
            Payload::CustomSection(section) if section.name() == MANIFEST_SECTION => {
                let text = std::str::from_utf8(section.data())
                    .map_err(|_| LoadError::NotWasm("the manifest section is not UTF-8".into()))?;
                found.manifest = Some(text.to_owned());
            }
            _ => {}
        }
    }
    if depth == 0 && found.exports.is_empty() && found.manifest.is_none() && bytes.len() < 8 {
        return Err(LoadError::NotWasm("the file is empty or truncated".into()));
    }
    Ok(found)
}

impl Runtime {
    /// Validates, compiles (or loads from the cache) and pre-links a plugin component.
    ///
    /// Checks run cheapest first and before any compilation: size, component (not a core
    /// module or garbage), exports `map`, imports only what the host offers, manifest; then the
    /// full type check of the world happens while pre-linking.
    ///
    /// The same bytes loaded again return the plugin from the in-memory cache.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<Plugin>, LoadError> {
        let limits = &self.config.limits;
        if bytes.len() as u64 > limits.component_bytes {
            return Err(LoadError::TooLarge { size: bytes.len(), limit: limits.exceeded(Limit::ComponentSize) });
        }
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
        if let Some(plugin) = self.pre_for(&digest) {
            return Ok(plugin);
        }
        let inspection = inspect(bytes)?;
        if !inspection.exports.iter().any(|e| e == "map") {
            return Err(LoadError::WrongWorld(format!(
                "it does not export `map` (it exports: {})",
                if inspection.exports.is_empty() { "nothing".to_owned() } else { inspection.exports.join(", ") }
            )));
        }
        let forbidden: Vec<String> = inspection.imports.iter().filter(|i| !is_offered(i)).cloned().collect();
        if !forbidden.is_empty() {
            return Err(LoadError::ForbiddenImports(forbidden));
        }
        let manifest_text = inspection.manifest.ok_or(LoadError::NoManifest)?;
        let manifest = Manifest::from_toml(&manifest_text)?;
        let (component, compiled) = cache::compile(&self.engine, self.cache_dir.as_deref(), &digest, bytes)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        let imports = inspection.imports;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .and_then(MapperPre::new)
            .map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        let plugin = Arc::new(Plugin {
            digest: digest.clone(),
            manifest,
            manifest_text,
            size: bytes.len(),
            imports,
            compiled,
            pre,
        });
        self.loaded.lock().expect("plugin cache lock").put(digest, plugin.clone());
        Ok(plugin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_wasi_0_2_and_portico_0_1_only() {
        assert!(is_offered("wasi:io/streams@0.2.6"));
        assert!(is_offered("portico:mapper/records@0.1.0"));
        assert!(!is_offered("wasi:http/outgoing-handler@0.2.0"));
        assert!(!is_offered("wasi:io/streams@0.3.0"));
        assert!(!is_offered("evil:net/raw"));
    }

    #[test]
    fn tells_core_modules_and_garbage_apart() {
        assert!(matches!(inspect(b"\0asm\x01\0\0\0"), Err(LoadError::CoreModule)));
        assert!(matches!(inspect(b"hello, world"), Err(LoadError::NotWasm(_))));
        assert!(matches!(inspect(b""), Err(LoadError::NotWasm(_))));
    }
}
