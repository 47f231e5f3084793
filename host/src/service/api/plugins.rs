//! Plugin versions: upload (validated and compiled once), approve a grant, activate, roll back.

use super::api_time;
use super::extract::{Json, Path};
use super::tenants::visible_tenant;
use crate::runtime::LoadError;
use crate::service::auth::{Caller, Need};
use crate::service::{ApiError, ApiResult, AppState, now_ms};
use crate::store::{Activation, PluginVersion, Uploaded};
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portico_model::{Grant, Manifest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A plugin version.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    /// `sha256:<hex>` of the component.
    pub digest: String,
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// Component size.
    pub size: i64,
    /// The manifest (TOML).
    pub manifest: String,
    /// What the manifest asks for.
    #[schema(value_type = Object)]
    pub requested_grant: serde_json::Value,
    /// What the tenant approved (absent until approved).
    #[schema(value_type = Option<Object>)]
    pub approved_grant: Option<serde_json::Value>,
    /// The Salesforce permissions the integration user needs (object CRUD and fields).
    #[schema(value_type = Vec<Object>)]
    pub salesforce_permissions: serde_json::Value,
    /// Whether this is the active version.
    pub active: bool,
    /// RFC 3339, UTC.
    pub uploaded_at: String,
    /// RFC 3339, UTC.
    pub approved_at: Option<String>,
}

/// A stored version as shown; its manifest and grant were checked when stored, so one that no
/// longer parses is a fault, not an empty grant.
fn view(v: PluginVersion, active: Option<&str>) -> ApiResult<VersionView> {
    let corrupt =
        |what: &str, e: &dyn std::fmt::Display| ApiError::internal(format!("stored {what} of {}: {e}", v.digest));
    let manifest = Manifest::from_toml(&v.manifest).map_err(|e| corrupt("manifest", &e))?;
    let approved_grant = match v.approved_grant.as_deref() {
        Some(g) => Some(serde_json::from_str(g).map_err(|e| corrupt("grant", &e))?),
        None => None,
    };
    Ok(VersionView {
        active: active == Some(v.digest.as_str()),
        requested_grant: serde_json::to_value(&manifest.objects).map_err(|e| corrupt("manifest", &e))?,
        salesforce_permissions: serde_json::to_value(manifest.permissions()).map_err(|e| corrupt("manifest", &e))?,
        approved_grant,
        digest: v.digest,
        name: v.name,
        version: v.version,
        size: v.size,
        manifest: v.manifest,
        uploaded_at: api_time(v.uploaded_at),
        approved_at: v.approved_at.map(api_time),
    })
}

/// A component's bytes, as the body of an upload (documentation only: the handler reads raw bytes).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ComponentBytes(pub Vec<u8>);

/// Uploads a component (the raw `.wasm` as the body, whatever its `Content-Type`). It is
/// validated — a component of the `portico:mapper` world, importing only what the host offers,
/// with a valid manifest, within the size limit — and compiled once; the same bytes again
/// return the existing version.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/plugins", tag = "plugins", operation_id = "upload_plugin",
    request_body(content((ComponentBytes = "application/wasm"), (ComponentBytes = "application/octet-stream"))),
    params(("tenant" = String, Path)),
    responses((status = 201, body = VersionView), (status = 200, body = VersionView, description = "already uploaded"),
        (status = 413, body = crate::service::ErrorBody, description = "larger than `runtime.limits.component_bytes`"),
        (status = 422, body = crate::service::ErrorBody, description = "not a valid plugin component")))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let tenant = visible_tenant(&state, &caller, &id, Need::Admin).await?;
    let limit = state.inner.config.runtime.limits.component_bytes;
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!("components are limited to {limit} bytes"),
            )
        } else {
            ApiError::bad_request("bad-body", e.body_text())
        }
    })?;
    let runtime = state.inner.runtime.clone();
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
    let uploaded = state
        .inner
        .store
        .insert_plugin_version(&id, &plugin.digest, &m.name, &m.version, &plugin.manifest_text, &bytes, now_ms())
        .await?;
    let version = state
        .inner
        .store
        .plugin_version(&id, &plugin.digest)
        .await?
        .ok_or_else(|| ApiError::internal("the version vanished"))?;
    tracing::info!(tenant = %id, digest = %plugin.digest, plugin = %m.name, new = uploaded == Uploaded::New, "plugin uploaded");
    let status = if uploaded == Uploaded::New { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(view(version, tenant.active_digest.as_deref())?)).into_response())
}

/// The tenant's plugin versions, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/plugins", tag = "plugins", operation_id = "list_plugins",
    params(("tenant" = String, Path)), responses((status = 200, body = Vec<VersionView>)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<VersionView>>> {
    let tenant = visible_tenant(&state, &caller, &id, Need::Read).await?;
    let versions = state.inner.store.plugin_versions(&id).await?;
    Ok(Json(versions.into_iter().map(|v| view(v, tenant.active_digest.as_deref())).collect::<ApiResult<_>>()?))
}

/// One version.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/plugins/{digest}", tag = "plugins", operation_id = "get_plugin",
    params(("tenant" = String, Path), ("digest" = String, Path)), responses((status = 200, body = VersionView)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, digest)): Path<(String, String)>,
) -> ApiResult<Json<VersionView>> {
    let tenant = visible_tenant(&state, &caller, &id, Need::Read).await?;
    let version = found(&state, &id, &digest).await?;
    Ok(Json(view(version, tenant.active_digest.as_deref())?))
}

