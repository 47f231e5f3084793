//! Tenants (platform staff and resellers), API keys, the ingestion secret, settings and limits.

use super::extract::{Json, Path};
use super::{Created, api_time};
use crate::service::ops::{self, Principal};
use crate::service::{ApiResult, AppState};
use crate::store::{ApiKeyRow, Tenant};
use axum::extract::State;
use axum::http::StatusCode;
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
    /// The reseller tenant it belongs to.
    pub parent: Option<String>,
    /// Every member must use two-factor authentication.
    pub require_2fa: bool,
    /// Days a member's password stays valid.
    pub password_max_age_days: Option<i64>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Since when the platform has suspended it (RFC 3339, UTC): its deliveries are accepted
    /// and queued, and none of its jobs runs until it is resumed.
    pub suspended_at: Option<String>,
    /// Why it is suspended.
    pub suspended_reason: Option<String>,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> TenantView {
        TenantView {
            id: t.id,
            name: t.name,
            active_digest: t.active_digest,
            max_concurrency: t.max_concurrency,
            parent: t.parent_id,
            require_2fa: t.require_2fa == 1,
            password_max_age_days: t.password_max_age_days,
            created_at: api_time(t.created_at),
            suspended_at: t.suspended_at.map(api_time),
            suspended_reason: t.suspended_reason,
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
    /// A tenant-owner API key (absent for a child tenant whose creator is not an owner of the
    /// parent).
    pub admin_key: Option<String>,
}

/// A new API key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// A built-in role (`tenant-owner`, `tenant-admin`, `viewer`) or one of the tenant's own;
    /// it may hold only permissions the caller holds.
    pub role: String,
    /// What it is for.
    #[serde(default)]
    pub label: String,
    /// Days until it stops working (1–3650; absent: it does not expire).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
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
    /// When it stops working (RFC 3339, UTC).
    pub expires_at: Option<String>,
    /// When it last authenticated a request (to the minute; RFC 3339, UTC).
    pub last_used_at: Option<String>,
    /// Who issued it.
    pub created_by: Option<String>,
}

impl From<ApiKeyRow> for KeyView {
    fn from(k: ApiKeyRow) -> KeyView {
        KeyView {
            prefix: k.prefix,
            role: k.role,
            label: k.label,
            created_at: api_time(k.created_at),
            revoked_at: k.revoked_at.map(api_time),
            expires_at: k.expires_at.map(api_time),
            last_used_at: k.last_used_at.map(api_time),
            created_by: k.created_by,
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

/// Creates a tenant with a webhook secret and a tenant-owner key (platform staff).
#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", operation_id = "create_tenant", request_body = NewTenant,
    responses((status = 201, body = TenantCreated), (status = 409, body = crate::service::ErrorBody, description = "the id is taken"),
        (status = 422, body = crate::service::ErrorBody, description = "an id or concurrency limit out of bounds")))]
pub async fn create(
    State(state): State<AppState>,
    who: Principal,
    Json(new): Json<NewTenant>,
) -> ApiResult<Created<TenantCreated>> {
    let created = ops::tenants::create(&state, &who, new.into()).await?;
    Ok(Created(created.into()))
}

/// Creates a child tenant of a reseller tenant (`children:manage`); the caller's role there
/// carries over to it.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/children", tag = "tenants", operation_id = "create_child_tenant", request_body = NewTenant,
    params(("tenant" = String, Path)),
    responses((status = 201, body = TenantCreated), (status = 409, body = crate::service::ErrorBody, description = "the id is taken")))]
pub async fn create_child(
    State(state): State<AppState>,
    who: Principal,
    Path(parent): Path<String>,
    Json(new): Json<NewTenant>,
) -> ApiResult<Created<TenantCreated>> {
    let created = ops::tenants::create_child(&state, &who, &parent, new.into()).await?;
    Ok(Created(created.into()))
}

