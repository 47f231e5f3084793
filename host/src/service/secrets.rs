//! Secrets at rest: AES-256-GCM under a master key ring.
//!
//! A sealed value is `<key id>:<base64(nonce ‖ ciphertext)>`, bound to what it belongs to
//! (the tenant id is the associated data, so a value copied to another tenant's row does not
//! open). The ring's first key seals; every key opens, so keys rotate by putting a new key
//! first and re-sealing at leisure.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Why the key ring or a sealed value is unusable.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The master key text is malformed.
    #[error("master key: {0}")]
    BadKey(String),
    /// A sealed value names a key the ring does not hold.
    #[error("a secret was sealed with key `{0}`, which is not in the master key ring")]
    UnknownKey(String),
    /// A sealed value is corrupt or belongs elsewhere.
    #[error("a sealed secret does not open (corrupt, or sealed for another owner)")]
    Corrupt,
}

/// The master keys.
pub struct KeyRing {
    keys: Vec<(String, Aes256Gcm)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("KeyRing").field("key_ids", &ids).finish()
    }
}

impl KeyRing {
    /// Parses `id:base64-of-32-bytes[,id:…]`; the first key seals.
    pub fn parse(text: &str) -> Result<KeyRing, SecretsError> {
        let mut keys = Vec::new();
        for entry in text.split([',', '\n']).map(str::trim).filter(|e| !e.is_empty()) {
            let (id, b64) = entry
                .split_once(':')
                .ok_or_else(|| SecretsError::BadKey("each key is `id:base64` (e.g. k1:…)".into()))?;
            let bytes = STANDARD
                .decode(b64.trim())
                .map_err(|e| SecretsError::BadKey(format!("key `{id}` is not base64: {e}")))?;
            if bytes.len() != 32 {
                return Err(SecretsError::BadKey(format!("key `{id}` is {} bytes; AES-256 needs 32", bytes.len())));
            }
            let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|e| SecretsError::BadKey(e.to_string()))?;
            keys.push((id.trim().to_owned(), cipher));
        }
        if keys.is_empty() {
            return Err(SecretsError::BadKey("no key given".into()));
        }
        Ok(KeyRing { keys })
    }

    /// A new random key in the ring's text form, with id `id`.
    pub fn generate(id: &str) -> String {
        format!("{id}:{}", STANDARD.encode(super::random_bytes::<32>()))
    }

    /// Encrypts `plaintext` for `owner`.
    pub fn seal(&self, owner: &str, plaintext: &str) -> String {
        let (id, cipher) = &self.keys[0];
        let nonce_bytes = super::random_bytes::<12>();
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce_bytes), Payload { msg: plaintext.as_bytes(), aad: owner.as_bytes() })
            .expect("AES-GCM encryption of an in-memory buffer");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        format!("{id}:{}", STANDARD.encode(out))
    }

    /// Decrypts a value sealed for `owner`.
    pub fn open(&self, owner: &str, sealed: &str) -> Result<String, SecretsError> {
        let (id, b64) = sealed.split_once(':').ok_or(SecretsError::Corrupt)?;
        let (_, cipher) =
            self.keys.iter().find(|(k, _)| k == id).ok_or_else(|| SecretsError::UnknownKey(id.to_owned()))?;
        let bytes = STANDARD.decode(b64).map_err(|_| SecretsError::Corrupt)?;
        if bytes.len() < 12 {
            return Err(SecretsError::Corrupt);
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: owner.as_bytes() })
            .map_err(|_| SecretsError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| SecretsError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_opens_and_rotates() {
        let old = KeyRing::generate("k1");
        let ring = KeyRing::parse(&old).unwrap();
        let sealed = ring.seal("acme", "refresh-token");
        assert!(sealed.starts_with("k1:") && !sealed.contains("refresh-token"));
        assert_eq!(ring.open("acme", &sealed).unwrap(), "refresh-token");
        assert!(matches!(ring.open("other", &sealed), Err(SecretsError::Corrupt)), "bound to its owner");

        let rotated = KeyRing::parse(&format!("{},{old}", KeyRing::generate("k2"))).unwrap();
        assert_eq!(rotated.open("acme", &sealed).unwrap(), "refresh-token", "old values still open");
        assert!(rotated.seal("acme", "x").starts_with("k2:"), "the first key seals");
        let only_new = KeyRing::parse(&KeyRing::generate("k3")).unwrap();
        assert!(matches!(only_new.open("acme", &sealed), Err(SecretsError::UnknownKey(id)) if id == "k1"));
    }

    #[test]
    fn malformed_keys_are_explained() {
        assert!(KeyRing::parse("").unwrap_err().to_string().contains("no key"));
        assert!(KeyRing::parse("k1:AAAA").unwrap_err().to_string().contains("32"));
        assert!(KeyRing::parse("nocolon").unwrap_err().to_string().contains("id:base64"));
    }
}
