//! What accounts are made of, without permissions: passwords (policy and Argon2id), random
//! tokens and their hashes, and TOTP codes. The operations in `service::ops` use these.

pub mod config;
pub mod password;
pub mod totp;

pub use config::{AccountsConfig, SessionLimit};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A new random token (32 bytes, URL-safe base64): session cookies, invitation and reset links.
pub fn new_token() -> String {
    URL_SAFE_NO_PAD.encode(super::random_bytes::<32>())
}

/// A new public id (12 hex digits).
pub fn new_id() -> String {
    hex::encode(super::random_bytes::<6>())
}

/// How a token is stored: hex SHA-256 (a random 256-bit token needs no slow hash).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An email as stored and compared: trimmed and lowercase; `None` unless it looks like one
/// (one `@`, something either side, no spaces or controls, at most 254 bytes).
pub fn normalise_email(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let ok = email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(email)
}

#[cfg(test)]
mod tests {
    #[test]
    fn emails() {
        assert_eq!(super::normalise_email(" Ada@Example.COM ").as_deref(), Some("ada@example.com"));
        for bad in ["ada", "@example.com", "ada@example", "a b@example.com", "a@b@example.com", "ada@.com"] {
            assert_eq!(super::normalise_email(bad), None, "{bad}");
        }
    }
}
