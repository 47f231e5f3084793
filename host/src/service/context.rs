//! What a job or a delivery needs of its tenant — the tenant, its opened webhook secret, the
//! active version's grant, the config and the connection — read together and kept for a
//! moment, so the hot path does not ask the database four questions per booking.
//!
//! Writes through this replica's API drop the tenant's entry at once; other replicas see a
//! change within [`TTL`].

use super::secrets::KeyRing;
use crate::store::{ConnectionRow, Store, StoreError, Tenant};
use portico_model::{Grant, Limits};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an entry is used before it is read again.
pub const TTL: Duration = Duration::from_secs(1);

/// The active plugin version.
#[derive(Debug)]
pub struct Active {
    /// Its digest.
    pub digest: String,
    /// The manifest's plugin name.
    pub name: String,
    /// The approved grant (`None`: not approved, so not runnable).
    pub grant: Option<Arc<Grant>>,
}

/// A tenant as jobs and deliveries see it (its `Debug` never shows the webhook secret).
pub struct TenantContext {
    /// The stored tenant.
    pub tenant: Tenant,
    /// The webhook secret, opened.
    pub webhook_secret: String,
    /// The active version, if any.
    pub active: Option<Active>,
    /// Plugin settings.
    pub config: Arc<BTreeMap<String, String>>,
    /// The Salesforce connection, if any.
    pub connection: Option<ConnectionRow>,
    /// Its sandbox limits: the service's, with the tenant's overrides.
    pub limits: Limits,
}

impl std::fmt::Debug for TenantContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantContext")
            .field("tenant", &self.tenant)
            .field("webhook_secret", &"<redacted>")
            .field("active", &self.active)
            .field("config", &self.config)
            .field("connection", &self.connection)
            .field("limits", &self.limits)
            .finish()
    }
}

/// The service's limits with a tenant's overrides (a JSON object of `Limits` fields) laid over.
pub fn tenant_limits(defaults: &Limits, overrides: Option<&str>) -> Result<Limits, String> {
    let mut merged = serde_json::to_value(defaults).map_err(|e| e.to_string())?;
    if let Some(text) = overrides {
        let given: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| format!("limits must be a JSON object: {e}"))?;
        for (k, v) in given {
            merged[k] = v;
        }
    }
    let limits: Limits = serde_json::from_value(merged).map_err(|e| e.to_string())?;
    if limits.staged_records > 25 {
        return Err("staged_records is at most 25: a booking commits in one Composite request".into());
    }
    Ok(limits)
}

/// Why a context could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The webhook secret does not open.
    #[error(transparent)]
    Secrets(#[from] super::secrets::SecretsError),
    /// A stored grant, config or limits does not parse: an error, never "not approved" or the
    /// defaults.
    #[error("the tenant's stored {what} is corrupt: {detail}")]
    Corrupt {
        /// Which.
        what: &'static str,
        /// Why.
        detail: String,
    },
}

fn corrupt(what: &'static str) -> impl Fn(serde_json::Error) -> ContextError {
    move |e| ContextError::Corrupt { what, detail: e.to_string() }
}

/// The cache, holding the most recently used tenants' contexts.
#[derive(Debug)]
pub struct Contexts {
    entries: Mutex<lru::LruCache<String, (Instant, Arc<TenantContext>)>>,
}

impl Contexts {
    /// A cache of at most `capacity` tenants.
    pub fn new(capacity: usize) -> Contexts {
        let capacity = std::num::NonZeroUsize::new(capacity).unwrap_or(std::num::NonZeroUsize::MIN);
        Contexts { entries: Mutex::new(lru::LruCache::new(capacity)) }
    }

    /// The tenant's context (`None`: no such tenant).
    pub async fn get(
        &self,
        store: &Store,
        keys: &KeyRing,
        defaults: &Limits,
        tenant: &str,
    ) -> Result<Option<Arc<TenantContext>>, ContextError> {
        if let Some((at, ctx)) = self.entries.lock().expect("contexts lock").get(tenant)
            && at.elapsed() < TTL
        {
            return Ok(Some(ctx.clone()));
        }
        let Some(row) = store.tenant(tenant).await? else { return Ok(None) };
        let active = match &row.active_digest {
            Some(digest) => match store.plugin_version(tenant, digest).await? {
                Some(v) => {
                    let grant = match v.approved_grant.as_deref() {
                        Some(g) => Some(Arc::new(serde_json::from_str(g).map_err(corrupt("approved grant"))?)),
                        None => None,
                    };
                    Some(Active { digest: v.digest, name: v.name, grant })
                }
                None => None,
            },
            None => None,
        };
        let limits = tenant_limits(defaults, row.limits.as_deref())
            .map_err(|detail| ContextError::Corrupt { what: "sandbox limits", detail })?;
        let ctx = Arc::new(TenantContext {
            limits,
            webhook_secret: keys.open(&row.id, &row.webhook_secret)?,
            config: Arc::new(serde_json::from_str(&row.config).map_err(corrupt("plugin config"))?),
            connection: store.connection(tenant).await?,
            active,
            tenant: row,
        });
        self.entries.lock().expect("contexts lock").put(tenant.to_owned(), (Instant::now(), ctx.clone()));
        Ok(Some(ctx))
    }

    /// Forgets a tenant's entry (after a change through this replica).
    pub fn invalidate(&self, tenant: &str) {
        self.entries.lock().expect("contexts lock").pop(tenant);
    }
}

/// Why a stored plugin version cannot be run.
#[derive(Debug)]
pub enum PluginUnavailable {
    /// The tenant has no such version.
    Missing(String),
    /// It no longer loads (the runtime's checks changed).
    Invalid(String),
    /// The store or a task failed.
    Internal(String),
}

/// A tenant's plugin version, compiled: from the runtime's cache, else loaded from the store.
pub async fn load_plugin(
    state: &super::AppState,
    tenant: &str,
    digest: &str,
) -> Result<Arc<crate::runtime::Plugin>, PluginUnavailable> {
    if let Some(plugin) = state.inner.runtime.loaded(digest) {
        return Ok(plugin);
    }
    let bytes = state
        .inner
        .store
        .plugin_component(tenant, digest)
        .await
        .map_err(|e| PluginUnavailable::Internal(e.to_string()))?
        .ok_or_else(|| PluginUnavailable::Missing(format!("plugin version {digest} is missing")))?;
    let runtime = state.inner.runtime.clone();
    tokio::task::spawn_blocking(move || runtime.load(&bytes))
        .await
        .map_err(|e| PluginUnavailable::Internal(e.to_string()))?
        .map_err(|e| PluginUnavailable::Invalid(e.to_string()))
}
