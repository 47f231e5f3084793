//! Outbound webhooks: tenants learn what happened to their bookings without polling.
//!
//! A tenant registers endpoints for events ([`register`]); when something happens the service
//! [`emit`]s the event, which queues one durable delivery per subscribed endpoint
//! (`store::webhooks`). [`deliver`] POSTs each as a signed JSON envelope ([`sign`], the same
//! scheme Portico verifies on ingestion) through the SSRF [`guard`], retrying with backoff until
//! the endpoint answers 2xx or the attempts run out. Deliveries survive restarts and are shared
//! by replicas; each is sent at least once, with the same `id` on every attempt.
//!
//! The envelope: `{"id", "type", "created_at" (RFC 3339), "tenant", "data"}`.

pub mod config;
pub mod deliver;
pub mod guard;
pub mod sign;

pub use config::WebhooksConfig;
pub use guard::{Guard, Refused};

use super::secrets::{KeyRing, SecretsError};
use crate::store::{Store, StoreError, WebhookDelivery, WebhookEndpoint};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// What a tenant can subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Event {
    /// A job committed its records.
    #[serde(rename = "job.succeeded")]
    JobSucceeded,
    /// A job failed for good (a tenant admin may replay it).
    #[serde(rename = "job.failed")]
    JobFailed,
    /// A commit's outcome is unknown: a person must check the org, then replay or mark done.
    #[serde(rename = "job.needs-attention")]
    JobNeedsAttention,
    /// A plugin version became the active one.
    #[serde(rename = "plugin.activated")]
    PluginActivated,
    /// The Salesforce connection stopped working and must be reconnected.
    #[serde(rename = "connection.broken")]
    ConnectionBroken,
}

impl Event {
    /// Every event.
    pub const ALL: [Event; 5] = [
        Event::JobSucceeded,
        Event::JobFailed,
        Event::JobNeedsAttention,
        Event::PluginActivated,
        Event::ConnectionBroken,
    ];

    /// Its name on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::JobSucceeded => "job.succeeded",
            Event::JobFailed => "job.failed",
            Event::JobNeedsAttention => "job.needs-attention",
            Event::PluginActivated => "plugin.activated",
            Event::ConnectionBroken => "connection.broken",
        }
    }

    /// Parses an event name; `None` for anything else.
    pub fn parse(name: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Queues `event` with `data` for every enabled endpoint of `tenant` subscribed to it; returns
/// how many deliveries were queued. A tenant with no such endpoint costs one indexed read.
pub async fn emit(store: &Store, tenant: &str, event: Event, data: serde_json::Value) -> Result<u64, StoreError> {
    store.enqueue_webhook_event(tenant, event.as_str(), &data.to_string(), super::now_ms()).await
}

/// [`emit`] for callers whose own work must not fail with it: a failure is logged.
pub async fn emit_or_log(store: &Store, tenant: &str, event: Event, data: serde_json::Value) {
    if let Err(e) = emit(store, tenant, event, data).await {
        tracing::error!(%tenant, event = event.as_str(), "queueing a webhook event failed: {e}");
    }
}

/// The body of a delivery: the envelope around the event's data, the same bytes on every
/// attempt.
pub fn envelope(delivery: &WebhookDelivery) -> Result<Vec<u8>, serde_json::Error> {
    let data: serde_json::Value = serde_json::from_str(&delivery.payload)?;
    serde_json::to_vec(&serde_json::json!({
        "id": delivery.id,
        "type": delivery.event,
        "created_at": super::api::api_time(delivery.created_at),
        "tenant": delivery.tenant_id,
        "data": data,
    }))
}

/// How deliveries authenticate to an endpoint, besides the signature. Its `Debug` hides the
/// credentials; it is stored sealed.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum EndpointAuth {
    /// The signature only.
    #[default]
    None,
    /// HTTP basic authentication.
    Basic {
        /// The user name (no `:`).
        username: String,
        /// The password.
        password: String,
    },
    /// One header, e.g. an API key (`X-Api-Key: …`) or `Authorization: Bearer …`.
    Header {
        /// The header name.
        name: String,
        /// Its value.
        value: String,
    },
}

