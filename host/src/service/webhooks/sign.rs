//! Outbound signatures, in exactly the scheme Portico verifies on its own ingestion
//! ([`crate::service::signing`]), so a receiver follows one documented recipe:
//!
//! - `X-Portico-Timestamp`: Unix seconds when the attempt was sent;
//! - `X-Portico-Nonce`: the delivery id (the envelope's `id`, the same on every attempt);
//! - `X-Portico-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<nonce>.<raw body>")>`.
//!
//! The receiver recomputes the HMAC over the raw body, compares in constant time, and refuses
//! timestamps far from its clock. A retry carries a new timestamp and signature for the same id.

use crate::service::signing::{NONCE, SIGNATURE, TIMESTAMP, sign};

/// The three signature headers (name, value) for one attempt.
pub fn headers(secret: &str, delivery_id: &str, timestamp_s: i64, body: &[u8]) -> [(&'static str, String); 3] {
    [
        (TIMESTAMP, timestamp_s.to_string()),
        (NONCE, delivery_id.to_owned()),
        (SIGNATURE, sign(secret, timestamp_s, delivery_id, body)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::signing::{SignatureError, verify_portico};
    use axum::http::{HeaderMap, HeaderName, HeaderValue};

    fn header_map(headers: [(&'static str, String); 3]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(HeaderName::from_static(name), HeaderValue::from_str(&value).unwrap());
        }
        map
    }

    #[test]
    fn portico_s_own_verifier_accepts_what_it_sends() {
        let body = br#"{"id":"wd_0a1b2c-we_x","type":"job.failed","data":{}}"#;
        let id = "wd_0a1b2c3d4e5f-we_AbC_d-9";
        let signed = header_map(headers("whsec_k", id, 1_800_000_000, body));
        let verified = verify_portico(&signed, body, "whsec_k", 1_800_000_010, 300).unwrap();
        assert_eq!(verified.nonce.as_deref(), Some(id), "the delivery id is the nonce");
        assert_eq!(verified.timestamp, Some(1_800_000_000));
        assert_eq!(verify_portico(&signed, body, "whsec_other", 1_800_000_010, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify_portico(&signed, b"{}", "whsec_k", 1_800_000_010, 300), Err(SignatureError::Mismatch));
    }
}
