//! Two-factor authentication: enrolling an authenticator app (TOTP), recovery codes, and
//! checking a second factor at sign-in. A code is accepted once; wrong codes count as failed
//! sign-ins (see `sessions`), so guessing is locked out like guessing passwords.

use super::{OpResult, Ops, Principal, security_event, sessions::signed_in_user};
use crate::service::accounts::{token_hash, totp};
use crate::service::{ApiError, now_ms};
use crate::store::{TokenKind, UserRow};

/// An enrolment begun: the secret and the URI to scan, shown once. `Debug` shows neither.
pub struct Enrolment {
    /// The base32 secret (for typing in by hand).
    pub secret: String,
    /// `otpauth://totp/…` (the console shows it as a QR code).
    pub uri: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(..)")
    }
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
    let Some(step) = totp::matching_step(&secret, code, (now_ms() / 1000) as u64) else {
        return Err(ApiError::unprocessable("bad-code", "the code does not match; check the device's clock"));
    };
    let codes = totp::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| token_hash(&totp::normalise_recovery_code(c))).collect();
    let json = serde_json::to_string(&hashes).map_err(ApiError::internal)?;
    ops.inner.store.set_totp(&user.id, None, Some(pending), &json).await?;
    // The code that confirmed enrolment is spent: it cannot also sign in.
    ops.inner.store.use_totp_step(&user.id, step).await?;
    security_event(ops, who, None, "2fa-enrolled", &user.email, String::new()).await?;
    Ok(codes)
}

/// Removes two-factor authentication; needs the password again.
pub async fn remove(ops: &Ops, who: &Principal, current_password: &str) -> OpResult<()> {
    let user = user(ops, who).await?;
    let good = super::accounts::password_matches(current_password, user.password_hash.as_deref()).await?;
    if !good {
        return Err(ApiError::forbidden_code("bad-password", "the password is wrong"));
    }
    ops.inner.store.set_totp(&user.id, None, None, "[]").await?;
    security_event(ops, who, None, "2fa-removed", &user.email, String::new()).await
}

const CODE_MINUTES: u64 = 10;

fn code_hash(user: &str, code: &str) -> String {
    token_hash(&format!("email-code:{user}:{}", code.trim()))
}

/// Mails a new six-digit code to the person; it works once, for ten minutes.
pub(super) async fn mail_code(ops: &Ops, user: &UserRow) -> OpResult<()> {
    if ops.inner.mailer.is_none() {
        return Err(ApiError::conflict("no-mail", "the operator has not set up mail, so codes cannot be emailed"));
    }
    // At most five codes a quarter hour, and only the newest works: codes cannot be piled up
    // to guess among, nor the inbox flooded.
    let store = &ops.inner.store;
    let key = format!("email-code:{}", user.id);
    let policy = crate::store::LockoutPolicy { max_failures: 5, window_ms: 900_000, lockout_ms: 900_000 };
    if let Some(until) = store.locked_until(&key, now_ms()).await? {
        let mut e = ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "too-many-codes",
            "too many sign-in codes were mailed; use the last one or wait",
        );
        e.retry_after = Some(((until - now_ms()) / 1000).max(1) as u64);
        return Err(e);
    }
    store.count_auth_failure(&key, policy, now_ms()).await?;
    store.revoke_tokens(&user.email, TokenKind::EmailCode, now_ms()).await?;
    let n = u32::from_le_bytes(crate::service::random_bytes::<4>()) % 1_000_000;
    let code = format!("{n:06}");
    let now = now_ms();
    let row = crate::store::TokenRow {
        token_hash: code_hash(&user.id, &code),
        id: crate::service::accounts::new_id(),
        kind: TokenKind::EmailCode.as_str().to_owned(),
        email: user.email.clone(),
        tenant_id: None,
        role: None,
        created_by: format!("user:{}", user.email),
        created_at: now,
        expires_at: now + CODE_MINUTES as i64 * 60_000,
        used_at: None,
        revoked_at: None,
    };
    ops.inner.store.insert_token(&row).await?;
    let letter = crate::service::mail::letters::code(&code, CODE_MINUTES);
    super::members::mail_or_show(ops, &user.email, letter, &row.id, None).await?;
    Ok(())
}

async fn spend_code(ops: &Ops, user: &UserRow, code: &str) -> OpResult<bool> {
    if code.trim().len() != 6 {
        return Ok(false);
    }
    Ok(ops.inner.store.use_token(&code_hash(&user.id, code), TokenKind::EmailCode, now_ms()).await?.is_some())
}

/// Begins sign-in codes by email: a code is mailed, to confirm the address receives them.
pub async fn begin_email(ops: &Ops, who: &Principal) -> OpResult<()> {
    let user = user(ops, who).await?;
    mail_code(ops, &user).await
}

/// Confirms sign-in codes by email with the mailed code: from now on sign-in needs one (or
/// the authenticator app, if that is on too).
pub async fn confirm_email(ops: &Ops, who: &Principal, code: &str) -> OpResult<()> {
    let user = user(ops, who).await?;
    if !spend_code(ops, &user, code).await? {
        return Err(ApiError::unprocessable("bad-code", "the code is wrong, used or expired"));
    }
    ops.inner.store.set_email_2fa(&user.id, true).await?;
    security_event(ops, who, None, "2fa-enrolled", &user.email, "email codes".into()).await
}

/// Turns sign-in codes by email off; needs the password again.
pub async fn remove_email(ops: &Ops, who: &Principal, current_password: &str) -> OpResult<()> {
    let user = user(ops, who).await?;
    let good = super::accounts::password_matches(current_password, user.password_hash.as_deref()).await?;
    if !good {
        return Err(ApiError::forbidden_code("bad-password", "the password is wrong"));
    }
    ops.inner.store.set_email_2fa(&user.id, false).await?;
    security_event(ops, who, None, "2fa-removed", &user.email, "email codes".into()).await
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

/// The second factors a sign-in may carry.
#[derive(Debug, Default)]
pub struct Factors<'a> {
    /// From the authenticator app.
    pub totp: Option<&'a str>,
    /// One of the recovery codes.
    pub recovery: Option<&'a str>,
    /// A code that was emailed.
    pub email: Option<&'a str>,
}

/// Checks the second factor of an enrolled person, spending it: an emailed code, a TOTP code
/// or a recovery code.
pub async fn second_factor(ops: &Ops, user: &UserRow, given: Factors<'_>) -> OpResult<Factor> {
    let store = &ops.inner.store;
    if user.totp_secret.is_none() && user.email_2fa == 0 {
        return Ok(Factor::Good);
    }
    if let Some(code) = given.email.filter(|c| !c.trim().is_empty()) {
        return Ok(if user.email_2fa == 1 && spend_code(ops, user, code).await? {
            Factor::Good
        } else {
            Factor::Wrong
        });
    }
    let (code, recovery) = (given.totp, given.recovery);
    if let Some(code) = code.filter(|c| !c.trim().is_empty()) {
        let Some(sealed) = user.totp_secret.as_deref() else { return Ok(Factor::Wrong) };
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
