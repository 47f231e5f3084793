//! Routes, the API gate (session check, faults, call counting, `Sforce-Limit-Info`) and handlers.

use crate::Org;
use crate::composite::{self, CompositeRequest};
use crate::error::{ApiError, SfError};
use crate::query;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Shared handler state.
#[derive(Clone)]
struct Ctx {
    org: Arc<Org>,
    base: String,
}

/// When the schema last changed, for `If-Modified-Since` (fixed: the schema never changes).
fn schema_modified() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

/// The emulator's routes.
pub fn app(org: Arc<Org>, base_url: String) -> Router {
    let ctx = Ctx { org, base: base_url };
    let api = Router::new()
        .route("/services/data/{version}/sobjects", get(global))
        .route("/services/data/{version}/sobjects/{object}/describe", get(describe))
        .route("/services/data/{version}/sobjects/{object}", post(create))
        .route("/services/data/{version}/sobjects/{object}/{id}", get(get_record))
        .route("/services/data/{version}/sobjects/{object}/{field}/{value}", axum::routing::patch(upsert))
        .route("/services/data/{version}/composite", post(composite_handler))
        .route("/services/data/{version}/query", get(query_handler))
        .route("/services/data/{version}/limits", get(limits))
        .layer(middleware::from_fn_with_state(ctx.clone(), gate));
    Router::new()
        .route("/services/oauth2/token", post(token))
        .route("/services/oauth2/revoke", post(revoke))
        .route("/services/oauth2/authorize", get(authorize))
        .route("/services/oauth2/userinfo", get(userinfo).post(userinfo))
        .route("/id/{org}/{user}", get(identity))
        .merge(api)
        .with_state(ctx)
}

