//! The delivery queue: one delivery per event and subscribed endpoint, leased claims, attempt
//! results, listing and replay.

use super::{Attempt, MAX_DELIVERY_PAGE, WebhookDelivery, WebhookEndpoint};
use super::{DELIVERY_COLUMNS, DeliveryReplay, DeliveryRow, DeliveryState, DueDelivery, ENDPOINT_COLUMNS, EndpointRow};
use crate::store::{Backend, Store, StoreError, on_pool, on_read_pool};
use portico_model::text::{MAX_ERROR_BYTES, clip};

impl Store {
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
        // Most polls find nothing due: a read (on SQLite, beside the writer) says so without
        // taking the write lock.
        let due: Option<(i32,)> = on_read_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT 1 FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $1 \
                 AND (lease_until IS NULL OR lease_until < $1) LIMIT 1",
            )
            .bind(now_ms)
            .fetch_optional(pool)
            .await?
        });
        if due.is_none() {
            return Ok(Vec::new());
        }
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
