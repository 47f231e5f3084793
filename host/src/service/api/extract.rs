//! The handlers' extractors: axum's `Json`, `Path` and `Query`, whose refusals are answered as
//! every other error is — an [`ErrorBody`](crate::service::ErrorBody) with a code — instead of
//! axum's plain-text rejections, which the API document cannot describe.
//!
//! They also refuse text holding U+0000 anywhere in a path, query or JSON body: no value of the
//! API may contain it, and PostgreSQL cannot store it in a text column, so without this check
//! it would fail deep in the store as an internal error (as api-fuzz/run found).

use crate::service::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A JSON body in (`Content-Type: application/json`) or out.
#[derive(Debug)]
pub struct Json<T>(pub T);

/// Path parameters.
#[derive(Debug)]
pub struct Path<T>(pub T);

/// Query parameters.
#[derive(Debug)]
pub struct Query<T>(pub T);

/// A refusal keeps axum's status and its precise message. axum answers 5xx only for a route
/// and extractor that do not fit together — a fault of ours, so it is logged as one.
fn refused(status: StatusCode, code: &'static str, message: String) -> ApiError {
    if status.is_server_error() { ApiError::internal(message) } else { ApiError::new(status, code, message) }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> ApiError {
        let code = match &e {
            JsonRejection::JsonDataError(_) => "invalid-body",
            JsonRejection::JsonSyntaxError(_) => "malformed-json",
            JsonRejection::MissingJsonContentType(_) => "not-json",
            JsonRejection::BytesRejection(_) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => "too-large",
            _ => "bad-body",
        };
        refused(e.status(), code, e.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> ApiError {
        refused(e.status(), "bad-path", e.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> ApiError {
        refused(e.status(), "bad-query", e.body_text())
    }
}

/// The body read once (within the route's `DefaultBodyLimit`), parsed by axum — its checks of
/// the content type and its messages — then searched for `\u0000`.
async fn read_json<T: DeserializeOwned, S: Send + Sync>(req: Request, state: &S) -> Result<T, ApiError> {
    let headers = req.headers().clone();
    let bytes = Bytes::from_request(req, state).await.map_err(JsonRejection::from)?;
    let mut again = Request::new(Body::from(bytes.clone()));
    *again.headers_mut() = headers;
    let axum::Json(value) = <axum::Json<T> as FromRequest<S>>::from_request(again, state).await?;
    if holds_nul(&bytes) {
        return Err(ApiError::unprocessable("nul-character", "a string of the body holds U+0000 (`\\u0000`)"));
    }
    Ok(value)
}

/// Whether valid JSON text holds a string with U+0000 (a raw NUL byte is not valid JSON).
fn holds_nul(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'\\' {
            if json[i + 1..].starts_with(b"u0000") {
                return true;
            }
            i += 2; // the escaped character, so `\\u0000` (a backslash, then text) is not one
        } else {
            i += 1;
        }
    }
    false
}

/// Whether a raw path or query holds a percent-escaped NUL (a literal one is no valid URI).
fn nul_in(part: Option<&str>) -> bool {
    part.is_some_and(|text| text.contains("%00"))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Ok(Json(read_json(req, state).await?))
    }
}

/// No `Content-Type` is `None` (as with axum's); a body that is not the JSON asked for is refused.
impl<T: DeserializeOwned, S: Send + Sync> OptionalFromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, ApiError> {
        if !req.headers().contains_key(header::CONTENT_TYPE) {
            return Ok(None);
        }
        Ok(Some(Json(read_json(req, state).await?)))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(value) = axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        if nul_in(Some(parts.uri.path())) {
            return Err(ApiError::bad_request("bad-path", "a path parameter holds U+0000 (`%00`)"));
        }
        Ok(Path(value))
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Query(value) = axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        if nul_in(parts.uri.query()) {
            return Err(ApiError::bad_request("bad-query", "a query parameter holds U+0000 (`%00`)"));
        }
        Ok(Query(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::header;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Thing {
        n: i64,
        #[serde(default)]
        s: String,
    }

    async fn json(content_type: Option<&str>, body: &str) -> Result<Json<Thing>, ApiError> {
        let mut req = Request::builder().method("POST").uri("/");
        if let Some(t) = content_type {
            req = req.header(header::CONTENT_TYPE, t);
        }
        <Json<Thing> as FromRequest<()>>::from_request(req.body(Body::from(body.to_owned())).unwrap(), &()).await
    }

    #[tokio::test]
    async fn refused_bodies_are_api_errors_with_axums_status() {
        let app_json = Some("application/json");
        for (content_type, body, status, code) in [
            (None, "{\"n\":1}", 415, "not-json"),
            (Some("text/plain"), "{\"n\":1}", 415, "not-json"),
            (app_json, "{\"n\":", 400, "malformed-json"),
            (app_json, "\u{7f}", 400, "malformed-json"),
            (app_json, "{\"n\":\"one\"}", 422, "invalid-body"),
            (app_json, "{\"n\":1,\"m\":2}", 422, "invalid-body"),
            (app_json, "{\"n\":1,\"s\":\"a\\u0000\"}", 422, "nul-character"),
        ] {
            let e = json(content_type, body).await.unwrap_err();
            assert_eq!((e.status.as_u16(), e.code), (status, code), "{body}: {}", e.message);
            assert!(!e.message.is_empty());
        }
        assert!(json(app_json, "{\"n\":1}").await.is_ok());
    }

    #[test]
    fn nul_is_found_in_strings_but_not_in_an_escaped_backslash() {
        assert!(holds_nul(br#"{"a":"x\u0000"}"#));
        assert!(holds_nul(br#"["\\\u0000"]"#), "an escaped backslash, then NUL");
        assert!(!holds_nul(br#"{"a":"x\\u0000"}"#), "a backslash, then the text u0000");
        assert!(!holds_nul(br#"{"a":"\u0001 \n"}"#));
    }

    #[tokio::test]
    async fn a_path_parameter_of_the_wrong_type_or_with_nul_is_a_400() {
        let app = axum::Router::new()
            .route("/jobs/{job}", axum::routing::get(|Path(job): Path<i64>| async move { job.to_string() }))
            .route("/tenants/{tenant}", axum::routing::get(|Path(id): Path<String>| async move { id }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        for (path, status) in
            [("/jobs/7", 200), ("/jobs/x", 400), ("/jobs/99999999999999999999", 400), ("/tenants/a%00", 400)]
        {
            let answer = reqwest::get(format!("{url}{path}")).await.unwrap();
            assert_eq!(answer.status(), status, "{path}");
            if status == 400 {
                let body: serde_json::Value = answer.json().await.unwrap();
                assert_eq!(body["code"], "bad-path", "{body}");
            }
        }
        server.abort();
    }
}
