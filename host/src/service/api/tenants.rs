//! Tenants (platform admins), API keys and webhook secrets.

use super::extract::{Json, Path};
use super::{Created, api_time};
use crate::service::auth::{self, Caller, Need, Role};
use crate::service::{ApiError, ApiResult, AppState, now_ms};
use crate::store::{ApiKeyRow, Tenant};
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// 2–63 of `a-z 0-9 -`, starting with a letter or digit.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{1,62}$")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// At most this many of its jobs run at once per replica (at least 1).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub max_concurrency: Option<i32>,
}

/// A tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    /// Its id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The active plugin version.
    pub active_digest: Option<String>,
    /// Its concurrency limit.
    pub max_concurrency: Option<i32>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> TenantView {
        TenantView {
            id: t.id,
            name: t.name,
            active_digest: t.active_digest,
            max_concurrency: t.max_concurrency,
            created_at: api_time(t.created_at),
        }
    }
}

/// A created tenant with its first secrets, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantCreated {
    /// The tenant.
    pub tenant: TenantView,
    /// The webhook secret that signs its booking deliveries.
    pub webhook_secret: String,
    /// A tenant-admin API key.
    pub admin_key: String,
}

/// A new API key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// `tenant-admin` or `viewer`.
    pub role: Role,
    /// What it is for.
    #[serde(default)]
    pub label: String,
}

/// An API key (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// The public prefix.
    pub prefix: String,
    /// Its role.
    pub role: String,
    /// Its label.
    pub label: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// When revoked (RFC 3339, UTC).
    pub revoked_at: Option<String>,
}

impl From<ApiKeyRow> for KeyView {
    fn from(k: ApiKeyRow) -> KeyView {
        KeyView {
            prefix: k.prefix,
            role: k.role,
            label: k.label,
            created_at: api_time(k.created_at),
            revoked_at: k.revoked_at.map(api_time),
        }
    }
}

/// A created key, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyCreated {
    /// The key's public part.
    pub prefix: String,
    /// The whole key: `Authorization: Bearer <key>`.
    pub key: String,
}

/// A new webhook secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretRotated {
    /// The secret.
    pub webhook_secret: String,
}

/// A new random webhook secret.
pub fn new_webhook_secret() -> String {
    format!("whsec_{}", URL_SAFE_NO_PAD.encode(crate::service::random_bytes::<32>()))
}

fn valid_id(id: &str) -> bool {
    (2..=63).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

/// Loads a tenant the caller may see, or 404. An admin request may change what jobs and
/// deliveries see of the tenant, so it drops the tenant's cached context on this replica.
pub async fn visible_tenant(state: &AppState, caller: &Caller, id: &str, need: Need) -> ApiResult<Tenant> {
    caller.check(id, need)?;
    if need == Need::Admin {
        state.inner.contexts.invalidate(id);
    }
    state.inner.store.tenant(id).await?.ok_or_else(|| ApiError::not_found(format!("no tenant `{id}`")))
}

/// Creates a tenant with a webhook secret and a tenant-admin key.
#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", operation_id = "create_tenant", request_body = NewTenant,
    responses((status = 201, body = TenantCreated), (status = 409, body = crate::service::ErrorBody, description = "the id is taken"),
        (status = 422, body = crate::service::ErrorBody, description = "an id or concurrency limit out of bounds")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(new): Json<NewTenant>,
) -> ApiResult<Created<TenantCreated>> {
    caller.platform_admin()?;
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
    let inner = &state.inner;
    let secret = new_webhook_secret();
    let sealed = inner.keys.seal(&new.id, &secret);
    if !inner.store.create_tenant(&new.id, &new.name, &sealed, new.max_concurrency, now_ms()).await? {
        return Err(ApiError::conflict("tenant-exists", format!("tenant `{}` already exists", new.id)));
    }
    let key = auth::issue(Role::TenantAdmin, Some(&new.id), "created with the tenant");
    inner.store.insert_key(&key.row).await?;
    let tenant = inner.store.tenant(&new.id).await?.ok_or_else(|| ApiError::internal("tenant vanished"))?;
    tracing::info!(tenant = %new.id, by = %caller.key, "tenant created");
    Ok(Created(TenantCreated { tenant: tenant.into(), webhook_secret: secret, admin_key: key.key }))
}

/// Lists tenants: all for a platform admin, else the caller's own.
#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", operation_id = "list_tenants", responses((status = 200, body = Vec<TenantView>)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<TenantView>>> {
    let tenants = match (&caller.role, &caller.tenant) {
        (Role::PlatformAdmin, _) => state.inner.store.tenants().await?,
        (_, Some(own)) => state.inner.store.tenant(own).await?.into_iter().collect(),
        (_, None) => Vec::new(),
    };
    Ok(Json(tenants.into_iter().map(TenantView::from).collect()))
}

