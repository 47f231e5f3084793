//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of
//! clock drift either way) and single-use recovery codes, stored hashed.

use totp_rs::{Algorithm, Secret, TOTP};

const STEP: u64 = 30;

/// A new random secret (20 bytes, as RFC 4226 recommends), base32.
pub fn new_secret() -> String {
    Secret::Raw(super::super::random_bytes::<20>().to_vec()).to_encoded().to_string()
}

fn totp(secret_b32: &str, issuer: &str, account: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_owned()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, 6, 1, STEP, bytes, Some(issuer.to_owned()), account.to_owned()).ok()
}

/// The `otpauth://` URI an authenticator app scans (the console shows it as a QR code).
pub fn provisioning_uri(secret_b32: &str, issuer: &str, account: &str) -> Option<String> {
    Some(totp(secret_b32, issuer, account)?.get_url())
}

/// The time step `code` is valid for at `now_s` (this one or one either side), if any.
pub fn matching_step(secret_b32: &str, code: &str, now_s: u64) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret_b32, "-", "-")?;
    let step = now_s / STEP;
    [step.saturating_sub(1), step, step + 1].into_iter().find_map(|s| {
        let expected = totp.generate(s * STEP);
        let same: bool = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), code.as_bytes()).into();
        same.then_some(s as i64)
    })
}

/// Ten new recovery codes (`xxxx-xxxx-xxxx`, 60 random bits each), shown once.
pub fn new_recovery_codes() -> Vec<String> {
    (0..10)
        .map(|_| {
            let raw = Secret::Raw(super::super::random_bytes::<8>().to_vec()).to_encoded().to_string().to_lowercase();
            format!("{}-{}-{}", &raw[0..4], &raw[4..8], &raw[8..12])
        })
        .collect()
}

/// How a recovery code is compared: lowercase, without spaces or dashes.
pub fn normalise_recovery_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_step_and_drift_one_step() {
        let secret = new_secret();
        let t = totp(&secret, "Portico", "ada@example.com").unwrap();
        let now = 1_800_000_000;
        let code = t.generate(now);
        assert_eq!(matching_step(&secret, &code, now), Some((now / 30) as i64));
        assert_eq!(matching_step(&secret, &code, now + 30), Some((now / 30) as i64), "one step late");
        assert_eq!(matching_step(&secret, &code, now + 90), None, "too late");
        assert_eq!(matching_step(&secret, "12345", now), None);
        let uri = provisioning_uri(&secret, "Portico", "ada@example.com").unwrap();
        assert!(uri.starts_with("otpauth://totp/Portico:ada%40example.com?secret="), "{uri}");
    }

    #[test]
    fn recovery_codes() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert!(codes.iter().all(|c| c.len() == 14));
        assert_eq!(normalise_recovery_code(" ABCD-efgh-1234 "), "abcdefgh1234");
    }
}
