//! Plugin versions: upload (validated and compiled once), approve a grant, activate, roll back.

use super::tenants::open;
use super::{OpResult, Ops, Permission, Principal, security_event};
use crate::runtime::LoadError;
use crate::service::{ApiError, now_ms};
use crate::store::{Activation, PluginVersion, Uploaded};
use axum::body::Bytes;
use axum::http::StatusCode;
use portico_model::{Grant, Manifest};

/// A version and whether it is the active one.
#[derive(Debug)]
pub struct Version {
    /// The stored version.
    pub version: PluginVersion,
    /// The tenant's active digest.
    pub active: Option<String>,
}

/// Uploads a component; answers whether it is new.
pub async fn upload(ops: &Ops, who: &Principal, tenant: &str, bytes: Bytes) -> OpResult<(Version, Uploaded)> {
    let t = open(ops, who, tenant, Permission::PluginsUpload, "upload-plugin").await?;
    let runtime = ops.inner.runtime.clone();
    let loaded = tokio::task::spawn_blocking(move || runtime.load(&bytes).map(|p| (p, bytes)))
        .await
        .map_err(ApiError::internal)?;
    let (plugin, bytes) = loaded.map_err(|e| match e {
        LoadError::TooLarge { .. } => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", e.to_string()),
        LoadError::ForbiddenImports(_) => ApiError::unprocessable("forbidden-imports", e.to_string()),
        _ => ApiError::unprocessable("invalid-plugin", e.to_string()),
    })?;
    let m = &plugin.manifest.plugin;
    // TOML may spell U+0000 as an escape; no stored text may hold it (PostgreSQL cannot).
    if m.name.contains('\0') || m.version.contains('\0') {
        return Err(ApiError::unprocessable("invalid-plugin", "the manifest's plugin name or version holds U+0000"));
    }
    let store = &ops.inner.store;
    let uploaded = store
        .insert_plugin_version(tenant, &plugin.digest, &m.name, &m.version, &plugin.manifest_text, &bytes, now_ms())
        .await?;
    let version = found(ops, tenant, &plugin.digest).await?;
    tracing::info!(tenant, digest = %plugin.digest, plugin = %m.name, new = uploaded == Uploaded::New, by = %who.actor.label(), "plugin uploaded");
    Ok((Version { version, active: t.active_digest }, uploaded))
}

/// The tenant's versions.
pub async fn list(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<Vec<Version>> {
    let t = open(ops, who, tenant, Permission::PluginsView, "list-plugins").await?;
    let versions = ops.inner.store.plugin_versions(tenant).await?;
    Ok(versions.into_iter().map(|version| Version { version, active: t.active_digest.clone() }).collect())
}

/// One version.
pub async fn get(ops: &Ops, who: &Principal, tenant: &str, digest: &str) -> OpResult<Version> {
    let t = open(ops, who, tenant, Permission::PluginsView, "view-plugin").await?;
    Ok(Version { version: found(ops, tenant, digest).await?, active: t.active_digest })
}

async fn found(ops: &Ops, tenant: &str, digest: &str) -> OpResult<PluginVersion> {
    ops.inner
        .store
        .plugin_version(tenant, digest)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("tenant `{tenant}` has no plugin version `{digest}`")))
}

/// Approves a version's grant: the manifest's request, or a narrower one.
pub async fn approve(
    ops: &Ops,
    who: &Principal,
    tenant: &str,
    digest: &str,
    grant: Option<Grant>,
) -> OpResult<Version> {
    let t = open(ops, who, tenant, Permission::PluginsApprove, "approve-plugin").await?;
    let version = found(ops, tenant, digest).await?;
    let manifest = Manifest::from_toml(&version.manifest).map_err(ApiError::internal)?;
    let grant = grant.unwrap_or_else(|| manifest.objects.clone());
    let excess = grant.excess_over(&manifest.objects);
    if !excess.is_empty() && !manifest.grant_may_exceed_request() {
        return Err(ApiError::unprocessable(
            "grant-exceeds-request",
            format!("the grant goes beyond what the plugin's manifest requests: {}", excess.join("; ")),
        ));
    }
    let json = serde_json::to_string(&grant).map_err(ApiError::internal)?;
    ops.inner.store.approve_plugin(tenant, digest, &json, now_ms()).await?;
    ops.inner.contexts.invalidate(tenant);
    security_event(ops, who, Some(tenant), "plugin-approved", digest, json).await?;
    Ok(Version { version: found(ops, tenant, digest).await?, active: t.active_digest })
}

/// What an activation changed.
#[derive(Debug)]
pub struct Activated {
    /// Now active.
    pub active: String,
    /// Active before.
    pub previous: Option<String>,
}

/// Activates an approved version.
pub async fn activate(ops: &Ops, who: &Principal, tenant: &str, digest: &str) -> OpResult<Activated> {
    open(ops, who, tenant, Permission::PluginsActivate, "activate-plugin").await?;
    switch_to(ops, who, tenant, digest).await
}

/// Activates the version that was active before the current one.
pub async fn roll_back(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<Activated> {
    let t = open(ops, who, tenant, Permission::PluginsActivate, "roll-back-plugin").await?;
    let history = ops.inner.store.activations(tenant).await?;
    let previous = history
        .iter()
        .find(|a| Some(&a.digest) == t.active_digest.as_ref())
        .and_then(|a| a.previous_digest.clone())
        .ok_or_else(|| {
            ApiError::conflict("no-previous-version", "there is no earlier active version to roll back to")
        })?;
    switch_to(ops, who, tenant, &previous).await
}

async fn switch_to(ops: &Ops, who: &Principal, tenant: &str, digest: &str) -> OpResult<Activated> {
    let version = found(ops, tenant, digest).await?;
    if version.approved_grant.is_none() {
        return Err(ApiError::conflict(
            "not-approved",
            format!("plugin version {digest} is not approved; approve its grant first"),
        ));
    }
    let previous = ops.inner.store.activate_plugin(tenant, digest, now_ms()).await?;
    ops.inner.contexts.invalidate(tenant);
    let detail = previous.as_deref().map(|p| format!("after {p}")).unwrap_or_default();
    security_event(ops, who, Some(tenant), "plugin-activated", digest, detail).await?;
    let data = serde_json::json!({"digest": digest, "previous_digest": previous, "name": version.name, "version": version.version});
    crate::service::webhooks::emit_or_log(
        &ops.inner.store,
        tenant,
        crate::service::webhooks::Event::PluginActivated,
        data,
    )
    .await;
    Ok(Activated { active: digest.to_owned(), previous })
}

/// The tenant's activation history.
pub async fn activations(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<Vec<Activation>> {
    open(ops, who, tenant, Permission::PluginsView, "list-activations").await?;
    Ok(ops.inner.store.activations(tenant).await?)
}