/// A reseller tenant's children.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/children", tag = "tenants", operation_id = "list_child_tenants",
    params(("tenant" = String, Path)), responses((status = 200, body = Vec<TenantView>)))]
pub async fn children(
    State(state): State<AppState>,
    who: Principal,
    Path(parent): Path<String>,
) -> ApiResult<Json<Vec<TenantView>>> {
    Ok(Json(ops::tenants::children(&state, &who, &parent).await?.into_iter().map(TenantView::from).collect()))
}

impl From<NewTenant> for ops::tenants::NewTenant {
    fn from(n: NewTenant) -> Self {
        ops::tenants::NewTenant { id: n.id, name: n.name, max_concurrency: n.max_concurrency }
    }
}

impl From<ops::tenants::CreatedTenant> for TenantCreated {
    fn from(c: ops::tenants::CreatedTenant) -> Self {
        TenantCreated { tenant: c.tenant.into(), webhook_secret: c.webhook_secret, admin_key: c.owner_key }
    }
}

/// The tenants the caller can see: all for platform staff.
#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", operation_id = "list_tenants", responses((status = 200, body = Vec<TenantView>)))]
pub async fn list(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Vec<TenantView>>> {
    Ok(Json(ops::tenants::list(&state, &who).await?.into_iter().map(TenantView::from).collect()))
}

/// One tenant.
#[utoipa::path(get, path = "/v1/tenants/{tenant}", tag = "tenants", operation_id = "get_tenant",
    params(("tenant" = String, Path)), responses((status = 200, body = TenantView)))]
pub async fn get(State(state): State<AppState>, who: Principal, Path(id): Path<String>) -> ApiResult<Json<TenantView>> {
    Ok(Json(ops::tenants::get(&state, &who, &id).await?.into()))
}

/// Why a tenant is suspended.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Suspension {
    /// Shown to the tenant's members and kept in the security log (1–500 characters, one line).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Suspends a tenant (platform staff): deliveries are still accepted and queued, none of its
/// jobs runs until it is resumed. Suspending again replaces the reason.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/suspend", tag = "tenants", operation_id = "suspend_tenant",
    request_body = Suspension, params(("tenant" = String, Path)),
    responses((status = 200, body = TenantView), (status = 422, body = crate::service::ErrorBody)))]
pub async fn suspend(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(body): Json<Suspension>,
) -> ApiResult<Json<TenantView>> {
    Ok(Json(ops::tenants::suspend(&state, &who, &id, &body.reason).await?.into()))
}

/// Resumes a suspended tenant (platform staff): its waiting jobs run again.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/resume", tag = "tenants", operation_id = "resume_tenant",
    params(("tenant" = String, Path)), responses((status = 200, body = TenantView)))]
pub async fn resume(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<TenantView>> {
    Ok(Json(ops::tenants::resume(&state, &who, &id).await?.into()))
}

/// Issues an API key for the tenant (shown once).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/keys", tag = "keys", operation_id = "create_key", request_body = NewKey,
    params(("tenant" = String, Path)), responses((status = 201, body = KeyCreated),
        (status = 403, body = crate::service::ErrorBody, description = "the role holds permissions the caller does not"),
        (status = 422, body = crate::service::ErrorBody, description = "an unknown role or a bad expiry")))]
pub async fn create_key(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(new): Json<NewKey>,
) -> ApiResult<Created<KeyCreated>> {
    let new = ops::keys::NewKey { role: new.role, label: new.label, expires_in_days: new.expires_in_days };
    let key = ops::keys::create(&state, &who, &id, new).await?;
    Ok(Created(KeyCreated { prefix: key.row.prefix, key: key.key }))
}

/// The tenant's keys (prefixes, roles, expiry and last use; never secrets).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/keys", tag = "keys", operation_id = "list_keys",
    params(("tenant" = String, Path)), responses((status = 200, body = Vec<KeyView>)))]
