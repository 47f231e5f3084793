//! Signed deliveries: Portico's own scheme, Cal.com's and Calendly's.
//!
//! Portico: `X-Portico-Timestamp` (Unix seconds), `X-Portico-Nonce` (8–128 of `A-Za-z0-9_-`)
//! and `X-Portico-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<nonce>.<raw body>")>`.
//! Cal.com: `X-Cal-Signature-256: <hex HMAC-SHA256(secret, raw body)>` (no timestamp; replays
//! are harmless because a booking id and kind make at most one job). Calendly:
//! `Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
//! Every comparison is constant-time (`Mac::verify_slice`).

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The Portico timestamp header.
pub const TIMESTAMP: &str = "x-portico-timestamp";
/// The Portico nonce header.
pub const NONCE: &str = "x-portico-nonce";
/// The Portico signature header.
pub const SIGNATURE: &str = "x-portico-signature";
/// Cal.com's signature header.
pub const CALCOM_SIGNATURE: &str = "x-cal-signature-256";
/// Calendly's signature header.
pub const CALENDLY_SIGNATURE: &str = "calendly-webhook-signature";

/// Why a delivery's signature was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header is missing or malformed.
    #[error("{0}")]
    Malformed(String),
    /// The timestamp is too far from now.
    #[error("the timestamp {timestamp} is {skew} s from the server's clock; at most {tolerance} s is accepted")]
    Stale {
        /// The signed timestamp.
        timestamp: i64,
        /// Its distance from now, seconds.
        skew: i64,
        /// The tolerance.
        tolerance: i64,
    },
    /// The signature does not match.
    #[error("the signature does not match the body and the tenant's webhook secret")]
    Mismatch,
}

/// A verified delivery's replay identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// What must not be seen twice (`None`: the scheme has no nonce).
    pub nonce: Option<String>,
    /// The signed timestamp, Unix seconds.
    pub timestamp: Option<i64>,
}

/// Signs a body the Portico way: the header values a sender sets.
pub fn sign(secret: &str, timestamp: i64, nonce: &str, body: &[u8]) -> String {
    format!("v1={}", hex::encode(mac(secret, &[timestamp.to_string().as_bytes(), b".", nonce.as_bytes(), b".", body])))
}

/// Signs a body the Cal.com way.
pub fn sign_calcom(secret: &str, body: &[u8]) -> String {
    hex::encode(mac(secret, &[body]))
}

/// Signs a body the Calendly way.
pub fn sign_calendly(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", hex::encode(mac(secret, &[timestamp.to_string().as_bytes(), b".", body])))
}

