//! The HTTP API: `fn app(state) -> Router`.
//!
//! Admin endpoints take `Authorization: Bearer pk_…` and are scoped by the key's role and
//! tenant ([`crate::service::auth`]); ingestion endpoints are authenticated by the delivery's
//! signature instead; `/healthz`, `/readyz`, `/metrics` and `/openapi.json` are open (bind the
//! service where only the load balancer and Prometheus reach them, or put them behind the
//! proxy's rules).

pub mod connection;
pub mod erasures;
pub mod ingest;
pub mod jobs;
pub mod plugins;
pub mod tenants;

use super::{ApiError, AppState};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::OpenApi;

/// A `201 Created` JSON answer.
#[derive(Debug)]
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, Json(self.0)).into_response()
    }
}

/// The OpenAPI document of the API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Portico", description = "Sandboxed host for tenants' Salesforce mapping plugins: admin API and booking ingestion."),
    paths(
        tenants::create, tenants::list, tenants::get, tenants::create_key, tenants::list_keys, tenants::revoke_key,
        tenants::rotate_secret, tenants::get_config, tenants::put_config, tenants::get_limits, tenants::put_limits,
        plugins::upload, plugins::list, plugins::get, plugins::approve, plugins::activate, plugins::rollback,
        plugins::activations,
        connection::put, connection::get, connection::delete, connection::authorize, connection::callback,
        connection::preflight,
        jobs::list, jobs::get, jobs::replay, jobs::replay_all, jobs::mark_done, jobs::audit, erasures::erase, erasures::list,
        ingest::booking, ingest::calcom, ingest::calendly,
        healthz, readyz, metrics,
    ),
    modifiers(&BearerAuth),
    security(("api_key" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pk_<prefix>_<secret>")
                    .description(Some("A Portico API key"))
                    .build(),
            ),
        );
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
        .route("/openapi.json", get(openapi))
        .route("/v1/tenants", post(tenants::create).get(tenants::list))
        .route(t, get(tenants::get))
        .route(&format!("{t}/keys"), post(tenants::create_key).get(tenants::list_keys))
        .route(&format!("{t}/keys/{{prefix}}"), axum::routing::delete(tenants::revoke_key))
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
        .fallback(|| async { ApiError::not_found("no such endpoint; see /openapi.json") })
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()), responses((status = 200, description = "alive")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses((status = 200, description = "ready"), (status = 503, description = "the database does not answer")))]
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
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()), responses((status = 200, body = String)))]
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
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], inner.metrics.encode())
        .into_response()
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// An instant as the API shows it: RFC 3339 in UTC with milliseconds.
pub(crate) fn api_time(ms: i64) -> String {
    let t =
        portico_model::DateTime { seconds: ms.div_euclid(1000), nanoseconds: (ms.rem_euclid(1000) * 1_000_000) as u32 };
    t.to_salesforce()
}
