//! The CRM boundary: the only way the runtime reaches an org.
//!
//! The runtime asks for describes and finds records through [`Crm`] and never knows whether an
//! HTTP client, the emulator or a folder of recorded describe files answers.

use crate::describe::SObjectDescribe;
use crate::value::{Found, Value};
use async_trait::async_trait;
use std::sync::Arc;

/// A `find`: records of `sobject` whose `field` equals `value`, returning `fields`.
#[derive(Clone, Debug, PartialEq)]
pub struct FindQuery {
    /// The sObject.
    pub sobject: String,
    /// The field compared.
    pub field: String,
    /// The value it must equal.
    pub value: Value,
    /// The fields to return.
    pub fields: Vec<String>,
    /// At most this many records.
    pub limit: u32,
    /// Oldest first (`ORDER BY CreatedDate`), when the object has that field.
    pub oldest_first: bool,
    /// The most bytes of answer the caller accepts (the `result_bytes` limit): a CRM stops
    /// reading a larger answer and reports [`CrmError::TooLarge`] instead of building it.
    pub max_bytes: u64,
}

/// What retrying a failed CRM call may achieve, decided where the failure is understood (the
/// client) and carried unchanged to the job layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureClass {
    /// Retry with backoff (network, 5xx, row locks).
    Transient,
    /// Retry no sooner than this many seconds (the org's request allowance is spent).
    RetryAfter(u64),
    /// The connection's credentials no longer work: nothing helps until the tenant admin
    /// reconnects.
    ReconnectNeeded,
    /// Retrying cannot help (a refused request, a permission Salesforce denies).
    Permanent,
}

impl FailureClass {
    /// Its stable name, for metrics and job records.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Transient => "transient",
            FailureClass::RetryAfter(_) => "retry-after",
            FailureClass::ReconnectNeeded => "reconnect-needed",
            FailureClass::Permanent => "permanent",
        }
    }

    /// Whether a later attempt may succeed without anyone acting.
    pub fn retryable(self) -> bool {
        matches!(self, FailureClass::Transient | FailureClass::RetryAfter(_))
    }
}

/// Why the CRM could not answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CrmError {
    /// The org has no such sObject, or the connected user cannot see it.
    #[error("the org has no sObject `{0}` visible to the connected user")]
    UnknownSobject(String),
    /// The org could not be reached or failed; `class` says whether retrying may help.
    #[error("the CRM is unavailable: {message}")]
    Unavailable {
        /// What retrying may achieve.
        class: FailureClass,
        /// What went wrong.
        message: String,
    },
    /// The answer is larger than the caller accepts; it was not built.
    #[error("the answer is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
}

impl CrmError {
    /// An unavailable org whose failure may pass (network, 5xx).
    pub fn transient(message: impl Into<String>) -> CrmError {
        CrmError::Unavailable { class: FailureClass::Transient, message: message.into() }
    }
}

/// An org, as the runtime sees it.
#[async_trait]
pub trait Crm: Send + Sync {
    /// The describe of one sObject, as visible to the connected user.
    async fn describe(&self, sobject: &str) -> Result<Arc<SObjectDescribe>, CrmError>;

    /// The describe of one sObject when it can be had without a round trip to the org (a fresh
    /// cache entry); `None` means [`Crm::describe`] would ask the org. The session counts
    /// round trips against the `salesforce_calls` limit by this.
    fn cached_describe(&self, _sobject: &str) -> Option<Arc<SObjectDescribe>> {
        None
    }

    /// The names of all sObjects visible to the connected user.
    async fn sobjects(&self) -> Result<Vec<String>, CrmError>;

    /// Existing records matching a query, oldest first.
    async fn find(&self, query: &FindQuery) -> Result<Vec<Found>, CrmError>;
}
