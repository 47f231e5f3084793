//! Answers read no further than a cap: whatever an org (or something posing as one) sends,
//! the host never holds more of it than the caller accepts.

use super::error::SalesforceError;

/// The body, read no further than `max` bytes.
pub(super) async fn read_bounded(mut response: reqwest::Response, max: u64) -> Result<String, SalesforceError> {
    if response.content_length().is_some_and(|n| n > max) {
        return Err(SalesforceError::TooLarge { max });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| SalesforceError::OutcomeUnknown(e.to_string()))? {
        if (body.len() + chunk.len()) as u64 > max {
            return Err(SalesforceError::TooLarge { max });
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|e| SalesforceError::Protocol(format!("the answer is not UTF-8: {e}")))
}
