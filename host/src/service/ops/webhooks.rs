//! Outbound webhook endpoints and their deliveries (`webhooks:manage`).

use super::{OpResult, Ops, Permission, Principal, security_event};
use crate::service::webhooks::{self, Guard, NewEndpoint, RegisterError, Registered};
use crate::service::{ApiError, now_ms};
use crate::store::{DeliveryReplay, MAX_DELIVERY_PAGE, WebhookDelivery, WebhookEndpoint};

/// At most this many live endpoints per tenant: each event fans out to every one of them.
pub const MAX_ENDPOINTS: usize = 20;

/// Registers an endpoint; its signing secret is answered this once.
pub async fn register(ops: &Ops, who: &Principal, tenant: &str, new: NewEndpoint) -> OpResult<Registered> {
    super::tenants::open(ops, who, tenant, Permission::WebhooksManage, "register-webhook").await?;
    let store = &ops.inner.store;
    if store.webhook_endpoints(tenant).await?.iter().filter(|e| e.disabled_at.is_none()).count() >= MAX_ENDPOINTS {
        return Err(ApiError::conflict(
            "too-many-endpoints",
            format!("a tenant has at most {MAX_ENDPOINTS} endpoints; remove one first"),
        ));
    }
    let guard = Guard::from_config(&ops.inner.config.webhooks).map_err(ApiError::internal)?;
    let registered =
        webhooks::register(store, &ops.inner.keys, &guard, tenant, new, now_ms()).await.map_err(|e| match e {
            RegisterError::Refused(refused) => ApiError::unprocessable("url-refused", refused.to_string()),
            RegisterError::NoEvents => ApiError::unprocessable("no-events", e.to_string()),
            RegisterError::BadAuth(_) => ApiError::unprocessable("bad-auth", e.to_string()),
            RegisterError::Store(e) => ApiError::internal(e),
        })?;
    let e = &registered.endpoint;
    let detail = format!("{} for {}", e.url, e.events.join(", "));
    security_event(ops, who, Some(tenant), "webhook-endpoint-created", &e.id, detail).await?;
    Ok(registered)
}

/// The tenant's endpoints (removed ones too, marked).
pub async fn endpoints(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<Vec<WebhookEndpoint>> {
    super::tenants::open(ops, who, tenant, Permission::WebhooksManage, "list-webhooks").await?;
    Ok(ops.inner.store.webhook_endpoints(tenant).await?)
}

/// Removes an endpoint: nothing more is sent to it, and its pending deliveries fail.
pub async fn remove(ops: &Ops, who: &Principal, tenant: &str, id: &str) -> OpResult<()> {
    super::tenants::open(ops, who, tenant, Permission::WebhooksManage, "remove-webhook").await?;
    if !ops.inner.store.disable_webhook_endpoint(tenant, id, now_ms()).await? {
        return Err(ApiError::not_found(format!("tenant `{tenant}` has no live webhook endpoint `{id}`")));
    }
    security_event(ops, who, Some(tenant), "webhook-endpoint-removed", id, String::new()).await
}

/// An endpoint's deliveries, newest first.
pub async fn deliveries(
    ops: &Ops,
    who: &Principal,
    tenant: &str,
    endpoint: &str,
    limit: u32,
) -> OpResult<Vec<WebhookDelivery>> {
    super::tenants::open(ops, who, tenant, Permission::WebhooksManage, "list-webhook-deliveries").await?;
    let store = &ops.inner.store;
    store
        .webhook_endpoint(tenant, endpoint)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("tenant `{tenant}` has no webhook endpoint `{endpoint}`")))?;
    Ok(store.webhook_deliveries(tenant, endpoint, limit.clamp(1, MAX_DELIVERY_PAGE)).await?)
}

/// Sends a delivery again, with a fresh attempt budget.
pub async fn replay(ops: &Ops, who: &Principal, tenant: &str, delivery: &str) -> OpResult<WebhookDelivery> {
    super::tenants::open(ops, who, tenant, Permission::WebhooksManage, "replay-webhook-delivery").await?;
    let store = &ops.inner.store;
    match store.replay_webhook_delivery(tenant, delivery, now_ms()).await? {
        DeliveryReplay::Replayed => {}
        DeliveryReplay::NotFound => {
            return Err(ApiError::not_found(format!("tenant `{tenant}` has no delivery `{delivery}`")));
        }
        DeliveryReplay::Pending => {
            return Err(ApiError::conflict("pending", "the delivery is still pending: it will be attempted anyway"));
        }
        DeliveryReplay::EndpointDisabled => {
            return Err(ApiError::conflict("endpoint-removed", "its endpoint was removed"));
        }
    }
    store.webhook_delivery(tenant, delivery).await?.ok_or_else(|| ApiError::internal("the delivery vanished"))
}
