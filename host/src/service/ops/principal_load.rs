//! Building a [`Principal`] from what authenticated the request: an API key or a session.

use super::keys::{parse_key, role_permissions, secret_hash};
use super::{Actor, OpResult, Ops, Permission, Permissions, Principal, TenantGrant};
use crate::service::now_ms;
use crate::store::{SessionRow, UserRow};
use std::net::IpAddr;
use subtle::ConstantTimeEq;

/// The principal a presented API key stands for; `None` when the key is unknown, wrong,
/// revoked or expired (all alike to the caller).
pub async fn by_key(ops: &Ops, presented: &str, address: IpAddr) -> OpResult<Option<Principal>> {
    let Some((prefix, secret)) = parse_key(presented) else { return Ok(None) };
    let Some(row) = ops.inner.store.key(prefix).await? else { return Ok(None) };
    let now = now_ms();
    let matches: bool = secret_hash(secret).as_bytes().ct_eq(row.secret_hash.as_bytes()).into();
    if !matches || row.revoked_at.is_some() || row.expires_at.is_some_and(|at| at <= now) {
        return Ok(None);
    }
    // The last use is kept to the minute: most requests write nothing.
    if row.last_used_at.is_none_or(|at| at < now - 60_000) {
        ops.inner.store.touch_key(prefix, now).await?;
    }
    let (platform, grants) = match &row.tenant_id {
        None if row.role == super::BuiltinRole::PlatformAdmin.as_str() => (Permissions::all(), Vec::new()),
        None => (Permissions::NONE, Vec::new()),
        Some(tenant) => (Permissions::NONE, grants(ops, vec![(tenant.clone(), row.role.clone())], None).await?),
    };
    Ok(Some(Principal {
        actor: Actor::Key { prefix: row.prefix },
        address: Some(address),
        platform,
        platform_needs_2fa: false,
        grants,
        session: None,
    }))
}

/// The principal of a signed-in person.
pub async fn by_user(
    ops: &Ops,
    user: &UserRow,
    address: Option<IpAddr>,
    session: Option<&SessionRow>,
) -> OpResult<Principal> {
    let has_2fa = user.totp_secret.is_some() || user.email_2fa == 1;
    let memberships = ops.inner.store.memberships(&user.id).await?;
    let pairs = memberships.into_iter().map(|m| (m.tenant_id, m.role)).collect();
    let grants = grants(ops, pairs, Some(has_2fa)).await?;
    let staff = user.platform_admin == 1;
    let platform_needs_2fa = staff && !has_2fa && ops.inner.config.accounts.require_2fa;
    let platform = if staff && !platform_needs_2fa { Permissions::all() } else { Permissions::NONE };
    Ok(Principal {
        actor: Actor::User { id: user.id.clone(), email: user.email.clone() },
        address,
        platform,
        platform_needs_2fa,
        grants,
        session: session.map(|s| s.id.clone()),
    })
}

/// Grants for `(tenant, role)` pairs, and for the child tenants of those that hold
/// `children:manage` (acting from the parent, with the parent role's other permissions).
/// `has_2fa` is `None` for keys, which a second factor does not apply to.
async fn grants(ops: &Ops, pairs: Vec<(String, String)>, has_2fa: Option<bool>) -> OpResult<Vec<TenantGrant>> {
    let store = &ops.inner.store;
    let required_everywhere = ops.inner.config.accounts.require_2fa;
    let mut grants = Vec::new();
    for (tenant, role) in pairs {
        let (Some(permissions), Some(t)) =
            (role_permissions(store, &tenant, &role).await?, store.tenant(&tenant).await?)
        else {
            continue;
        };
        let needs_2fa = has_2fa == Some(false) && (required_everywhere || t.require_2fa == 1);
        grants.push(TenantGrant { tenant, role, permissions, via: None, needs_2fa });
    }
    let parents: Vec<String> =
        grants.iter().filter(|g| g.permissions.has(Permission::ChildrenManage)).map(|g| g.tenant.clone()).collect();
    for (child, parent) in store.children(&parents).await? {
        if grants.iter().any(|g| g.tenant == child) {
            continue;
        }
        let Some(from) = grants.iter().find(|g| g.tenant == parent).cloned() else { continue };
        let child_requires = store.tenant(&child).await?.is_some_and(|t| t.require_2fa == 1);
        let without = Permissions::of(&[Permission::ChildrenManage]);
        grants.push(TenantGrant {
            tenant: child,
            role: from.role,
            permissions: Permissions::of(
                &from.permissions.list().into_iter().filter(|p| !without.has(*p)).collect::<Vec<_>>(),
            ),
            via: Some(parent),
            needs_2fa: from.needs_2fa || (has_2fa == Some(false) && child_requires),
        });
    }
    Ok(grants)
}