impl std::fmt::Debug for EndpointAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndpointAuth::None => f.write_str("None"),
            EndpointAuth::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            EndpointAuth::Header { name, .. } => write!(f, "Header({name}: <redacted>)"),
        }
    }
}

/// Headers deliveries set themselves, or that would change how the request is read.
const RESERVED_HEADERS: &[&str] =
    &["host", "content-type", "content-length", "transfer-encoding", "connection", "te", "upgrade", "user-agent"];

impl EndpointAuth {
    /// Refuses credentials that cannot be sent, naming what is wrong.
    pub fn check(&self) -> Result<(), String> {
        match self {
            EndpointAuth::None => Ok(()),
            EndpointAuth::Basic { username, password } => {
                if username.is_empty() || username.contains(':') {
                    return Err("the basic auth user name must be non-empty and have no `:`".into());
                }
                if username.len() + password.len() > 1_024 || (username.clone() + password).contains(char::is_control) {
                    return Err("the basic auth credentials must be at most 1 KiB with no control characters".into());
                }
                Ok(())
            }
            EndpointAuth::Header { name, value } => {
                let lower = name.to_ascii_lowercase();
                if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() || name.len() > 128 {
                    return Err(format!("`{name}` is not a header name"));
                }
                if RESERVED_HEADERS.contains(&lower.as_str()) || lower.starts_with("x-portico-") {
                    return Err(format!("the header `{name}` is set by Portico"));
                }
                if value.len() > 4_096 || reqwest::header::HeaderValue::from_str(value).is_err() {
                    return Err(format!("the value of `{name}` must be at most 4 KiB of visible text"));
                }
                Ok(())
            }
        }
    }
}

/// An endpoint to register.
#[derive(Clone, Debug)]
pub struct NewEndpoint {
    /// Where to POST (https, unless the operator allows http).
    pub url: String,
    /// What to send there (at least one).
    pub events: Vec<Event>,
    /// How to authenticate besides the signature.
    pub auth: EndpointAuth,
}

/// A registered endpoint and its signing secret (shown to the tenant once).
#[derive(Debug)]
pub struct Registered {
    /// As stored.
    pub endpoint: WebhookEndpoint,
    /// The signing secret (`whsec_…`).
    pub secret: String,
}

