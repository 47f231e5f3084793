//! Salesforce's error bodies: `[{"message", "errorCode", "fields"}]` with the status code.

use http::StatusCode;
use serde::Serialize;

/// One Salesforce error entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SfError {
    /// Human-readable message, in Salesforce's wording.
    pub message: String,
    /// The error code, e.g. `REQUIRED_FIELD_MISSING`.
    pub error_code: String,
    /// The fields involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
}

impl SfError {
    /// An error without fields.
    pub fn new(code: &str, message: impl Into<String>) -> SfError {
        SfError { message: message.into(), error_code: code.to_owned(), fields: None }
    }

    /// An error naming fields.
    pub fn fields(code: &str, message: impl Into<String>, fields: &[&str]) -> SfError {
        SfError {
            message: message.into(),
            error_code: code.to_owned(),
            fields: Some(fields.iter().map(|f| (*f).to_owned()).collect()),
        }
    }
}

/// An error response: a status and the error list.
#[derive(Clone, Debug)]
pub struct ApiError(pub StatusCode, pub Vec<SfError>);

impl ApiError {
    /// One error with a status.
    pub fn one(status: StatusCode, error: SfError) -> ApiError {
        ApiError(status, vec![error])
    }

    /// `404 NOT_FOUND`, as Salesforce answers for unknown resources.
    pub fn not_found() -> ApiError {
        ApiError::one(StatusCode::NOT_FOUND, SfError::new("NOT_FOUND", "The requested resource does not exist"))
    }
}

#[cfg(feature = "server")]
impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}
