//! A tenant's Salesforce connection: client credentials, JWT bearer, or the web-server flow
//! with PKCE; secrets sealed at rest; preflight against the active plugin's needs.

use super::tenants::open;
use super::{OpResult, Ops, Permission, Principal, security_event};
use crate::salesforce::{Missing, SalesforceError, Secret, policy, web_flow};
use crate::service::orgs::ConnectionSecrets;
use crate::service::{ApiError, now_ms};
use crate::store::ConnectionRow;
use axum::http::StatusCode;
use portico_model::Manifest;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A connection to configure. `Debug` never prints its secret.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum NewConnection {
    /// OAuth client credentials: the connected app's run-as integration user.
    ClientCredentials {
        /// The org's instance URL.
        instance_url: String,
        /// Token endpoint host (default: the instance URL).
        #[serde(default)]
        login_url: Option<String>,
        /// Consumer key.
        client_id: String,
        /// Consumer secret (stored encrypted).
        client_secret: String,
    },
    /// OAuth 2.0 JWT bearer for an integration user.
    JwtBearer {
        /// The org's instance URL.
        instance_url: String,
        /// Token endpoint host (default: https://login.salesforce.com).
        #[serde(default)]
        login_url: Option<String>,
        /// Consumer key.
        client_id: String,
        /// The integration user's username.
        username: String,
        /// The connected app's RSA private key, PEM (stored encrypted).
        private_key: String,
    },
}

impl std::fmt::Debug for NewConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NewConnection::ClientCredentials { instance_url, login_url, client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("instance_url", instance_url)
                .field("login_url", login_url)
                .field("client_id", client_id)
                .field("client_secret", &"***")
                .finish(),
            NewConnection::JwtBearer { instance_url, login_url, client_id, username, .. } => f
                .debug_struct("JwtBearer")
                .field("instance_url", instance_url)
                .field("login_url", login_url)
                .field("client_id", client_id)
                .field("username", username)
                .field("private_key", &"***")
                .finish(),
        }
    }
}

/// Starting the web-server flow. `Debug` never prints the consumer secret.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartAuthorization {
    /// Where the user logs in: the org's My Domain URL (https://acme.my.salesforce.com), or
    /// https://login.salesforce.com together with `instance_url`.
    pub login_url: String,
    /// The org's instance URL, when it differs from `login_url`.
    #[serde(default)]
    pub instance_url: Option<String>,
    /// Consumer key.
    pub client_id: String,
    /// Consumer secret, if the connected app requires it for the code exchange.
    #[serde(default)]
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for StartAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartAuthorization")
            .field("login_url", &self.login_url)
            .field("instance_url", &self.instance_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct Pending {
    login_url: String,
    instance_url: String,
    client_id: String,
    client_secret: Option<String>,
    verifier: String,
}

const FLOW_SECONDS: u64 = 600;

/// The redirect back from Salesforce.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct Callback {
    /// The authorization code.
    pub code: Option<String>,
    /// The state from the start.
    pub state: Option<String>,
    /// Salesforce's error, if the user denied access.
    pub error: Option<String>,
    /// Its description.
    pub error_description: Option<String>,
}

fn callback_url(ops: &Ops) -> String {
    format!("{}/v1/oauth/callback", ops.inner.config.public_url.trim_end_matches('/'))
}

fn checked_url(ops: &Ops, url: &str) -> OpResult<String> {
    policy::check_org_url(url, ops.inner.orgs.allow_hosts())
        .map(|u| u.as_str().trim_end_matches('/').to_owned())
        .map_err(|e| ApiError::unprocessable("url-refused", e.to_string()))
}

