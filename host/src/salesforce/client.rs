//! The HTTP client: sessions, describe cache, find, commit.

use super::error::{ApiErrorEntry, SalesforceError};
use super::{Secret, policy};
use async_trait::async_trait;
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RefreshToken, RequestTokenError, TokenResponse,
    TokenUrl,
};
use portico_model::describe::SObjectDescribe;
use portico_model::staging::{API_VERSION, Unit};
use portico_model::{Crm, CrmError, FieldValue, FindQuery, Found, Value};
use reqwest::{Method, StatusCode, header};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// How a connection obtains access tokens.
#[derive(Clone, Debug)]
pub enum Auth {
    /// OAuth client credentials: the connected app runs as its configured integration user.
    ClientCredentials {
        /// Consumer key.
        client_id: String,
        /// Consumer secret.
        client_secret: Secret,
    },
    /// OAuth 2.0 JWT bearer: an RS256 assertion signed with the connected app's key, for the
    /// integration user `username`.
    JwtBearer {
        /// Consumer key (`iss`).
        client_id: String,
        /// The integration user (`sub`).
        username: String,
        /// The RSA private key, PEM.
        private_key: Secret,
    },
    /// A refresh token from the web-server flow: acts as the user who authorized.
    RefreshToken {
        /// Consumer key.
        client_id: String,
        /// Consumer secret, when the connected app requires it.
        client_secret: Option<Secret>,
        /// The refresh token.
        refresh_token: Secret,
    },
}

/// A tenant's connection to its org.
#[derive(Clone, Debug)]
pub struct Connection {
    /// The org's instance URL (`https://acme.my.salesforce.com`).
    pub instance_url: Url,
    /// Where tokens come from (usually the instance URL or `https://login.salesforce.com`).
    pub login_url: Url,
    /// The grant.
    pub auth: Auth,
    /// An extra certificate authority (PEM) to trust, for a development org such as the
    /// emulator's self-signed https; real orgs need none.
    pub extra_ca_pem: Option<String>,
}

impl Connection {
    /// A connection whose URLs pass the SSRF policy (see [`policy::check_org_url`]).
    pub fn new(
        instance_url: &str,
        login_url: &str,
        auth: Auth,
        allow: &[String],
    ) -> Result<Connection, policy::UrlRefused> {
        Ok(Connection {
            instance_url: policy::check_org_url(instance_url, allow)?,
            login_url: policy::check_org_url(login_url, allow)?,
            auth,
            extra_ca_pem: None,
        })
    }
}

/// A record the commit created or updated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommittedRecord {
    /// The staged record's reference id.
    pub reference_id: String,
    /// Its sObject.
    pub sobject: String,
    /// The Salesforce id.
    pub id: String,
    /// Created (`false`: an upsert updated an existing record).
    pub created: bool,
}

/// The result of a successful commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Committed {
    /// The records, in staging order.
    pub records: Vec<CommittedRecord>,
}

#[derive(Debug)]
struct CachedDescribe {
    describe: Arc<SObjectDescribe>,
    last_modified: Option<String>,
    checked: Instant,
}

/// How long a describe is used without asking Salesforce; after that it is revalidated with
/// `If-Modified-Since` (a `304` keeps it).
pub const DESCRIBE_TTL: Duration = Duration::from_secs(15 * 60);

/// API usage as Salesforce last reported it (`Sforce-Limit-Info: api-usage=used/max`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ApiUsage {
    /// Calls used in the rolling 24 hours.
    pub used: u64,
    /// The allowance.
    pub max: u64,
}

type OAuthClient = BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// A client for one tenant's org.
pub struct SalesforceClient {
    conn: Connection,
    http: reqwest::Client,
    oauth: OAuthClient,
    token: tokio::sync::Mutex<Option<Secret>>,
    describes: Mutex<HashMap<String, CachedDescribe>>,
    describe_ttl: Duration,
    usage: Mutex<Option<ApiUsage>>,
    calls: std::sync::atomic::AtomicU64,
    /// A refresh token Salesforce rotated (it answered a refresh with a new one): used from then
    /// on, and handed to whoever stores the connection by [`SalesforceClient::take_rotated_refresh_token`].
    rotated: Mutex<Option<(Secret, bool)>>,
}

impl std::fmt::Debug for SalesforceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceClient").field("instance_url", &self.conn.instance_url.as_str()).finish()
    }
}

