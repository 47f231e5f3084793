//! The client handle of one tenant's org and its [`Crm`] implementation (describe, find).
//! Tokens, transport, the describe cache and the commit live in the sibling modules.

use super::Secret;
use super::composite::{self, Committed};
use super::describe::{DESCRIBE_TTL, DescribeCache};
use super::error::SalesforceError;
use super::token::{Connection, Tokens};
use super::transport::{ApiUsage, MAX_ANSWER_BYTES, Transport};
use async_trait::async_trait;
use portico_model::describe::SObjectDescribe;
use portico_model::staging::Unit;
use portico_model::{Crm, CrmError, FieldValue, FindQuery, Found, Value};
use reqwest::Method;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// A client for one tenant's org.
pub struct SalesforceClient {
    transport: Transport,
    describes: DescribeCache,
}

impl std::fmt::Debug for SalesforceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceClient")
            .field("instance_url", &self.transport.tokens.conn.instance_url.as_str())
            .finish()
    }
}

#[derive(Deserialize)]
struct QueryResponse {
    records: Vec<serde_json::Map<String, serde_json::Value>>,
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
        let tokens = Tokens::new(conn, http.clone())?;
        Ok(SalesforceClient { transport: Transport::new(tokens, http), describes: DescribeCache::new(DESCRIBE_TTL) })
    }

    /// Changes how long describes are used before revalidation (default [`DESCRIBE_TTL`]).
    pub fn with_describe_ttl(mut self, ttl: Duration) -> SalesforceClient {
        self.describes.ttl = ttl;
        self
    }

    /// REST API requests this client has sent (token requests not included: they do not
    /// count against the org's API allowance).
    pub fn api_calls(&self) -> u64 {
        self.transport.api_calls()
    }

    /// API usage as last reported by Salesforce.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        self.transport.api_usage()
    }

    /// A refresh token Salesforce rotated since the last call, once: the caller must store it,
    /// since the one the connection was built with may no longer work.
    pub fn take_rotated_refresh_token(&self) -> Option<Secret> {
        self.transport.tokens.take_rotated_refresh_token()
    }

    /// Hands a rotated refresh token back: storing it failed, the next caller tries again.
    pub fn rotation_not_stored(&self, token: &Secret) {
        self.transport.tokens.rotation_not_stored(token)
    }

    /// The describe of `sobject` if the cache holds it and it is fresh (no round trip needed).
    pub fn fresh_describe(&self, sobject: &str) -> Option<Arc<SObjectDescribe>> {
        self.describes.fresh(sobject)
    }

    /// Describes an sObject, from the cache when Salesforce says it has not changed.
    pub async fn describe_object(&self, sobject: &str) -> Result<Arc<SObjectDescribe>, SalesforceError> {
        self.describes.get(&self.transport, sobject, false).await
    }

    /// Describes an sObject asking Salesforce unconditionally (a change of the user's
    /// field-level security need not change the describe's `Last-Modified`), for a preflight,
    /// which must see the user's permissions as they are now. The cache is updated.
    pub async fn describe_now(&self, sobject: &str) -> Result<Arc<SObjectDescribe>, SalesforceError> {
        self.describes.get(&self.transport, sobject, true).await
    }

    /// `GET /limits`: the org's limits (also a cheap check that the session and API access work).
    pub async fn limits(&self) -> Result<serde_json::Value, SalesforceError> {
        self.transport.limits().await
    }

    /// Commits a staged unit in one Composite request with `allOrNone: true`.
    pub async fn commit(&self, unit: &Unit) -> Result<Committed, SalesforceError> {
        composite::commit(&self.transport, unit).await
    }
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
        let response =
            self.transport.send(Method::GET, "/sobjects", &[], None, &[]).await.map_err(|e| crm_error("", e))?;
        let json = Transport::ok_json(response, MAX_ANSWER_BYTES).await.map_err(|e| crm_error("", e))?;
        Ok(json["sobjects"]
            .as_array()
            .map(|list| list.iter().filter_map(|o| o["name"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default())
    }

    async fn find(&self, query: &FindQuery) -> Result<Vec<Found>, CrmError> {
        let soql = portico_model::soql::find_query(query);
        let response = self
            .transport
            .send(Method::GET, "/query", &[("q", &soql)], None, &[])
            .await
            .map_err(|e| crm_error(&query.sobject, e))?;
        // JSON carries each record's attributes and quoted names besides the values the session
        // counts, so the body may be a few times the answer; the session checks the answer.
        let max_body = query.max_bytes.saturating_mul(4).saturating_add(64 << 10);
        let json = Transport::ok_json(response, max_body).await.map_err(|e| crm_error(&query.sobject, e))?;
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
