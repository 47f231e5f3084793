//! Embedding a plugin's manifest in a component built by any toolchain (`portico plugin
//! pack`): the TypeScript and Python build steps call it, so every uploaded artifact describes
//! itself, as the Rust SDK's `export_mapper!` makes it.
//!
//! The manifest travels as a top-level custom section named
//! [`MANIFEST_SECTION`](portico_model::manifest::MANIFEST_SECTION). Packing validates the TOML,
//! drops any top-level manifest section already there (re-packing replaces it) and appends the
//! new one; nothing else in the component changes.

use portico_model::Manifest;
use portico_model::manifest::MANIFEST_SECTION;
use wasm_encoder::Section as _;
use wasmparser::BinaryReader;

/// Why a component could not be packed.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// The manifest is not valid.
    #[error("the manifest is not valid: {0}")]
    Manifest(String),
    /// The bytes are not a component.
    #[error(
        "not a WebAssembly component ({0}); build it for the component model (wasm32-wasip2, jco/componentize-js, componentize-py)"
    )]
    NotComponent(String),
    /// A manifest is embedded inside one of its core modules, where packing cannot replace it.
    #[error(
        "a manifest is already embedded inside one of the component's modules (the Rust SDK's export_mapper! does that); change it at its source"
    )]
    Nested,
}

/// The 8-byte preamble of a component binary (magic, version 0x0d, layer 1).
const COMPONENT_PREAMBLE: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

/// Returns `component` with `manifest_toml` as its manifest section.
pub fn pack(component: &[u8], manifest_toml: &str) -> Result<Vec<u8>, PackError> {
    Manifest::from_toml(manifest_toml).map_err(|e| PackError::Manifest(e.to_string()))?;
    if component.get(..8) != Some(&COMPONENT_PREAMBLE[..]) {
        let what = if component.starts_with(b"\0asm") { "a core module, not a component" } else { "no Wasm preamble" };
        return Err(PackError::NotComponent(what.into()));
    }
    let mut out = component[..8].to_vec();
    let mut reader = BinaryReader::new(component, 0);
    reader.skip(|r| r.read_bytes(8).map(|_| ())).map_err(|e| PackError::NotComponent(e.to_string()))?;
    while !reader.eof() {
        let start = reader.original_position();
        let id = reader.read_u8().map_err(|e| PackError::NotComponent(e.to_string()))?;
        let size = reader.read_var_u32().map_err(|e| PackError::NotComponent(e.to_string()))? as usize;
        let body_start = reader.original_position();
        let body = reader.read_bytes(size).map_err(|e| PackError::NotComponent(e.to_string()))?;
        if id == 0 {
            let mut name = BinaryReader::new(body, body_start);
            if name.read_string().is_ok_and(|n| n == MANIFEST_SECTION) {
                continue;
            }
        }
        out.extend_from_slice(&component[start..reader.original_position()]);
    }
    if crate::runtime::embedded_manifest(&out).map_err(|e| PackError::NotComponent(e.to_string()))?.is_some() {
        return Err(PackError::Nested);
    }
    let section = wasm_encoder::CustomSection {
        name: MANIFEST_SECTION.into(),
        data: std::borrow::Cow::Borrowed(manifest_toml.as_bytes()),
    };
    section.append_to(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "[plugin]\nname = \"t\"\nversion = \"1.0.0\"\n\n[objects.Event]\noperations = [\"create\"]\nwrite = [\"Subject\"]\n";

    fn component() -> Vec<u8> {
        wat::parse_str("(component (core module $m) (@custom \"other\" \"keep me\"))").unwrap()
    }

    #[test]
    fn packing_embeds_and_replaces_the_manifest_and_keeps_the_rest() {
        let packed = pack(&component(), MANIFEST).unwrap();
        assert_eq!(crate::runtime::embedded_manifest(&packed).unwrap().as_deref(), Some(MANIFEST));
        let again = pack(&packed, &MANIFEST.replace("1.0.0", "1.0.1")).unwrap();
        let text = crate::runtime::embedded_manifest(&again).unwrap().unwrap();
        assert!(text.contains("1.0.1") && !text.contains("1.0.0"), "{text}");
        assert_eq!(again.len(), packed.len(), "replaced, not added");
        assert!(again.windows(7).any(|w| w == b"keep me"), "other sections survive");
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all()).validate_all(&again).unwrap();
    }

    #[test]
    fn packing_refuses_what_it_cannot_make_right() {
        assert!(matches!(pack(&component(), "[plugin]\nname = 3"), Err(PackError::Manifest(_))));
        let module = wat::parse_str("(module)").unwrap();
        assert!(matches!(pack(&module, MANIFEST), Err(PackError::NotComponent(m)) if m.contains("core module")));
        assert!(matches!(pack(b"garbage", MANIFEST), Err(PackError::NotComponent(_))));
        let mut truncated = pack(&component(), MANIFEST).unwrap();
        truncated.truncate(truncated.len() - 3);
        assert!(matches!(pack(&truncated, MANIFEST), Err(PackError::NotComponent(_))));
        let nested =
            wat::parse_str(format!("(component (core module (@custom \"{MANIFEST_SECTION}\" \"x\")))")).unwrap();
        assert!(matches!(pack(&nested, MANIFEST), Err(PackError::Nested)));
    }
}
