//! The tenant list (the console's home) and a tenant's overview: its state at a glance, the
//! ingestion URLs to give the booking platforms, and rotating the delivery secret.

use super::layout::{self, Section};
use super::{Viewer, go};
use crate::console_try;
use crate::service::AppState;
use crate::service::ops::{self, Permission};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::html;

/// `GET /`: the tenants the viewer may see; straight to the one when there is only one.
pub async fn home(State(state): State<AppState>, viewer: Viewer) -> Response {
    let tenants = console_try!(viewer, ops::tenants::list(&state, &viewer.who).await);
    if let [only] = tenants.as_slice()
        && viewer.who.platform.list().is_empty()
    {
        return go(false, &format!("/t/{}", only.id));
    }
    let body = html! {
        @if tenants.is_empty() {
            p { "You belong to no tenant yet. Ask a tenant's administrator for an invitation." }
        } @else {
            div.table-wrap tabindex="0" { table {
                thead { tr { th { "Tenant" } th { "Name" } th { "Your role" } th { "Created" } } }
                tbody {
                    @for t in &tenants {
                        tr {
                            td { a href={ "/t/" (t.id) } { (t.id) } }
                            td { (t.name) }
                            td { (viewer.who.grant(&t.id).map(|g| g.role.as_str()).unwrap_or("platform staff")) }
                            td { (layout::time(t.created_at)) }
                        }
                    }
                }
            } }
        }
    };
    layout::page(&viewer, None, "Tenants", body).into_response()
}

/// `GET /t/{tenant}`: the overview.
pub async fn overview(State(state): State<AppState>, viewer: Viewer, Path(tenant): Path<String>) -> Response {
    let t = console_try!(viewer, ops::tenants::get(&state, &viewer.who, &tenant).await);
    let may = viewer.who.permissions_in(&tenant);
    let base = format!("{}/v1/tenants/{}", state.inner.config.public_url.trim_end_matches('/'), t.id);
    let connection = if may.has(Permission::ConnectionView) {
        ops::connection::get(&state, &viewer.who, &tenant).await.ok()
    } else {
        None
    };
    let limits = console_try!(viewer, ops::tenants::limits(&state, &viewer.who, &tenant).await);
    let limits = serde_json::to_value(&limits).unwrap_or_default();
    let overridden: serde_json::Map<String, serde_json::Value> =
        t.limits.as_deref().and_then(|l| serde_json::from_str(l).ok()).unwrap_or_default();
    let staff = viewer.who.platform.has(Permission::PlatformTenants);
    let body = html! {
        div.grid2 {
            section.card {
                h2 { "Status" }
                dl {
                    dt { "Name" } dd { (t.name) }
                    dt { "Salesforce" }
                    dd { @match &connection {
                        Some(c) => { "Connected to " code { (c.instance_url) } }
                        None => { "Not connected. " @if may.has(Permission::ConnectionView) { a href={ "/t/" (tenant) "/connection" } { "Connect" } } }
                    } }
                    dt { "Active plugin" }
                    dd { @match &t.active_digest {
                        Some(d) => { code { (layout::short(d)) } }
                        None => { "none yet" }
                    } }
                    dt { "Two-factor authentication" } dd { @if t.require_2fa == 1 { "required of every member" } @else { "optional" } }
                    dt { "Processing" } dd { @if t.suspended_at.is_some() { "suspended by the platform" } @else { "running" } }
                }
                @if staff {
                    div #suspension {
                        @if t.suspended_at.is_some() {
                            button hx-post={ "/t/" (tenant) "/resume" } hx-target="#suspension-result"
                                hx-confirm="Resume this tenant? Its waiting bookings are written to Salesforce." { "Resume the tenant" }
                        } @else {
                            form hx-post={ "/t/" (tenant) "/suspend" } hx-target="#suspension-result"
                                hx-confirm="Suspend this tenant? Its bookings are kept, but none is written to Salesforce until it is resumed." {
                                (layout::field("Reason shown to its members", "reason", "text", "", None, layout::req("off")))
                                button.danger type="submit" { "Suspend the tenant" }
                            }
                        }
                        div #suspension-result aria-live="polite" {}
                    }
                }
            }
            section.card #limits {
                h2 { "Sandbox limits" }
                p.hint { "Each booking's plugin run stops at the first limit it hits, and the job names it." }
                form hx-post={ "/t/" (tenant) "/limits" } hx-target="#limits-result" {
                    div.table-wrap tabindex="0" { table {
                        thead { tr { th { "Limit" } th { "In force" } @if staff { th { "Override (empty: the service's)" } } } }
                        tbody { @for (k, v) in limits.as_object().into_iter().flatten() {
                            tr { td { code { (k) } } td { (v) @if overridden.contains_key(k) { " " span.muted { "(this tenant's)" } } }
                                @if staff { td { label.visually-hidden for={ "limit-" (k) } { (k) }
                                    input id={ "limit-" (k) } name=(k) type="number" min="0" value=(overridden.get(k).map(|v| v.to_string()).unwrap_or_default()); } } }
                        } }
                    } }
                    @if staff { div.actions { button type="submit" { "Save the limits" } span #limits-result aria-live="polite" {} } }
                }
            }
            section.card #ingestion {
                h2 { "Where booking platforms send bookings" }
                p.hint { "Each delivery is signed with the tenant's webhook secret (HMAC-SHA256); unsigned or stale deliveries are refused." }
                (layout::copyable("Portico format", &format!("{base}/bookings")))
                (layout::copyable("Cal.com", &format!("{base}/webhooks/calcom")))
                (layout::copyable("Calendly", &format!("{base}/webhooks/calendly")))
                @if may.has(Permission::ConnectionManage) {
                    div #secret {
                        button.secondary hx-post={ "/t/" (tenant) "/webhook-secret" } hx-target="#secret"
                            hx-confirm="Rotate the webhook secret? Deliveries signed with the old one are refused from now on: update every booking platform."
                            { "Rotate the webhook secret" }
                    }
                }
            }
        }
    };
    super::tenant_page(&state, &viewer, &tenant, Section::Overview, &t.name, body).await
}

