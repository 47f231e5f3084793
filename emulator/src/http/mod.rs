//! The HTTP face of the org: the API gate (URI length, session check, faults, call counting,
//! `Sforce-Limit-Info` on every answer) in front of [`crate::rest::dispatch`], the versions
//! list (no session needed, as in Salesforce), and the OAuth and identity endpoints ([`oauth`]).

mod oauth;

use crate::Org;
use crate::error::{ApiError, SfError};
use crate::rest::{self, Answer, Headers, Request as ApiRequest};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::Value;
use std::sync::Arc;

/// The longest request URI Salesforce serves (`414 URI Too Long` beyond).
pub const MAX_URI_BYTES: usize = 16_384;

/// Shared handler state.
#[derive(Clone)]
struct Ctx {
    org: Arc<Org>,
    base: String,
}

/// The emulator's routes.
pub fn app(org: Arc<Org>, base_url: String) -> Router {
    let ctx = Ctx { org, base: base_url };
    let api = Router::new()
        .route("/services/data/{*path}", any(api))
        .layer(middleware::from_fn_with_state(ctx.clone(), gate));
    Router::new()
        .route("/services/data", get(versions))
        .route("/services/data/", get(versions))
        .route("/services/oauth2/token", post(oauth::token))
        .route("/services/oauth2/revoke", post(oauth::revoke))
        .route("/services/oauth2/authorize", get(oauth::authorize))
        .route("/services/oauth2/userinfo", get(oauth::userinfo).post(oauth::userinfo))
        .route("/id/{org}/{user}", get(oauth::identity))
        .merge(api)
        .with_state(ctx)
}

/// The kind of API call a request is, for `Org::calls`.
fn call_kind(method: &str, path: &str) -> &'static str {
    let rest = path.split("/services/data/").nth(1).unwrap_or_default();
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).skip(1).collect();
    match (method, parts.as_slice()) {
        (_, ["sobjects"]) => "global-describe",
        (_, ["sobjects", _, "describe"]) => "describe",
        ("POST", ["sobjects", _]) => "create",
        ("GET", ["sobjects", _]) => "sobject",
        ("PATCH", ["sobjects", _, _, _]) => "upsert",
        ("PATCH", ["sobjects", _, _]) => "update",
        ("DELETE", ["sobjects", ..]) => "delete",
        ("GET", ["sobjects", ..]) => "get",
        (_, ["composite"]) => "composite",
        (_, ["composite", "graph"]) => "graph",
        (_, ["composite", "batch"]) => "batch",
        (_, ["composite", "sobjects", ..]) => "collections",
        (_, ["query" | "queryAll", ..]) => "query",
        (_, ["limits"]) => "limits",
        _ => "other",
    }
}

/// Every API request: faults, the session check, counting, and the usage header.
async fn gate(State(ctx): State<Ctx>, request: Request, next: Next) -> Response {
    let latency = ctx.org.with(|s| s.faults.latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if request.uri().to_string().len() > MAX_URI_BYTES {
        return (StatusCode::URI_TOO_LONG, "URI Too Long").into_response();
    }
    let token = bearer(request.headers()).to_owned();
    let kind = call_kind(request.method().as_str(), request.uri().path());
    let refused = ctx.org.with(|s| {
        if !s.tokens.valid(&token) {
            return Some(ApiError::one(
                StatusCode::UNAUTHORIZED,
                SfError::new("INVALID_SESSION_ID", "Session expired or invalid"),
            ));
        }
        if !s.profile.api_enabled {
            return Some(ApiError::one(
                StatusCode::FORBIDDEN,
                SfError::new("API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization."),
            ));
        }
        if s.faults.unavailable > 0 {
            s.faults.unavailable -= 1;
            return Some(ApiError::one(
                StatusCode::SERVICE_UNAVAILABLE,
                SfError::new("SERVER_UNAVAILABLE", "Server temporarily unavailable, please try again"),
            ));
        }
        if s.faults.request_limit_after.is_some_and(|n| s.api_calls() >= n) {
            return Some(ApiError::one(
                StatusCode::FORBIDDEN,
                SfError::new("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
            ));
        }
        *s.calls.entry(kind.to_owned()).or_default() += 1;
        None
    });
    let mut response = match refused {
        Some(e) => e.into_response(),
        None => next.run(request).await,
    };
    let drop_it = ctx.org.with(|s| {
        let d = s.faults.drop_connections > 0;
        if d {
            s.faults.drop_connections -= 1;
        }
        d
    });
    if drop_it {
        // Headers go out, then the body fails: hyper aborts the connection mid-response.
        let failing = futures_util::stream::once(async {
            Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "fault injection",
            ))
        });
        return Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_LENGTH, "1000")
            .body(axum::body::Body::from_stream(failing))
            .expect("valid response");
    }
    let used = ctx.org.api_calls();
    if let Ok(v) = HeaderValue::from_str(&format!("api-usage={used}/{}", ctx.org.daily_api_requests)) {
        response.headers_mut().insert("Sforce-Limit-Info", v);
    }
    response
}

/// `GET /services/data/`: the versions served.
async fn versions() -> Response {
    Json(rest::versions()).into_response()
}

/// Every API request, after the gate: parsed, dispatched on the locked org, answered.
async fn api(State(ctx): State<Ctx>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().strip_prefix("/services/data/").unwrap_or_default();
    let body: Option<Value> =
        if body.iter().all(u8::is_ascii_whitespace) || matches!(method, Method::GET | Method::DELETE) {
            None
        } else {
            match serde_json::from_slice(&body) {
                Ok(v) => Some(v),
                Err(e) => {
                    return ApiError::one(
                        StatusCode::BAD_REQUEST,
                        SfError::new("JSON_PARSER_ERROR", format!("The request body is not valid JSON: {e}")),
                    )
                    .into_response();
                }
            }
        };
    let api_headers = Headers {
        if_modified_since: headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok()),
        query_batch_size: headers
            .get("Sforce-Query-Options")
            .and_then(|v| v.to_str().ok())
            .and_then(rest::query::batch_size_option),
    };
    let request = ApiRequest {
        method: method.as_str(),
        path,
        query: uri.query().unwrap_or_default(),
        body: body.as_ref(),
        headers: &api_headers,
    };
    let answer = ctx.org.with(|st| rest::dispatch(&ctx.org, &ctx.base, st, &request));
    respond(answer)
}

/// An [`Answer`] as an HTTP response (JSON as Salesforce types it).
fn respond(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match answer.body {
        Some(body) => (
            status,
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            serde_json::to_vec(&body).expect("serializable"),
        )
            .into_response(),
        None => status.into_response(),
    };
    for (name, value) in answer.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

/// The access token of `Authorization: Bearer …`, or empty.
fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
}
