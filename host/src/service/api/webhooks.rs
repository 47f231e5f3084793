//! Outbound webhook endpoints and their deliveries.

use super::extract::{Json, Path, Query};
use super::{Created, api_time};
use crate::service::ops::{self, Principal};
use crate::service::webhooks::{EndpointAuth, Event, NewEndpoint};
use crate::service::{ApiResult, AppState};
use crate::store::{WebhookDelivery, WebhookEndpoint};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An endpoint to register. `Debug` never prints its credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where to POST: https (the operator may allow http), never a loopback, private or
    /// link-local address unless the operator allow-lists it.
    pub url: String,
    /// What to send: `job.succeeded`, `job.failed`, `job.needs-attention`, `plugin.activated`,
    /// `connection.broken`.
    #[schema(value_type = Vec<String>)]
    pub events: Vec<Event>,
    /// Credentials besides the signature: `{"type": "basic", "username", "password"}` or
    /// `{"type": "header", "name", "value"}` (e.g. an API key header).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub auth: Option<EndpointAuth>,
}

/// An endpoint (never its secret or credentials).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// Its id.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// What is sent.
    pub events: Vec<String>,
    /// Whether deliveries carry credentials besides the signature.
    pub has_auth: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// When removed.
    pub removed_at: Option<String>,
}

impl From<WebhookEndpoint> for WebhookView {
    fn from(e: WebhookEndpoint) -> WebhookView {
        WebhookView {
            has_auth: e.auth.is_some(),
            id: e.id,
            url: e.url,
            events: e.events,
            created_at: api_time(e.created_at),
            removed_at: e.disabled_at.map(api_time),
        }
    }
}

/// A registered endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookCreated {
    /// The endpoint.
    pub endpoint: WebhookView,
    /// Verify each delivery with it: `X-Portico-Signature: v1=<hex HMAC-SHA256(secret,
    /// "<X-Portico-Timestamp>.<X-Portico-Nonce>.<raw body>")>`.
    pub secret: String,
}

/// Registers an endpoint (`webhooks:manage`).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/webhooks", tag = "webhooks", operation_id = "create_webhook", request_body = NewWebhook,
    params(("tenant" = String, Path)),
    responses((status = 201, body = WebhookCreated),
        (status = 409, body = crate::service::ErrorBody, description = "too many endpoints"),
        (status = 422, body = crate::service::ErrorBody, description = "a refused URL, no events or unusable credentials")))]
pub async fn create(
    State(state): State<AppState>,
    who: Principal,
    Path(tenant): Path<String>,
    Json(new): Json<NewWebhook>,
) -> ApiResult<Created<WebhookCreated>> {
    let new = NewEndpoint { url: new.url, events: new.events, auth: new.auth.unwrap_or_default() };
    let registered = ops::webhooks::register(&state, &who, &tenant, new).await?;
    Ok(Created(WebhookCreated { endpoint: registered.endpoint.into(), secret: registered.secret }))
}

/// The tenant's endpoints.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/webhooks", tag = "webhooks", operation_id = "list_webhooks",
    params(("tenant" = String, Path)), responses((status = 200, body = Vec<WebhookView>)))]
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<WebhookView>>> {
    Ok(Json(ops::webhooks::endpoints(&state, &who, &tenant).await?.into_iter().map(Into::into).collect()))
}

/// Removes an endpoint; its pending deliveries fail.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/webhooks/{id}", tag = "webhooks", operation_id = "remove_webhook",
    params(("tenant" = String, Path), ("id" = String, Path)), responses((status = 204)))]
pub async fn remove(
    State(state): State<AppState>,
    who: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    ops::webhooks::remove(&state, &who, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of deliveries.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// At most this many (1–100, default 50).
    pub limit: Option<u32>,
}

/// A delivery and its state.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Its id (also the envelope's `id` and the signature's nonce).
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event.
    pub event: String,
    /// `pending`, `succeeded` or `failed`.
    pub state: &'static str,
    /// Attempts made.
    pub attempts: i32,
    /// The last HTTP status received.
    pub last_status: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// The next attempt, while pending.
    pub next_attempt_at: Option<String>,
    /// When it succeeded or failed for good.
    pub finished_at: Option<String>,
}

impl From<WebhookDelivery> for DeliveryView {
    fn from(d: WebhookDelivery) -> DeliveryView {
        let pending = d.state.as_str() == "pending";
        DeliveryView {
            id: d.id,
            endpoint_id: d.endpoint_id,
            event: d.event,
            state: d.state.as_str(),
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: api_time(d.created_at),
            next_attempt_at: pending.then(|| api_time(d.next_attempt_at)),
            finished_at: d.finished_at.map(api_time),
        }
    }
}

/// An endpoint's deliveries, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/webhooks/{id}/deliveries", tag = "webhooks", operation_id = "list_webhook_deliveries",
    params(("tenant" = String, Path), ("id" = String, Path), Page), responses((status = 200, body = Vec<DeliveryView>)))]
pub async fn deliveries(
    State(state): State<AppState>,
    who: Principal,
    Path((tenant, id)): Path<(String, String)>,
    Query(page): Query<Page>,
) -> ApiResult<Json<Vec<DeliveryView>>> {
    let list = ops::webhooks::deliveries(&state, &who, &tenant, &id, page.limit.unwrap_or(50)).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Sends a finished delivery again.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/webhook-deliveries/{id}/replay", tag = "webhooks", operation_id = "replay_webhook_delivery",
    params(("tenant" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = DeliveryView), (status = 409, body = crate::service::ErrorBody, description = "still pending, or its endpoint removed")))]
pub async fn replay(
    State(state): State<AppState>,
    who: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<DeliveryView>> {
    Ok(Json(ops::webhooks::replay(&state, &who, &tenant, &id).await?.into()))
}
