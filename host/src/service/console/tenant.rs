//! The tenant list (the console's home) and a tenant's overview: its state at a glance, the
//! ingestion URLs to give the booking platforms, and rotating the delivery secret.

use super::layout::{self, InTenant, Section};
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
    layout::page(&viewer, Some(InTenant { id: &tenant, section: Section::Overview }), &t.name, body).into_response()
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
