//! Tenants: create (platform staff, or a reseller for its children), list, settings, the
//! ingestion secret, sandbox limits and the security policy.

use super::{OpResult, Ops, Permission, Principal, enter, security_event};
use crate::service::{ApiError, now_ms};
use crate::store::Tenant;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::BTreeMap;

/// A new tenant.
#[derive(Debug)]
pub struct NewTenant {
    /// Its id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Its concurrency limit.
    pub max_concurrency: Option<i32>,
}

/// A created tenant and its first secrets, shown this once.
#[derive(Debug)]
pub struct CreatedTenant {
    /// The tenant.
    pub tenant: Tenant,
    /// The secret that signs its booking deliveries.
    pub webhook_secret: String,
    /// A tenant-owner API key (for a child tenant, only when its creator holds every tenant
    /// permission in the parent: nobody gets a key that can do more than they can).
    pub owner_key: Option<String>,
}

/// The plugin settings: a map of strings.
pub type ConfigValues = BTreeMap<String, String>;

/// Loads `tenant` once `who` holds `permission` there (`action` names it in the security log
/// when a reseller acts within a child). The one door every tenant operation goes through.
pub async fn open(ops: &Ops, who: &Principal, tenant: &str, permission: Permission, action: &str) -> OpResult<Tenant> {
    enter(ops, who, tenant, permission, action).await?;
    ops.inner.store.tenant(tenant).await?.ok_or_else(|| ApiError::not_found(format!("no tenant `{tenant}`")))
}

