//! The properties of the targets that link `portico-host`: delivery signatures and component
//! loading.
//!
//! As in `light.rs`, each function panics when its property breaks; the normal test suite
//! includes this file by path, so it imports only crates both depend on.

use portico_host::service::signing::{self, SignatureError};
use portico_host::{Runtime, RuntimeConfig};
use portico_model::Manifest;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::sync::OnceLock;

/// The tenant's webhook secret in every signature input.
pub const SECRET: &str = "whsec_portico-fuzz";
/// The server's clock, Unix seconds (2026-01-01T00:00:00Z).
pub const NOW: i64 = 1_767_225_600;
/// The freshness tolerance, seconds.
pub const TOLERANCE: i64 = 300;

/// A delivery: its first line names the scheme (`portico`, `calcom` or `calendly`), then
/// `name: value` header lines, an empty line, and the body. Verification never panics, and
/// never accepts unless the signature is the real HMAC of what the scheme signs (the module
/// documentation of `portico_host::service::signing`) and the timestamp is fresh. The body
/// signed correctly just now is always accepted, and signed too long ago always refused.
pub fn signatures(data: &[u8]) {
    let Some(newline) = data.iter().position(|&b| b == b'\n') else { return };
    let (scheme, rest) = (&data[..newline], &data[newline + 1..]);
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (rest, &b""[..]),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let value = line[colon + 1..].strip_prefix(b" ").unwrap_or(&line[colon + 1..]);
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(&line[..colon]), HeaderValue::from_bytes(value)) {
            headers.append(name, value);
        }
    }
    match scheme {
        b"portico" => portico(&headers, body),
        b"calcom" => calcom(&headers, body),
        b"calendly" => calendly(&headers, body),
        _ => {}
    }
}

fn portico(headers: &HeaderMap, body: &[u8]) {
    if let Ok(verified) = signing::verify_portico(headers, body, SECRET, NOW, TOLERANCE) {
        let (ts, nonce) = (verified.timestamp.expect("a timestamp"), verified.nonce.expect("a nonce"));
        assert!((NOW - TOLERANCE..=NOW + TOLERANCE).contains(&ts), "accepted a stale timestamp {ts}");
        let sent = text(headers, signing::SIGNATURE).strip_prefix("v1=").expect("v1=").trim().to_ascii_lowercase();
        assert_eq!(sent, signing::sign(SECRET, ts, &nonce, body)[3..], "accepted a signature that is not the HMAC");
    }
    let nonce = "fuzz-nonce_0001";
    let fresh = portico_headers(NOW - TOLERANCE, nonce, &signing::sign(SECRET, NOW - TOLERANCE, nonce, body));
    let ok = signing::verify_portico(&fresh, body, SECRET, NOW, TOLERANCE);
    assert_eq!(ok.map(|v| v.nonce), Ok(Some(nonce.to_owned())), "refused a correctly signed body");
    let stale = NOW - TOLERANCE - 1;
    let old = portico_headers(stale, nonce, &signing::sign(SECRET, stale, nonce, body));
    let refused = signing::verify_portico(&old, body, SECRET, NOW, TOLERANCE);
    assert!(matches!(refused, Err(SignatureError::Stale { .. })), "accepted a stale delivery: {refused:?}");
}

fn portico_headers(ts: i64, nonce: &str, signature: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(signing::TIMESTAMP, HeaderValue::from_str(&ts.to_string()).expect("digits"));
    h.insert(signing::NONCE, HeaderValue::from_str(nonce).expect("a nonce"));
    h.insert(signing::SIGNATURE, HeaderValue::from_str(signature).expect("hex"));
    h
}

