//! An emulator on an ephemeral port with a client-credentials session, for the HTTP tests.

#![allow(dead_code)]

use portico_emulator::credentials::{CLIENT_ID, CLIENT_SECRET};
use portico_emulator::{Emulator, Org};
use reqwest::StatusCode;
use serde_json::Value;
use std::path::PathBuf;

/// The recorded org.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/salesforce/describe")
}

/// A running emulator and a session on it.
pub struct Session {
    pub emulator: Emulator,
    pub http: reqwest::Client,
    pub token: String,
}

impl Session {
    pub async fn start() -> Session {
        let emulator = Emulator::start(Org::load(&fixtures()).unwrap()).await.unwrap();
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!("{}/services/oauth2/token", emulator.base_url))
            .form(&[("grant_type", "client_credentials"), ("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["access_token"].as_str().unwrap().to_owned();
        Session { emulator, http, token }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/services/data/v62.0{path}", self.emulator.base_url)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self.http.get(self.url(path)).bearer_auth(&self.token).send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The answer to any request: status, headers and JSON body (`Null` when empty).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut r = self.http.request(method, self.url(path)).bearer_auth(&self.token);
        if let Some(body) = body {
            r = r.json(&body);
        }
        let r = r.send().await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        (status, headers, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self.http.request(method, self.url(path)).bearer_auth(&self.token).json(&body).send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// A query string's `q`, percent-encoded.
pub fn q(soql: &str) -> String {
    format!("/query?q={}", percent(soql))
}

/// Percent-encodes everything but letters and digits.
pub fn percent(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