fn mac(secret: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn verify(secret: &str, parts: &[&[u8]], hex_signature: &str) -> Result<(), SignatureError> {
    let expected =
        hex::decode(hex_signature.trim()).map_err(|_| SignatureError::Malformed("the signature is not hex".into()))?;
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(&expected).map_err(|_| SignatureError::Mismatch)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, SignatureError> {
    headers
        .get(name)
        .ok_or_else(|| SignatureError::Malformed(format!("the `{name}` header is missing")))?
        .to_str()
        .map_err(|_| SignatureError::Malformed(format!("the `{name}` header is not text")))
}

fn fresh(timestamp: i64, now_s: i64, tolerance: i64) -> Result<(), SignatureError> {
    // The timestamp is the sender's, unauthenticated until the signature checks: any i64.
    let skew = now_s.saturating_sub(timestamp).saturating_abs();
    if skew > tolerance {
        return Err(SignatureError::Stale { timestamp, skew, tolerance });
    }
    Ok(())
}

fn parse_timestamp(text: &str, name: &str) -> Result<i64, SignatureError> {
    text.trim().parse().map_err(|_| SignatureError::Malformed(format!("`{name}` must be Unix seconds, got `{text}`")))
}

/// Verifies a Portico-signed delivery.
pub fn verify_portico(
    headers: &HeaderMap,
    body: &[u8],
    secret: &str,
    now_s: i64,
    tolerance: i64,
) -> Result<Verified, SignatureError> {
    let timestamp = parse_timestamp(header(headers, TIMESTAMP)?, TIMESTAMP)?;
    let nonce = header(headers, NONCE)?;
    if !(8..=128).contains(&nonce.len()) || !nonce.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(SignatureError::Malformed(format!("`{NONCE}` must be 8 to 128 characters of A-Z a-z 0-9 - _")));
    }
    let signature = header(headers, SIGNATURE)?;
    let hex_sig = signature
        .strip_prefix("v1=")
        .ok_or_else(|| SignatureError::Malformed(format!("`{SIGNATURE}` must be `v1=<hex>`")))?;
    fresh(timestamp, now_s, tolerance)?;
    verify(secret, &[timestamp.to_string().as_bytes(), b".", nonce.as_bytes(), b".", body], hex_sig)?;
    Ok(Verified { nonce: Some(nonce.to_owned()), timestamp: Some(timestamp) })
}

/// Verifies a Cal.com delivery.
pub fn verify_calcom(headers: &HeaderMap, body: &[u8], secret: &str) -> Result<Verified, SignatureError> {
    let signature = header(headers, CALCOM_SIGNATURE)?;
    verify(secret, &[body], signature)?;
    Ok(Verified { nonce: None, timestamp: None })
}

/// Verifies a Calendly delivery; its signature doubles as the nonce.
pub fn verify_calendly(
    headers: &HeaderMap,
    body: &[u8],
    secret: &str,
    now_s: i64,
    tolerance: i64,
) -> Result<Verified, SignatureError> {
    let value = header(headers, CALENDLY_SIGNATURE)?;
    let mut t = None;
    let mut v1 = None;
    for part in value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", x)) => t = Some(x),
            Some(("v1", x)) => v1 = Some(x),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(SignatureError::Malformed(format!("`{CALENDLY_SIGNATURE}` must be `t=<seconds>,v1=<hex>`")));
    };
    let timestamp = parse_timestamp(t, "t")?;
    fresh(timestamp, now_s, tolerance)?;
    verify(secret, &[t.as_bytes(), b".", body], v1)?;
    // The same signature spelled in other case or with spaces is the same delivery.
    let nonce = format!("calendly-{}", v1.trim().to_ascii_lowercase());
    Ok(Verified { nonce: Some(nonce), timestamp: Some(timestamp) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn any_timestamp_is_stale_or_fresh_never_a_panic() {
        for ts in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX] {
            assert!(matches!(fresh(ts, 1_800_000_000, 300), Err(SignatureError::Stale { .. })), "{ts}");
        }
        assert!(fresh(1_800_000_100, 1_800_000_000, 300).is_ok());
    }

    fn portico_headers(ts: i64, nonce: &str, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP, HeaderValue::from_str(&ts.to_string()).unwrap());
        h.insert(NONCE, HeaderValue::from_str(nonce).unwrap());
        h.insert(SIGNATURE, HeaderValue::from_str(sig).unwrap());
        h
    }

    #[test]
    fn portico_signatures() {
        let body = br#"{"id":"bk_1"}"#;
        let sig = sign("s3cret", 1_000, "nonce-0001", body);
        let ok = verify_portico(&portico_headers(1_000, "nonce-0001", &sig), body, "s3cret", 1_100, 300).unwrap();
        assert_eq!(ok.nonce.as_deref(), Some("nonce-0001"));
        let h = portico_headers(1_000, "nonce-0001", &sig);
        assert_eq!(verify_portico(&h, b"{}", "s3cret", 1_000, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify_portico(&h, body, "other", 1_000, 300), Err(SignatureError::Mismatch));
        assert!(matches!(verify_portico(&h, body, "s3cret", 1_301, 300), Err(SignatureError::Stale { skew: 301, .. })));
        assert!(matches!(verify_portico(&h, body, "s3cret", 699, 300), Err(SignatureError::Stale { .. })));
        let other_nonce = portico_headers(1_000, "nonce-0002", &sig);
        assert_eq!(verify_portico(&other_nonce, body, "s3cret", 1_000, 300), Err(SignatureError::Mismatch));
        let short = portico_headers(1_000, "n", &sig);
        assert!(matches!(verify_portico(&short, body, "s3cret", 1_000, 300), Err(SignatureError::Malformed(_))));
        let mut missing = portico_headers(1_000, "nonce-0001", &sig);
        missing.remove(SIGNATURE);
        assert!(verify_portico(&missing, body, "s3cret", 1_000, 300).unwrap_err().to_string().contains("missing"));
    }

    #[test]
    fn calcom_and_calendly_signatures() {
        let body = br#"{"triggerEvent":"BOOKING_CREATED"}"#;
        let mut h = HeaderMap::new();
        h.insert(CALCOM_SIGNATURE, HeaderValue::from_str(&sign_calcom("k", body)).unwrap());
        assert!(verify_calcom(&h, body, "k").is_ok());
        assert_eq!(verify_calcom(&h, b"x", "k"), Err(SignatureError::Mismatch));

        let mut h = HeaderMap::new();
        h.insert(CALENDLY_SIGNATURE, HeaderValue::from_str(&sign_calendly("k", 5_000, body)).unwrap());
        let ok = verify_calendly(&h, body, "k", 5_010, 300).unwrap();
        let nonce = ok.nonce.unwrap();
        assert!(nonce.starts_with("calendly-"));
        let shouted = sign_calendly("k", 5_000, body).replace("v1=", "v1= ").to_ascii_uppercase().replace("T=", "t=");
        let shouted = shouted.replace("V1=", "v1=");
        h.insert(CALENDLY_SIGNATURE, HeaderValue::from_str(&shouted).unwrap());
        let again = verify_calendly(&h, body, "k", 5_010, 300).unwrap();
        assert_eq!(again.nonce.unwrap(), nonce, "a respelled signature is still a replay");
        h.insert(CALENDLY_SIGNATURE, HeaderValue::from_str(&sign_calendly("k", 5_000, body)).unwrap());
        assert!(matches!(verify_calendly(&h, body, "k", 9_000, 300), Err(SignatureError::Stale { .. })));
        assert_eq!(verify_calendly(&h, b"y", "k", 5_000, 300), Err(SignatureError::Mismatch));
    }
}
