//! Passwords, NIST SP 800-63B style: a minimum length (and a maximum, so hashing stays
//! bounded), no composition rules, and a bundled list of common and breached passwords refused
//! (`common-passwords.txt`, see `common-passwords.md` for where it comes from).
//!
//! Hashes are Argon2id (the `argon2` crate's defaults, which are OWASP's recommendation: 19 MiB
//! of memory, 2 passes, 1 lane; about 20–25 ms on one core, see BENCHMARKS.md), stored as PHC strings so the
//! parameters travel with each hash and can be raised later without breaking old ones.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use std::sync::LazyLock;

/// Longest password accepted, in characters: long passphrases are welcome, unbounded input to
/// a slow hash is not.
pub const MAX_LENGTH: usize = 256;

static COMMON: &str = include_str!("common-passwords.txt");

/// Why a password was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Weak {
    /// Shorter than the minimum.
    #[error("the password has {0} characters; at least {1} are required")]
    TooShort(usize, usize),
    /// Longer than [`MAX_LENGTH`].
    #[error("the password has {0} characters; at most {MAX_LENGTH} are accepted")]
    TooLong(usize),
    /// On the list of common and breached passwords.
    #[error("this password is on the list of common or breached passwords; choose another")]
    Common,
    /// Made of the account's own email or the product's name.
    #[error("the password must not be built from your email address or the service's name")]
    Contextual,
}

/// Checks a new password for the account `email` against the policy.
pub fn check(password: &str, email: &str, min_length: usize) -> Result<(), Weak> {
    let length = password.chars().count();
    if length > MAX_LENGTH {
        return Err(Weak::TooLong(length));
    }
    if length < min_length {
        return Err(Weak::TooShort(length, min_length));
    }
    let lower = password.to_lowercase();
    if is_common(&lower) {
        return Err(Weak::Common);
    }
    let local = email.split('@').next().unwrap_or_default();
    let context = [email, local, "portico"];
    if context.iter().any(|word| word.len() >= 4 && lower.replace(word, "").chars().count() < 4) {
        return Err(Weak::Contextual);
    }
    Ok(())
}

fn is_common(lower: &str) -> bool {
    // The file is sorted bytewise, one per line.
    let lines: &[&str] = &COMMON_LINES;
    lines.binary_search(&lower).is_ok()
}

static COMMON_LINES: LazyLock<Vec<&'static str>> = LazyLock::new(|| COMMON.lines().collect());

/// Hashes a password (slow by design: call it off the async threads).
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// Whether `password` matches `stored` (a PHC string). With `None` — no such account, or no
/// password yet — it still spends the time of one verification, so timing does not tell
/// whether an account exists.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: LazyLock<String> = LazyLock::new(|| hash("an unguessable dummy password").unwrap_or_default());
    let (phc, real) = match stored {
        Some(s) => (s, true),
        None => (DUMMY.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let matches = password.chars().count() <= MAX_LENGTH
        && Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
    matches && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy() {
        assert_eq!(check("short", "a@b.co", 12), Err(Weak::TooShort(5, 12)));
        assert_eq!(check(&"x".repeat(300), "a@b.co", 12), Err(Weak::TooLong(300)));
        assert_eq!(check("Password1234", "a@b.co", 12), Err(Weak::Common), "case does not matter");
        assert_eq!(check("qwertyuiop123", "a@b.co", 12), Err(Weak::Common));
        assert_eq!(check("ada.lovelace!!", "ada.lovelace@example.com", 12), Err(Weak::Contextual));
        assert_eq!(check("porticoportico", "a@b.co", 12), Err(Weak::Contextual));
        assert_eq!(check("correct horse battery staple", "ada@example.com", 12), Ok(()));
        assert_eq!(check("naïve café ☕ au lait", "ada@example.com", 12), Ok(()), "any characters");
        assert!(COMMON_LINES.windows(2).all(|w| w[0] < w[1]), "the list is sorted and unique");
    }

    #[test]
    fn hashes_verify_and_carry_their_parameters() {
        let h = hash("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery staple", Some(&h)));
        assert!(!verify("correct horse battery stapler", Some(&h)));
        assert!(!verify("anything", None));
        assert!(!verify("anything", Some("not a hash")));
    }
}
