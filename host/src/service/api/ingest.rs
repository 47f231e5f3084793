//! Signed booking ingestion: verify, parse, store the job, then `202 Accepted`.
//!
//! Nothing is stored for a refused delivery: the signature and timestamp are checked and the
//! booking parsed before the database is touched, and the nonce is recorded in the same
//! transaction as the job.

use super::extract::{Json, Path};
use crate::service::signing::{self, SignatureError, Verified};
use crate::service::{ApiError, ApiResult, AppState, now_ms};
use crate::store::{Delivery, Ingested};
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use portico_model::platforms::{self, Platform};
use portico_model::{Booking, BookingKind};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::Instant;
use utoipa::ToSchema;

/// A stored delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// The job id.
    pub job_id: i64,
    /// `false` when this booking id and kind was already stored (nothing new was stored).
    pub created: bool,
    /// Where to watch the job.
    pub job_url: String,
}

/// A well-formed delivery Portico does not act on (a ping, a routing form …).
#[derive(Debug, Serialize, ToSchema)]
pub struct Ignored {
    /// Always `true`.
    pub ignored: bool,
    /// Why.
    pub reason: String,
}

enum Scheme {
    Portico,
    Platform(Platform),
}

/// Receives a booking in Portico's canonical JSON, signed with the tenant's webhook secret
/// (`X-Portico-Timestamp`, `X-Portico-Nonce`, `X-Portico-Signature: v1=<hex>` over
/// `timestamp.nonce.body`).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/bookings", tag = "ingestion", operation_id = "ingest_booking", security(()),
    request_body(content = Object, description = "the booking (canonical JSON)"), params(("tenant" = String, Path)),
    responses((status = 202, body = Accepted), (status = 400, body = crate::service::ErrorBody, description = "malformed headers or body"),
        (status = 401, body = crate::service::ErrorBody, description = "wrong signature (or unknown tenant) or stale timestamp"),
        (status = 409, body = crate::service::ErrorBody, description = "nonce reused"),
        (status = 413, body = crate::service::ErrorBody, description = "larger than `ingest.max_body_bytes`")))]
pub async fn booking(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    deliver(state, tenant, headers, body, Scheme::Portico).await
}

/// Receives a Cal.com webhook (`X-Cal-Signature-256`), mapped to a booking.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/webhooks/calcom", tag = "ingestion", operation_id = "ingest_calcom", security(()),
    request_body(content = Object, description = "a Cal.com webhook delivery"), params(("tenant" = String, Path)),
    responses((status = 202, body = Accepted), (status = 200, body = Ignored),
        (status = 400, description = "malformed headers or body"),
        (status = 401, description = "wrong signature (or unknown tenant)"),
        (status = 413, description = "larger than `ingest.max_body_bytes`")))]
pub async fn calcom(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    deliver(state, tenant, headers, body, Scheme::Platform(Platform::CalCom)).await
}

/// Receives a Calendly webhook (`Calendly-Webhook-Signature: t=…,v1=…`), mapped to a booking.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/webhooks/calendly", tag = "ingestion", operation_id = "ingest_calendly", security(()),
    request_body(content = Object, description = "a Calendly webhook delivery"), params(("tenant" = String, Path)),
    responses((status = 202, body = Accepted), (status = 200, body = Ignored),
        (status = 400, description = "malformed headers or body"),
        (status = 401, description = "wrong signature (or unknown tenant) or stale timestamp"),
        (status = 409, description = "nonce reused"),
        (status = 413, description = "larger than `ingest.max_body_bytes`")))]
pub async fn calendly(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    deliver(state, tenant, headers, body, Scheme::Platform(Platform::Calendly)).await
}

async fn deliver(
    state: AppState,
    tenant: String,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    scheme: Scheme,
) -> ApiResult<Response> {
    let started = Instant::now();
    let result = accept(&state, &tenant, &headers, body, scheme).await;
    let outcome = match &result {
        Ok(_) => "accepted",
        Err(e) => e.code,
    };
    state.inner.metrics.delivery(outcome, started.elapsed().as_secs_f64());
    if let Err(e) = &result {
        tracing::info!(%tenant, code = e.code, "delivery refused: {}", e.message);
    }
    result
}

