//! A person's own account: who they are, their password, accepting an invitation, using a
//! reset link; and creating accounts (platform staff and the operator).

use super::{OpResult, Ops, Permission, Principal, TenantGrant, principal_load, security_event};
use crate::service::accounts::{self, password};
use crate::service::{ApiError, now_ms};
use crate::store::{TokenKind, UserRow};

/// A person's view of themselves.
#[derive(Debug)]
pub struct Me {
    /// Their account.
    pub user: UserRow,
    /// What they may do where.
    pub grants: Vec<TenantGrant>,
    /// Platform staff.
    pub platform_admin: bool,
}

/// Who the signed-in person is and what they may do.
pub async fn me(ops: &Ops, who: &Principal) -> OpResult<Me> {
    let id = super::sessions::signed_in_user(who)?;
    let user = ops.inner.store.user(id).await?.ok_or_else(|| ApiError::not_found("your account is gone"))?;
    Ok(Me { platform_admin: user.platform_admin == 1, grants: who.grants.clone(), user })
}

/// Whether `given` is the password of `stored` (a PHC string; `None` spends the same time and
/// fails), checked on the blocking pool: Argon2id is slow by design.
pub(super) async fn password_matches(given: &str, stored: Option<&str>) -> OpResult<bool> {
    verify_in_turn(None, given, stored).await
}

/// [`password_matches`], checking the sign-in lockout `keys` again once its turn came.
pub(super) async fn password_matches_checked(
    ops: &Ops,
    given: &str,
    stored: Option<&str>,
    keys: &[String; 2],
) -> OpResult<bool> {
    verify_in_turn(Some((ops, keys)), given, stored).await
}

async fn verify_in_turn(lockout: Option<(&Ops, &[String; 2])>, given: &str, stored: Option<&str>) -> OpResult<bool> {
    let _turn = hashing_turn().await?;
    if let Some((ops, keys)) = lockout {
        super::sessions::check_lockout(ops, keys).await?;
    }
    let (given, stored) = (given.to_owned(), stored.map(str::to_owned));
    tokio::task::spawn_blocking(move || password::verify(&given, stored.as_deref())).await.map_err(ApiError::internal)
}

/// A turn at hashing: at most twice as many Argon2id runs at once as there are cores (each
/// holds 19 MiB), so a burst of sign-ins queues instead of exhausting memory.
async fn hashing_turn() -> OpResult<tokio::sync::SemaphorePermit<'static>> {
    static TURNS: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()) * 2)
    });
    TURNS.acquire().await.map_err(ApiError::internal)
}

/// Checks `new` against the policy, hashes it and stores it for `user`.
pub(super) async fn store_password(ops: &Ops, user: &UserRow, new: &str) -> OpResult<()> {
    password::check(new, &user.email, ops.inner.config.accounts.min_password_length)
        .map_err(|weak| ApiError::unprocessable("weak-password", weak.to_string()))?;
    let new = new.to_owned();
    let _turn = hashing_turn().await?;
    let hash = tokio::task::spawn_blocking(move || password::hash(&new))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    ops.inner.store.set_password(&user.id, &hash, now_ms()).await?;
    // A reset link issued before is void once the password changed.
    ops.inner.store.revoke_tokens(&user.email, TokenKind::Reset, now_ms()).await?;
    Ok(())
}

/// Changes the signed-in person's password (the current one is needed) and ends their other
/// sessions.
pub async fn change_password(ops: &Ops, who: &Principal, current: &str, new: &str) -> OpResult<()> {
    let me = me(ops, who).await?.user;
    let good = password_matches(current, me.password_hash.as_deref()).await?;
    if !good {
        return Err(ApiError::forbidden_code("bad-password", "the current password is wrong"));
    }
    store_password(ops, &me, new).await?;
    ops.inner.store.end_sessions(&me.id, who.session.as_deref(), now_ms()).await?;
    security_event(ops, who, None, "password-changed", &me.email, String::new()).await
}

/// Accepting an invitation. `Debug` shows neither field.
pub struct Acceptance {
    /// The link's token.
    pub token: String,
    /// The password to set (new accounts), or the account's password (existing ones).
    pub password: String,
}

impl std::fmt::Debug for Acceptance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Acceptance(..)")
    }
}

