//! `[accounts]` settings: passwords, sessions, lockout and two-factor policy.

use serde::Deserialize;

/// What happens when a person signs in with as many live sessions as allowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionLimit {
    /// The oldest session ends.
    #[default]
    EndOldest,
    /// The new sign-in is refused until one ends.
    Refuse,
}

/// People's accounts.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountsConfig {
    /// Shortest password accepted (NIST SP 800-63B asks for at least 8; we default to 12).
    pub min_password_length: usize,
    /// A session unused this long ends, minutes.
    pub session_idle_minutes: u64,
    /// A session ends this long after sign-in whatever its use, hours.
    pub session_absolute_hours: u64,
    /// Live sessions per person.
    pub max_sessions: usize,
    /// What a sign-in beyond `max_sessions` does.
    pub session_limit: SessionLimit,
    /// How long an invitation link works, hours.
    pub invitation_hours: u64,
    /// How long a password reset link works, minutes.
    pub reset_minutes: u64,
    /// Failed sign-ins (per account, and separately per address) before a lockout.
    pub max_login_failures: u32,
    /// How long failed sign-ins are counted together and a lockout lasts, minutes.
    pub lockout_minutes: u64,
    /// Every person must enrol two-factor authentication (tenants may require it on their own).
    pub require_2fa: bool,
    /// The TOTP issuer shown in authenticator apps.
    pub totp_issuer: String,
    /// Mark the session cookie `Secure` (default: when `public_url` is https).
    pub secure_cookies: Option<bool>,
}

impl Default for AccountsConfig {
    fn default() -> AccountsConfig {
        AccountsConfig {
            min_password_length: 12,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            max_sessions: 5,
            session_limit: SessionLimit::EndOldest,
            invitation_hours: 72,
            reset_minutes: 60,
            max_login_failures: 5,
            lockout_minutes: 15,
            require_2fa: false,
            totp_issuer: "Portico".to_owned(),
            secure_cookies: None,
        }
    }
}

impl AccountsConfig {
    /// The idle timeout, ms.
    pub fn idle_ms(&self) -> i64 {
        self.session_idle_minutes.max(1) as i64 * 60_000
    }

    /// The absolute timeout, ms.
    pub fn absolute_ms(&self) -> i64 {
        self.session_absolute_hours.max(1) as i64 * 3_600_000
    }
}
