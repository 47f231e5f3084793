//! Two-factor authentication: enrolling an authenticator app (TOTP), recovery codes, and
//! checking a second factor at sign-in. A code is accepted once; wrong codes count as failed
//! sign-ins (see `sessions`), so guessing is locked out like guessing passwords.

use super::{OpResult, Ops, Principal, security_event, sessions::signed_in_user};
use crate::service::accounts::{password, token_hash, totp};
use crate::service::{ApiError, now_ms};
use crate::store::UserRow;

/// An enrolment begun: the secret and the URI to scan, shown once.
#[derive(Debug)]
pub struct Enrolment {
    /// The base32 secret (for typing in by hand).
    pub secret: String,
    /// `otpauth://totp/…` (the console shows it as a QR code).
    pub uri: String,
}

fn sealed_for(user: &str) -> String {
    format!("user:{user}")
}

async fn user(ops: &Ops, who: &Principal) -> OpResult<UserRow> {
    let id = signed_in_user(who)?;
    ops.inner.store.user(id).await?.ok_or_else(|| ApiError::not_found("your account is gone"))
}

/// Begins enrolment: a new secret, pending until a code from it is confirmed. An enrolled
/// person must remove the old factor first.
pub async fn begin(ops: &Ops, who: &Principal) -> OpResult<Enrolment> {
    let user = user(ops, who).await?;
    if user.totp_secret.is_some() {
        return Err(ApiError::conflict("already-enrolled", "two-factor authentication is on; remove it first"));
    }
    let secret = totp::new_secret();
    let uri = totp::provisioning_uri(&secret, &ops.inner.config.accounts.totp_issuer, &user.email)
        .ok_or_else(|| ApiError::internal("TOTP URI"))?;
    let sealed = ops.inner.keys.seal(&sealed_for(&user.id), &secret);
    ops.inner.store.set_totp(&user.id, Some(&sealed), None, "[]").await?;
    Ok(Enrolment { secret, uri })
}

/// Confirms enrolment with a code from the app; answers ten recovery codes, shown once.
pub async fn confirm(ops: &Ops, who: &Principal, code: &str) -> OpResult<Vec<String>> {
    let user = user(ops, who).await?;
    let Some(pending) = user.totp_pending.as_deref() else {
        return Err(ApiError::conflict("no-enrolment", "begin enrolment first (POST /v1/me/totp)"));
    };
    let secret = ops.inner.keys.open(&sealed_for(&user.id), pending)?;
    if totp::matching_step(&secret, code, (now_ms() / 1000) as u64).is_none() {
        return Err(ApiError::unprocessable("bad-code", "the code does not match; check the device's clock"));
    }
    let codes = totp::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| token_hash(&totp::normalise_recovery_code(c))).collect();
    let json = serde_json::to_string(&hashes).map_err(ApiError::internal)?;
    ops.inner.store.set_totp(&user.id, None, Some(pending), &json).await?;
    security_event(ops, who, None, "2fa-enrolled", &user.email, String::new()).await?;
    Ok(codes)
}

/// Removes two-factor authentication; needs the password again.
pub async fn remove(ops: &Ops, who: &Principal, current_password: &str) -> OpResult<()> {
    let user = user(ops, who).await?;
    let (given, stored) = (current_password.to_owned(), user.password_hash.clone());
    let good = tokio::task::spawn_blocking(move || password::verify(&given, stored.as_deref()))
        .await
        .map_err(ApiError::internal)?;
    if !good {
        return Err(ApiError::forbidden_code("bad-password", "the password is wrong"));
    }
    ops.inner.store.set_totp(&user.id, None, None, "[]").await?;
    security_event(ops, who, None, "2fa-removed", &user.email, String::new()).await
}

/// What a sign-in's second factor came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Factor {
    /// None was sent.
    Missing,
    /// One was sent and it is wrong, expired or used.
    Wrong,
    /// It is good (and now spent).
    Good,
}

/// Checks a TOTP code or a recovery code for an enrolled person, spending it.
pub async fn second_factor(ops: &Ops, user: &UserRow, code: Option<&str>, recovery: Option<&str>) -> OpResult<Factor> {
    let store = &ops.inner.store;
    let Some(sealed) = user.totp_secret.as_deref() else { return Ok(Factor::Good) };
    if let Some(code) = code.filter(|c| !c.trim().is_empty()) {
        let secret = ops.inner.keys.open(&sealed_for(&user.id), sealed)?;
        return Ok(match totp::matching_step(&secret, code, (now_ms() / 1000) as u64) {
            Some(step) if store.use_totp_step(&user.id, step).await? => Factor::Good,
            _ => Factor::Wrong,
        });
    }
    let Some(recovery) = recovery.filter(|c| !c.trim().is_empty() && c.len() <= 64) else { return Ok(Factor::Missing) };
    let wanted = token_hash(&totp::normalise_recovery_code(recovery));
    let mut hashes: Vec<String> = serde_json::from_str(&user.recovery_codes).map_err(ApiError::internal)?;
    let Some(at) = hashes.iter().position(|h| *h == wanted) else { return Ok(Factor::Wrong) };
    hashes.remove(at);
    let json = serde_json::to_string(&hashes).map_err(ApiError::internal)?;
    Ok(if store.swap_recovery_codes(&user.id, &user.recovery_codes, &json).await? {
        Factor::Good
    } else {
        Factor::Wrong
    })
}
