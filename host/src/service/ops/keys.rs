//! API keys: issued with a role (built-in or the tenant's own) and an optional expiry, listed
//! with their last use, revoked at once.
//!
//! A key is `pk_<prefix>_<secret>`: the prefix names it (and is safe to show and log), the
//! secret is 32 random bytes stored only as its SHA-256 — a random secret needs no slow hash —
//! and compared in constant time. Keys are shown once, at creation.

use super::{BuiltinRole, OpResult, Ops, Permission, Permissions, Principal, security_event};
use crate::service::{ApiError, now_ms};
use crate::store::{ApiKeyRow, Store};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A new key: the stored row and the whole key, to show once. `Debug` shows the prefix only.
pub struct IssuedKey {
    /// What is stored.
    pub row: ApiKeyRow,
    /// `pk_<prefix>_<secret>`.
    pub key: String,
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedKey").field("prefix", &self.row.prefix).finish_non_exhaustive()
    }
}

/// Makes a new key with `role` for `tenant` (a platform key with `None`).
pub fn issue(role: &str, tenant: Option<&str>, label: &str, expires_at: Option<i64>, by: &Principal) -> IssuedKey {
    let prefix = hex::encode(crate::service::random_bytes::<6>());
    let secret = URL_SAFE_NO_PAD.encode(crate::service::random_bytes::<32>());
    let row = ApiKeyRow {
        prefix: prefix.clone(),
        secret_hash: secret_hash(&secret),
        tenant_id: tenant.map(str::to_owned),
        role: role.to_owned(),
        label: label.to_owned(),
        created_at: now_ms(),
        revoked_at: None,
        expires_at,
        last_used_at: None,
        created_by: Some(by.actor.label()),
    };
    IssuedKey { row, key: format!("pk_{prefix}_{secret}") }
}

/// How a key's secret is stored.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Splits `pk_<prefix>_<secret>`.
pub fn parse_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("pk_")?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 12 && !secret.is_empty()).then_some((prefix, secret))
}

/// What the role named `role` allows in `tenant`: a built-in role, or one of the tenant's own.
pub async fn role_permissions(store: &Store, tenant: &str, role: &str) -> OpResult<Option<Permissions>> {
    if let Some(builtin) = BuiltinRole::parse(role) {
        return Ok((builtin != BuiltinRole::PlatformAdmin).then(|| builtin.permissions()));
    }
    let roles = store.roles(tenant).await?;
    Ok(roles.iter().find(|r| r.name == role).map(|r| parse_permissions(&r.permissions)))
}

/// A stored permission list (space-separated names; unknown names are dropped, never widened).
pub fn parse_permissions(stored: &str) -> Permissions {
    Permissions::of(&stored.split_whitespace().filter_map(Permission::parse).collect::<Vec<_>>())
}

/// Checks `who` may hand out `role` in `tenant`: it exists and grants nothing `who` does not
/// hold there. Returns what it allows.
pub async fn grantable(ops: &Ops, who: &Principal, tenant: &str, role: &str) -> OpResult<Permissions> {
    let Some(wanted) = role_permissions(&ops.inner.store, tenant, role).await? else {
        return Err(ApiError::unprocessable(
            "unknown-role",
            format!("tenant `{tenant}` has no role `{role}` (built-in: tenant-owner, tenant-admin, viewer)"),
        ));
    };
    within_reach(who, tenant, wanted, &format!("the role `{role}`"))?;
    Ok(wanted)
}

/// Refuses `wanted` (named `what`) when it holds a permission `who` lacks in `tenant`: no one
/// hands out more than they hold.
pub fn within_reach(who: &Principal, tenant: &str, wanted: Permissions, what: &str) -> OpResult<()> {
    let held = who.permissions_in(tenant);
    if held.covers(wanted) {
        return Ok(());
    }
    let missing: Vec<_> = wanted.list().into_iter().filter(|p| !held.has(*p)).map(Permission::as_str).collect();
    Err(ApiError::forbidden_code("escalation", format!("{what} holds permissions you do not: {}", missing.join(", "))))
}

/// A new key's settings.
#[derive(Debug)]
pub struct NewKey {
    /// Its role.
    pub role: String,
    /// What it is for.
    pub label: String,
    /// Days until it stops working (`None`: it does not expire).
    pub expires_in_days: Option<u32>,
}

/// Issues a key for the tenant; no one issues a key that can do more than they can.
pub async fn create(ops: &Ops, who: &Principal, tenant: &str, new: NewKey) -> OpResult<IssuedKey> {
    super::tenants::open(ops, who, tenant, Permission::KeysManage, "create-key").await?;
    grantable(ops, who, tenant, &new.role).await?;
    if new.label.chars().count() > 200 || new.label.contains('\0') {
        return Err(ApiError::unprocessable("bad-label", "a key's label is at most 200 characters"));
    }
    let expires_at = match new.expires_in_days {
        Some(0) | Some(3651..) => {
            return Err(ApiError::unprocessable("bad-expiry", "expires_in_days must be 1-3650 (or absent)"));
        }
        Some(days) => Some(now_ms() + i64::from(days) * 86_400_000),
        None => None,
    };
    let key = issue(&new.role, Some(tenant), &new.label, expires_at, who);
    ops.inner.store.insert_key(&key.row).await?;
    let detail = format!("role `{}`", new.role);
    security_event(ops, who, Some(tenant), "key-created", &key.row.prefix, detail).await?;
    Ok(key)
}

/// The tenant's keys.
pub async fn list(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<Vec<ApiKeyRow>> {
    super::tenants::open(ops, who, tenant, Permission::KeysManage, "list-keys").await?;
    Ok(ops.inner.store.keys(Some(tenant)).await?)
}

/// Revokes one of the tenant's keys at once.
pub async fn revoke(ops: &Ops, who: &Principal, tenant: &str, prefix: &str) -> OpResult<()> {
    super::tenants::open(ops, who, tenant, Permission::KeysManage, "revoke-key").await?;
    if !ops.inner.store.revoke_key(Some(tenant), prefix, now_ms()).await? {
        return Err(ApiError::not_found(format!("tenant `{tenant}` has no live key `{prefix}`")));
    }
    security_event(ops, who, Some(tenant), "key-revoked", prefix, String::new()).await
}

/// Issues a platform admin key (the operator, at the command line).
pub async fn create_platform_key(ops: &Ops, who: &Principal, label: &str) -> OpResult<IssuedKey> {
    who.require_platform(Permission::PlatformUsers)?;
    let key = issue(BuiltinRole::PlatformAdmin.as_str(), None, label, None, who);
    ops.inner.store.insert_key(&key.row).await?;
    security_event(ops, who, None, "key-created", &key.row.prefix, "platform-admin".into()).await?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_hash() {
        let issued = issue("viewer", Some("acme"), "dashboard", None, &Principal::operator());
        let (prefix, secret) = parse_key(&issued.key).unwrap();
        assert_eq!(prefix, issued.row.prefix);
        assert_eq!(secret_hash(secret), issued.row.secret_hash);
        assert!(!issued.row.secret_hash.contains(secret));
        assert!(parse_key("pk_short_x").is_none() && parse_key("Bearer").is_none());
        assert_eq!(
            parse_permissions("jobs:view nonsense audit:view"),
            Permissions::of(&[Permission::JobsView, Permission::AuditView])
        );
    }
}