/// Configures the connection (replacing any other).
pub async fn put(ops: &Ops, who: &Principal, tenant: &str, new: NewConnection) -> OpResult<ConnectionRow> {
    open(ops, who, tenant, Permission::ConnectionManage, "connect").await?;
    let (kind, instance, login, client_id, username, secrets) = match new {
        NewConnection::ClientCredentials { instance_url, login_url, client_id, client_secret } => {
            let login = login_url.unwrap_or_else(|| instance_url.clone());
            let secrets = ConnectionSecrets { client_secret: Some(client_secret), ..Default::default() };
            ("client-credentials", instance_url, login, client_id, None, secrets)
        }
        NewConnection::JwtBearer { instance_url, login_url, client_id, username, private_key } => {
            if jsonwebtoken::EncodingKey::from_rsa_pem(private_key.as_bytes()).is_err() {
                return Err(ApiError::unprocessable("bad-private-key", "private_key is not an RSA private key in PEM"));
            }
            let login = login_url.unwrap_or_else(|| "https://login.salesforce.com".to_owned());
            let secrets = ConnectionSecrets { private_key: Some(private_key), ..Default::default() };
            ("jwt-bearer", instance_url, login, client_id, Some(username), secrets)
        }
    };
    let row = ConnectionRow {
        kind: kind.to_owned(),
        instance_url: checked_url(ops, &instance)?,
        login_url: checked_url(ops, &login)?,
        client_id,
        username,
        secrets: ops.inner.keys.seal(tenant, &serde_json::to_string(&secrets).map_err(ApiError::internal)?),
        updated_at: now_ms(),
    };
    ops.inner.store.put_connection(tenant, &row).await?;
    ops.inner.contexts.invalidate(tenant);
    security_event(ops, who, Some(tenant), "connection-configured", kind, row.instance_url.clone()).await?;
    Ok(row)
}