/// A tenant `who` can see (any permission there).
pub async fn get(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<Tenant> {
    if !who.sees(tenant) {
        return Err(ApiError::not_found(format!("no tenant `{tenant}`")));
    }
    ops.inner.store.tenant(tenant).await?.ok_or_else(|| ApiError::not_found(format!("no tenant `{tenant}`")))
}

/// The tenants `who` can see: every one for platform staff.
pub async fn list(ops: &Ops, who: &Principal) -> OpResult<Vec<Tenant>> {
    if who.platform.has(Permission::PlatformTenants) {
        return Ok(ops.inner.store.tenants().await?);
    }
    let mut tenants = Vec::new();
    for grant in &who.grants {
        tenants.extend(ops.inner.store.tenant(&grant.tenant).await?);
    }
    Ok(tenants)
}

/// Creates a tenant (platform staff).
pub async fn create(ops: &Ops, who: &Principal, new: NewTenant) -> OpResult<CreatedTenant> {
    who.require_platform(Permission::PlatformTenants)?;
    insert(ops, who, new, None).await
}

/// Creates a child tenant of `parent` (a reseller's customer).
pub async fn create_child(ops: &Ops, who: &Principal, parent: &str, new: NewTenant) -> OpResult<CreatedTenant> {
    let Tenant { parent_id, .. } = open(ops, who, parent, Permission::ChildrenManage, "create-child").await?;
    if parent_id.is_some() {
        return Err(ApiError::unprocessable(
            "nested-child",
            format!("`{parent}` is itself a child tenant; resellers have one level of children"),
        ));
    }
    insert(ops, who, new, Some(parent)).await
}

async fn insert(ops: &Ops, who: &Principal, new: NewTenant, parent: Option<&str>) -> OpResult<CreatedTenant> {
    if !valid_id(&new.id) {
        return Err(ApiError::unprocessable(
            "bad-tenant-id",
            format!("tenant id `{}` must be 2-63 of a-z 0-9 - and not start with -", new.id),
        ));
    }
    if let Some(n) = new.max_concurrency.filter(|n| *n < 1) {
        return Err(ApiError::unprocessable(
            "bad-concurrency",
            format!("max_concurrency is {n}; it must be 1 or more"),
        ));
    }
    let inner = &ops.inner;
    let secret = new_webhook_secret();
    let sealed = inner.keys.seal(&new.id, &secret);
    if !inner.store.create_tenant(&new.id, &new.name, &sealed, new.max_concurrency, parent, now_ms()).await? {
        return Err(ApiError::conflict("tenant-exists", format!("tenant `{}` already exists", new.id)));
    }
    let owner = super::BuiltinRole::TenantOwner;
    let may_hold = parent.is_none_or(|p| who.permissions_in(p).covers(owner.permissions()));
    let key = may_hold.then(|| super::keys::issue(owner.as_str(), Some(&new.id), "created with the tenant", None, who));
    if let Some(key) = &key {
        inner.store.insert_key(&key.row).await?;
    }
    let tenant = inner.store.tenant(&new.id).await?.ok_or_else(|| ApiError::internal("tenant vanished"))?;
    let detail = parent.map(|p| format!("child of `{p}`")).unwrap_or_default();
    security_event(ops, who, parent.or(Some(&new.id)), "tenant-created", &new.id, detail).await?;
    Ok(CreatedTenant { tenant, webhook_secret: secret, owner_key: key.map(|k| k.key) })
}

/// The child tenants of `parent`.
pub async fn children(ops: &Ops, who: &Principal, parent: &str) -> OpResult<Vec<Tenant>> {
    who.require(parent, Permission::ChildrenManage)?;
    let mut tenants = Vec::new();
    for (child, _) in ops.inner.store.children(&[parent.to_owned()]).await? {
        tenants.extend(ops.inner.store.tenant(&child).await?);
    }
    Ok(tenants)
}

/// A new random ingestion secret.
pub fn new_webhook_secret() -> String {
    format!("whsec_{}", URL_SAFE_NO_PAD.encode(crate::service::random_bytes::<32>()))
}

fn valid_id(id: &str) -> bool {
    (2..=63).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

/// Replaces the ingestion secret (shown once).
pub async fn rotate_webhook_secret(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<String> {
    open(ops, who, tenant, Permission::ConnectionManage, "rotate-webhook-secret").await?;
    let secret = new_webhook_secret();
    ops.inner.store.set_webhook_secret(tenant, &ops.inner.keys.seal(tenant, &secret)).await?;
    ops.inner.contexts.invalidate(tenant);
    security_event(ops, who, Some(tenant), "webhook-secret-rotated", tenant, String::new()).await?;
    Ok(secret)
}

/// The plugin settings.
pub async fn config(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<ConfigValues> {
    let t = open(ops, who, tenant, Permission::PluginsView, "view-config").await?;
    serde_json::from_str(&t.config).map_err(|e| ApiError::internal(format!("stored config: {e}")))
}

/// Replaces the plugin settings.
pub async fn set_config(ops: &Ops, who: &Principal, tenant: &str, values: ConfigValues) -> OpResult<ConfigValues> {
    save_config(ops, who, tenant, &values).await?;
    Ok(values)
}

/// Replaces the plugin settings; returns the configuration version it saved as.
pub async fn save_config(ops: &Ops, who: &Principal, tenant: &str, values: &ConfigValues) -> OpResult<i64> {
    open(ops, who, tenant, Permission::MappingsEdit, "edit-config").await?;
    if let Some(bad) = values.keys().find(|k| k.is_empty() || k.len() > 128) {
        return Err(ApiError::unprocessable("bad-config", format!("config key `{bad}` must be 1-128 characters")));
    }
    let json = serde_json::to_string(values).map_err(ApiError::internal)?;
    if json.len() > 64 << 10 {
        return Err(ApiError::unprocessable("bad-config", "the config is larger than 64 KiB"));
    }
    let version = ops
        .inner
        .store
        .set_config(tenant, &json, &who.actor.label(), now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no tenant `{tenant}`")))?;
    ops.inner.contexts.invalidate(tenant);
    tracing::info!(tenant, keys = values.len(), version, by = %who.actor.label(), "plugin config replaced");
    Ok(version)
}

/// The sandbox limits in force.
pub async fn limits(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<portico_model::Limits> {
    let t = open(ops, who, tenant, Permission::PluginsView, "view-limits").await?;
    let defaults = ops.inner.runtime.default_limits();
    let limits = crate::service::context::tenant_limits(&defaults, t.limits.as_deref())
        .map_err(|e| ApiError::internal(format!("stored limits: {e}")))?;
    Ok(ops.inner.runtime.clamp(limits))
}

/// Sets the sandbox limits that differ from the service's (platform staff).
pub async fn set_limits(
    ops: &Ops,
    who: &Principal,
    tenant: &str,
    overrides: serde_json::Map<String, serde_json::Value>,
) -> OpResult<portico_model::Limits> {
    who.require_platform(Permission::PlatformTenants)?;
    open(ops, who, tenant, Permission::PlatformTenants, "set-limits").await?;
    let text = serde_json::Value::Object(overrides.clone()).to_string();
    let defaults = ops.inner.runtime.default_limits();
    let limits = crate::service::context::tenant_limits(&defaults, Some(&text))
        .map_err(|e| ApiError::unprocessable("bad-limits", e))?;
    ops.inner.store.set_limits(tenant, (!overrides.is_empty()).then_some(text.as_str())).await?;
    ops.inner.contexts.invalidate(tenant);
    tracing::info!(tenant, by = %who.actor.label(), "sandbox limits set");
    Ok(ops.inner.runtime.clamp(limits))
}

/// A tenant's security policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecurityPolicy {
    /// Every member must use two-factor authentication.
    pub require_2fa: bool,
    /// Days a password stays valid (`None`: no expiry).
    pub password_max_age_days: Option<i64>,
}

/// Sets the tenant's security policy.
pub async fn set_security_policy(
    ops: &Ops,
    who: &Principal,
    tenant: &str,
    policy: SecurityPolicy,
) -> OpResult<SecurityPolicy> {
    open(ops, who, tenant, Permission::UsersManage, "set-security-policy").await?;
    if let Some(days) = policy.password_max_age_days.filter(|d| !(1..=3650).contains(d)) {
        return Err(ApiError::unprocessable("bad-policy", format!("password_max_age_days is {days}; use 1-3650")));
    }
    ops.inner.store.set_security_policy(tenant, policy.require_2fa, policy.password_max_age_days).await?;
    let detail = format!("require_2fa={} password_max_age_days={:?}", policy.require_2fa, policy.password_max_age_days);
    security_event(ops, who, Some(tenant), "security-policy-changed", tenant, detail).await?;
    Ok(policy)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tenant_ids() {
        assert!(super::valid_id("acme-42"));
        for bad in ["a", "-acme", "Acme", "ac me", "acme/../x"] {
            assert!(!super::valid_id(bad), "{bad}");
        }
    }
}

/// The service's state for platform staff: jobs per state across tenants, this replica's
/// workers, and the tenants that need attention.
#[derive(Debug)]
pub struct Health {
    /// Jobs waiting, running, failed and of unknown outcome, across every tenant.
    pub depth: crate::store::QueueDepth,
    /// Jobs this replica runs at once.
    pub workers: usize,
    /// Per tenant, at most.
    pub per_tenant: usize,
    /// The tenants with failed or outcome-unknown jobs, or Salesforce calls on this replica,
    /// most failures first (at most [`HEALTH_TENANTS`]).
    pub attention: Vec<TenantHealth>,
    /// Every tenant, by id (read once for both lists).
    pub all: Vec<Tenant>,
}

/// At most this many tenants are listed on the health page.
pub const HEALTH_TENANTS: usize = 50;

/// One tenant's share of the service's health.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TenantHealth {
    /// The tenant.
    pub tenant: String,
    /// Jobs failed, waiting for a replay.
    pub failed: i64,
    /// Jobs whose outcome is unknown, waiting for the tenant admin.
    pub unknown: i64,
    /// Salesforce API requests this replica made for it since it started.
    pub salesforce_calls: u64,
    /// The org's daily API requests left, as its last answer said.
    pub salesforce_remaining: Option<i64>,
    /// Since when it is suspended (Unix ms).
    pub suspended_at: Option<i64>,
}

/// The service's health (platform staff).
pub async fn health(ops: &Ops, who: &Principal) -> OpResult<Health> {
    who.require_platform(Permission::PlatformTenants)?;
    let inner = &ops.inner;
    let workers = &inner.config.workers;
    let mut rows: BTreeMap<String, TenantHealth> = BTreeMap::new();
    for (tenant, failed, unknown) in inner.store.failures_by_tenant(HEALTH_TENANTS as i64).await? {
        rows.insert(tenant.clone(), TenantHealth { tenant, failed, unknown, ..TenantHealth::default() });
    }
    let all = inner.store.tenants().await?;
    for t in &all {
        let labels = crate::service::metrics::TenantLabels { tenant: t.id.clone() };
        let calls = inner.metrics.salesforce_calls.get(&labels).map_or(0, |c| c.get());
        let remaining = inner.metrics.salesforce_remaining.get(&labels).map(|g| g.get());
        if calls > 0 || t.suspended_at.is_some() || rows.contains_key(&t.id) {
            let row = rows
                .entry(t.id.clone())
                .or_insert_with(|| TenantHealth { tenant: t.id.clone(), ..TenantHealth::default() });
            row.salesforce_calls = calls;
            row.salesforce_remaining = remaining;
            row.suspended_at = t.suspended_at;
        }
    }
    let mut attention: Vec<TenantHealth> = rows.into_values().collect();
    attention.sort_by_key(|t| std::cmp::Reverse((t.failed + t.unknown, t.salesforce_calls)));
    attention.truncate(HEALTH_TENANTS);
    Ok(Health {
        depth: inner.store.queue_depth(None).await?,
        workers: workers.concurrency,
        per_tenant: workers.per_tenant,
        attention,
        all,
    })
}

/// The longest suspension reason kept.
pub const SUSPENSION_REASON_MAX: usize = 500;

/// Suspends a tenant (platform staff): its deliveries are still accepted and queued, none of its
/// jobs runs until it is resumed, and its members see why. Suspending again changes the reason.
pub async fn suspend(ops: &Ops, who: &Principal, tenant: &str, reason: &str) -> OpResult<Tenant> {
    who.require_platform(Permission::PlatformTenants)?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > SUSPENSION_REASON_MAX || reason.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            "bad-reason",
            format!("say why the tenant is suspended: 1-{SUSPENSION_REASON_MAX} characters on one line"),
        ));
    }
    open(ops, who, tenant, Permission::PlatformTenants, "suspend").await?;
    ops.inner.store.set_suspension(tenant, Some((now_ms(), reason))).await?;
    security_event(ops, who, Some(tenant), "tenant-suspended", tenant, reason.to_owned()).await?;
    tracing::warn!(tenant, by = %who.actor.label(), reason, "tenant suspended");
    get(ops, who, tenant).await
}

/// Resumes a suspended tenant (platform staff): its waiting jobs run again.
pub async fn resume(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<Tenant> {
    who.require_platform(Permission::PlatformTenants)?;
    let t = open(ops, who, tenant, Permission::PlatformTenants, "resume").await?;
    if t.suspended_at.is_some() {
        ops.inner.store.set_suspension(tenant, None).await?;
        security_event(ops, who, Some(tenant), "tenant-resumed", tenant, String::new()).await?;
        tracing::info!(tenant, by = %who.actor.label(), "tenant resumed");
        ops.inner.wake.notify_waiters();
    }
    get(ops, who, tenant).await
}