async fn accept(
    state: &AppState,
    tenant_id: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    scheme: Scheme,
) -> ApiResult<Response> {
    let inner = &state.inner;
    let max = inner.config.ingest.max_body_bytes;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", format!("deliveries are limited to {max} bytes"))
        } else {
            ApiError::bad_request("bad-body", e.body_text())
        }
    })?;
    let ctx = inner
        .contexts
        .get(&inner.store, &inner.keys, &inner.runtime.default_limits(), tenant_id)
        .await
        .map_err(ApiError::internal)?;
    let now = now_ms();
    let tolerance = inner.config.ingest.tolerance_seconds;
    let check = |secret: &str| match &scheme {
        Scheme::Portico => signing::verify_portico(headers, &body, secret, now / 1000, tolerance),
        Scheme::Platform(Platform::CalCom) => signing::verify_calcom(headers, &body, secret),
        Scheme::Platform(Platform::Calendly) => signing::verify_calendly(headers, &body, secret, now / 1000, tolerance),
    };
    let Some(ctx) = ctx else {
        // An unknown tenant answers as a wrong signature does (checked against a secret nobody
        // has), so the ingest URL does not tell which tenants exist.
        let nobody = hex::encode(crate::service::random_bytes::<32>());
        check(&nobody).map_err(signature_error)?;
        return Err(signature_error(SignatureError::Mismatch));
    };
    let tenant = &ctx.tenant;
    let verified = check(&ctx.webhook_secret).map_err(signature_error)?;
    let text = match &scheme {
        Scheme::Portico => std::str::from_utf8(&body)
            .map_err(|_| ApiError::bad_request("malformed-booking", "the body is not UTF-8"))?
            .to_owned(),
        Scheme::Platform(platform) => match platforms::to_booking_json(*platform, &body) {
            Ok(Some(json)) => json,
            Ok(None) => {
                let reason = "this event does not create, reschedule or cancel a booking".to_owned();
                return Ok((StatusCode::OK, Json(Ignored { ignored: true, reason })).into_response());
            }
            Err(e) => return Err(ApiError::bad_request("malformed-booking", e.to_string())),
        },
    };
    let malformed = |e: portico_model::booking::BookingError| ApiError::bad_request("malformed-booking", e.to_string());
    let mut booking = Booking::from_json(&text).map_err(malformed)?;
    let mut text = text;
    let mut alias = None;
    if let Scheme::Platform(_) = scheme {
        // A platform's later id of a meeting (after a reschedule) leads back to its first id.
        let mut document: serde_json::Value = serde_json::from_str(&text).map_err(ApiError::internal)?;
        let own = document["source"]["booking_id"].as_str().map(str::to_owned);
        let first = inner.store.booking_alias(&tenant.id, &booking.id).await.map_err(ApiError::internal)?;
        if let Some(first) = first {
            document["id"] = first.into();
            text = document.to_string();
            booking = Booking::from_json(&text).map_err(malformed)?;
        }
        alias = own.filter(|own| *own != booking.id && Booking::valid_id(own).is_ok());
    }
    let kind = match booking.kind {
        BookingKind::Created => "created".to_owned(),
        BookingKind::Cancelled => "cancelled".to_owned(),
        // Each move of a meeting is its own delivery, the same delivery twice is one job: a
        // move is known by its new start and its whole content (a meeting moved A→B→A→B has
        // two moves to B, told apart by their previous start or the platform's new ids). The
        // content is hashed in a canonical form, so a resend serialized differently (key
        // order, spacing) is still the same move.
        BookingKind::Rescheduled => {
            // (A document the booking type accepts but `Value` does not — an ignored field
            // holding a number beyond f64 or nested very deep — is hashed as sent.)
            let canonical = match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(mut document) => {
                    document.sort_all_objects();
                    document.to_string()
                }
                Err(_) => text.clone(),
            };
            let digest = hex::encode(&Sha256::digest(canonical.as_bytes())[..8]);
            format!("rescheduled@{}#{digest}", booking.start.to_salesforce())
        }
    };
    let nonce = nonce_expiry(&verified, tolerance);
    let delivery =
        Delivery { tenant: tenant.id.clone(), nonce, booking_id: booking.id.clone(), alias, kind, payload: text };
    let stored = inner.deliveries.submit(delivery).await.map_err(ApiError::internal)?;
    let enqueued = match stored {
        Ingested::Job(enqueued) => enqueued,
        Ingested::NonceReused => {
            return Err(ApiError::conflict("nonce-reused", "this nonce was already used: a replayed delivery"));
        }
    };
    if enqueued.created {
        inner.wake.notify_one();
    }
    let accepted = Accepted {
        job_id: enqueued.id,
        created: enqueued.created,
        job_url: format!("/v1/tenants/{}/jobs/{}", tenant.id, enqueued.id),
    };
    Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
}

/// A nonce is kept until its timestamp can no longer pass the freshness check.
fn nonce_expiry(verified: &Verified, tolerance: i64) -> Option<(String, i64)> {
    let nonce = verified.nonce.clone()?;
    let ts = verified.timestamp.unwrap_or(now_ms() / 1000);
    Some((nonce, (ts + tolerance + 1) * 1000))
}

fn signature_error(e: SignatureError) -> ApiError {
    match e {
        SignatureError::Malformed(m) => ApiError::bad_request("bad-signature-headers", m),
        SignatureError::Stale { .. } => ApiError::unauthorized("stale-timestamp", e.to_string()),
        SignatureError::Mismatch => ApiError::unauthorized("bad-signature", e.to_string()),
    }
}
