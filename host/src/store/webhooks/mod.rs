//! Outbound webhooks: tenants' endpoints and the durable queue of deliveries to them.
//!
//! An event becomes one `pending` delivery per enabled endpoint subscribed to it, in one
//! statement. Deliveries are claimed with a lease (on PostgreSQL replicas skip each other's rows
//! with `FOR UPDATE SKIP LOCKED`; SQLite has one writer), and the lease's end doubles as the
//! claim's token: only the claim that set it records the attempt's result. Every read and
//! write a tenant asks for filters by the tenant id. Secrets and credentials stay sealed here;
//! only `service::webhooks` opens them. Endpoints are here; the delivery queue is in
//! `deliveries`.

mod deliveries;

use super::{Store, StoreError, on_pool, on_read_pool};
use serde::Serialize;

/// The most deliveries one listing returns.
pub const MAX_DELIVERY_PAGE: u32 = 100;

/// An endpoint as stored; the signing secret and the credentials stay sealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WebhookEndpoint {
    /// Its id (`we_…`).
    pub id: String,
    /// The tenant it belongs to.
    pub tenant_id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The event names it is subscribed to.
    pub events: Vec<String>,
    /// The sealed signing secret.
    #[serde(skip)]
    pub secret: String,
    /// The sealed credentials (JSON), if any.
    #[serde(skip)]
    pub auth: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// When it was disabled (Unix ms): it gets no more deliveries.
    pub disabled_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub(super) struct EndpointRow {
    id: String,
    tenant_id: String,
    url: String,
    events: String,
    secret: String,
    auth: Option<String>,
    created_at: i64,
    disabled_at: Option<i64>,
}

impl TryFrom<EndpointRow> for WebhookEndpoint {
    type Error = StoreError;

    fn try_from(r: EndpointRow) -> Result<WebhookEndpoint, StoreError> {
        let events = serde_json::from_str(&r.events)
            .map_err(|e| StoreError::Corrupt(format!("webhook endpoint {}: events are not a JSON list: {e}", r.id)))?;
        Ok(WebhookEndpoint {
            id: r.id,
            tenant_id: r.tenant_id,
            url: r.url,
            events,
            secret: r.secret,
            auth: r.auth,
            created_at: r.created_at,
            disabled_at: r.disabled_at,
        })
    }
}

/// Where a delivery is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its next attempt (possibly claimed by a deliverer right now).
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Given up: attempts exhausted, refused by policy, or the endpoint was disabled.
    Failed,
}

impl DeliveryState {
    /// Its name in storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Succeeded => "succeeded",
            DeliveryState::Failed => "failed",
        }
    }

    /// Parses a state name; `None` for anything else.
    pub fn parse(s: &str) -> Option<DeliveryState> {
        [DeliveryState::Pending, DeliveryState::Succeeded, DeliveryState::Failed].into_iter().find(|d| d.as_str() == s)
    }
}

/// A delivery as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WebhookDelivery {
    /// Its id (`wd_…`): also the envelope's `id` and the signature's nonce, the same on every
    /// attempt, so a receiver can drop a delivery it has already processed.
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The event name.
    pub event: String,
    /// The event's `data` (JSON text).
    pub payload: String,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts whose result was recorded.
    pub attempts: i32,
    /// Not to be attempted before (Unix ms).
    pub next_attempt_at: i64,
    /// While claimed: when the claim ends (Unix ms); also the claim's token.
    pub lease_until: Option<i64>,
    /// The HTTP status of the last attempt, if one came.
    pub last_status: Option<i32>,
    /// Why the last attempt did not succeed (clipped to 4 KiB).
    pub last_error: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// When it succeeded or failed for good (Unix ms).
    pub finished_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub(super) struct DeliveryRow {
    id: String,
    endpoint_id: String,
    tenant_id: String,
    event: String,
    payload: String,
    state: String,
    attempts: i32,
    next_attempt_at: i64,
    lease_until: Option<i64>,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
}

impl TryFrom<DeliveryRow> for WebhookDelivery {
    type Error = StoreError;

