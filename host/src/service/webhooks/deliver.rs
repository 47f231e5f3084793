//! The deliverer: claims due deliveries and POSTs them, on every replica, until stopped.
//!
//! Each claim is a lease longer than one attempt can take, so a delivery is attempted by one
//! deliverer at a time, and a replica that dies mid-attempt leaves it due again when the lease
//! ends. A 2xx answer succeeds; anything else (an error status, a timeout, a refused
//! connection) is retried after `webhooks.retry_delays_seconds` until `webhooks.max_attempts`,
//! then the delivery fails. What the SSRF guard refuses and what cannot be sent at all (a
//! disabled endpoint, a corrupt row) fails at once: retrying would not change it. Only the
//! first 4 KiB of an error answer is read and kept.

use super::config::WebhooksConfig;
use super::guard::{Guard, Refused};
use super::{EndpointAuth, envelope, open_auth, open_secret, sign};
use crate::service::{AppState, now_ms, random_bytes};
use crate::store::{Attempt, DueDelivery};
use portico_model::text::MAX_ERROR_BYTES;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tracing::Instrument;

/// The most of an error answer's body read (and kept with the delivery).
pub const MAX_ANSWER_BYTES: usize = MAX_ERROR_BYTES;

/// How much longer than an attempt's time limit a claim lasts (recording the result included).
const LEASE_MARGIN: Duration = Duration::from_secs(60);

/// Runs the deliverer until `stop` resolves, then waits (up to one attempt's time limit) for
/// the attempts in flight. Fails at once when the settings do not give a usable client.
pub async fn run(state: AppState, stop: impl Future<Output = ()>) {
    let config = state.inner.config.webhooks.clone();
    if config.concurrency == 0 {
        stop.await;
        return;
    }
    let guard = match Guard::from_config(&config) {
        Ok(guard) => guard,
        Err(e) => {
            tracing::error!("webhooks: not delivering: {e}");
            stop.await;
            return;
        }
    };
    let client = match guard.client(config.timeout()) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!("webhooks: not delivering: the HTTP client cannot be built: {e}");
            stop.await;
            return;
        }
    };
    let sender = Arc::new(Sender { state: state.clone(), guard, client, config: config.clone() });
    let slots = Arc::new(Semaphore::new(config.concurrency));
    let lease_ms = (config.timeout() + LEASE_MARGIN).as_millis() as i64;
    tokio::pin!(stop);
    loop {
        let first = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut stop => break,
        };
        let mut permits = vec![first];
        while permits.len() < config.concurrency {
            match slots.clone().try_acquire_owned() {
                Ok(permit) => permits.push(permit),
                Err(_) => break,
            }
        }
        let limit = u32::try_from(permits.len()).unwrap_or(u32::MAX);
        let wait = match state.inner.store.claim_webhook_deliveries(now_ms(), lease_ms, limit).await {
            Ok(due) if !due.is_empty() => {
                for (due, permit) in due.into_iter().zip(permits.drain(..)) {
                    let sender = sender.clone();
                    let span =
                        tracing::info_span!("webhook", delivery = %due.delivery.id, tenant = %due.delivery.tenant_id);
                    tokio::spawn(
                        async move {
                            sender.attempt(due).await;
                            drop(permit);
                        }
                        .instrument(span),
                    );
                }
                continue;
            }
            Ok(_) => Duration::from_millis(config.poll_ms.max(10)),
            Err(e) => {
                tracing::error!("webhooks: claiming deliveries failed: {e}");
                Duration::from_secs(1)
            }
        };
        drop(permits);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = &mut stop => break,
        }
    }
    let all = u32::try_from(config.concurrency).unwrap_or(u32::MAX);
    let drain = config.timeout() + Duration::from_secs(1);
    if tokio::time::timeout(drain, slots.acquire_many(all)).await.is_err() {
        tracing::warn!("webhooks: deliveries still in flight at shutdown; their leases expire and they are sent again");
    }
}

/// What one attempt needs.
struct Sender {
    state: AppState,
    guard: Guard,
    client: reqwest::Client,
    config: WebhooksConfig,
}

/// Why an attempt did not succeed.
struct Failure {
    /// The answer's status, if one came.
    status: Option<i32>,
    /// What went wrong, for the tenant.
    message: String,
    /// Retrying cannot change it.
    permanent: bool,
}

impl Failure {
    fn permanent(message: impl Into<String>) -> Failure {
        Failure { status: None, message: message.into(), permanent: true }
    }