fn call_kind(method: &str, path: &str) -> &'static str {
    let rest = path.split("/services/data/").nth(1).unwrap_or_default();
    let parts: Vec<&str> = rest.split('/').skip(1).collect();
    match (method, parts.as_slice()) {
        (_, ["sobjects"]) => "global-describe",
        (_, ["sobjects", _, "describe"]) => "describe",
        ("POST", ["sobjects", _]) => "create",
        ("PATCH", ["sobjects", _, _, _]) => "upsert",
        ("GET", ["sobjects", _, _]) => "get",
        (_, ["composite"]) => "composite",
        (_, ["query"]) => "query",
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
        let used: u64 = s.calls.iter().filter(|(k, _)| k.as_str() != "token").map(|(_, n)| n).sum();
        if s.faults.request_limit_after.is_some_and(|n| used >= n) {
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

async fn global(State(ctx): State<Ctx>, Path(version): Path<String>) -> Response {
    let profile = ctx.org.with(|s| s.profile.clone());
    Json(ctx.org.schema.global(&profile, &ctx.base, &version)).into_response()
}

async fn describe(
    State(ctx): State<Ctx>,
    Path((version, object)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let profile = ctx.org.with(|s| s.profile.clone());
    let Some(o) = ctx.org.schema.object(&object).filter(|o| profile.object(&o.describe.name).read) else {
        return ApiError::not_found().into_response();
    };
    let modified = schema_modified();
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    let last_modified = httpdate::fmt_http_date(modified);
    if since.is_some_and(|t| t >= modified) {
        return (StatusCode::NOT_MODIFIED, [(header::LAST_MODIFIED, last_modified)]).into_response();
    }
    let body = ctx.org.schema.describe(o, &profile, &ctx.base, &version);
    ([(header::LAST_MODIFIED, last_modified)], Json(body)).into_response()
}

fn parse_body(bytes: &Bytes) -> Result<Map<String, Value>, ApiError> {
    serde_json::from_slice::<Map<String, Value>>(bytes).map_err(|e| {
        ApiError::one(
            StatusCode::BAD_REQUEST,
            SfError::new("JSON_PARSER_ERROR", format!("The request body is not valid JSON: {e}")),
        )
    })
}

async fn create(State(ctx): State<Ctx>, Path((version, object)): Path<(String, String)>, body: Bytes) -> Response {
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let result = ctx.org.with(|s| {
        let profile = s.profile.clone();
        s.store.insert(&ctx.org.schema, &profile, &object, &body)
    });
    match result {
        Ok(w) => {
            let location = format!("/services/data/{version}/sobjects/{object}/{}", w.id);
            (
                StatusCode::CREATED,
                [(header::LOCATION, location)],
                Json(json!({ "id": w.id, "success": true, "errors": [] })),
            )
                .into_response()
        }
        Err(errors) => status_for(&errors).into_response(),
    }
}

fn status_for(errors: &[SfError]) -> ApiError {
    let status = match errors.first().map(|e| e.error_code.as_str()) {
        Some("NOT_FOUND") => StatusCode::NOT_FOUND,
        Some("MULTIPLE_CHOICES") => StatusCode::MULTIPLE_CHOICES,
        Some("INSUFFICIENT_ACCESS_OR_READONLY") => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError(status, errors.to_vec())
}

async fn upsert(
    State(ctx): State<Ctx>,
    Path((version, object, field, value)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Response {
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let result = ctx.org.with(|s| {
        let profile = s.profile.clone();
        s.store.upsert(&ctx.org.schema, &profile, &object, &field, &value, &body)
    });
    match result {
        Ok(w) => {
            let location = format!("/services/data/{version}/sobjects/{object}/{}", w.id);
            // From v46.0 an update answers 200 with the body; before, 204 with none.
            let body = json!({ "id": w.id, "success": true, "errors": [], "created": w.created });
            if w.created {
                (StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response()
            } else if api_version(&version) >= 46.0 {
                (StatusCode::OK, [(header::LOCATION, location)], Json(body)).into_response()
            } else {
                StatusCode::NO_CONTENT.into_response()
            }
        }
        Err(errors) => status_for(&errors).into_response(),
    }
}

fn api_version(v: &str) -> f64 {
    v.trim_start_matches('v').parse().unwrap_or(0.0)
}

async fn get_record(State(ctx): State<Ctx>, Path((version, object, id)): Path<(String, String, String)>) -> Response {
    let record = ctx.org.with(|s| {
        let visible = s.profile.object(&object).read;
        visible.then(|| s.store.get(&object, &id).cloned()).flatten().map(|r| (r, s.profile.clone()))
    });
    let Some((record, profile)) = record else { return ApiError::not_found().into_response() };
    let object_name = ctx.org.schema.object(&object).map_or(object.clone(), |o| o.describe.name.clone());
    let mut out = Map::new();
    let id = record.get("Id").and_then(Value::as_str).unwrap_or_default().to_owned();
    out.insert(
        "attributes".into(),
        json!({ "type": object_name, "url": format!("/services/data/{version}/sobjects/{object_name}/{id}") }),
    );
    for (k, v) in record {
        if profile.field_visible(&object_name, &k) {
            out.insert(k, v);
        }
    }
    Json(Value::Object(out)).into_response()
}

async fn composite_handler(State(ctx): State<Ctx>, Path(version): Path<String>, body: Bytes) -> Response {
    let request: CompositeRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return ApiError::one(
                StatusCode::BAD_REQUEST,
                SfError::new("JSON_PARSER_ERROR", format!("Invalid composite request: {e}")),
            )
            .into_response();
        }
    };
    match composite::run(&ctx.org, &version, request) {
        Ok(v) => Json(v).into_response(),
        Err(errors) => ApiError(StatusCode::BAD_REQUEST, errors).into_response(),
    }
}

async fn query_handler(
    State(ctx): State<Ctx>,
    Path(version): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(q) = params.get("q") else {
        return ApiError::one(StatusCode::BAD_REQUEST, SfError::new("MALFORMED_QUERY", "A query string is required"))
            .into_response();
    };
    let parsed = match query::parse(q) {
        Ok(p) => p,
        Err(e) => return ApiError::one(StatusCode::BAD_REQUEST, e).into_response(),
    };
    let result = ctx.org.with(|s| -> Result<Value, ApiError> {
        let profile = &s.profile;
        let invalid = |m: String| ApiError::one(StatusCode::BAD_REQUEST, SfError::new("INVALID_TYPE", m));
        let Some(o) = ctx.org.schema.object(&parsed.object).filter(|o| profile.object(&o.describe.name).read) else {
            return Err(invalid(format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.",
                parsed.object
            )));
        };
        let name = &o.describe.name;
        let column = |f: &str| -> Result<String, ApiError> {
            o.describe.field(f).filter(|d| profile.field_visible(name, &d.name)).map(|d| d.name.clone()).ok_or_else(|| {
                ApiError::one(StatusCode::BAD_REQUEST, SfError::new("INVALID_FIELD", format!("No such column '{f}' on entity '{name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.")))
            })
        };
        let fields: Vec<String> = parsed.fields.iter().map(|f| column(f)).collect::<Result<_, _>>()?;
        let conditions: Vec<(String, query::Literal)> =
            parsed.conditions.iter().map(|(f, v)| Ok((column(f)?, v.clone()))).collect::<Result<_, ApiError>>()?;
        let mut rows: Vec<&crate::store::Record> = s
            .store
            .records(name)
            .iter()
            .filter(|r| conditions.iter().all(|(f, v)| query::matches(r.get(f).unwrap_or(&Value::Null), v)))
            .collect();
        if let Some((field, desc)) = &parsed.order_by {
            let field = column(field)?;
            rows.sort_by(|a, b| {
                let (x, y) = (a.get(&field).map(Value::to_string), b.get(&field).map(Value::to_string));
                if *desc { y.cmp(&x) } else { x.cmp(&y) }
            });
        }
        let rows: Vec<Value> = rows
            .into_iter()
            .take(parsed.limit.unwrap_or(2000))
            .map(|r| {
                let id = r.get("Id").and_then(Value::as_str).unwrap_or_default();
                let mut out = Map::new();
                out.insert("attributes".into(), json!({ "type": name, "url": format!("/services/data/{version}/sobjects/{name}/{id}") }));
                for f in &fields {
                    out.insert(f.clone(), r.get(f).cloned().unwrap_or(Value::Null));
                }
                Value::Object(out)
            })
            .collect();
        Ok(json!({ "totalSize": rows.len(), "done": true, "records": rows }))
    });
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn limits(State(ctx): State<Ctx>) -> Response {
    let used = ctx.org.api_calls();
    let max = ctx.org.daily_api_requests;
    Json(json!({
        "DailyApiRequests": { "Max": max, "Remaining": max.saturating_sub(used) },
        "DailyBulkApiBatches": { "Max": 15000, "Remaining": 15000 },
    }))
    .into_response()
}

/// The access token of `Authorization: Bearer …`, or empty.
fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
}

/// Whether the request carries a live access token.
fn bearer_valid(ctx: &Ctx, headers: &HeaderMap) -> bool {
    ctx.org.with(|s| s.tokens.valid(bearer(headers)))
}

/// `GET /id/{org}/{user}`: Salesforce answers a bad token with `403 Bad_OAuth_Token`, and
/// another user's or org's URL with `404`.
async fn identity(State(ctx): State<Ctx>, Path((org, user)): Path<(String, String)>, headers: HeaderMap) -> Response {
    if !bearer_valid(&ctx, &headers) {
        return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    }
    if org != crate::identity::ORG_ID || user != crate::identity::USER_ID {
        return (StatusCode::NOT_FOUND, "Bad_Id").into_response();
    }
    Json(crate::identity::identity(&ctx.base)).into_response()
}

/// `GET|POST /services/oauth2/userinfo`: a bad token is `403 Bad_OAuth_Token`.
async fn userinfo(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    if !bearer_valid(&ctx, &headers) {
        return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    }
    Json(crate::identity::userinfo(&ctx.base)).into_response()
}

async fn token(State(ctx): State<Ctx>, body: Bytes) -> Response {
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let result = ctx.org.with(|s| {
        *s.calls.entry("token".into()).or_default() += 1;
        s.tokens.token(&form, &ctx.base)
    });
    match result {
        Ok(v) => Json(v).into_response(),
        Err(crate::auth::OAuthError(status, body)) => {
            (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), Json(body)).into_response()
        }
    }
}

async fn revoke(State(ctx): State<Ctx>, body: Bytes) -> Response {
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let token = form.get("token").cloned().unwrap_or_default();
    if ctx.org.with(|s| s.tokens.revoke(&token)) {
        StatusCode::OK.into_response()
    } else {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "unsupported_token_type", "error_description": "this token type is not supported" })),
        )
            .into_response()
    }
}

async fn authorize(State(ctx): State<Ctx>, Query(params): Query<HashMap<String, String>>) -> Response {
    match ctx.org.with(|s| s.tokens.authorize(&params)) {
        Ok(location) => Redirect::to(&location).into_response(),
        Err(crate::auth::OAuthError(status, body)) => {
            (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), Json(body)).into_response()
        }
    }
}
