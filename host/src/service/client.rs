//! A small client of Portico's own API: what `portico dev`, `portico send`, the load
//! generator and the end-to-end tests use to drive a running service over HTTP.

use super::signing;
use anyhow::{Context, bail};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

/// A caller of the API with one key (or none, for ingestion).
#[derive(Clone, Debug)]
pub struct PorticoClient {
    base: String,
    key: Option<String>,
    session: Option<Session>,
    http: reqwest::Client,
}

/// A signed-in session: the cookie and the CSRF token to echo.
#[derive(Clone)]
struct Session {
    cookie: String,
    csrf: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Session(..)")
    }
}

/// An answer: status and JSON body (`Null` when empty or not JSON).
#[derive(Clone, Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// The body as JSON.
    pub body: Value,
}

impl Answer {
    /// The body, when the status is a success; else an error quoting the answer.
    pub fn ok(self) -> anyhow::Result<Value> {
        if !self.status.is_success() {
            bail!("{}: {}", self.status, self.body);
        }
        Ok(self.body)
    }
}

impl PorticoClient {
    /// A client of the service at `base` (`http://127.0.0.1:8080`).
    pub fn new(base: &str, key: Option<&str>) -> PorticoClient {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("an HTTP client");
        PorticoClient { base: base.trim_end_matches('/').to_owned(), key: key.map(str::to_owned), session: None, http }
    }

    /// The same service with another key.
    pub fn with_key(&self, key: &str) -> PorticoClient {
        PorticoClient { key: Some(key.to_owned()), session: None, ..self.clone() }
    }

    /// Signs in with `body` (`{"email", "password", "totp_code"?, …}`): on success a client
    /// that sends the session cookie (and its CSRF token on requests that change something);
    /// otherwise the refusal.
    pub async fn sign_in(&self, body: &Value) -> anyhow::Result<Result<PorticoClient, Answer>> {
        let response = self.http.post(format!("{}/v1/session", self.base)).json(body).send().await?;
        let cookie = response
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        let answer = Self::answer(response).await?;
        let (Some(cookie), true) = (cookie, answer.status.is_success()) else { return Ok(Err(answer)) };
        let csrf = answer.body["csrf_token"].as_str().unwrap_or_default().to_owned();
        Ok(Ok(PorticoClient { key: None, session: Some(Session { cookie, csrf }), ..self.clone() }))
    }

    /// The same session without its CSRF token (to show it is needed).
    pub fn without_csrf(&self) -> PorticoClient {
        let session = self.session.clone().map(|s| Session { csrf: String::new(), ..s });
        PorticoClient { session, ..self.clone() }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends a request with the key and an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Answer> {
        let mut request = self.credentials(self.http.request(method.clone(), format!("{}{path}", self.base)), &method);
        if let Some(body) = body {
            request = request.json(body);
        }
        Self::answer(request.send().await.with_context(|| format!("calling {}{path}", self.base))?).await
    }

    /// Adds the key, or the session's cookie (and CSRF token when `method` changes something).
    fn credentials(&self, mut request: reqwest::RequestBuilder, method: &Method) -> reqwest::RequestBuilder {
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        if let Some(session) = &self.session {
            request = request.header(reqwest::header::COOKIE, &session.cookie);
            if method_changes(method) && !session.csrf.is_empty() {
                request = request.header("x-csrf-token", &session.csrf);
            }
        }
        request
    }

    /// `DELETE`.
    pub async fn delete(&self, path: &str) -> anyhow::Result<Answer> {
        self.call(Method::DELETE, path, None).await
    }

    async fn answer(response: reqwest::Response) -> anyhow::Result<Answer> {
        let status = response.status();
        let text = response.text().await?;
        Ok(Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }

    /// `GET`.
    pub async fn get(&self, path: &str) -> anyhow::Result<Answer> {
        self.call(Method::GET, path, None).await
    }

    /// `POST` with JSON.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Answer> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// `PUT` with JSON.
    pub async fn put(&self, path: &str, body: &Value) -> anyhow::Result<Answer> {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// Uploads a component.
    pub async fn upload(&self, tenant: &str, wasm: &[u8]) -> anyhow::Result<Answer> {
        let mut request = self
            .http
            .post(format!("{}/v1/tenants/{tenant}/plugins", self.base))
            .header("content-type", "application/wasm")
            .body(wasm.to_vec());
        request = self.credentials(request, &Method::POST);
        Self::answer(request.send().await?).await
    }

    /// Creates a tenant (platform admin key): returns `(webhook secret, tenant admin key)`.
    pub async fn create_tenant(&self, id: &str, name: &str) -> anyhow::Result<(String, String)> {
        let body = self.post("/v1/tenants", &json!({"id": id, "name": name})).await?.ok()?;
        Ok((str_field(&body, "webhook_secret")?, str_field(&body, "admin_key")?))
    }

    /// Uploads, approves (the manifest's grant) and activates a component; returns its digest.
    pub async fn install(&self, tenant: &str, wasm: &[u8]) -> anyhow::Result<String> {
        let uploaded = self.upload(tenant, wasm).await?.ok()?;
        let digest = str_field(&uploaded, "digest")?;
        self.post(&format!("/v1/tenants/{tenant}/plugins/{digest}/approve"), &json!({})).await?.ok()?;
        self.post(&format!("/v1/tenants/{tenant}/plugins/{digest}/activate"), &json!({})).await?.ok()?;
        Ok(digest)
    }

    /// Connects the tenant to an org with client credentials.
    pub async fn connect(&self, tenant: &str, instance_url: &str, client_id: &str, secret: &str) -> anyhow::Result<()> {
        let body = json!({"kind": "client-credentials", "instance_url": instance_url,
                          "client_id": client_id, "client_secret": secret});
        self.put(&format!("/v1/tenants/{tenant}/connection"), &body).await?.ok()?;
        Ok(())
    }

    /// Posts a booking signed with the tenant's webhook secret (a fresh nonce).
    pub async fn send_booking(&self, tenant: &str, secret: &str, booking: &[u8]) -> anyhow::Result<Answer> {
        let nonce = hex::encode(super::random_bytes::<16>());
        self.send_signed(tenant, secret, booking, super::now_ms() / 1000, &nonce).await
    }

    /// Posts a booking with an explicit timestamp and nonce.
    pub async fn send_signed(
        &self,
        tenant: &str,
        secret: &str,
        booking: &[u8],
        timestamp: i64,
        nonce: &str,
    ) -> anyhow::Result<Answer> {
        let request = self
            .http
            .post(format!("{}/v1/tenants/{tenant}/bookings", self.base))
            .header("content-type", "application/json")
            .header(signing::TIMESTAMP, timestamp.to_string())
            .header(signing::NONCE, nonce)
            .header(signing::SIGNATURE, signing::sign(secret, timestamp, nonce, booking))
            .body(booking.to_vec());
        Self::answer(request.send().await?).await
    }

    /// Polls a job until it leaves pending/running (or `timeout`); returns its detail.
    pub async fn wait_for_job(&self, tenant: &str, job: i64, timeout: Duration) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let detail = self.get(&format!("/v1/tenants/{tenant}/jobs/{job}")).await?.ok()?;
            let state = detail["state"].as_str().unwrap_or_default();
            if state == "succeeded" || state == "failed" {
                return Ok(detail);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("job {job} still {state} after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn str_field(v: &Value, name: &str) -> anyhow::Result<String> {
    v[name].as_str().map(str::to_owned).with_context(|| format!("no `{name}` in {v}"))
}

fn method_changes(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}
