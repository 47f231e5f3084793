//! The error a host call returns to the plugin.
//!
//! Mirrors the WIT `types.error` record: a kind the plugin can match on, a message for the
//! tenant admin, and the sObject and field involved.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The class of a refused host call; see the WIT `error-kind` for each case's meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum ErrorKind {
    NotGranted,
    UnknownSobject,
    UnknownField,
    NotCreateable,
    WrongType,
    TooLong,
    BadPicklistValue,
    RequiredFieldMissing,
    BadReference,
    MalformedId,
    InvalidArgument,
    Unavailable,
}

impl ErrorKind {
    /// The WIT name of the kind, e.g. `not-granted`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotGranted => "not-granted",
            ErrorKind::UnknownSobject => "unknown-sobject",
            ErrorKind::UnknownField => "unknown-field",
            ErrorKind::NotCreateable => "not-createable",
            ErrorKind::WrongType => "wrong-type",
            ErrorKind::TooLong => "too-long",
            ErrorKind::BadPicklistValue => "bad-picklist-value",
            ErrorKind::RequiredFieldMissing => "required-field-missing",
            ErrorKind::BadReference => "bad-reference",
            ErrorKind::MalformedId => "malformed-id",
            ErrorKind::InvalidArgument => "invalid-argument",
            ErrorKind::Unavailable => "unavailable",
        }
    }
}

/// A precise description of why a host call was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostError {
    /// The class of problem.
    pub kind: ErrorKind,
    /// What was wrong, naming the object, field and value involved.
    pub message: String,
    /// The sObject involved.
    pub sobject: Option<String>,
    /// The field involved.
    pub field: Option<String>,
}

impl HostError {
    /// An error about an sObject.
    pub fn object(kind: ErrorKind, sobject: &str, message: impl Into<String>) -> Self {
        HostError { kind, message: message.into(), sobject: Some(sobject.to_owned()), field: None }
    }

    /// An error about one field of an sObject.
    pub fn field(kind: ErrorKind, sobject: &str, field: &str, message: impl Into<String>) -> Self {
        HostError { kind, message: message.into(), sobject: Some(sobject.to_owned()), field: Some(field.to_owned()) }
    }

    /// An error about the call's arguments in general.
    pub fn invalid(message: impl Into<String>) -> Self {
        HostError { kind: ErrorKind::InvalidArgument, message: message.into(), sobject: None, field: None }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for HostError {}

/// Why `map` produced no records; mirrors the WIT `mapping-error`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "detail", rename_all = "kebab-case")]
pub enum MappingError {
    /// A host call failed and the plugin passed the error on.
    #[error("{0}")]
    Host(HostError),
    /// The booking cannot be mapped.
    #[error("the booking cannot be mapped: {0}")]
    InvalidBooking(String),
    /// The tenant's plugin configuration is missing or wrong.
    #[error("the plugin configuration is wrong: {0}")]
    Config(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl From<HostError> for MappingError {
    fn from(e: HostError) -> Self {
        MappingError::Host(e)
    }
}
