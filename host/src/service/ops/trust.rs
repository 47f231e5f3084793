//! The trust page's facts, from the tenant's real state: how each of Salesforce's four security
//! tiers is enforced, the connection and its OAuth scopes, the active grant with the Salesforce
//! permissions it needs, the egress addresses, and what is stored, how and for how long. Shared
//! outside the console by a link that expires.

use super::tenants::open;
use super::{OpResult, Ops, Permission, Principal, security_event};
use crate::service::{ApiError, now_ms};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portico_model::Grant;
use portico_model::manifest::ObjectPermission;

/// What the trust page shows.
#[derive(Debug)]
pub struct TrustReport {
    /// The tenant's id and name.
    pub tenant: (String, String),
    /// How the org is connected (`web-server`, `jwt-bearer`, `client-credentials`) and where.
    pub connection: Option<(String, String)>,
    /// The active plugin: name, version, digest.
    pub plugin: Option<(String, String, String)>,
    /// The approved grant of the active version.
    pub grant: Grant,
    /// The Salesforce permissions that grant needs.
    pub permissions: Vec<ObjectPermission>,
    /// Where requests to Salesforce come from.
    pub egress: Vec<String>,
    /// Days a finished job's booking is kept, days an audit row's values are kept.
    pub retention_days: (u32, u32),
    /// When a shared link stops working (Unix ms).
    pub expires_at: Option<i64>,
}

/// The report, for anyone who may see the tenant.
pub async fn report(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<TrustReport> {
    open(ops, who, tenant, Permission::PluginsView, "view-trust").await?;
    build(ops, tenant, None).await
}

async fn build(ops: &Ops, tenant_id: &str, expires_at: Option<i64>) -> OpResult<TrustReport> {
    let inner = &ops.inner;
    let t = inner.store.tenant(tenant_id).await?.ok_or_else(|| ApiError::not_found("no such tenant"))?;
    let connection = inner.store.connection(tenant_id).await?.map(|c| (c.kind, c.instance_url));
    let (mut plugin, mut grant) = (None, Grant::default());
    if let Some(digest) = &t.active_digest
        && let Some(v) = inner.store.plugin_version(tenant_id, digest).await?
    {
        grant = v.approved_grant.as_deref().and_then(|g| serde_json::from_str(g).ok()).unwrap_or_default();
        plugin = Some((v.name, v.version, v.digest));
    }
    let retention = &inner.config.retention;
    Ok(TrustReport {
        tenant: (t.id, t.name),
        connection,
        plugin,
        permissions: grant.permissions(),
        grant,
        egress: inner.config.console.egress_addresses.clone(),
        retention_days: (retention.job_days, retention.audit_days),
        expires_at,
    })
}

/// A link to the report for people without an account (the customer's security team), valid
/// for `days` (1–30). The token is sealed with the service's master key: it names the tenant
/// and the expiry, and cannot be forged or extended.
pub async fn share(ops: &Ops, who: &Principal, tenant: &str, days: u32) -> OpResult<(String, i64)> {
    open(ops, who, tenant, Permission::ConnectionManage, "share-trust").await?;
    if !(1..=30).contains(&days) {
        return Err(ApiError::unprocessable("bad-days", "a shared link lasts 1 to 30 days"));
    }
    let expires = now_ms() + i64::from(days) * 86_400_000;
    let sealed = ops.inner.keys.seal(&format!("trust:{tenant}"), &expires.to_string());
    let token = format!("{}.{}", URL_SAFE_NO_PAD.encode(tenant), URL_SAFE_NO_PAD.encode(sealed));
    security_event(ops, who, Some(tenant), "trust-page-shared", tenant, format!("{days} days")).await?;
    Ok((token, expires))
}

/// The report a shared link opens; `None` for a link that is forged or expired.
pub async fn shared(ops: &Ops, token: &str) -> OpResult<Option<TrustReport>> {
    let Some((tenant, sealed)) = token.split_once('.') else { return Ok(None) };
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).ok().and_then(|b| String::from_utf8(b).ok());
    let (Some(tenant), Some(sealed)) = (decode(tenant), decode(sealed)) else { return Ok(None) };
    let Ok(expires) = ops.inner.keys.open(&format!("trust:{tenant}"), &sealed) else { return Ok(None) };
    let Ok(expires) = expires.parse::<i64>() else { return Ok(None) };
    if expires < now_ms() {
        return Ok(None);
    }
    match build(ops, &tenant, Some(expires)).await {
        Ok(r) => Ok(Some(r)),
        Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => Ok(None),
        Err(e) => Err(e),
    }
}