/// Why an endpoint was not registered.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The URL is refused by the SSRF guard.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// No event was chosen.
    #[error("choose at least one event: {}", Event::ALL.map(Event::as_str).join(", "))]
    NoEvents,
    /// The credentials cannot be sent.
    #[error("auth: {0}")]
    BadAuth(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Registers an endpoint for `tenant`: checks the URL (what can be checked before DNS; every
/// delivery checks the resolved addresses again) and the credentials, makes a signing secret,
/// and stores both sealed, bound to the endpoint.
pub async fn register(
    store: &Store,
    keys: &KeyRing,
    guard: &Guard,
    tenant: &str,
    new: NewEndpoint,
    now_ms: i64,
) -> Result<Registered, RegisterError> {
    let url = guard.check_url(new.url.trim())?;
    if new.events.is_empty() {
        return Err(RegisterError::NoEvents);
    }
    new.auth.check().map_err(RegisterError::BadAuth)?;
    let events: Vec<String> =
        Event::ALL.into_iter().filter(|e| new.events.contains(e)).map(|e| e.as_str().to_owned()).collect();
    let id = format!("we_{}", URL_SAFE_NO_PAD.encode(super::random_bytes::<16>()));
    let owner = sealed_for(tenant, &id);
    let secret = format!("whsec_{}", URL_SAFE_NO_PAD.encode(super::random_bytes::<32>()));
    let auth = match &new.auth {
        EndpointAuth::None => None,
        auth => {
            Some(keys.seal(&owner, &serde_json::to_string(auth).map_err(|e| RegisterError::BadAuth(e.to_string()))?))
        }
    };
    let endpoint = WebhookEndpoint {
        id,
        tenant_id: tenant.to_owned(),
        url: url.to_string(),
        events,
        secret: keys.seal(&owner, &secret),
        auth,
        created_at: now_ms,
        disabled_at: None,
    };
    store.insert_webhook_endpoint(&endpoint).await?;
    Ok(Registered { endpoint, secret })
}

/// What an endpoint's sealed values are bound to: copied to another endpoint's row, they do
/// not open.
fn sealed_for(tenant: &str, endpoint: &str) -> String {
    format!("{tenant}/webhook/{endpoint}")
}

/// The endpoint's signing secret, opened.
pub fn open_secret(keys: &KeyRing, endpoint: &WebhookEndpoint) -> Result<String, SecretsError> {
    keys.open(&sealed_for(&endpoint.tenant_id, &endpoint.id), &endpoint.secret)
}

/// The endpoint's credentials, opened.
pub fn open_auth(keys: &KeyRing, endpoint: &WebhookEndpoint) -> Result<EndpointAuth, SecretsError> {
    match &endpoint.auth {
        None => Ok(EndpointAuth::None),
        Some(sealed) => {
            let text = keys.open(&sealed_for(&endpoint.tenant_id, &endpoint.id), sealed)?;
            serde_json::from_str(&text).map_err(|_| SecretsError::Corrupt)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_round_trip() {
        for event in Event::ALL {
            assert_eq!(Event::parse(event.as_str()), Some(event));
            assert_eq!(serde_json::to_value(event).unwrap(), event.as_str());
        }
        assert_eq!(Event::parse("job.done"), None);
    }

    #[test]
    fn credentials_are_checked_and_never_printed() {
        let header = EndpointAuth::Header { name: "X-Api-Key".into(), value: "k-123".into() };
        assert!(header.check().is_ok());
        assert!(!format!("{header:?}").contains("k-123"));
        let basic = EndpointAuth::Basic { username: "hook".into(), password: "pw-secret".into() };
        assert!(basic.check().is_ok() && !format!("{basic:?}").contains("pw-secret"));
        for bad in [
            EndpointAuth::Header { name: "X-Portico-Signature".into(), value: "x".into() },
            EndpointAuth::Header { name: "Host".into(), value: "x".into() },
            EndpointAuth::Header { name: "bad name".into(), value: "x".into() },
            EndpointAuth::Header { name: "X-Key".into(), value: "a\r\nb".into() },
            EndpointAuth::Basic { username: "a:b".into(), password: "x".into() },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        let json: EndpointAuth = serde_json::from_str(r#"{"type":"basic","username":"u","password":"p"}"#).unwrap();
        assert_eq!(json, EndpointAuth::Basic { username: "u".into(), password: "p".into() });
    }

    #[test]
    fn the_envelope_wraps_the_data() {
        let delivery = WebhookDelivery {
            id: "wd_1-we_2".into(),
            endpoint_id: "we_2".into(),
            tenant_id: "acme".into(),
            event: "job.failed".into(),
            payload: r#"{"job_id":7}"#.into(),
            state: crate::store::DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: 0,
            lease_until: None,
            last_status: None,
            last_error: None,
            created_at: 1_800_000_000_000,
            finished_at: None,
        };
        let body: serde_json::Value = serde_json::from_slice(&envelope(&delivery).unwrap()).unwrap();
        assert_eq!(body["id"], "wd_1-we_2");
        assert_eq!(body["type"], "job.failed");
        assert_eq!(body["tenant"], "acme");
        assert_eq!(body["data"]["job_id"], 7);
        let at = portico_model::DateTime::parse_rfc3339(body["created_at"].as_str().unwrap()).unwrap();
        assert_eq!(at.seconds, 1_800_000_000);
    }
}