    fn transient(message: impl Into<String>) -> Failure {
        Failure { status: None, message: message.into(), permanent: false }
    }
}

impl Sender {
    /// One attempt, and its result recorded under the claim.
    async fn attempt(&self, due: DueDelivery) {
        let Some(lease) = due.delivery.lease_until else { return };
        let result = self.send(&due).await;
        let attempts = due.delivery.attempts.saturating_add(1);
        let now = now_ms();
        let message;
        let attempt = match &result {
            Ok(status) => Attempt::Succeeded { status: *status },
            Err(f) if f.permanent => Attempt::Failed { status: f.status, error: &f.message },
            Err(f) if attempts >= self.config.max_attempts => {
                message = format!("{} (gave up after {attempts} attempts)", f.message);
                Attempt::Failed { status: f.status, error: &message }
            }
            Err(f) => Attempt::Retry {
                at: now + jittered(self.config.retry_delay(attempts)),
                status: f.status,
                error: &f.message,
            },
        };
        match &attempt {
            Attempt::Succeeded { status } => tracing::debug!(status, "webhook delivered"),
            Attempt::Retry { error, .. } => tracing::info!(attempts, "webhook attempt failed, will retry: {error}"),
            Attempt::Failed { error, .. } => tracing::warn!(attempts, "webhook delivery failed: {error}"),
        }
        match self.state.inner.store.record_webhook_attempt(&due.delivery.id, lease, attempt, now).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!("the delivery's claim ran out before its result was recorded"),
            Err(e) => tracing::error!("recording a webhook attempt failed (it will be sent again): {e}"),
        }
    }

    /// POSTs the envelope; the status of a 2xx answer.
    async fn send(&self, due: &DueDelivery) -> Result<i32, Failure> {
        let DueDelivery { delivery, endpoint } = due;
        if endpoint.disabled_at.is_some() {
            return Err(Failure::permanent("the endpoint was disabled"));
        }
        let url = self.guard.check_url(&endpoint.url).map_err(|e| Failure::permanent(e.to_string()))?;
        let keys = &self.state.inner.keys;
        let secret = open_secret(keys, endpoint).map_err(|e| Failure::transient(format!("the signing secret: {e}")))?;
        let auth = open_auth(keys, endpoint).map_err(|e| Failure::transient(format!("the endpoint's auth: {e}")))?;
        let body =
            envelope(delivery).map_err(|e| Failure::permanent(format!("the stored event data is not JSON: {e}")))?;
        let mut request = self.client.post(url).header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in sign::headers(&secret, &delivery.id, now_ms().div_euclid(1000), &body) {
            request = request.header(name, value);
        }
        request = match auth {
            EndpointAuth::None => request,
            EndpointAuth::Basic { username, password } => request.basic_auth(username, Some(password)),
            EndpointAuth::Header { name, value } => request.header(name, value),
        };
        let response = request.body(body).send().await.map_err(|e| {
            let (message, refused) = explain(&e);
            Failure { status: None, message, permanent: refused }
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(i32::from(status.as_u16()));
        }
        let excerpt = read_capped(response, MAX_ANSWER_BYTES).await;
        let message = if excerpt.trim().is_empty() {
            format!("the endpoint answered {status}")
        } else {
            format!("the endpoint answered {status}: {excerpt}")
        };
        Err(Failure { status: Some(i32::from(status.as_u16())), message, permanent: false })
    }
}

/// At most `cap` bytes of an answer's body, as text; the rest is never read.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> String {
    let mut buf = Vec::new();
    while buf.len() < cap {
        match response.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk[..chunk.len().min(cap - buf.len())]),
            Ok(None) | Err(_) => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// A request error with its causes (`error sending request …: client error (Connect): dns
/// error: every address of …`), and whether the SSRF guard refused it.
fn explain(e: &reqwest::Error) -> (String, bool) {
    let mut text = if e.is_timeout() { format!("timed out: {e}") } else { e.to_string() };
    let mut refused = false;
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        refused |= c.downcast_ref::<Refused>().is_some();
        let part = c.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = c.source();
    }
    (text, refused)
}

/// `delay` ±10 %, in ms.
fn jittered(delay: Duration) -> i64 {
    let ms = delay.as_millis() as i64;
    let r = i64::from(u16::from_le_bytes(random_bytes::<2>()));
    ms - ms / 10 + ms / 5 * r / i64::from(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..200 {
            let ms = jittered(Duration::from_secs(30));
            assert!((27_000..=33_000).contains(&ms), "{ms}");
        }
        assert_eq!(jittered(Duration::ZERO), 0);
    }
}