/// One tenant.
#[utoipa::path(get, path = "/v1/tenants/{tenant}", tag = "tenants", operation_id = "get_tenant",
    params(("tenant" = String, Path)), responses((status = 200, body = TenantView)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<TenantView>> {
    Ok(Json(visible_tenant(&state, &caller, &id, Need::Read).await?.into()))
}

/// Issues an API key for the tenant (shown once).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/keys", tag = "keys", operation_id = "create_key", request_body = NewKey,
    params(("tenant" = String, Path)), responses((status = 201, body = KeyCreated),
        (status = 422, body = crate::service::ErrorBody, description = "a platform-admin role")))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(new): Json<NewKey>,
) -> ApiResult<Created<KeyCreated>> {
    visible_tenant(&state, &caller, &id, Need::Admin).await?;
    if new.role == Role::PlatformAdmin {
        return Err(ApiError::unprocessable(
            "bad-role",
            "a tenant's keys are tenant-admin or viewer; platform admin keys come from `portico admin create-key`",
        ));
    }
    let key = auth::issue(new.role, Some(&id), &new.label);
    state.inner.store.insert_key(&key.row).await?;
    tracing::info!(tenant = %id, prefix = %key.row.prefix, role = new.role.as_str(), by = %caller.key, "API key issued");
    Ok(Created(KeyCreated { prefix: key.row.prefix, key: key.key }))
}

/// The tenant's keys (prefixes and roles only).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/keys", tag = "keys", operation_id = "list_keys",
    params(("tenant" = String, Path)), responses((status = 200, body = Vec<KeyView>)))]
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<KeyView>>> {
    visible_tenant(&state, &caller, &id, Need::Admin).await?;
    Ok(Json(state.inner.store.keys(Some(&id)).await?.into_iter().map(KeyView::from).collect()))
}

/// Revokes one of the tenant's keys at once.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/keys/{prefix}", tag = "keys", operation_id = "revoke_key",
    params(("tenant" = String, Path), ("prefix" = String, Path)),
    responses((status = 204), (status = 404, body = crate::service::ErrorBody, description = "no such tenant, or no live key with this prefix")))]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, prefix)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    visible_tenant(&state, &caller, &id, Need::Admin).await?;
    if !state.inner.store.revoke_key(Some(&id), &prefix, now_ms()).await? {
        return Err(ApiError::not_found(format!("tenant `{id}` has no live key `{prefix}`")));
    }
    tracing::info!(tenant = %id, %prefix, by = %caller.key, "API key revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the webhook secret (shown once); deliveries signed with the old one are refused.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/webhook-secret", tag = "tenants", operation_id = "rotate_webhook_secret",
    params(("tenant" = String, Path)), responses((status = 200, body = SecretRotated)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SecretRotated>> {
    visible_tenant(&state, &caller, &id, Need::Admin).await?;
    let secret = new_webhook_secret();
    state.inner.store.set_webhook_secret(&id, &state.inner.keys.seal(&id, &secret)).await?;
    tracing::info!(tenant = %id, by = %caller.key, "webhook secret rotated");
    Ok(Json(SecretRotated { webhook_secret: secret }))
}

/// The config values (all strings).
pub type ConfigValues = std::collections::BTreeMap<String, String>;

/// The tenant's plugin settings.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/config", tag = "plugins", operation_id = "get_config",
    params(("tenant" = String, Path)), responses((status = 200, body = std::collections::BTreeMap<String, String>)))]