/// `POST /t/{tenant}/webhook-secret`: a new secret, shown this once.
pub async fn rotate_secret(State(state): State<AppState>, viewer: Viewer, Path(tenant): Path<String>) -> Response {
    let secret = console_try!(viewer, ops::tenants::rotate_webhook_secret(&state, &viewer.who, &tenant).await);
    html! {
        (layout::notice("The secret was rotated. Copy it now into each booking platform: it is not shown again."))
        (layout::copyable("New secret", &secret))
    }
    .into_response()
}

/// The suspension form.
#[derive(Debug, serde::Deserialize)]
pub struct SuspendForm {
    reason: String,
}

/// `POST /t/{tenant}/suspend` (platform staff): the overview again, with the banner.
pub async fn suspend(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    axum::Form(f): axum::Form<SuspendForm>,
) -> Response {
    super::go_after(ops::tenants::suspend(&state, &viewer.who, &tenant, &f.reason).await, |t| format!("/t/{}", t.id))
}

/// `POST /t/{tenant}/resume` (platform staff).
pub async fn resume(State(state): State<AppState>, viewer: Viewer, Path(tenant): Path<String>) -> Response {
    super::go_after(ops::tenants::resume(&state, &viewer.who, &tenant).await, |t| format!("/t/{}", t.id))
}

/// `POST /t/{tenant}/limits` (platform staff): the non-empty fields are this tenant's
/// overrides; the service's limits (its ceiling) still clamp them.
pub async fn set_limits(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let mut overrides = serde_json::Map::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        match v.parse::<u64>() {
            Ok(n) => overrides.insert(k.into_owned(), serde_json::json!(n)),
            Err(_) => {
                let e = crate::service::ApiError::unprocessable("bad-limits", format!("`{k}` must be a whole number"));
                return (e.status, layout::problem(&e)).into_response();
            }
        };
    }
    super::fragment(ops::tenants::set_limits(&state, &viewer.who, &tenant, overrides).await, |_| {
        layout::notice("Saved; reload to see the limits in force.")
    })
}