async fn found(state: &AppState, tenant: &str, digest: &str) -> ApiResult<PluginVersion> {
    state
        .inner
        .store
        .plugin_version(tenant, digest)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("tenant `{tenant}` has no plugin version `{digest}`")))
}

/// An approval: the grant the tenant allows, at most what the manifest asks.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Per sObject: operations and read/write fields. Absent: exactly what the manifest asks.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub grant: Option<Grant>,
}

/// Approves a version with the manifest's grant or a narrower one.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/plugins/{digest}/approve", tag = "plugins", operation_id = "approve_plugin",
    request_body(content = Option<Approval>, description = "optional: without a body, the manifest's grant"),
    params(("tenant" = String, Path), ("digest" = String, Path)),
    responses((status = 200, body = VersionView), (status = 422, body = crate::service::ErrorBody, description = "wider than requested")))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, digest)): Path<(String, String)>,
    body: Option<Json<Approval>>,
) -> ApiResult<Json<VersionView>> {
    let tenant = visible_tenant(&state, &caller, &id, Need::Admin).await?;
    let version = found(&state, &id, &digest).await?;
    let manifest = Manifest::from_toml(&version.manifest).map_err(ApiError::internal)?;
    let grant = body.and_then(|Json(a)| a.grant).unwrap_or_else(|| manifest.objects.clone());
    let excess = grant.excess_over(&manifest.objects);
    if !excess.is_empty() {
        return Err(ApiError::unprocessable(
            "grant-exceeds-request",
            format!("the grant goes beyond what the plugin's manifest requests: {}", excess.join("; ")),
        ));
    }
    let json = serde_json::to_string(&grant).map_err(ApiError::internal)?;
    state.inner.store.approve_plugin(&id, &digest, &json, now_ms()).await?;
    tracing::info!(tenant = %id, %digest, by = %caller.key, "plugin version approved");
    Ok(Json(view(found(&state, &id, &digest).await?, tenant.active_digest.as_deref())?))
}

/// What an activation did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Activated {
    /// The active version now.
    pub active_digest: String,
    /// The version it replaced.
    pub previous_digest: Option<String>,
}

/// Makes an approved version active: jobs claimed from now on run it. Rolling back is
/// activating an earlier version (or `POST …/plugins/rollback`).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/plugins/{digest}/activate", tag = "plugins", operation_id = "activate_plugin",
    params(("tenant" = String, Path), ("digest" = String, Path)),
    responses((status = 200, body = Activated), (status = 409, body = crate::service::ErrorBody, description = "not approved")))]
pub async fn activate(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, digest)): Path<(String, String)>,
) -> ApiResult<Json<Activated>> {
    visible_tenant(&state, &caller, &id, Need::Admin).await?;
    activate_version(&state, &caller, &id, &digest).await
}

async fn activate_version(state: &AppState, caller: &Caller, id: &str, digest: &str) -> ApiResult<Json<Activated>> {
    let version = found(state, id, digest).await?;
    if version.approved_grant.is_none() {
        return Err(ApiError::conflict(
            "not-approved",
            format!("plugin version {digest} is not approved; approve its grant first"),
        ));
    }
    let previous = state.inner.store.activate_plugin(id, digest, now_ms()).await?;
    tracing::info!(tenant = %id, %digest, previous = ?previous, by = %caller.key, "plugin version activated");
    Ok(Json(Activated { active_digest: digest.to_owned(), previous_digest: previous }))
}

/// Re-activates the version that was active before the current one.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/plugins/rollback", tag = "plugins", operation_id = "roll_back_plugin",
    params(("tenant" = String, Path)),
    responses((status = 200, body = Activated), (status = 409, body = crate::service::ErrorBody, description = "nothing to roll back to")))]
pub async fn rollback(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Activated>> {
    let tenant = visible_tenant(&state, &caller, &id, Need::Admin).await?;
    let history = state.inner.store.activations(&id).await?;
    let previous = history
        .iter()
        .find(|a| Some(&a.digest) == tenant.active_digest.as_ref())
        .and_then(|a| a.previous_digest.clone())
        .ok_or_else(|| {
            ApiError::conflict("no-previous-version", "there is no earlier active version to roll back to")
        })?;
    activate_version(&state, &caller, &id, &previous).await
}

/// One activation of the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivationView {
    /// The version activated.
    pub digest: String,
    /// The version it replaced.
    pub previous_digest: Option<String>,
    /// RFC 3339, UTC.
    pub activated_at: String,
}

impl From<Activation> for ActivationView {
    fn from(a: Activation) -> ActivationView {
        ActivationView { digest: a.digest, previous_digest: a.previous_digest, activated_at: api_time(a.activated_at) }
    }
}

/// The activation history, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/plugins/activations", tag = "plugins", operation_id = "list_activations",
    params(("tenant" = String, Path)), responses((status = 200, body = Vec<ActivationView>)))]
pub async fn activations(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ActivationView>>> {
    visible_tenant(&state, &caller, &id, Need::Read).await?;
    Ok(Json(state.inner.store.activations(&id).await?.into_iter().map(ActivationView::from).collect()))
}
