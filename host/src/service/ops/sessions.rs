//! Signing in and out, and a person's sessions.
//!
//! A failed sign-in counts against the account (the email named, whether or not it exists) and
//! against the address, in the database so every replica sees it; too many lock both out for a
//! while with a message that says nothing about whether the account exists.

use super::{Actor, OpResult, Ops, Principal, principal_load, security_event};
use crate::service::accounts::{self, SessionLimit};
use crate::service::{ApiError, now_ms};
use crate::store::{LockoutPolicy, SessionRow, UserRow};
use axum::http::StatusCode;
use std::net::IpAddr;

/// What a person signs in with. `Debug` shows only the email.
#[derive(Default)]
pub struct Credentials {
    /// Their email.
    pub email: String,
    /// Their password.
    pub password: String,
    /// A TOTP code, when they enrolled.
    pub totp_code: Option<String>,
    /// Or one of their recovery codes.
    pub recovery_code: Option<String>,
    /// Or the code that was emailed to them.
    pub email_code: Option<String>,
    /// A new password, when the tenant's policy says the current one expired.
    pub new_password: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("email", &self.email).finish_non_exhaustive()
    }
}

/// A new session: the cookie's token is shown this once. `Debug` shows only the session id.
pub struct SignedIn {
    /// The session.
    pub session: SessionRow,
    /// The cookie's value.
    pub token: String,
    /// Who.
    pub user: UserRow,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn").field("session", &self.session.id).finish_non_exhaustive()
    }
}

fn login_policy(ops: &Ops) -> LockoutPolicy {
    let a = &ops.inner.config.accounts;
    let minutes = a.lockout_minutes.max(1) as i64 * 60_000;
    LockoutPolicy { max_failures: i64::from(a.max_login_failures.max(1)), window_ms: minutes, lockout_ms: minutes }
}

fn refused() -> ApiError {
    ApiError::unauthorized("bad-credentials", "the email or password is wrong")
}

fn locked(until: i64, now: i64) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "locked-out",
        "too many failed sign-ins for this account or from this address; try again later",
    );
    e.retry_after = Some(((until - now) / 1000).max(1) as u64);
    e
}

/// The sign-in lockout keys of an account and an address.
pub(super) fn lockout_keys(email: &str, address: IpAddr) -> [String; 2] {
    [format!("login-account:{email}"), format!("login-address:{}", address.to_canonical())]
}

/// Refuses when the account or the address is locked out.
pub(super) async fn check_lockout(ops: &Ops, keys: &[String; 2]) -> OpResult<()> {
    let now = now_ms();
    for key in keys {
        if let Some(until) = ops.inner.store.locked_until(key, now).await? {
            return Err(locked(until, now));
        }
    }
    Ok(())
}

/// Counts a failed password (or second factor) against the account and the address.
pub(super) async fn count_failure(ops: &Ops, keys: &[String; 2]) -> OpResult<()> {
    for key in keys {
        ops.inner.store.count_auth_failure(key, login_policy(ops), now_ms()).await?;
    }
    Ok(())
}

/// Signs a person in: checks the lockouts, the password, the second factor and the password's
/// age, applies the concurrent-session policy, and opens a session.
pub async fn login(ops: &Ops, creds: Credentials, address: IpAddr, user_agent: &str) -> OpResult<SignedIn> {
    let store = &ops.inner.store;
    let now = now_ms();
    let email = accounts::normalise_email(&creds.email).unwrap_or_else(|| creds.email.chars().take(254).collect());
    let keys = lockout_keys(&email, address);
    check_lockout(ops, &keys).await?;
    let user = store.user_by_email(&email).await?.filter(|u| u.disabled_at.is_none());
    let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
    // Concurrent guesses all passed the check above; the lockout is checked again once this
    // one's turn at the (bounded) hashing pool came, so a burst gains at most that pool's size.
    let good = super::accounts::password_matches_checked(ops, &creds.password, stored, &keys).await?;
    let failed = |reason: &'static str| {
        let (keys, email) = (keys.clone(), email.clone());
        async move {
            count_failure(ops, &keys).await?;
            let who = Principal { address: Some(address), ..Principal::nobody(&email) };
            security_event(ops, &who, None, "login-failed", &email, reason.to_owned()).await
        }
    };
    let Some(user) = user.filter(|_| good) else {
        failed("wrong email or password").await?;
        return Err(refused());
    };
    if user.totp_secret.is_some() || user.email_2fa == 1 {
        let given = super::totp::Factors {
            totp: creds.totp_code.as_deref(),
            recovery: creds.recovery_code.as_deref(),
            email: creds.email_code.as_deref(),
        };
        match super::totp::second_factor(ops, &user, given).await? {
            super::totp::Factor::Missing if user.email_2fa == 1 && ops.inner.mailer.is_some() => {
                super::totp::mail_code(ops, &user).await?;
                return Err(ApiError::unauthorized(
                    "two-factor-required",
                    "a sign-in code was emailed to you: send it as `email_code` with the password",
                ));
            }
            super::totp::Factor::Missing => {
                return Err(ApiError::unauthorized(
                    "two-factor-required",
                    "send `totp_code` (from the authenticator app) or a `recovery_code` with the password",
                ));
            }
            super::totp::Factor::Wrong => {
                failed("wrong second factor").await?;
                return Err(ApiError::unauthorized("bad-second-factor", "the code is wrong, expired or already used"));
            }
            super::totp::Factor::Good => {}
        }
    }
    let user = expire_password(ops, user, creds.new_password.as_deref()).await?;
    let config = &ops.inner.config.accounts;
    let live = store.user_sessions(&user.id, config.idle_ms(), now).await?;
    let max = config.max_sessions.max(1);
    if live.len() >= max {
        if config.session_limit == SessionLimit::Refuse {
            return Err(ApiError::conflict(
                "too-many-sessions",
                format!("you have {} sessions open, the most allowed; sign out of one first", live.len()),
            ));
        }
        for old in &live[..=live.len() - max] {
            store.end_session(&user.id, &old.id, now).await?;
        }
    }
    let token = accounts::new_token();
    let session = SessionRow {
        id: accounts::new_id(),
        token_hash: accounts::token_hash(&token),
        user_id: user.id.clone(),
        csrf_token: accounts::new_token(),
        address: address.to_canonical().to_string(),
        user_agent: portico_model::text::clip(user_agent, 256).into_owned(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + config.absolute_ms(),
        ended_at: None,
    };
    store.insert_session(&session).await?;
    let who = principal_load::by_user(ops, &user, Some(address), Some(&session)).await?;
    security_event(ops, &who, None, "login", &user.email, format!("session {}", session.id)).await?;
    Ok(SignedIn { session, token, user })
}

