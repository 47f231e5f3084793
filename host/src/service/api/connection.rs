//! A tenant's Salesforce connection (`ops::connection` does the work).

use super::api_time;
use super::extract::{Json, Path, Query};
use crate::service::ops::{self, Principal};
use crate::service::{ApiResult, AppState};
use crate::store::ConnectionRow;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use ops::connection::{Callback, NewConnection, StartAuthorization};

/// A connection as shown (never its secrets).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    /// `client-credentials`, `jwt-bearer` or `web-server`.
    pub kind: String,
    /// The org's instance URL.
    pub instance_url: String,
    /// Token endpoint host.
    pub login_url: String,
    /// Consumer key.
    pub client_id: String,
    /// The integration user (JWT bearer).
    pub username: Option<String>,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

impl From<ConnectionRow> for ConnectionView {
    fn from(c: ConnectionRow) -> ConnectionView {
        ConnectionView {
            kind: c.kind,
            instance_url: c.instance_url,
            login_url: c.login_url,
            client_id: c.client_id,
            username: c.username,
            updated_at: api_time(c.updated_at),
        }
    }
}

/// Where to send the authorizing user.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizationStarted {
    /// Open this in the user's browser; Salesforce redirects back to `/v1/oauth/callback`.
    pub authorize_url: String,
    /// Valid for this many seconds.
    pub expires_in: u64,
}

/// The preflight's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreflightView {
    /// Login worked and the user may use the API.
    pub api_enabled: bool,
    /// What the connected user lacks for the active (else newest) plugin version.
    #[schema(value_type = Vec<Object>)]
    pub missing: Vec<crate::salesforce::Missing>,
    /// The plugin version checked.
    pub digest: Option<String>,
    /// Everything needed is there.
    pub ready: bool,
}

/// Configures the connection (replacing any other).
#[utoipa::path(put, path = "/v1/tenants/{tenant}/connection", tag = "connection", operation_id = "put_connection",
    request_body = NewConnection, params(("tenant" = String, Path)),
    responses((status = 200, body = ConnectionView),
        (status = 422, body = crate::service::ErrorBody, description = "a refused URL or a key that is not RSA PEM")))]
pub async fn put(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(new): Json<NewConnection>,
) -> ApiResult<Json<ConnectionView>> {
    Ok(Json(ops::connection::put(&state, &who, &id, new).await?.into()))
}

/// The connection (without secrets).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/connection", tag = "connection", operation_id = "get_connection",
    params(("tenant" = String, Path)),
    responses((status = 200, body = ConnectionView), (status = 404, body = crate::service::ErrorBody, description = "no such tenant, or no connection")))]
pub async fn get(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ConnectionView>> {
    Ok(Json(ops::connection::get(&state, &who, &id).await?.into()))
}

/// Removes the connection and its secrets.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/connection", tag = "connection", operation_id = "delete_connection",
    params(("tenant" = String, Path)),
    responses((status = 204), (status = 404, body = crate::service::ErrorBody, description = "no such tenant, or no connection")))]
pub async fn delete(State(state): State<AppState>, who: Principal, Path(id): Path<String>) -> ApiResult<StatusCode> {
    ops::connection::delete(&state, &who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts the OAuth web-server flow with PKCE.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/connection/authorize", tag = "connection", operation_id = "authorize_connection",
    request_body = StartAuthorization, params(("tenant" = String, Path)),
    responses((status = 200, body = AuthorizationStarted),
        (status = 422, body = crate::service::ErrorBody, description = "a refused URL")))]
pub async fn authorize(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(start): Json<StartAuthorization>,
) -> ApiResult<Json<AuthorizationStarted>> {
    let (authorize_url, expires_in) = ops::connection::authorize(&state, &who, &id, start).await?;
    Ok(Json(AuthorizationStarted { authorize_url, expires_in }))
}

/// Completes the web-server flow: exchanges the code (with the PKCE verifier) for a refresh
/// token and stores the connection. Authenticated by the single-use `state`, not an API key.
#[utoipa::path(get, path = "/v1/oauth/callback", tag = "connection", operation_id = "oauth_callback", params(Callback),
    security(()),
    responses((status = 200, body = ConnectionView),
        (status = 400, body = crate::service::ErrorBody, description = "denied, unknown or used state, or the code was refused")))]
