//! Plugin versions: upload (validated and compiled once), approve a grant, activate, roll back.

use super::api_time;
use super::extract::{Json, Path};
use crate::service::ops::{self, Principal};
use crate::service::{ApiError, ApiResult, AppState};
use crate::store::{Activation, Uploaded};
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ops::plugins::Version;
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
fn view(Version { version: v, active }: Version) -> ApiResult<VersionView> {
    let active = active.as_deref();
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
    who: Principal,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
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
    let (version, uploaded) = ops::plugins::upload(&state, &who, &id, bytes).await?;
    let status = if uploaded == Uploaded::New { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(view(version)?)).into_response())
}

/// The tenant's plugin versions, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/plugins", tag = "plugins", operation_id = "list_plugins",
    params(("tenant" = String, Path)), responses((status = 200, body = Vec<VersionView>)))]
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<VersionView>>> {
    Ok(Json(ops::plugins::list(&state, &who, &id).await?.into_iter().map(view).collect::<ApiResult<_>>()?))
}

/// One version.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/plugins/{digest}", tag = "plugins", operation_id = "get_plugin",
    params(("tenant" = String, Path), ("digest" = String, Path)), responses((status = 200, body = VersionView)))]
pub async fn get(
    State(state): State<AppState>,
    who: Principal,
    Path((id, digest)): Path<(String, String)>,
) -> ApiResult<Json<VersionView>> {
    Ok(Json(view(ops::plugins::get(&state, &who, &id, &digest).await?)?))
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
    who: Principal,
    Path((id, digest)): Path<(String, String)>,
    body: Option<Json<Approval>>,
) -> ApiResult<Json<VersionView>> {
    let grant = body.and_then(|Json(a)| a.grant);
    Ok(Json(view(ops::plugins::approve(&state, &who, &id, &digest, grant).await?)?))
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
    who: Principal,
    Path((id, digest)): Path<(String, String)>,
) -> ApiResult<Json<Activated>> {
    Ok(Json(ops::plugins::activate(&state, &who, &id, &digest).await?.into()))
}

impl From<ops::plugins::Activated> for Activated {
    fn from(a: ops::plugins::Activated) -> Activated {
        Activated { active_digest: a.active, previous_digest: a.previous }
    }
}

/// Re-activates the version that was active before the current one.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/plugins/rollback", tag = "plugins", operation_id = "roll_back_plugin",
    params(("tenant" = String, Path)),
    responses((status = 200, body = Activated), (status = 409, body = crate::service::ErrorBody, description = "nothing to roll back to")))]
pub async fn rollback(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Activated>> {
    Ok(Json(ops::plugins::roll_back(&state, &who, &id).await?.into()))
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
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ActivationView>>> {
    Ok(Json(ops::plugins::activations(&state, &who, &id).await?.into_iter().map(ActivationView::from).collect()))
}
