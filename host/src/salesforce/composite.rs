//! The commit: a staged unit as one Composite request with `allOrNone`, mapped back to the
//! staged records or to the one record Salesforce refused. (Several units at once: `graph`.)

use super::error::{ApiErrorEntry, SalesforceError};
use super::transport::{MAX_ANSWER_BYTES, Transport};
use portico_model::staging::Unit;
use reqwest::Method;
use serde::{Deserialize, Serialize};

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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CompositeResponse {
    pub(super) composite_response: Vec<SubResponse>,
}

/// One subrequest's answer (Composite and each graph of Composite Graph).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SubResponse {
    pub(super) body: serde_json::Value,
    pub(super) http_status_code: u16,
    pub(super) reference_id: String,
}

/// Commits a staged unit in one Composite request with `allOrNone: true`.
pub(super) async fn commit(transport: &Transport, unit: &Unit) -> Result<Committed, SalesforceError> {
    if unit.records.is_empty() {
        return Ok(Committed { records: Vec::new() });
    }
    let body = unit.composite_request();
    let response = transport.send(Method::POST, "/composite", &[], Some(&body), &[]).await?;
    let (json, unknown) = sent(response).await?;
    let parsed: CompositeResponse = serde_json::from_value(json)
        .map_err(|e| unknown(SalesforceError::Protocol(format!("composite response: {e}"))))?;
    read(unit, parsed.composite_response)
}

/// The answer to a request that wrote records, and how to report an answer that cannot be read
/// (the outcome is then unknown).
///
/// Once the request was sent, an answer that says it was applied but cannot be read, or a
/// server error (a gateway's 502/504 may come after Salesforce applied it), leaves the outcome
/// unknown: the records may exist. Only a readable refusal is a refusal.
pub(super) async fn sent(
    response: reqwest::Response,
) -> Result<(serde_json::Value, impl Fn(SalesforceError) -> SalesforceError), SalesforceError> {
    let status = response.status();
    let unknown =
        move |e: SalesforceError| SalesforceError::OutcomeUnknown(format!("Salesforce answered {status}, then: {e}"));
    match Transport::ok_json(response, MAX_ANSWER_BYTES).await {
        Ok(json) => Ok((json, unknown)),
        Err(e) if status.is_server_error() && e.code() != Some("SERVER_UNAVAILABLE") => Err(unknown(e)),
        Err(e @ SalesforceError::OutcomeUnknown(_)) => Err(e),
        Err(e) if status.is_success() => Err(unknown(e)),
        Err(e) => Err(e),
    }
}

/// One unit's subrequest answers: its committed records, or the one record Salesforce refused.
pub(super) fn read(unit: &Unit, answers: Vec<SubResponse>) -> Result<Committed, SalesforceError> {
    let sobject_of = |reference: &str| {
        unit.records
            .iter()
            .find(|r| r.reference.reference_id == reference)
            .map(|r| r.reference.sobject.clone())
            .unwrap_or_default()
    };
    // The failing subrequest; the others answer PROCESSING_HALTED, which is noise.
    let failure = answers.iter().filter(|s| s.http_status_code >= 300).find_map(|s| {
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
    if let Some(bad) = answers.iter().find(|s| s.http_status_code >= 300) {
        return Err(SalesforceError::Protocol(format!("{} failed without an error: {}", bad.reference_id, bad.body)));
    }
    let records = answers
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
