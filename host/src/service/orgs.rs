//! Tenants' Salesforce clients, built from their stored connections and kept while the
//! connection is unchanged (so tokens and describe caches survive between jobs).

use super::config::OrgsConfig;
use super::secrets::KeyRing;
use crate::salesforce::{Auth, Connection, DescribeStats, SalesforceClient, Secret, Shared};
use crate::store::ConnectionRow;
use serde::{Deserialize, Serialize};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The secret parts of a connection, sealed together in `connections.secrets`.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct ConnectionSecrets {
    /// The consumer secret (client credentials; web-server flow when the app requires it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The RSA private key, PEM (JWT bearer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// The refresh token (web-server flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for ConnectionSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionSecrets(***)")
    }
}

/// A tenant's client and how many of its calls the metrics have seen.
#[derive(Debug)]
pub struct Org {
    /// The client.
    pub client: Arc<SalesforceClient>,
    /// The versions this client stands for: the connection it was built from, and each version
    /// written when it stored a rotated refresh token. A row of any other version is another
    /// connection (replaced, or deleted and made again).
    versions: Vec<i64>,
    reported_calls: AtomicU64,
    /// The org's object names (global describe) and when they were read, for the console.
    object_names: Mutex<Option<(std::time::Instant, Arc<Vec<String>>)>>,
}

/// How long the console reuses an org's list of objects (one API call each time it is read).
const OBJECT_NAMES_TTL: std::time::Duration = std::time::Duration::from_secs(300);

impl Org {
    /// The org's object names, read at most every five minutes.
    pub async fn object_names(&self) -> Result<Arc<Vec<String>>, portico_model::CrmError> {
        if let Some((at, names)) = self.object_names.lock().expect("object names lock").as_ref()
            && at.elapsed() < OBJECT_NAMES_TTL
        {
            return Ok(names.clone());
        }
        let names = Arc::new(portico_model::Crm::sobjects(&*self.client).await?);
        *self.object_names.lock().expect("object names lock") = Some((std::time::Instant::now(), names.clone()));
        Ok(names)
    }

    /// The connection's newest version this client stands for.
    fn version(&self) -> i64 {
        *self.versions.last().expect("an org has the version it was built from")
    }

    /// API calls made since the last time this was asked (each call is reported once).
    pub fn new_calls(&self) -> u64 {
        let total = self.client.api_calls();
        total.saturating_sub(self.reported_calls.swap(total, Ordering::Relaxed))
    }
}

/// Why a tenant's org cannot be reached.
#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    /// No connection configured.
    #[error("the tenant has no Salesforce connection; a tenant admin must connect one")]
    NotConnected,
    /// The stored connection is unusable.
    #[error("the Salesforce connection is unusable: {0}")]
    Invalid(String),
}

/// Clients per tenant.
#[derive(Debug)]
pub struct Orgs {
    allow_hosts: Vec<String>,
    extra_ca_pem: Option<String>,
    /// One HTTP client and one describe store for every org: per-org ones would each hold
    /// their own connection pool, TLS roots and describes.
    shared: Result<Shared, String>,
    /// Clients by tenant, least recently used out first.
    clients: Mutex<lru::LruCache<String, Arc<Org>>>,
}

impl Orgs {
    /// Clients allowed to reach Salesforce's domains and `allow_hosts`, trusting `extra_ca_pem`
    /// besides the system's roots, kept within `config`'s bounds.
    pub fn new(allow_hosts: Vec<String>, extra_ca_pem: Option<String>, config: &OrgsConfig) -> Orgs {
        let wait = config.share_requests.then(|| std::time::Duration::from_millis(config.batch_wait_ms));
        let find_ttl = std::time::Duration::from_millis(config.find_cache_ms);
        let shared = Shared::new(extra_ca_pem.as_deref(), config.describe_cache_bytes, wait)
            .map(|s| s.with_find_cache(find_ttl))
            .map_err(|e| e.to_string());
        let capacity = NonZeroUsize::new(config.cached_clients).unwrap_or(NonZeroUsize::MIN);
        Orgs { allow_hosts, extra_ca_pem, shared, clients: Mutex::new(lru::LruCache::new(capacity)) }
    }

    /// The tenant's client if this replica has one.
    pub fn cached(&self, tenant: &str) -> Option<Arc<Org>> {
        self.clients.lock().expect("orgs lock").peek(tenant).cloned()
    }

    /// Clients kept, and what the shared describe store holds.
    pub fn stats(&self) -> (usize, Option<DescribeStats>) {
        let clients = self.clients.lock().expect("orgs lock").len();
        (clients, self.shared.as_ref().ok().map(|s| s.describes.stats()))
    }

    /// Finds answered from tenants' recent answers since start.
    pub fn find_cache_hits(&self) -> u64 {
        self.shared.as_ref().map_or(0, Shared::find_cache_hits)
    }

    /// The hosts allowed besides Salesforce's domains.
    pub fn allow_hosts(&self) -> &[String] {
        &self.allow_hosts
    }

    /// The client for a tenant's connection (reused while the connection is unchanged).
    pub fn get(&self, keys: &KeyRing, tenant: &str, row: Option<&ConnectionRow>) -> Result<Arc<Org>, OrgError> {
        let row = row.ok_or(OrgError::NotConnected)?;
        // The row may be a cached read from before this client stored a rotated refresh token:
        // the client still stands for it.
        if let Some(org) =
            self.clients.lock().expect("orgs lock").get(tenant).filter(|o| o.versions.contains(&row.updated_at))
        {
            return Ok(org.clone());
        }
        let client = self.client(keys, tenant, row)?;
        let org = Arc::new(Org {
            client: Arc::new(client),
            versions: vec![row.updated_at],
            reported_calls: AtomicU64::new(0),
            object_names: Mutex::new(None),
        });
        self.clients.lock().expect("orgs lock").put(tenant.to_owned(), org.clone());
        Ok(org)
    }