/// Accepts an invitation: a new account gets its password (which verifies the email: the link
/// reached it), an existing one proves it is theirs with their password; then they join the
/// tenant with the invited role. The link works once.
pub async fn accept_invitation(
    ops: &Ops,
    acceptance: Acceptance,
    address: std::net::IpAddr,
) -> OpResult<(UserRow, String)> {
    let store = &ops.inner.store;
    let hash = accounts::token_hash(&acceptance.token);
    let dead = || {
        ApiError::new(
            axum::http::StatusCode::GONE,
            "invitation-invalid",
            "this invitation link is unknown, used, withdrawn or expired",
        )
    };
    let invitation = store.peek_token(&hash, TokenKind::Invitation, now_ms()).await?.ok_or_else(dead)?;
    let existing = store.user_by_email(&invitation.email).await?;
    let user = match existing {
        Some(user) => {
            // The account's password is guessed here as at sign-in: the same lockouts hold.
            let keys = super::sessions::lockout_keys(&user.email, address);
            super::sessions::check_lockout(ops, &keys).await?;
            let good =
                password_matches_checked(ops, &acceptance.password, user.password_hash.as_deref(), &keys).await?;
            if !good {
                super::sessions::count_failure(ops, &keys).await?;
                return Err(ApiError::forbidden_code("bad-password", "this email has an account: give its password"));
            }
            user
        }
        None => {
            password::check(&acceptance.password, &invitation.email, ops.inner.config.accounts.min_password_length)
                .map_err(|weak| ApiError::unprocessable("weak-password", weak.to_string()))?;
            new_user(&invitation.email, false)
        }
    };
    // Spend the link only once everything else checked out: a weak password costs nothing.
    let invitation = store.use_token(&hash, TokenKind::Invitation, now_ms()).await?.ok_or_else(dead)?;
    if user.password_hash.is_none() {
        if !store.insert_user(&user).await? {
            return Err(ApiError::conflict(
                "account-created-meanwhile",
                "an account for this email was created at the same moment; ask for a new invitation",
            ));
        }
        store_password(ops, &user, &acceptance.password).await?;
    }
    let (Some(tenant), Some(role)) = (invitation.tenant_id.as_deref(), invitation.role.as_deref()) else {
        return Err(ApiError::internal("an invitation without a tenant or role"));
    };
    store.set_membership(&user.id, tenant, role, now_ms()).await?;
    let who = principal_load::by_user(ops, &user, None, None).await?;
    security_event(ops, &who, Some(tenant), "invitation-accepted", &invitation.id, format!("role `{role}`")).await?;
    Ok((user, tenant.to_owned()))
}

/// Sets a new password with a reset link; ends every session of the account.
pub async fn reset_password(ops: &Ops, token: &str, new: &str) -> OpResult<()> {
    let store = &ops.inner.store;
    let hash = accounts::token_hash(token);
    let dead =
        || ApiError::new(axum::http::StatusCode::GONE, "reset-invalid", "this reset link is unknown, used or expired");
    let reset = store.peek_token(&hash, TokenKind::Reset, now_ms()).await?.ok_or_else(dead)?;
    let user = store.user_by_email(&reset.email).await?.ok_or_else(dead)?;
    password::check(new, &user.email, ops.inner.config.accounts.min_password_length)
        .map_err(|weak| ApiError::unprocessable("weak-password", weak.to_string()))?;
    store.use_token(&hash, TokenKind::Reset, now_ms()).await?.ok_or_else(dead)?;
    store_password(ops, &user, new).await?;
    store.end_sessions(&user.id, None, now_ms()).await?;
    let who = principal_load::by_user(ops, &user, None, None).await?;
    security_event(ops, &who, reset.tenant_id.as_deref(), "password-reset", &user.email, String::new()).await
}

fn new_user(email: &str, platform_admin: bool) -> UserRow {
    UserRow {
        id: accounts::new_id(),
        email: email.to_owned(),
        password_hash: None,
        password_changed_at: None,
        platform_admin: i64::from(platform_admin),
        totp_secret: None,
        totp_pending: None,
        totp_last_step: None,
        recovery_codes: "[]".to_owned(),
        created_at: now_ms(),
        disabled_at: None,
        email_2fa: 0,
    }
}