pub async fn callback(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(cb): Query<Callback>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let result = ops::connection::callback(&state, cb).await;
    // A person's browser, back from Salesforce's consent page, goes on to the console.
    let browser =
        headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if browser {
        return Ok(crate::service::console::connection::back_from_salesforce(result));
    }
    let (_, row) = result?;
    Ok(Json(ConnectionView::from(row)).into_response())
}

/// Compares the plugin's needs with what the connected user may do now. Tenant admins only,
/// and at most once a minute per tenant on each replica: each run spends one Salesforce API
/// call per object of the manifest (plus a login when the client has no token yet).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/connection/preflight", tag = "connection", operation_id = "preflight_connection",
    params(("tenant" = String, Path)),
    responses((status = 200, body = PreflightView),
        (status = 404, body = crate::service::ErrorBody, description = "no such tenant, or no connection"),
        (status = 422, body = crate::service::ErrorBody,
            description = "the stored connection cannot be used, or Salesforce refuses its credentials: reconnect"),
        (status = 429, body = crate::service::ErrorBody,
            description = "run less than a minute ago, or too many failed authentications; see Retry-After"),
        (status = 502, body = crate::service::ErrorBody, description = "Salesforce did not answer as expected")))]
pub async fn preflight(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<PreflightView>> {
    let p = ops::connection::preflight(&state, &who, &id).await?;
    Ok(Json(PreflightView {
        ready: p.api_enabled && p.missing.is_empty(),
        api_enabled: p.api_enabled,
        missing: p.missing,
        digest: p.digest,
    }))
}

/// The tenant's Salesforce API budget and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiBudgetView {
    /// Calls Portico may spend per UTC day for this tenant (`null`: no budget of its own; the
    /// org's own allowance still holds).
    pub daily_budget: Option<i64>,
    /// Calls spent today (UTC).
    pub used_today: i64,
    /// `ok`, `slowed` (near the budget: one job at a time) or `paused` (jobs wait; see `reason`).
    pub state: String,
    /// Jobs wait until then (RFC 3339, UTC).
    pub paused_until: Option<String>,
    /// Why jobs wait.
    pub reason: Option<String>,
    /// Calls the org has used in the last 24 hours, as Salesforce last reported them.
    pub org_used: Option<u64>,
    /// The org's daily allowance, as Salesforce last reported it.
    pub org_max: Option<u64>,
}

impl From<ops::budget::BudgetState> for ApiBudgetView {
    fn from(b: ops::budget::BudgetState) -> ApiBudgetView {
        let state = if b.paused.is_some() {
            "paused"
        } else if b.slowed {
            "slowed"
        } else {
            "ok"
        };
        ApiBudgetView {
            daily_budget: b.daily_budget,
            used_today: b.used_today,
            state: state.to_owned(),
            paused_until: b.paused.as_ref().map(|(until, _)| api_time(*until)),
            reason: b.paused.map(|(_, reason)| reason),
            org_used: b.org_usage.map(|u| u.used),
            org_max: b.org_usage.map(|u| u.max),
        }
    }
}

/// A new daily budget.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetApiBudget {
    /// Calls per UTC day (1 to 100,000,000), or `null` for no budget of its own.
    pub daily_budget: Option<i64>,
}

/// The tenant's Salesforce API budget, what it spent today and why its jobs wait, if they do.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/api-budget", tag = "connection", operation_id = "get_api_budget",
    params(("tenant" = String, Path)), responses((status = 200, body = ApiBudgetView)))]
pub async fn get_budget(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ApiBudgetView>> {
    Ok(Json(ops::budget::get(&state, &who, &id).await?.into()))
}

/// Sets the tenant's daily Salesforce API budget (a share of the org's allowance): near it the
/// tenant's jobs run one at a time, at it they wait until 00:00 UTC.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/api-budget", tag = "connection", operation_id = "put_api_budget",
    request_body = SetApiBudget, params(("tenant" = String, Path)),
    responses((status = 200, body = ApiBudgetView), (status = 422, body = crate::service::ErrorBody)))]
pub async fn put_budget(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(new): Json<SetApiBudget>,
) -> ApiResult<Json<ApiBudgetView>> {
    Ok(Json(ops::budget::set(&state, &who, &id, new.daily_budget).await?.into()))
}
