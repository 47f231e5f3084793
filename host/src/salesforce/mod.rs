//! The Salesforce client: the only code that talks to Salesforce.
//!
//! [`SalesforceClient`] implements the runtime's [`portico_model::Crm`] (describe with a per-object
//! cache revalidated by `If-Modified-Since`, global describe, `find` as escaped SOQL) and commits
//! a staged unit as one Composite request with `allOrNone`. Tokens come from the connection's
//! OAuth grant and are refreshed on expiry (`401 INVALID_SESSION_ID`, once). Errors are
//! classed transient or permanent so the job layer can retry or fail.

mod body;
mod client;
mod coalesce;
mod composite;
mod describe;
mod error;
mod find;
mod graph;
pub mod policy;
mod preflight;
mod recent;
mod token;
mod transport;
pub mod web_flow;

pub use client::{DEFAULT_BATCH_WAIT, SalesforceClient, Shared};
pub use composite::{Committed, CommittedRecord};
pub use describe::{DESCRIBE_TTL, DescribeStats};
pub use error::SalesforceError;
pub use preflight::{Missing, Preflight, preflight};
pub use recent::{DEFAULT_FIND_TTL, MAX_FIND_CACHE_BYTES};
pub use token::{Auth, Connection};
pub use transport::ApiUsage;

use std::fmt;

/// A secret (token, client secret, key): never printed by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