#[derive(Deserialize)]
struct QueryResponse {
    records: Vec<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompositeResponse {
    composite_response: Vec<SubResponse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubResponse {
    body: serde_json::Value,
    http_status_code: u16,
    reference_id: String,
}

impl SalesforceClient {
    /// A client for a connection. No request is made until the first call.
    pub fn new(conn: Connection) -> Result<SalesforceClient, SalesforceError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30));
        if let Some(pem) = &conn.extra_ca_pem {
            let cert = reqwest::Certificate::from_pem(pem.as_bytes())
                .map_err(|e| SalesforceError::Protocol(format!("the extra CA certificate is not valid PEM: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder.build().map_err(|e| SalesforceError::Network(e.to_string()))?;
        let client_id = match &conn.auth {
            Auth::ClientCredentials { client_id, .. }
            | Auth::RefreshToken { client_id, .. }
            | Auth::JwtBearer { client_id, .. } => client_id.clone(),
        };
        let token_url =
            conn.login_url.join("/services/oauth2/token").map_err(|e| SalesforceError::Protocol(e.to_string()))?;
        // Salesforce documents the client credentials as form fields (client_secret_post).
        let mut oauth = BasicClient::new(ClientId::new(client_id))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(TokenUrl::from_url(token_url));
        match &conn.auth {
            Auth::ClientCredentials { client_secret, .. } => {
                oauth = oauth.set_client_secret(ClientSecret::new(client_secret.expose().to_owned()));
            }
            Auth::RefreshToken { client_secret: Some(s), .. } => {
                oauth = oauth.set_client_secret(ClientSecret::new(s.expose().to_owned()));
            }
            Auth::RefreshToken { client_secret: None, .. } | Auth::JwtBearer { .. } => {}
        }
        Ok(SalesforceClient {
            conn,
            http,
            oauth,
            token: tokio::sync::Mutex::new(None),
            describes: Mutex::new(HashMap::new()),
            describe_ttl: DESCRIBE_TTL,
            usage: Mutex::new(None),
            calls: std::sync::atomic::AtomicU64::new(0),
            rotated: Mutex::new(None),
        })
    }

    /// Changes how long describes are used before revalidation (default [`DESCRIBE_TTL`]).
    pub fn with_describe_ttl(mut self, ttl: Duration) -> SalesforceClient {
        self.describe_ttl = ttl;
        self
    }

    /// REST API requests this client has sent (token requests not included: they do not
    /// count against the org's API allowance).
    pub fn api_calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// API usage as last reported by Salesforce.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        *self.usage.lock().expect("usage lock")
    }

    async fn login(&self) -> Result<Secret, SalesforceError> {
        if let Auth::JwtBearer { client_id, username, private_key } = &self.conn.auth {
            return self.login_jwt(client_id, username, private_key).await;
        }
        let result = match &self.conn.auth {
            Auth::JwtBearer { .. } => unreachable!("handled above"),
            Auth::ClientCredentials { .. } => self.oauth.exchange_client_credentials().request_async(&self.http).await,
            Auth::RefreshToken { refresh_token, .. } => {
                let current = self.rotated.lock().expect("rotated lock").as_ref().map(|(t, _)| t.clone());
                let current = current.unwrap_or_else(|| refresh_token.clone());
                let refresh = RefreshToken::new(current.expose().to_owned());
                self.oauth.exchange_refresh_token(&refresh).request_async(&self.http).await
            }
        };
        match result {
            Ok(token) => {
                if let Some(new) = token.refresh_token() {
                    let new = Secret::new(new.secret().clone());
                    let mut rotated = self.rotated.lock().expect("rotated lock");
                    let same = match (&*rotated, &self.conn.auth) {
                        (Some((t, _)), _) => *t == new,
                        (None, Auth::RefreshToken { refresh_token, .. }) => *refresh_token == new,
                        (None, _) => true,
                    };
                    if !same {
                        *rotated = Some((new, true));
                    }
                }
                Ok(Secret::new(token.access_token().secret().clone()))
            }
            Err(RequestTokenError::ServerResponse(e)) => {
                let detail = e.error_description().cloned().unwrap_or_else(|| e.error().to_string());
                match e.error() {
                    BasicErrorResponseType::InvalidGrant
                    | BasicErrorResponseType::InvalidClient
                    | BasicErrorResponseType::UnauthorizedClient => {
                        Err(SalesforceError::ReconnectNeeded(format!("{}: {detail}", e.error())))
                    }
                    other => Err(SalesforceError::Protocol(format!("token endpoint: {other}: {detail}"))),
                }
            }
            Err(RequestTokenError::Request(e)) => Err(SalesforceError::Network(e.to_string())),
            Err(e) => Err(SalesforceError::Protocol(format!("token endpoint: {e}"))),
        }
    }

    /// The JWT bearer grant (RFC 7523), which the oauth2 crate does not cover: a short-lived
    /// assertion (`exp` 3 minutes) posted to the token endpoint.
    async fn login_jwt(&self, client_id: &str, username: &str, key: &Secret) -> Result<Secret, SalesforceError> {
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            sub: &'a str,
            aud: &'a str,
            exp: u64,
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let aud = self.conn.login_url.as_str().trim_end_matches('/').to_owned();
        let claims = Claims { iss: client_id, sub: username, aud: &aud, exp: now + 180 };
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(key.expose().as_bytes()).map_err(|e| {
            SalesforceError::ReconnectNeeded(format!("the connection's private key is not a valid RSA PEM key: {e}"))
        })?;
        let assertion = jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256), &claims, &key)
            .map_err(|e| {
                SalesforceError::ReconnectNeeded(format!("the connection's private key cannot sign the assertion: {e}"))
            })?;
        let url =
            self.conn.login_url.join("/services/oauth2/token").map_err(|e| SalesforceError::Protocol(e.to_string()))?;
        let response = self
            .http
            .post(url)
            .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion.as_str())])
            .send()
            .await
            .map_err(|e| SalesforceError::Network(e.to_string()))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.map_err(|e| SalesforceError::Protocol(e.to_string()))?;
        if status.is_success()
            && let Some(token) = body["access_token"].as_str()
        {
            return Ok(Secret::new(token));
        }
        let error = body["error"].as_str().unwrap_or("unknown_error");
        let detail = body["error_description"].as_str().unwrap_or_default();
        match error {
            "invalid_grant" | "invalid_client_id" | "invalid_client" => {
                Err(SalesforceError::ReconnectNeeded(format!("{error}: {detail}")))
            }
            _ => Err(SalesforceError::Protocol(format!("token endpoint: {error}: {detail}"))),
        }
    }

    /// A refresh token Salesforce rotated since the last call, once: the caller must store it,
    /// since the one the connection was built with may no longer work.
    pub fn take_rotated_refresh_token(&self) -> Option<Secret> {
        let mut rotated = self.rotated.lock().expect("rotated lock");
        match rotated.as_mut() {
            Some((token, unsaved)) if *unsaved => {
                *unsaved = false;
                Some(token.clone())
            }
            _ => None,
        }
    }

    /// The describe of `sobject` if the cache holds it and it is fresh (no round trip needed).
    pub fn fresh_describe(&self, sobject: &str) -> Option<Arc<SObjectDescribe>> {
        let cache = self.describes.lock().expect("describe cache");
        cache
            .get(&sobject.to_ascii_lowercase())
            .filter(|c| c.checked.elapsed() < self.describe_ttl)
            .map(|c| c.describe.clone())
    }

    async fn access_token(&self, renew: bool) -> Result<Secret, SalesforceError> {
        let mut token = self.token.lock().await;
        if renew || token.is_none() {
            *token = Some(self.login().await?);
        }
        Ok(token.clone().expect("just set"))
    }

    fn url(&self, path: &str) -> String {
        format!("{}/services/data/{API_VERSION}{path}", self.conn.instance_url.as_str().trim_end_matches('/'))
    }

    /// Sends an API request with the session, renewing it once on `INVALID_SESSION_ID`.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
        headers: &[(header::HeaderName, String)],
    ) -> Result<reqwest::Response, SalesforceError> {
        let mut renewed = false;
        loop {
            let token = self.access_token(renewed).await?;
            let mut request =
                self.http.request(method.clone(), self.url(path)).bearer_auth(token.expose()).query(query);
            for (name, value) in headers {
                request = request.header(name, value);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // Not connected: nothing was sent. Anything later (a timeout, a dropped connection) may
            // come after Salesforce received the request.
            let response = request.send().await.map_err(|e| {
                if e.is_connect() {
                    SalesforceError::Network(e.to_string())
                } else {
                    SalesforceError::OutcomeUnknown(e.to_string())
                }
            })?;
            self.note_usage(&response);
            if response.status() == StatusCode::UNAUTHORIZED {
                let text = response.text().await.unwrap_or_default();
                if renewed {
                    return Err(SalesforceError::SessionRejected(text));
                }
                renewed = true;
                continue;
            }
            return Ok(response);
        }
    }

    fn note_usage(&self, response: &reqwest::Response) {
        let Some(info) = response.headers().get("sforce-limit-info").and_then(|v| v.to_str().ok()) else { return };
        let Some(usage) = info.split(',').find_map(|p| p.trim().strip_prefix("api-usage=")) else { return };
        if let Some((used, max)) = usage.split_once('/')
            && let (Ok(used), Ok(max)) = (used.parse(), max.parse())
        {
            *self.usage.lock().expect("usage lock") = Some(ApiUsage { used, max });
        }
    }

    async fn ok_json(response: reqwest::Response, max: u64) -> Result<serde_json::Value, SalesforceError> {
        let status = response.status();
        let text = read_bounded(response, max).await?;
        if !status.is_success() {
            return Err(SalesforceError::from_body(status.as_u16(), &text));
        }
        serde_json::from_str(&text)
            .map_err(|e| SalesforceError::Protocol(format!("{e}: {}", text.chars().take(200).collect::<String>())))
    }

    /// Describes an sObject, from the cache when Salesforce says it has not changed.
    pub async fn describe_object(&self, sobject: &str) -> Result<Arc<SObjectDescribe>, SalesforceError> {
        self.describe_with(sobject, false).await
    }

    /// Describes an sObject asking Salesforce whatever the cache holds (unconditionally: a change
    /// of the user's field-level security need not change the describe's `Last-Modified`), for
    /// a preflight, which must see the user's permissions as they are now. The cache is updated.
    pub async fn describe_now(&self, sobject: &str) -> Result<Arc<SObjectDescribe>, SalesforceError> {
        self.describe_with(sobject, true).await
    }

    async fn describe_with(&self, sobject: &str, revalidate: bool) -> Result<Arc<SObjectDescribe>, SalesforceError> {
        let key = sobject.to_ascii_lowercase();
        let cached = {
            let cache = self.describes.lock().expect("describe cache");
            match cache.get(&key) {
                Some(c) if !revalidate && c.checked.elapsed() < self.describe_ttl => return Ok(c.describe.clone()),
                Some(c) => Some((c.describe.clone(), c.last_modified.clone())),
                None => None,
            }
        };
        let mut headers = Vec::new();
        if let Some((_, Some(since))) = cached.as_ref().filter(|_| !revalidate) {
            headers.push((header::IF_MODIFIED_SINCE, since.clone()));
        }
        let path = format!("/sobjects/{}/describe", utf8_segment(sobject));
        let response = self.send(Method::GET, &path, &[], None, &headers).await?;
        if response.status() == StatusCode::NOT_MODIFIED
            && let Some((describe, last_modified)) = cached
        {
            let entry = CachedDescribe { describe: describe.clone(), last_modified, checked: Instant::now() };
            self.describes.lock().expect("describe cache").insert(key, entry);
            return Ok(describe);
        }
        let last_modified =
            response.headers().get(header::LAST_MODIFIED).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let json = Self::ok_json(response, MAX_DESCRIBE_BYTES).await?;
        let describe: Arc<SObjectDescribe> = Arc::new(
            serde_json::from_value(json)
                .map_err(|e| SalesforceError::Protocol(format!("describe of {sobject}: {e}")))?,
        );
        self.describes
            .lock()
            .expect("describe cache")
            .insert(key, CachedDescribe { describe: describe.clone(), last_modified, checked: Instant::now() });
        Ok(describe)
    }

    /// `GET /limits`: the org's limits (also a cheap check that the session and API access work).
    pub async fn limits(&self) -> Result<serde_json::Value, SalesforceError> {
        let response = self.send(Method::GET, "/limits", &[], None, &[]).await?;
        Self::ok_json(response, MAX_ANSWER_BYTES).await
    }

    /// Commits a staged unit in one Composite request with `allOrNone: true`.
    pub async fn commit(&self, unit: &Unit) -> Result<Committed, SalesforceError> {
        if unit.records.is_empty() {
            return Ok(Committed { records: Vec::new() });
        }
        let body = unit.composite_request();
        let response = self.send(Method::POST, "/composite", &[], Some(&body), &[]).await?;
        let json = Self::ok_json(response, MAX_ANSWER_BYTES).await?;
        let parsed: CompositeResponse =
            serde_json::from_value(json).map_err(|e| SalesforceError::Protocol(format!("composite response: {e}")))?;
        let sobject_of = |reference: &str| {
            unit.records
                .iter()
                .find(|r| r.reference.reference_id == reference)
                .map(|r| r.reference.sobject.clone())
                .unwrap_or_default()
        };
        // The failing subrequest; the others answer PROCESSING_HALTED, which is noise.
        let failure = parsed.composite_response.iter().filter(|s| s.http_status_code >= 300).find_map(|s| {
            let errors: Vec<ApiErrorEntry> = serde_json::from_value(s.body.clone()).unwrap_or_default();
            let e = errors.into_iter().find(|e| e.error_code != "PROCESSING_HALTED")?;
            Some(SalesforceError::Record {
                reference_id: s.reference_id.clone(),
                sobject: sobject_of(&s.reference_id),
                code: e.error_code,
                message: e.message,
                fields: e.fields.unwrap_or_default(),
            })
        });
        if let Some(failure) = failure {
            return Err(failure);
        }
        if let Some(bad) = parsed.composite_response.iter().find(|s| s.http_status_code >= 300) {
            return Err(SalesforceError::Protocol(format!(
                "{} failed without an error: {}",
                bad.reference_id, bad.body
            )));
        }
        let records = parsed
            .composite_response
            .into_iter()
            .map(|s| CommittedRecord {
                sobject: sobject_of(&s.reference_id),
                id: s.body.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
                created: s.body.get("created").and_then(|v| v.as_bool()).unwrap_or(s.http_status_code == 201),
                reference_id: s.reference_id,
            })
            .collect();
        Ok(Committed { records })
    }
}