/// When a tenant of the person's sets a password age and theirs is older, sign-in needs a new
/// one, which is set here.
async fn expire_password(ops: &Ops, user: UserRow, new_password: Option<&str>) -> OpResult<UserRow> {
    let store = &ops.inner.store;
    let mut max_age: Option<i64> = None;
    for m in store.memberships(&user.id).await? {
        if let Some(days) = store.tenant(&m.tenant_id).await?.and_then(|t| t.password_max_age_days) {
            max_age = Some(max_age.map_or(days, |d| d.min(days)));
        }
    }
    let changed = user.password_changed_at.unwrap_or(user.created_at);
    let Some(days) = max_age.filter(|d| changed + d * 86_400_000 < now_ms()) else { return Ok(user) };
    let Some(new) = new_password else {
        return Err(ApiError::forbidden_code(
            "password-expired",
            format!("your password is older than {days} days; sign in again with `new_password` to set a new one"),
        ));
    };
    super::accounts::store_password(ops, &user, new).await?;
    store.end_sessions(&user.id, None, now_ms()).await?;
    Ok(store.user(&user.id).await?.unwrap_or(user))
}

/// The person and session a session cookie stands for, if it is live. Its last use is noted
/// (to the minute) so the idle timeout counts from there.
pub async fn by_cookie(ops: &Ops, token: &str, address: IpAddr) -> OpResult<Option<(Principal, SessionRow)>> {
    let store = &ops.inner.store;
    let now = now_ms();
    let idle = ops.inner.config.accounts.idle_ms();
    let Some(session) = store.live_session(&accounts::token_hash(token), idle, now).await? else { return Ok(None) };
    let Some(user) = store.user(&session.user_id).await?.filter(|u| u.disabled_at.is_none()) else { return Ok(None) };
    if session.last_seen_at < now - 60_000 {
        store.touch_session(&session.id, now).await?;
    }
    let who = principal_load::by_user(ops, &user, Some(address), Some(&session)).await?;
    Ok(Some((who, session)))
}

/// The signed-in person's id; API keys and the operator have no account.
pub fn signed_in_user(who: &Principal) -> OpResult<&str> {
    match &who.actor {
        Actor::User { id, .. } => Ok(id),
        _ => Err(ApiError::forbidden_code("not-a-person", "only a signed-in person has sessions and an account")),
    }
}

/// Ends the session the request came by.
pub async fn logout(ops: &Ops, who: &Principal) -> OpResult<()> {
    let user = signed_in_user(who)?;
    if let Some(session) = &who.session {
        ops.inner.store.end_session(user, session, now_ms()).await?;
        security_event(ops, who, None, "logout", session, String::new()).await?;
    }
    Ok(())
}

/// The person's live sessions, oldest first.
pub async fn list(ops: &Ops, who: &Principal) -> OpResult<Vec<SessionRow>> {
    let user = signed_in_user(who)?;
    Ok(ops.inner.store.user_sessions(user, ops.inner.config.accounts.idle_ms(), now_ms()).await?)
}

/// Ends one of the person's sessions.
pub async fn revoke(ops: &Ops, who: &Principal, id: &str) -> OpResult<()> {
    let user = signed_in_user(who)?;
    if !ops.inner.store.end_session(user, id, now_ms()).await? {
        return Err(ApiError::not_found(format!("you have no live session `{id}`")));
    }
    security_event(ops, who, None, "session-revoked", id, String::new()).await
}
