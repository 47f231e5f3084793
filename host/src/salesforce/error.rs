//! What can go wrong talking to Salesforce, classed for the job layer.

use portico_model::crm::FailureClass;
use serde::Deserialize;
use std::time::Duration;

/// One entry of a Salesforce error body.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorEntry {
    /// Message.
    pub message: String,
    /// Code, e.g. `REQUIRED_FIELD_MISSING`.
    pub error_code: String,
    /// Fields involved.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
}

/// Error codes worth retrying (with backoff).
const TRANSIENT_CODES: &[&str] =
    &["SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED", "QUERY_TIMEOUT"];

/// A failed Salesforce interaction.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SalesforceError {
    /// The org could not be reached (connection refused, reset, timeout).
    #[error("Salesforce could not be reached: {0}")]
    Network(String),
    /// The connection's grant no longer works (revoked, expired refresh token, wrong
    /// credentials): the tenant admin must reconnect.
    #[error("reconnect needed: Salesforce refused the connection's credentials ({0})")]
    ReconnectNeeded(String),
    /// A session that stays invalid right after a fresh token.
    #[error("Salesforce rejected a fresh session: {0}")]
    SessionRejected(String),
    /// Salesforce answered with an error.
    #[error("Salesforce answered {status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The first error's code.
        code: String,
        /// The first error's message.
        message: String,
        /// Fields involved.
        fields: Vec<String>,
    },
    /// The commit failed on one record; nothing was written (`allOrNone`).
    #[error("{sobject} {reference_id} was refused by Salesforce: {code}: {message}{}", if .fields.is_empty() { String::new() } else { format!(" (fields: {})", .fields.join(", ")) })]
    Record {
        /// The staged record's reference id.
        reference_id: String,
        /// Its sObject.
        sobject: String,
        /// The error code.
        code: String,
        /// The message.
        message: String,
        /// Fields involved.
        fields: Vec<String>,
    },
    /// An answer that is not what the API documents.
    #[error("unexpected answer from Salesforce: {0}")]
    Protocol(String),
    /// An answer larger than the caller accepts; it was not read to the end.
    #[error("Salesforce's answer is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// The request may have reached Salesforce but no answer came back (the connection dropped
    /// or timed out after sending): whether it took effect is unknown.
    #[error("no answer from Salesforce after the request was sent: {0}")]
    OutcomeUnknown(String),
    /// Salesforce did not try this unit's graph because too many other graphs of the same
    /// Composite Graph request failed; nothing of it was written.
    #[error("Salesforce halted this booking's graph because other graphs in the same request failed")]
    Halted,
}

/// How long to wait after `REQUEST_LIMIT_EXCEEDED`: the org's daily allowance is spent, and
/// retrying sooner only spends more of the next window.
pub const REQUEST_LIMIT_WAIT: Duration = Duration::from_secs(5 * 60);

impl SalesforceError {
    /// What retrying may achieve: decided here, where the failure is understood, and carried
    /// unchanged to the job layer.
    pub fn class(&self) -> FailureClass {
        if self.code() == Some("REQUEST_LIMIT_EXCEEDED") {
            return FailureClass::RetryAfter(REQUEST_LIMIT_WAIT.as_secs());
        }
        match self {
            SalesforceError::Network(_) | SalesforceError::OutcomeUnknown(_) | SalesforceError::Halted => {
                FailureClass::Transient
            }
            SalesforceError::Api { status, code, .. } if *status >= 500 || TRANSIENT_CODES.contains(&code.as_str()) => {
                FailureClass::Transient
            }
            SalesforceError::Record { code, .. } if TRANSIENT_CODES.contains(&code.as_str()) => FailureClass::Transient,
            SalesforceError::ReconnectNeeded(_) | SalesforceError::SessionRejected(_) => FailureClass::ReconnectNeeded,
            SalesforceError::Api { .. }
            | SalesforceError::Record { .. }
            | SalesforceError::Protocol(_)
            | SalesforceError::TooLarge { .. } => FailureClass::Permanent,
        }
    }

    /// Whether retrying later may succeed (network, 5xx, limits, row locks).
    pub fn is_transient(&self) -> bool {
        self.class().retryable()
    }

    /// The Salesforce error code, when there is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            SalesforceError::Api { code, .. } | SalesforceError::Record { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(super) fn from_body(status: u16, body: &str) -> SalesforceError {
        match serde_json::from_str::<Vec<ApiErrorEntry>>(body) {
            Ok(errors) if !errors.is_empty() => {
                let e = &errors[0];
                SalesforceError::Api {
                    status,
                    code: e.error_code.clone(),
                    message: e.message.clone(),
                    fields: e.fields.clone().unwrap_or_default(),
                }
            }
            _ => SalesforceError::Api {
                status,
                code: format!("HTTP_{status}"),
                message: body.chars().take(300).collect(),
                fields: Vec::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_errors() {
        let e = SalesforceError::from_body(
            403,
            r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
        );
        assert!(e.is_transient());
        let e = SalesforceError::from_body(
            400,
            r#"[{"message":"Required fields are missing: [Company]","errorCode":"REQUIRED_FIELD_MISSING","fields":["Company"]}]"#,
        );
        assert!(!e.is_transient());
        assert_eq!(e.code(), Some("REQUIRED_FIELD_MISSING"));
        assert!(SalesforceError::from_body(503, "<html>").is_transient());
        assert!(SalesforceError::Network("reset".into()).is_transient());
        assert!(!SalesforceError::ReconnectNeeded("invalid_grant".into()).is_transient());
    }

    #[test]
    fn classes_carry_what_retrying_may_achieve() {
        let limit = SalesforceError::from_body(403, r#"[{"message":"x","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#);
        assert_eq!(limit.class(), FailureClass::RetryAfter(300));
        let denied = SalesforceError::from_body(403, r#"[{"message":"x","errorCode":"API_DISABLED_FOR_ORG"}]"#);
        assert_eq!(denied.class(), FailureClass::Permanent);
        assert_eq!(SalesforceError::ReconnectNeeded("invalid_grant".into()).class(), FailureClass::ReconnectNeeded);
        assert_eq!(SalesforceError::SessionRejected("x".into()).class(), FailureClass::ReconnectNeeded);
        assert_eq!(SalesforceError::from_body(502, "bad gateway").class(), FailureClass::Transient);
    }
}