/// Creates an account with a password (platform staff, or the operator for the first one).
pub async fn create_user(
    ops: &Ops,
    who: &Principal,
    email: &str,
    new_password: &str,
    platform_admin: bool,
) -> OpResult<UserRow> {
    who.require_platform(Permission::PlatformUsers)?;
    let email = accounts::normalise_email(email)
        .ok_or_else(|| ApiError::unprocessable("bad-email", format!("`{email}` is not an email address")))?;
    password::check(new_password, &email, ops.inner.config.accounts.min_password_length)
        .map_err(|weak| ApiError::unprocessable("weak-password", weak.to_string()))?;
    let user = new_user(&email, platform_admin);
    if !ops.inner.store.insert_user(&user).await? {
        return Err(ApiError::conflict("user-exists", format!("there is already an account for `{email}`")));
    }
    store_password(ops, &user, new_password).await?;
    let detail = if platform_admin { "platform admin" } else { "" };
    security_event(ops, who, None, "user-created", &email, detail.to_owned()).await?;
    Ok(user)
}

/// The account of `email` (normalised), or 404.
async fn account(ops: &Ops, email: &str) -> OpResult<(String, UserRow)> {
    let email = accounts::normalise_email(email).unwrap_or_default();
    let user = ops.inner.store.user_by_email(&email).await?;
    user.map(|u| (email.clone(), u)).ok_or_else(|| ApiError::not_found(format!("no account `{email}`")))
}

/// Sets an account's password directly (platform staff; `portico dev` and the operator).
pub async fn set_password(ops: &Ops, who: &Principal, email: &str, new_password: &str) -> OpResult<UserRow> {
    who.require_platform(Permission::PlatformUsers)?;
    let (email, user) = account(ops, email).await?;
    store_password(ops, &user, new_password).await?;
    ops.inner.store.end_sessions(&user.id, None, now_ms()).await?;
    security_event(ops, who, None, "password-set", &email, String::new()).await?;
    Ok(user)
}

/// Adds an existing account to a tenant with a role, without an invitation (platform staff).
pub async fn add_member(ops: &Ops, who: &Principal, tenant: &str, email: &str, role: &str) -> OpResult<()> {
    who.require_platform(Permission::PlatformUsers)?;
    super::keys::grantable(ops, who, tenant, role).await?;
    let (email, user) = account(ops, email).await?;
    ops.inner.store.set_membership(&user.id, tenant, role, now_ms()).await?;
    security_event(ops, who, Some(tenant), "member-added", &email, format!("role `{role}`")).await
}

/// "I forgot my password": when mail is set up and the account exists, a reset link goes to
/// it (at most three an hour per account). The answer is the same in every case, so it tells
/// nobody whether an account exists.
pub async fn forgot_password(ops: &Ops, email: &str, address: std::net::IpAddr) -> OpResult<()> {
    let (Some(_), Some(email)) = (&ops.inner.mailer, accounts::normalise_email(email)) else { return Ok(()) };
    // The answer leaves before any of the work, so its timing says nothing either.
    let ops = ops.clone();
    tokio::spawn(async move {
        if let Err(e) = mail_reset(&ops, email, address).await {
            tracing::warn!("forgot-password: {}", e.message);
        }
    });
    Ok(())
}

async fn mail_reset(ops: &Ops, email: String, address: std::net::IpAddr) -> OpResult<()> {
    let store = &ops.inner.store;
    let now = now_ms();
    let policy = crate::store::LockoutPolicy { max_failures: 3, window_ms: 3_600_000, lockout_ms: 3_600_000 };
    let key = format!("reset-mail:{email}");
    if store.locked_until(&key, now).await?.is_some() {
        return Ok(());
    }
    store.count_auth_failure(&key, policy, now).await?;
    let Some(user) = store.user_by_email(&email).await?.filter(|u| u.disabled_at.is_none()) else { return Ok(()) };
    let minutes = ops.inner.config.accounts.reset_minutes.max(1);
    let by = format!("self:{address}");
    let (row, token) =
        super::members::issue_token(ops, TokenKind::Reset, &email, None, None, by, minutes as i64 * 60_000).await?;
    let letter = crate::service::mail::letters::reset(&ops.inner.config.public_url, &token, minutes);
    // A mail server that refuses is logged, not told: the answer must not differ.
    let _ = super::members::mail_or_show(ops, &email, letter, &row.id, None).await;
    let who = Principal { address: Some(address), ..principal_load::by_user(ops, &user, None, None).await? };
    security_event(ops, &who, None, "password-reset-requested", &email, String::new()).await
}