/// The connection (without secrets).
pub async fn get(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<ConnectionRow> {
    open(ops, who, tenant, Permission::ConnectionView, "view-connection").await?;
    ops.inner.store.connection(tenant).await?.ok_or_else(|| ApiError::not_found("no Salesforce connection"))
}

/// Removes the connection and its secrets.
pub async fn delete(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<()> {
    open(ops, who, tenant, Permission::ConnectionManage, "disconnect").await?;
    if !ops.inner.store.delete_connection(tenant).await? {
        return Err(ApiError::not_found("no Salesforce connection"));
    }
    ops.inner.contexts.invalidate(tenant);
    security_event(ops, who, Some(tenant), "connection-removed", tenant, String::new()).await
}

/// Starts the OAuth web-server flow with PKCE: the URL to send the authorizing user to, and
/// how many seconds it stays valid.
pub async fn authorize(ops: &Ops, who: &Principal, tenant: &str, start: StartAuthorization) -> OpResult<(String, u64)> {
    open(ops, who, tenant, Permission::ConnectionManage, "authorize-connection").await?;
    let login = policy::check_org_url(&start.login_url, ops.inner.orgs.allow_hosts())
        .map_err(|e| ApiError::unprocessable("url-refused", e.to_string()))?;
    let started = web_flow::start(&login, &start.client_id, &callback_url(ops))
        .map_err(|e| ApiError::unprocessable("bad-authorization", e.to_string()))?;
    let login_url = login.as_str().trim_end_matches('/').to_owned();
    let instance_url = match &start.instance_url {
        Some(url) => checked_url(ops, url)?,
        None => login_url.clone(),
    };
    let pending = Pending {
        instance_url,
        login_url,
        client_id: start.client_id,
        client_secret: start.client_secret,
        verifier: started.verifier.expose().to_owned(),
    };
    let sealed = ops.inner.keys.seal(tenant, &serde_json::to_string(&pending).map_err(ApiError::internal)?);
    let expires = now_ms() + FLOW_SECONDS as i64 * 1000;
    ops.inner.store.put_oauth_state(&started.state, tenant, &sealed, expires).await?;
    Ok((started.authorize_url.to_string(), FLOW_SECONDS))
}

/// Completes the web-server flow: exchanges the code (with the PKCE verifier) for a refresh
/// token and stores the connection. Authenticated by the single-use `state`, not a principal.
pub async fn callback(ops: &Ops, cb: Callback) -> OpResult<(String, ConnectionRow)> {
    if let Some(error) = cb.error {
        return Err(ApiError::bad_request(
            "authorization-denied",
            format!("Salesforce did not authorize: {error} {}", cb.error_description.unwrap_or_default()),
        ));
    }
    let (Some(code), Some(flow_state)) = (cb.code, cb.state) else {
        return Err(ApiError::bad_request("bad-callback", "the callback needs `code` and `state`"));
    };
    let (tenant, sealed) = ops.inner.store.take_oauth_state(&flow_state, now_ms()).await?.ok_or_else(|| {
        ApiError::bad_request("unknown-state", "this authorization is unknown, used or expired; start again")
    })?;
    let pending: Pending = serde_json::from_str(&ops.inner.keys.open(&tenant, &sealed)?).map_err(ApiError::internal)?;
    let login = url::Url::parse(&pending.login_url).map_err(ApiError::internal)?;
    let started = web_flow::Started {
        authorize_url: login.clone(),
        verifier: Secret::new(pending.verifier.clone()),
        state: flow_state.clone(),
    };
    let secret = pending.client_secret.clone().map(Secret::new);
    let authorized =
        web_flow::finish(&login, &pending.client_id, secret.as_ref(), &callback_url(ops), &started, &code, &flow_state)
            .await
            .map_err(|e| ApiError::bad_request("code-exchange-failed", e.to_string()))?;
    // Who authorized: shown with the connection. Not knowing it does not stop the connection.
    let instance = url::Url::parse(&pending.instance_url).ok();
    let trusted: Vec<&url::Url> = std::iter::once(&login).chain(instance.as_ref()).collect();
    let username = match &authorized.identity_url {
        Some(id) => match web_flow::identity(id, &trusted, &authorized.access_token).await {
            Ok(who) => Some(who.username),
            Err(e) => {
                tracing::warn!(%tenant, "the connected user is unknown: {e}");
                None
            }
        },
        None => None,
    };
    let secrets = ConnectionSecrets {
        client_secret: pending.client_secret,
        refresh_token: Some(authorized.refresh_token.expose().to_owned()),
        ..Default::default()
    };
    let row = ConnectionRow {
        kind: "web-server".into(),
        instance_url: pending.instance_url.clone(),
        login_url: pending.login_url,
        client_id: pending.client_id,
        username,
        secrets: ops.inner.keys.seal(&tenant, &serde_json::to_string(&secrets).map_err(ApiError::internal)?),
        updated_at: now_ms(),
    };
    ops.inner.store.put_connection(&tenant, &row).await?;
    ops.inner.contexts.invalidate(&tenant);
    tracing::info!(%tenant, "Salesforce connection authorized (web-server flow)");
    Ok((tenant, row))
}

/// What a preflight found, for the active (else newest) plugin version.
#[derive(Debug)]
pub struct Preflight {
    /// Login worked and the user may use the API.
    pub api_enabled: bool,
    /// What the connected user lacks.
    pub missing: Vec<Missing>,
    /// The plugin version checked.
    pub digest: Option<String>,
    /// Everything that version needs, to show as a checklist beside `missing`.
    pub needs: Vec<portico_model::manifest::ObjectPermission>,
    /// The org's API allowance as its answer reported it.
    pub usage: Option<crate::salesforce::ApiUsage>,
}

/// Compares the plugin's needs with what the connected user may do now; at most once per
/// `auth.preflight_interval_seconds` per tenant on each replica (each run spends API calls).
pub async fn preflight(ops: &Ops, who: &Principal, tenant_id: &str) -> OpResult<Preflight> {
    let tenant = open(ops, who, tenant_id, Permission::ConnectionManage, "preflight").await?;
    let id = tenant_id;
    let inner = &ops.inner;
    let row = inner.store.connection(id).await?.ok_or_else(|| ApiError::not_found("no Salesforce connection"))?;
    inner.preflights.admit(id)?;
    // The jobs' client: its token is reused; the describes are revalidated, not trusted.
    let org = inner
        .orgs
        .get(&inner.keys, id, Some(&row))
        .map_err(|e| ApiError::unprocessable("bad-connection", e.to_string()))?;
    let client = &org.client;
    let (version, manifest) = checked(ops, &tenant).await?;
    // Refused credentials are the connection's fault, which the caller can fix (reconnect);
    // only an org that cannot be reached or answers out of turn is a gateway failure.
    let report = crate::salesforce::preflight(client, &manifest).await;
    inner.orgs.keep_rotated_token(&inner.store, &inner.keys, id, &org).await;
    let report = report.map_err(|e| match e {
        SalesforceError::ReconnectNeeded(_) => ApiError::unprocessable("reconnect-needed", e.to_string()),
        _ => ApiError::new(StatusCode::BAD_GATEWAY, "salesforce", e.to_string()),
    })?;
    Ok(Preflight {
        api_enabled: report.api_enabled,
        missing: report.missing,
        digest: version.map(|v| v.digest),
        needs: manifest.permissions(),
        usage: client.api_usage(),
    })
}

/// The plugin version a preflight or permission set is for — the active one, else the newest —
/// and what it needs.
async fn checked(
    ops: &Ops,
    tenant: &crate::store::Tenant,
) -> OpResult<(Option<crate::store::PluginVersion>, Manifest)> {
    let versions = ops.inner.store.plugin_versions(&tenant.id).await?;
    let version = match &tenant.active_digest {
        Some(active) => versions.into_iter().find(|v| &v.digest == active),
        None => versions.into_iter().next(),
    };
    let manifest = manifest_of(version.as_ref())?;
    Ok((version, manifest))
}

/// What a version needs: its manifest's objects, or — when its objects come from its
/// configuration — the grant approved for it.
fn manifest_of(version: Option<&crate::store::PluginVersion>) -> OpResult<Manifest> {
    let Some(v) = version else {
        return Manifest::from_toml("[plugin]\nname = \"none\"\nversion = \"0\"\n").map_err(ApiError::internal);
    };
    let mut manifest = Manifest::from_toml(&v.manifest).map_err(ApiError::internal)?;
    if manifest.grant_may_exceed_request()
        && let Some(grant) = v.approved_grant.as_deref()
    {
        manifest.objects = serde_json::from_str(grant).map_err(ApiError::internal)?;
    }
    Ok(manifest)
}

/// The org's API allowance as its last answer reported it (no call is spent to learn it).
pub async fn usage(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<Option<crate::salesforce::ApiUsage>> {
    open(ops, who, tenant, Permission::ConnectionView, "view-connection").await?;
    let inner = &ops.inner;
    let Some(row) = inner.store.connection(tenant).await? else { return Ok(None) };
    Ok(inner.orgs.get(&inner.keys, tenant, Some(&row)).ok().and_then(|org| org.client.api_usage()))
}

/// A Salesforce permission set (metadata XML) granting what the active (else newest) plugin
/// version needs, for the org's admin to deploy to the integration user.
pub async fn permission_set(ops: &Ops, who: &Principal, tenant_id: &str) -> OpResult<String> {
    let tenant = open(ops, who, tenant_id, Permission::ConnectionView, "permission-set").await?;
    let inner = &ops.inner;
    let (_, manifest) = checked(ops, &tenant).await?;
    let org = match inner.store.connection(tenant_id).await? {
        Some(row) => inner.orgs.get(&inner.keys, tenant_id, Some(&row)).ok(),
        None => None,
    };
    let describe = |sobject: &str| {
        use portico_model::Crm;
        org.as_ref().and_then(|o| o.client.cached_describe(sobject)).map(|d| (*d).clone())
    };
    Ok(portico_model::permissions::permission_set_xml(&manifest, &describe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_connection_requests_never_prints_a_secret() {
        let body = r#"{"kind":"client-credentials","instance_url":"https://a.my.salesforce.com","client_id":"id","client_secret":"s3cr3t-value"}"#;
        let c: NewConnection = serde_json::from_str(body).unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t-value"), "{c:?}");
        let body = r#"{"kind":"jwt-bearer","instance_url":"https://a.my.salesforce.com","client_id":"id","username":"u","private_key":"-----BEGIN PRIVATE KEY----- k3y"}"#;
        let c: NewConnection = serde_json::from_str(body).unwrap();
        assert!(!format!("{c:?}").contains("k3y"), "{c:?}");
        let body = r#"{"login_url":"https://login.salesforce.com","client_id":"id","client_secret":"s3cr3t-value"}"#;
        let s: StartAuthorization = serde_json::from_str(body).unwrap();
        assert!(!format!("{s:?}").contains("s3cr3t-value"), "{s:?}");
    }
}