fn calcom(headers: &HeaderMap, body: &[u8]) {
    if signing::verify_calcom(headers, body, SECRET).is_ok() {
        let sent = text(headers, signing::CALCOM_SIGNATURE).trim().to_ascii_lowercase();
        assert_eq!(sent, signing::sign_calcom(SECRET, body), "accepted a signature that is not the HMAC");
    }
    let mut h = HeaderMap::new();
    h.insert(signing::CALCOM_SIGNATURE, HeaderValue::from_str(&signing::sign_calcom(SECRET, body)).expect("hex"));
    assert!(signing::verify_calcom(&h, body, SECRET).is_ok(), "refused a correctly signed body");
}

fn calendly(headers: &HeaderMap, body: &[u8]) {
    if let Ok(verified) = signing::verify_calendly(headers, body, SECRET, NOW, TOLERANCE) {
        let ts = verified.timestamp.expect("a timestamp");
        assert!((NOW - TOLERANCE..=NOW + TOLERANCE).contains(&ts), "accepted a stale timestamp {ts}");
        // Calendly signs `<t as sent>.<body>`: some `t=` and some `v1=` in the header must match.
        let parts: Vec<(&str, &str)> =
            text(headers, signing::CALENDLY_SIGNATURE).split(',').filter_map(|p| p.trim().split_once('=')).collect();
        let genuine = parts.iter().filter(|(k, _)| *k == "t").any(|(_, t)| {
            let expected = signing::sign_calcom(SECRET, &[t.as_bytes(), b".", body].concat());
            parts.iter().any(|(k, v)| *k == "v1" && v.trim().eq_ignore_ascii_case(&expected))
        });
        assert!(genuine, "accepted a signature that is not the HMAC of any `t=` and the body");
    }
    let mut h = HeaderMap::new();
    let signature = signing::sign_calendly(SECRET, NOW + TOLERANCE, body);
    h.insert(signing::CALENDLY_SIGNATURE, HeaderValue::from_str(&signature).expect("t=…,v1=…"));
    assert!(signing::verify_calendly(&h, body, SECRET, NOW, TOLERANCE).is_ok(), "refused a correctly signed body");
    let stale = signing::sign_calendly(SECRET, NOW + TOLERANCE + 1, body);
    h.insert(signing::CALENDLY_SIGNATURE, HeaderValue::from_str(&stale).expect("t=…,v1=…"));
    let refused = signing::verify_calendly(&h, body, SECRET, NOW, TOLERANCE);
    assert!(matches!(refused, Err(SignatureError::Stale { .. })), "accepted a stale delivery: {refused:?}");
}

/// The first value of a header the verifier accepted (so it is there and is text).
fn text<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers.get(name).and_then(|v| v.to_str().ok()).expect("an accepted header is text")
}

/// The runtime every `load_component` input goes to: one, like a server's. Small pool and
/// plugin cache, so a long run does not keep hundreds of compiled plugins.
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let config = RuntimeConfig { max_instances: 2, loaded_plugins: 4, ..RuntimeConfig::default() };
        Runtime::new(config, None).expect("a runtime")
    })
}

/// Component bytes: a refusal or a loaded plugin, never a panic. A loaded plugin is the bytes
/// given (size, digest), carries a manifest that parses to the one it reports, imports only
/// WASI and `portico:mapper` interfaces, and loads again as the same plugin.
pub fn load_component(data: &[u8]) {
    let runtime = runtime();
    let plugin = match runtime.load(data) {
        Ok(plugin) => plugin,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert_eq!(plugin.size, data.len());
    assert!(plugin.digest.starts_with("sha256:") && plugin.digest.len() == 7 + 64, "digest {}", plugin.digest);
    let manifest = Manifest::from_toml(&plugin.manifest_text).expect("a loaded plugin's manifest parses");
    assert_eq!(manifest, plugin.manifest);
    for import in &plugin.imports {
        assert!(import.starts_with("wasi:") || import.starts_with("portico:mapper/"), "imports {import}");
    }
    let again = runtime.load(data).expect("the same bytes load again");
    assert_eq!(again.digest, plugin.digest);
}
