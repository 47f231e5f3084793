//! Requests to the org's REST API: the session header with one renewal on `INVALID_SESSION_ID`,
//! answers read no further than a cap, and the API usage Salesforce reports.

use super::body::read_bounded;
use super::error::SalesforceError;
use super::token::Tokens;
use portico_model::staging::API_VERSION;
use reqwest::{Method, StatusCode, header};
use serde::Serialize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// API usage as Salesforce last reported it (`Sforce-Limit-Info: api-usage=used/max`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ApiUsage {
    /// Calls used in the rolling 24 hours.
    pub used: u64,
    /// The allowance.
    pub max: u64,
}

/// The most bytes of any other answer read (limits, composite, global describe).
pub(super) const MAX_ANSWER_BYTES: u64 = 8 << 20;

/// Requests with the connection's session, counted, and the usage Salesforce reports.
pub(super) struct Transport {
    pub(super) tokens: Tokens,
    http: reqwest::Client,
    usage: Mutex<Option<ApiUsage>>,
    calls: AtomicU64,
}

impl Transport {
    pub(super) fn new(tokens: Tokens, http: reqwest::Client) -> Transport {
        Transport { tokens, http, usage: Mutex::new(None), calls: AtomicU64::new(0) }
    }

    /// REST API requests sent (token requests not included: they do not count against the
    /// org's API allowance).
    pub(super) fn api_calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// API usage as last reported by Salesforce.
    pub(super) fn api_usage(&self) -> Option<ApiUsage> {
        *self.usage.lock().expect("usage lock")
    }

    fn url(&self, path: &str) -> String {
        format!("{}/services/data/{API_VERSION}{path}", self.tokens.conn.instance_url.as_str().trim_end_matches('/'))
    }

    /// Sends an API request with the session, renewing it once on `INVALID_SESSION_ID`.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
        headers: &[(header::HeaderName, String)],
    ) -> Result<reqwest::Response, SalesforceError> {
        let mut renewed = false;
        loop {
            let token = self.tokens.access_token(renewed).await?;
            let mut request =
                self.http.request(method.clone(), self.url(path)).bearer_auth(token.expose()).query(query);
            for (name, value) in headers {
                request = request.header(name, value);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            self.calls.fetch_add(1, Ordering::Relaxed);
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
                let text = read_bounded(response, 64 << 10).await.unwrap_or_default();
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

    pub(super) async fn ok_json(response: reqwest::Response, max: u64) -> Result<serde_json::Value, SalesforceError> {
        let status = response.status();
        let text = read_bounded(response, max).await?;
        if !status.is_success() {
            return Err(SalesforceError::from_body(status.as_u16(), &text));
        }
        serde_json::from_str(&text)
            .map_err(|e| SalesforceError::Protocol(format!("{e}: {}", text.chars().take(200).collect::<String>())))
    }

    /// `GET /limits`: the org's limits (also a cheap check that the session and API access work).
    pub(super) async fn limits(&self) -> Result<serde_json::Value, SalesforceError> {
        let response = self.send(Method::GET, "/limits", &[], None, &[]).await?;
        Self::ok_json(response, MAX_ANSWER_BYTES).await
    }
}

pub(super) fn utf8_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