pub async fn get_config(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ConfigValues>> {
    let tenant = visible_tenant(&state, &caller, &id, Need::Read).await?;
    Ok(Json(serde_json::from_str(&tenant.config).map_err(|e| ApiError::internal(format!("stored config: {e}")))?))
}

/// Replaces the tenant's plugin settings (a JSON object of strings).
#[utoipa::path(put, path = "/v1/tenants/{tenant}/config", tag = "plugins", operation_id = "put_config",
    request_body = std::collections::BTreeMap<String, String>,
    params(("tenant" = String, Path)), responses((status = 200, body = std::collections::BTreeMap<String, String>),
        (status = 422, body = crate::service::ErrorBody, description = "an empty or long key, or more than 64 KiB")))]
pub async fn put_config(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(values): Json<ConfigValues>,
) -> ApiResult<Json<ConfigValues>> {
    visible_tenant(&state, &caller, &id, Need::Admin).await?;
    if let Some(bad) = values.keys().find(|k| k.is_empty() || k.len() > 128) {
        return Err(ApiError::unprocessable("bad-config", format!("config key `{bad}` must be 1-128 characters")));
    }
    let json = serde_json::to_string(&values).map_err(ApiError::internal)?;
    if json.len() > 64 << 10 {
        return Err(ApiError::unprocessable("bad-config", "the config is larger than 64 KiB"));
    }
    state.inner.store.set_config(&id, &json).await?;
    tracing::info!(tenant = %id, keys = values.len(), by = %caller.key, "plugin config replaced");
    Ok(Json(values))
}

/// The tenant's sandbox limits in force (the service's defaults with its overrides).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/limits", tag = "tenants", operation_id = "get_limits",
    params(("tenant" = String, Path)), responses((status = 200, body = Object)))]
pub async fn get_limits(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<portico_model::Limits>> {
    let tenant = visible_tenant(&state, &caller, &id, Need::Read).await?;
    let defaults = state.inner.runtime.default_limits();
    let limits = crate::service::context::tenant_limits(&defaults, tenant.limits.as_deref())
        .map_err(|e| ApiError::internal(format!("stored limits: {e}")))?;
    Ok(Json(state.inner.runtime.clamp(limits)))
}

/// Sets the tenant's sandbox limits (platform admins only): a JSON object of the fields that
/// differ from the service's defaults (`{}` clears them). Memory cannot exceed the pool's slot.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/limits", tag = "tenants", operation_id = "put_limits", request_body = Object,
    params(("tenant" = String, Path)), responses((status = 200, body = Object), (status = 422, body = crate::service::ErrorBody)))]
pub async fn put_limits(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(overrides): Json<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Json<portico_model::Limits>> {
    caller.platform_admin()?;
    visible_tenant(&state, &caller, &id, Need::Admin).await?;
    let text = serde_json::Value::Object(overrides.clone()).to_string();
    let defaults = state.inner.runtime.default_limits();
    let limits = crate::service::context::tenant_limits(&defaults, Some(&text))
        .map_err(|e| ApiError::unprocessable("bad-limits", e))?;
    state.inner.store.set_limits(&id, (!overrides.is_empty()).then_some(text.as_str())).await?;
    tracing::info!(tenant = %id, by = %caller.key, "sandbox limits set");
    Ok(Json(state.inner.runtime.clamp(limits)))
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