    /// Stores the refresh token the tenant's client got from Salesforce since the last time, if
    /// any (after every use of the client: a job, a preflight).
    pub async fn keep_rotated_token(&self, store: &crate::store::Store, keys: &KeyRing, tenant: &str, org: &Org) {
        let Some(token) = org.client.take_rotated_refresh_token() else { return };
        match self.store_rotated_token(store, keys, tenant, org, &token).await {
            Ok(()) => tracing::info!(tenant, "stored the refresh token Salesforce rotated"),
            Err(e) => {
                tracing::error!(
                    tenant,
                    "storing the refresh token Salesforce rotated failed (tried again next time): {e}"
                )
            }
        }
    }

    /// Stores a refresh token the tenant's client received from Salesforce in place of the one it
    /// was built with, and keeps the client (its tokens and caches) for the new version. Written
    /// against the client's newest version, so a second rotation by the same client is stored
    /// too; when the connection was replaced meanwhile, the new one stands and nothing is
    /// written. On failure the token stays pending with the client, for the next job to store.
    pub async fn store_rotated_token(
        &self,
        store: &crate::store::Store,
        keys: &KeyRing,
        tenant: &str,
        org: &Org,
        token: &Secret,
    ) -> Result<(), String> {
        let current = self.clients.lock().expect("orgs lock").get(tenant).cloned();
        let current = current.filter(|c| Arc::ptr_eq(&c.client, &org.client));
        let version = current.as_ref().map_or(org.version(), |c| c.version());
        let result = async {
            let row = store.connection(tenant).await.map_err(|e| e.to_string())?;
            let Some(row) = row.filter(|r| r.updated_at == version) else { return Ok(None) };
            let mut secrets: ConnectionSecrets =
                serde_json::from_str(&keys.open(tenant, &row.secrets).map_err(|e| e.to_string())?)
                    .map_err(|e| format!("stored secrets: {e}"))?;
            secrets.refresh_token = Some(token.expose().to_owned());
            let sealed = keys.seal(tenant, &serde_json::to_string(&secrets).map_err(|e| e.to_string())?);
            let now = super::now_ms().max(version + 1);
            let stored =
                store.rotate_connection_secrets(tenant, version, &sealed, now).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(stored.then_some(now))
        }
        .await;
        match result {
            Ok(Some(now)) => {
                let mut clients = self.clients.lock().expect("orgs lock");
                if let Some(current) = clients.get(tenant).filter(|o| Arc::ptr_eq(&o.client, &org.client)).cloned() {
                    let mut versions = current.versions.clone();
                    versions.push(now);
                    let renewed = Org {
                        client: current.client.clone(),
                        versions,
                        reported_calls: AtomicU64::new(current.reported_calls.load(Ordering::Relaxed)),
                        object_names: Mutex::new(None),
                    };
                    clients.put(tenant.to_owned(), Arc::new(renewed));
                }
                Ok(())
            }
            // The connection was replaced: its own secrets stand.
            Ok(None) => Ok(()),
            Err(e) => {
                org.client.rotation_not_stored(token);
                Err(e)
            }
        }
    }

    /// A client for a connection row (not cached): for preflight of a new connection.
    pub fn client(&self, keys: &KeyRing, tenant: &str, row: &ConnectionRow) -> Result<SalesforceClient, OrgError> {
        let secrets: ConnectionSecrets =
            serde_json::from_str(&keys.open(tenant, &row.secrets).map_err(|e| OrgError::Invalid(e.to_string()))?)
                .map_err(|e| OrgError::Invalid(format!("stored secrets: {e}")))?;
        let missing = |what: &str| OrgError::Invalid(format!("the {} connection has no {what}", row.kind));
        let auth = match row.kind.as_str() {
            "client-credentials" => Auth::ClientCredentials {
                client_id: row.client_id.clone(),
                client_secret: Secret::new(secrets.client_secret.ok_or_else(|| missing("client secret"))?),
            },
            "jwt-bearer" => Auth::JwtBearer {
                client_id: row.client_id.clone(),
                username: row.username.clone().ok_or_else(|| missing("username"))?,
                private_key: Secret::new(secrets.private_key.ok_or_else(|| missing("private key"))?),
            },
            "web-server" => Auth::RefreshToken {
                client_id: row.client_id.clone(),
                client_secret: secrets.client_secret.map(Secret::new),
                refresh_token: Secret::new(secrets.refresh_token.ok_or_else(|| missing("refresh token"))?),
            },
            other => return Err(OrgError::Invalid(format!("unknown connection kind `{other}`"))),
        };
        let mut conn = Connection::new(&row.instance_url, &row.login_url, auth, &self.allow_hosts)
            .map_err(|e| OrgError::Invalid(e.to_string()))?;
        conn.extra_ca_pem = self.extra_ca_pem.clone();
        let shared = self.shared.as_ref().map_err(|e| OrgError::Invalid(e.clone()))?;
        SalesforceClient::sharing_for(tenant, conn, shared).map_err(|e| OrgError::Invalid(e.to_string()))
    }
}
