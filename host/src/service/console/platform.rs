//! The platform staff's pages: every tenant (create one; each is suspended or resumed from its
//! overview), the service's health (jobs per state across tenants, workers, the tenants with
//! failures and their Salesforce calls) and the platform's security log.

use super::Viewer;
use super::layout::{self, req};
use crate::console_try;
use crate::service::AppState;
use crate::service::ops::{self, Permission};
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

/// `GET /platform`.
pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Response {
    let health = console_try!(viewer, ops::tenants::health(&state, &viewer.who).await);
    let log = if viewer.who.platform.has(Permission::PlatformUsers) {
        console_try!(viewer, ops::members::security_log(&state, &viewer.who, None, None, 50).await)
    } else {
        Vec::new()
    };
    let d = &health.depth;
    let body = html! {
        section.card #health {
            h2 { "Service health" }
            div.table-wrap tabindex="0" { table {
                thead { tr { th { "Waiting" } th { "Running" } th { "Failed" } th { "Outcome unknown" } th { "Workers (per tenant)" } } }
                tbody { tr { td { (d.pending) } td { (d.running) } td { (d.failed) } td { (d.unknown) } td { (health.workers) " (" (health.per_tenant) ")" } } }
            } }
            h3 { "Tenants that need attention" }
            @if health.attention.is_empty() { p.muted { "No tenant has failed jobs or has called Salesforce since this replica started." } } @else {
                div.table-wrap tabindex="0" { table {
                    thead { tr { th { "Tenant" } th { "Failed" } th { "Outcome unknown" } th { "Salesforce calls (this replica)" } th { "Org's API calls left today" } th { "State" } } }
                    tbody { @for h in &health.attention { tr {
                        td { a href={ "/t/" (h.tenant) } { (h.tenant) } } td { (h.failed) } td { (h.unknown) } td { (h.salesforce_calls) }
                        td { @match h.salesforce_remaining { Some(n) => { (n) } None => { span.muted { "not known" } } } }
                        td { @match h.suspended_at { Some(at) => { "suspended since " (layout::time(at)) } None => { "running" } } }
                    } } }
                } }
            }
            p.hint { "Invocations, latencies and limits hit per tenant are in " a href="/metrics" { "/metrics" } " (Prometheus)." }
        }
        section.card #tenants {
            h2 { "Tenants" }
            div.table-wrap tabindex="0" { table {
                thead { tr { th { "Tenant" } th { "Name" } th { "Parent" } th { "Created" } th { "State" } } }
                tbody { @for t in &health.all { tr {
                    td { a href={ "/t/" (t.id) } { (t.id) } } td { (t.name) } td { (t.parent_id.as_deref().unwrap_or("")) } td { (layout::time(t.created_at)) }
                    td { @if t.suspended_at.is_some() { strong { "suspended" } } @else { "active" } }
                } } }
            } }
            h3 { "Create a tenant" }
            form hx-post="/platform/tenants" hx-target="#tenant-result" {
                div.record-head {
                    (layout::field("Id (lowercase letters, digits, -)", "id", "text", "", None, req("off")))
                    (layout::field("Name", "name", "text", "", None, req("off")))
                    div.field { button type="submit" { "Create" } }
                }
                div #tenant-result aria-live="polite" {}
            }
        }
        @if !log.is_empty() {
            section.card {
                h2 { "Security log" }
                div.table-wrap tabindex="0" { table {
                    thead { tr { th { "When" } th { "Tenant" } th { "Who" } th { "What" } th { "On" } th { "From" } } }
                    tbody { @for e in &log { tr {
                        td { (layout::time(e.at)) } td { (e.tenant_id.as_deref().unwrap_or("")) } td { (e.actor) } td { (e.action) }
                        td { (e.subject) } td { (e.address.as_deref().unwrap_or("")) }
                    } } }
                } }
            }
        }
    };
    layout::page(&viewer, None, "Platform", body).into_response()
}

/// The new tenant form.
#[derive(Debug, Deserialize)]
pub struct NewTenantForm {
    id: String,
    name: String,
}

/// `POST /platform/tenants`: creates it and opens its overview (its webhook secret is rotated
/// there when the platform needs it; the owner key is not shown: people sign in instead).
pub async fn create_tenant(State(state): State<AppState>, viewer: Viewer, Form(f): Form<NewTenantForm>) -> Response {
    let new =
        ops::tenants::NewTenant { id: f.id.trim().to_owned(), name: f.name.trim().to_owned(), max_concurrency: None };
    super::go_after(ops::tenants::create(&state, &viewer.who, new).await, |c| format!("/t/{}", c.tenant.id))
}