pub async fn list_keys(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<KeyView>>> {
    Ok(Json(ops::keys::list(&state, &who, &id).await?.into_iter().map(KeyView::from).collect()))
}

/// Revokes one of the tenant's keys at once.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/keys/{prefix}", tag = "keys", operation_id = "revoke_key",
    params(("tenant" = String, Path), ("prefix" = String, Path)),
    responses((status = 204), (status = 404, body = crate::service::ErrorBody, description = "no such tenant, or no live key with this prefix")))]
pub async fn revoke_key(
    State(state): State<AppState>,
    who: Principal,
    Path((id, prefix)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    ops::keys::revoke(&state, &who, &id, &prefix).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the webhook secret (shown once); deliveries signed with the old one are refused.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/webhook-secret", tag = "tenants", operation_id = "rotate_webhook_secret",
    params(("tenant" = String, Path)), responses((status = 200, body = SecretRotated)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<SecretRotated>> {
    Ok(Json(SecretRotated { webhook_secret: ops::tenants::rotate_webhook_secret(&state, &who, &id).await? }))
}

/// The config values (all strings).
pub type ConfigValues = ops::tenants::ConfigValues;

/// The tenant's plugin settings.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/config", tag = "plugins", operation_id = "get_config",
    params(("tenant" = String, Path)), responses((status = 200, body = std::collections::BTreeMap<String, String>)))]
pub async fn get_config(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ConfigValues>> {
    Ok(Json(ops::tenants::config(&state, &who, &id).await?))
}

/// Replaces the tenant's plugin settings (a JSON object of strings).
#[utoipa::path(put, path = "/v1/tenants/{tenant}/config", tag = "plugins", operation_id = "put_config",
    request_body = std::collections::BTreeMap<String, String>,
    params(("tenant" = String, Path)), responses((status = 200, body = std::collections::BTreeMap<String, String>),
        (status = 422, body = crate::service::ErrorBody, description = "an empty or long key, or more than 64 KiB")))]
pub async fn put_config(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(values): Json<ConfigValues>,
) -> ApiResult<Json<ConfigValues>> {
    Ok(Json(ops::tenants::set_config(&state, &who, &id, values).await?))
}

/// The tenant's sandbox limits in force (the service's defaults with its overrides).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/limits", tag = "tenants", operation_id = "get_limits",
    params(("tenant" = String, Path)), responses((status = 200, body = Object)))]
pub async fn get_limits(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<portico_model::Limits>> {
    Ok(Json(ops::tenants::limits(&state, &who, &id).await?))
}

/// Sets the tenant's sandbox limits (platform staff): a JSON object of the fields that differ
/// from the service's defaults (`{}` clears them). Memory cannot exceed the pool's slot.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/limits", tag = "tenants", operation_id = "put_limits", request_body = Object,
    params(("tenant" = String, Path)), responses((status = 200, body = Object), (status = 422, body = crate::service::ErrorBody)))]
pub async fn put_limits(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(overrides): Json<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Json<portico_model::Limits>> {
    Ok(Json(ops::tenants::set_limits(&state, &who, &id, overrides).await?))
}

/// A tenant's security policy.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityPolicy {
    /// Every member must use two-factor authentication.
    pub require_2fa: bool,
    /// Days a password stays valid (1–3650; absent or null: no expiry).
    #[serde(default)]
    pub password_max_age_days: Option<i64>,
}

/// Sets the tenant's security policy (`users:manage`).
#[utoipa::path(put, path = "/v1/tenants/{tenant}/security-policy", tag = "users", operation_id = "put_security_policy",
    request_body = SecurityPolicy, params(("tenant" = String, Path)), responses((status = 200, body = SecurityPolicy)))]
pub async fn put_security_policy(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(p): Json<SecurityPolicy>,
) -> ApiResult<Json<SecurityPolicy>> {
    let policy =
        ops::tenants::SecurityPolicy { require_2fa: p.require_2fa, password_max_age_days: p.password_max_age_days };
    ops::tenants::set_security_policy(&state, &who, &id, policy).await?;
    Ok(Json(p))
}
