//! The HTTP API: `fn app(state) -> Router`.
//!
//! Admin endpoints take `Authorization: Bearer pk_…` and are scoped by the key's role and
//! tenant ([`crate::service::auth`]); ingestion endpoints are authenticated by the delivery's
//! signature instead; `/healthz`, `/readyz`, `/metrics` and `/openapi.json` are open (bind the
//! service where only the load balancer and Prometheus reach them, or put them behind the
//! proxy's rules).

pub mod accounts;
pub mod connection;
pub mod erasures;
pub mod extract;
pub mod ingest;
pub mod jobs;
pub mod members;
pub mod openapi;
pub mod plugins;
pub mod tenants;
pub mod webhooks;

pub use openapi::ApiDoc;

pub(crate) use super::api_time;
use super::{ApiError, AppState};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Serialize;

/// A `201 Created` JSON answer.
#[derive(Debug)]
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, Json(self.0)).into_response()
    }
}

/// The router.
pub fn app(state: AppState) -> Router {
    let config = &state.inner.config;
    let ingest_limit = DefaultBodyLimit::max(config.ingest.max_body_bytes);
    let upload_limit = DefaultBodyLimit::max(config.runtime.limits.component_bytes as usize);
    let t = "/v1/tenants/{tenant}";
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi::document))
        .route("/v1/session", post(accounts::login).delete(accounts::logout))
        .route("/v1/me", get(accounts::me))
        .route("/v1/me/sessions", get(accounts::sessions))
        .route("/v1/me/sessions/{id}", delete(accounts::revoke_session))
        .route("/v1/me/password", post(accounts::change_password))
        .route("/v1/me/totp", post(accounts::begin_totp).delete(accounts::remove_totp))
        .route("/v1/me/totp/confirm", post(accounts::confirm_totp))
        .route("/v1/invitations/accept", post(accounts::accept_invitation))
        .route("/v1/password/reset", post(accounts::reset_password))
        .route("/v1/password/forgot", post(accounts::forgot_password))
        .route("/v1/me/email-2fa", post(accounts::begin_email_codes).delete(accounts::remove_email_codes))
        .route("/v1/me/email-2fa/confirm", post(accounts::confirm_email_codes))
        .route("/v1/security-events", get(members::platform_log))
        .route("/v1/tenants", post(tenants::create).get(tenants::list))
        .route(t, get(tenants::get))
        .route(&format!("{t}/children"), post(tenants::create_child).get(tenants::children))
        .route(&format!("{t}/security-policy"), put(tenants::put_security_policy))
        .route(&format!("{t}/suspend"), post(tenants::suspend))
        .route(&format!("{t}/resume"), post(tenants::resume))
        .route(&format!("{t}/invitations"), post(members::invite).get(members::invitations))
        .route(&format!("{t}/invitations/{{id}}"), delete(members::revoke_invitation))
        .route(&format!("{t}/users"), get(members::members))
        .route(&format!("{t}/users/{{user}}"), delete(members::remove))
        .route(&format!("{t}/users/{{user}}/role"), put(members::set_role))
        .route(&format!("{t}/users/{{user}}/password-reset"), post(members::reset_link))
        .route(&format!("{t}/roles"), get(members::roles))
        .route(&format!("{t}/roles/{{name}}"), put(members::put_role).delete(members::delete_role))
        .route(&format!("{t}/security-events"), get(members::tenant_log))
        .route(&format!("{t}/webhooks"), post(webhooks::create).get(webhooks::list))
        .route(&format!("{t}/webhooks/{{id}}"), delete(webhooks::remove))
        .route(&format!("{t}/webhooks/{{id}}/deliveries"), get(webhooks::deliveries))
        .route(&format!("{t}/webhook-deliveries/{{id}}/replay"), post(webhooks::replay))
        .route(&format!("{t}/keys"), post(tenants::create_key).get(tenants::list_keys))
        .route(&format!("{t}/keys/{{prefix}}"), delete(tenants::revoke_key))
        .route(&format!("{t}/webhook-secret"), post(tenants::rotate_secret))
        .route(&format!("{t}/config"), get(tenants::get_config).put(tenants::put_config))
        .route(&format!("{t}/limits"), get(tenants::get_limits).put(tenants::put_limits))
        .route(&format!("{t}/plugins"), post(plugins::upload).get(plugins::list).layer(upload_limit))
        .route(&format!("{t}/plugins/rollback"), post(plugins::rollback))
        .route(&format!("{t}/plugins/activations"), get(plugins::activations))
        .route(&format!("{t}/plugins/{{digest}}"), get(plugins::get))
        .route(&format!("{t}/plugins/{{digest}}/approve"), post(plugins::approve))
        .route(&format!("{t}/plugins/{{digest}}/activate"), post(plugins::activate))
        .route(&format!("{t}/connection"), get(connection::get).put(connection::put).delete(connection::delete))
        .route(&format!("{t}/connection/authorize"), post(connection::authorize))
        .route(&format!("{t}/connection/preflight"), post(connection::preflight))
        .route(&format!("{t}/api-budget"), get(connection::get_budget).put(connection::put_budget))
        .route("/v1/oauth/callback", get(connection::callback))
        .route(&format!("{t}/jobs"), get(jobs::list))
        .route(&format!("{t}/jobs/replay"), post(jobs::replay_all))
        .route(&format!("{t}/jobs/{{job}}"), get(jobs::get))
        .route(&format!("{t}/jobs/{{job}}/replay"), post(jobs::replay))
        .route(&format!("{t}/jobs/{{job}}/mark-done"), post(jobs::mark_done))
        .route(&format!("{t}/audit"), get(jobs::audit))
        .route(&format!("{t}/erasures"), post(erasures::erase).get(erasures::list))
        .route(&format!("{t}/bookings"), post(ingest::booking).layer(ingest_limit))
        .route(&format!("{t}/webhooks/calcom"), post(ingest::calcom).layer(ingest_limit))
        .route(&format!("{t}/webhooks/calendly"), post(ingest::calendly).layer(ingest_limit))
        .merge(super::console::routes(config.runtime.limits.component_bytes as usize))
        .fallback(|| async { ApiError::not_found("no such endpoint; see /openapi.json") })
        .layer(axum::middleware::from_fn(super::console::security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "healthz", security(()),
    responses((status = 200, description = "alive", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "readyz", security(()),
    responses((status = 200, description = "ready", body = String, content_type = "text/plain"),
        (status = 503, description = "the database does not answer", body = String, content_type = "text/plain")))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.inner.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!("not ready: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "the database does not answer").into_response()
        }
    }
}

/// Prometheus metrics (text exposition).
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics", security(()),
    responses((status = 200, body = String, content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let inner = &state.inner;
    if let Ok(depth) = inner.store.queue_depth(None).await {
        use super::metrics::StateLabels;
        for (name, n) in [
            ("pending", depth.pending),
            ("running", depth.running),
            ("failed", depth.failed),
            ("unknown", depth.unknown),
        ] {
            inner.metrics.queue_depth.get_or_create(&StateLabels { state: name.into() }).set(n);
        }
    }
    let (clients, describes) = inner.orgs.stats();
    inner.metrics.org_clients.set(clients as i64);
    inner.metrics.find_cache_hits.set(inner.orgs.find_cache_hits() as i64);
    if let Some(d) = describes {
        inner.metrics.describe_entries.set(d.entries as i64);
        inner.metrics.describe_bytes.set(d.bytes as i64);
        inner.metrics.describe_evictions.set(d.evictions as i64);
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], inner.metrics.encode())
        .into_response()
}