fn utf8_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The most bytes of a describe answer read (real ones are ~100–500 KB).
const MAX_DESCRIBE_BYTES: u64 = 8 << 20;

/// The most bytes of any other answer read (limits, composite, global describe).
const MAX_ANSWER_BYTES: u64 = 8 << 20;

/// The body, read no further than `max` bytes.
async fn read_bounded(mut response: reqwest::Response, max: u64) -> Result<String, SalesforceError> {
    if response.content_length().is_some_and(|n| n > max) {
        return Err(SalesforceError::TooLarge { max });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| SalesforceError::OutcomeUnknown(e.to_string()))? {
        if (body.len() + chunk.len()) as u64 > max {
            return Err(SalesforceError::TooLarge { max });
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|e| SalesforceError::Protocol(format!("the answer is not UTF-8: {e}")))
}

fn crm_error(sobject: &str, e: SalesforceError) -> CrmError {
    match &e {
        SalesforceError::Api { status: 404, .. } => CrmError::UnknownSobject(sobject.to_owned()),
        SalesforceError::TooLarge { max } => CrmError::TooLarge { max: *max },
        _ => CrmError::Unavailable { class: e.class(), message: e.to_string() },
    }
}

#[async_trait]
impl Crm for SalesforceClient {
    async fn describe(&self, sobject: &str) -> Result<Arc<SObjectDescribe>, CrmError> {
        self.describe_object(sobject).await.map_err(|e| crm_error(sobject, e))
    }

    fn cached_describe(&self, sobject: &str) -> Option<Arc<SObjectDescribe>> {
        self.fresh_describe(sobject)
    }

    async fn sobjects(&self) -> Result<Vec<String>, CrmError> {
        let response = self.send(Method::GET, "/sobjects", &[], None, &[]).await.map_err(|e| crm_error("", e))?;
        let json = Self::ok_json(response, MAX_ANSWER_BYTES).await.map_err(|e| crm_error("", e))?;
        Ok(json["sobjects"]
            .as_array()
            .map(|list| list.iter().filter_map(|o| o["name"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default())
    }

    async fn find(&self, query: &FindQuery) -> Result<Vec<Found>, CrmError> {
        let soql = portico_model::soql::find_query(query);
        let response = self
            .send(Method::GET, "/query", &[("q", &soql)], None, &[])
            .await
            .map_err(|e| crm_error(&query.sobject, e))?;
        // JSON carries each record's attributes and quoted names besides the values the session
        // counts, so the body may be a few times the answer; the session checks the answer.
        let max_body = query.max_bytes.saturating_mul(4).saturating_add(64 << 10);
        let json = Self::ok_json(response, max_body).await.map_err(|e| crm_error(&query.sobject, e))?;
        let parsed: QueryResponse = serde_json::from_value(json).map_err(|e| CrmError::Unavailable {
            class: portico_model::crm::FailureClass::Permanent,
            message: format!("unexpected query response: {e}"),
        })?;
        Ok(parsed
            .records
            .into_iter()
            .map(|r| Found {
                id: r.get("Id").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
                fields: query
                    .fields
                    .iter()
                    .map(|f| FieldValue {
                        name: f.clone(),
                        value: r.get(f).map_or(Value::Null, Value::from_salesforce_json),
                    })
                    .collect(),
            })
            .collect())
    }
}
