//! The OAuth endpoints (token, revoke, authorize) and who a token acts as (the identity URL,
//! `userinfo`), outside the API gate as in Salesforce.

use super::{Ctx, bearer};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use std::collections::HashMap;

/// Whether the request carries a live access token.
fn bearer_valid(ctx: &Ctx, headers: &HeaderMap) -> bool {
    ctx.org.with(|s| s.tokens.valid(bearer(headers)))
}

/// `GET /id/{org}/{user}`: Salesforce answers a bad token with `403 Bad_OAuth_Token`, and
/// another user's or org's URL with `404`.
pub(super) async fn identity(
    State(ctx): State<Ctx>,
    Path((org, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !bearer_valid(&ctx, &headers) {
        return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    }
    if org != crate::identity::ORG_ID || user != crate::identity::USER_ID {
        return (StatusCode::NOT_FOUND, "Bad_Id").into_response();
    }
    Json(crate::identity::identity(&ctx.base)).into_response()
}

/// `GET|POST /services/oauth2/userinfo`: a bad token is `403 Bad_OAuth_Token`.
pub(super) async fn userinfo(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    if !bearer_valid(&ctx, &headers) {
        return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    }
    Json(crate::identity::userinfo(&ctx.base)).into_response()
}

pub(super) async fn token(State(ctx): State<Ctx>, body: Bytes) -> Response {
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

pub(super) async fn revoke(State(ctx): State<Ctx>, body: Bytes) -> Response {
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

pub(super) async fn authorize(State(ctx): State<Ctx>, Query(params): Query<HashMap<String, String>>) -> Response {
    match ctx.org.with(|s| s.tokens.authorize(&params)) {
        Ok(location) => Redirect::to(&location).into_response(),
        Err(crate::auth::OAuthError(status, body)) => {
            (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), Json(body)).into_response()
        }
    }
}
