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
}

/// Why the CRM could not answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CrmError {
    /// The org has no such sObject, or the connected user cannot see it.
    #[error("the org has no sObject `{0}` visible to the connected user")]
    UnknownSobject(String),
    /// The org could not be reached or failed.
    #[error("the CRM is unavailable: {0}")]
    Unavailable(String),
}

/// An org, as the runtime sees it.
#[async_trait]
pub trait Crm: Send + Sync {
    /// The describe of one sObject, as visible to the connected user.
    async fn describe(&self, sobject: &str) -> Result<Arc<SObjectDescribe>, CrmError>;

    /// The names of all sObjects visible to the connected user.
    async fn sobjects(&self) -> Result<Vec<String>, CrmError>;

    /// Existing records matching a query, oldest first.
    async fn find(&self, query: &FindQuery) -> Result<Vec<Found>, CrmError>;
}
