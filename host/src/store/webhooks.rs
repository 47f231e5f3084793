//! Outbound webhooks: tenants' endpoints and the durable queue of deliveries to them.
//!
//! An event becomes one `pending` delivery per enabled endpoint subscribed to it, in one
//! statement. Deliveries are claimed with a lease (on PostgreSQL replicas skip each other's rows
//! with `FOR UPDATE SKIP LOCKED`; SQLite has one writer), and the lease's end doubles as the
//! claim's token: only the claim that set it records the attempt's result. Every read and
//! write a tenant asks for filters by the tenant id. Secrets and credentials stay sealed here;
//! only `service::webhooks` opens them.

use super::{Backend, Store, StoreError, on_pool, on_read_pool};
use portico_model::text::{MAX_ERROR_BYTES, clip};
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
struct EndpointRow {
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
struct DeliveryRow {
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

const ENDPOINT_COLUMNS: &str = "id, tenant_id, url, events, secret, auth, created_at, disabled_at";
const DELIVERY_COLUMNS: &str = "id, endpoint_id, tenant_id, event, payload, state, attempts, next_attempt_at, \
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

    /// Queues `event` for every enabled endpoint of `tenant` subscribed to it: one pending
    /// delivery each, due now, in one statement. `payload` is the event's `data` (JSON).
    /// Returns how many were queued. A tenant with no subscribed endpoint costs one indexed read
    /// (on SQLite, beside the writer) and no write.
    pub async fn enqueue_webhook_event(
        &self,
        tenant: &str,
        event: &str,
        payload: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        // Endpoints' events are JSON lists the service writes from known names: a name in
        // quotes occurs in the text exactly when it is in the list.
        let needle = format!("\"{event}\"");
        let contains = match self.backend {
            Backend::Sqlite { .. } => "instr(e.events, $2) > 0",
            Backend::Postgres(_) => "strpos(e.events, $2) > 0",
        };
        let probe = format!(
            "SELECT 1 FROM webhook_endpoints e WHERE e.tenant_id = $1 AND e.disabled_at IS NULL AND {contains} LIMIT 1"
        );
        let subscribed: Option<(i32,)> =
            on_read_pool!(self, |pool| sqlx::query_as(&probe).bind(tenant).bind(&needle).fetch_optional(pool).await?);
        if subscribed.is_none() {
            return Ok(0);
        }
        // One id per event; each delivery's id is it joined with its endpoint's.
        let mut random = [0u8; 12];
        getrandom::getrandom(&mut random).map_err(|e| StoreError::Corrupt(format!("no random source: {e}")))?;
        let event_id = format!("wd_{}", hex::encode(random));
        let sql = format!(
            "INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event, payload, state, attempts, next_attempt_at, created_at) \
             SELECT $3 || '-' || e.id, e.id, e.tenant_id, $4, $5, 'pending', 0, $6, $6 FROM webhook_endpoints e \
             WHERE e.tenant_id = $1 AND e.disabled_at IS NULL AND {contains}"
        );
        Ok(on_pool!(self, |pool| {
            sqlx::query(&sql)
                .bind(tenant)
                .bind(&needle)
                .bind(&event_id)
                .bind(event)
                .bind(payload)
                .bind(now_ms)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Claims up to `limit` due deliveries (oldest due first) until `now_ms + lease_ms`, with
    /// their endpoints. A delivery whose claim ran out (its deliverer died) is due again.
    pub async fn claim_webhook_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let lock = match self.backend {
            Backend::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite { .. } => "",
        };
        let sql = format!(
            "UPDATE webhook_deliveries SET lease_until = $1 WHERE id IN (\
               SELECT d.id FROM webhook_deliveries d WHERE d.state = 'pending' AND d.next_attempt_at <= $2 \
               AND (d.lease_until IS NULL OR d.lease_until < $2) ORDER BY d.next_attempt_at LIMIT {}{lock}) \
             RETURNING {DELIVERY_COLUMNS}",
            limit.max(1)
        );
        let rows: Vec<DeliveryRow> =
            on_pool!(self, |pool| { sqlx::query_as(&sql).bind(now_ms + lease_ms).bind(now_ms).fetch_all(pool).await? });
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut deliveries: Vec<WebhookDelivery> =
            rows.into_iter().map(WebhookDelivery::try_from).collect::<Result<_, _>>()?;
        deliveries.sort_by_key(|d| d.next_attempt_at);
        let mut ids: Vec<&str> = deliveries.iter().map(|d| d.endpoint_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id IN ({})", placeholders.join(", "));
        let endpoints: Vec<EndpointRow> = on_read_pool!(self, |pool| {
            let mut query = sqlx::query_as(&sql);
            for id in &ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await?
        });
        let endpoints: Vec<WebhookEndpoint> =
            endpoints.into_iter().map(WebhookEndpoint::try_from).collect::<Result<_, _>>()?;
        deliveries
            .into_iter()
            .map(|delivery| {
                let endpoint = endpoints.iter().find(|e| e.id == delivery.endpoint_id).cloned().ok_or_else(|| {
                    StoreError::Corrupt(format!("webhook delivery {}: its endpoint is missing", delivery.id))
                })?;
                Ok(DueDelivery { delivery, endpoint })
            })
            .collect()
    }

    /// Records the result of an attempt made under the claim that set `lease_until`; `false`
    /// (nothing written) when that claim no longer holds the delivery. The error text is
    /// clipped to [`MAX_ERROR_BYTES`].
    pub async fn record_webhook_attempt(
        &self,
        id: &str,
        lease_until: i64,
        attempt: Attempt<'_>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (state, next, status, error, finished) = match attempt {
            Attempt::Succeeded { status } => (DeliveryState::Succeeded, now_ms, Some(status), None, Some(now_ms)),
            Attempt::Retry { at, status, error } => (DeliveryState::Pending, at, status, Some(error), None),
            Attempt::Failed { status, error } => (DeliveryState::Failed, now_ms, status, Some(error), Some(now_ms)),
        };
        // PostgreSQL text cannot hold NUL, and a receiver's answer may.
        let error = error.map(|e| clip(e, MAX_ERROR_BYTES).replace('\0', "\u{FFFD}"));
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, next_attempt_at = $2, lease_until = NULL, \
                 last_status = $3, last_error = $4, finished_at = $5 \
                 WHERE id = $6 AND state = 'pending' AND lease_until = $7",
            )
            .bind(state.as_str())
            .bind(next)
            .bind(status)
            .bind(&error)
            .bind(finished)
            .bind(id)
            .bind(lease_until)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// An endpoint's deliveries, newest first, at most `limit` (capped at
    /// [`MAX_DELIVERY_PAGE`]).
    pub async fn webhook_deliveries(
        &self,
        tenant: &str,
        endpoint: &str,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND tenant_id = $2 \
             ORDER BY created_at DESC, id DESC LIMIT {}",
            limit.clamp(1, MAX_DELIVERY_PAGE)
        );
        let rows: Vec<DeliveryRow> =
            on_read_pool!(self, |pool| sqlx::query_as(&sql).bind(endpoint).bind(tenant).fetch_all(pool).await?);
        rows.into_iter().map(WebhookDelivery::try_from).collect()
    }

    /// One of a tenant's deliveries.
    pub async fn webhook_delivery(&self, tenant: &str, id: &str) -> Result<Option<WebhookDelivery>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1 AND tenant_id = $2");
        let row: Option<DeliveryRow> =
            on_read_pool!(self, |pool| sqlx::query_as(&sql).bind(id).bind(tenant).fetch_optional(pool).await?);
        row.map(WebhookDelivery::try_from).transpose()
    }

    /// Sends one of a tenant's finished deliveries again: pending now, attempts back to 0 (its
    /// full budget), the same id (receivers that saw it may drop it as a duplicate).
    pub async fn replay_webhook_delivery(
        &self,
        tenant: &str,
        id: &str,
        now_ms: i64,
    ) -> Result<DeliveryReplay, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, lease_until = NULL, \
                 finished_at = NULL WHERE id = $2 AND tenant_id = $3 AND state IN ('succeeded', 'failed') \
                 AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = webhook_deliveries.endpoint_id \
                             AND e.disabled_at IS NULL)",
            )
            .bind(now_ms)
            .bind(id)
            .bind(tenant)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if done == 1 {
            return Ok(DeliveryReplay::Replayed);
        }
        let Some(delivery) = self.webhook_delivery(tenant, id).await? else { return Ok(DeliveryReplay::NotFound) };
        Ok(match delivery.state {
            DeliveryState::Pending => DeliveryReplay::Pending,
            _ => DeliveryReplay::EndpointDisabled,
        })
    }
}