    /// A stored state that is none of ours is an error, never a silent default.
    fn try_from(r: DeliveryRow) -> Result<WebhookDelivery, StoreError> {
        let state = DeliveryState::parse(&r.state)
            .ok_or_else(|| StoreError::Corrupt(format!("webhook delivery {}: unknown state `{}`", r.id, r.state)))?;
        Ok(WebhookDelivery {
            id: r.id,
            endpoint_id: r.endpoint_id,
            tenant_id: r.tenant_id,
            event: r.event,
            payload: r.payload,
            state,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            lease_until: r.lease_until,
            last_status: r.last_status,
            last_error: r.last_error,
            created_at: r.created_at,
            finished_at: r.finished_at,
        })
    }
}

/// A claimed delivery and its endpoint.
#[derive(Clone, Debug)]
pub struct DueDelivery {
    /// The delivery; its `lease_until` is the claim's token.
    pub delivery: WebhookDelivery,
    /// Its endpoint (possibly disabled since the delivery was queued).
    pub endpoint: WebhookEndpoint,
}

/// The result of one attempt: see [`Store::record_webhook_attempt`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt<'a> {
    /// The endpoint answered 2xx.
    Succeeded {
        /// Its status.
        status: i32,
    },
    /// Try again at `at` (Unix ms).
    Retry {
        /// When.
        at: i64,
        /// The status, if an answer came.
        status: Option<i32>,
        /// What went wrong.
        error: &'a str,
    },
    /// Give up.
    Failed {
        /// The status, if an answer came.
        status: Option<i32>,
        /// What went wrong.
        error: &'a str,
    },
}

/// What a replay of one delivery did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryReplay {
    /// Pending again, with a fresh attempt budget.
    Replayed,
    /// The tenant has no such delivery.
    NotFound,
    /// It is still pending: it will be attempted anyway.
    Pending,
    /// Its endpoint is disabled.
    EndpointDisabled,
}

pub(super) const ENDPOINT_COLUMNS: &str = "id, tenant_id, url, events, secret, auth, created_at, disabled_at";
pub(super) const DELIVERY_COLUMNS: &str = "id, endpoint_id, tenant_id, event, payload, state, attempts, next_attempt_at, \
     lease_until, last_status, last_error, created_at, finished_at";

impl Store {
    /// Stores a new endpoint (its secret and credentials already sealed).
    pub async fn insert_webhook_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        let events = serde_json::to_string(&endpoint.events)
            .map_err(|e| StoreError::Corrupt(format!("webhook events do not serialize: {e}")))?;
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret, auth, created_at, disabled_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&endpoint.id)
            .bind(&endpoint.tenant_id)
            .bind(&endpoint.url)
            .bind(&events)
            .bind(&endpoint.secret)
            .bind(&endpoint.auth)
            .bind(endpoint.created_at)
            .bind(endpoint.disabled_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// A tenant's endpoints (disabled ones too), oldest first.
    pub async fn webhook_endpoints(&self, tenant: &str) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let sql =
            format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id");
        let rows: Vec<EndpointRow> =
            on_read_pool!(self, |pool| sqlx::query_as(&sql).bind(tenant).fetch_all(pool).await?);
        rows.into_iter().map(WebhookEndpoint::try_from).collect()
    }

    /// One of a tenant's endpoints.
    pub async fn webhook_endpoint(&self, tenant: &str, id: &str) -> Result<Option<WebhookEndpoint>, StoreError> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2");
        let row: Option<EndpointRow> =
            on_read_pool!(self, |pool| sqlx::query_as(&sql).bind(id).bind(tenant).fetch_optional(pool).await?);
        row.map(WebhookEndpoint::try_from).transpose()
    }

    /// Disables one of a tenant's endpoints and fails its pending deliveries (one transaction);
    /// `false` when the tenant has no such enabled endpoint. A delivery in flight may still
    /// arrive once.
    pub async fn disable_webhook_endpoint(&self, tenant: &str, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        Ok(on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE webhook_endpoints SET disabled_at = $1 WHERE id = $2 AND tenant_id = $3 AND disabled_at IS NULL",
            )
            .bind(now_ms)
            .bind(id)
            .bind(tenant)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 1 {
                sqlx::query(
                    "UPDATE webhook_deliveries SET state = 'failed', lease_until = NULL, finished_at = $1, \
                     last_error = 'the endpoint was disabled' WHERE endpoint_id = $2 AND state = 'pending'",
                )
                .bind(now_ms)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            done == 1
        }))
    }
}
