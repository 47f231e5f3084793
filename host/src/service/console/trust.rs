//! The trust page: the security document a customer's Salesforce admin and security team read
//! before approving the integration, generated from the tenant's real state. Printable, and
//! shareable by a link that expires.

use super::Viewer;
use super::layout::{self, Section, public_page};
use crate::console_try;
use crate::service::AppState;
use crate::service::ops::trust::TrustReport;
use crate::service::ops::{self, Permission};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

/// `GET /t/{tenant}/trust`.
pub async fn page(State(state): State<AppState>, viewer: Viewer, Path(tenant): Path<String>) -> Response {
    let report = console_try!(viewer, ops::trust::report(&state, &viewer.who, &tenant).await);
    let may_share = viewer.who.permissions_in(&tenant).has(Permission::ConnectionManage);
    let body = html! {
        @if may_share {
            form.actions hx-post={ "/t/" (tenant) "/trust/share" } hx-target="#share-result" {
                label for="share-days" { "Share with someone without an account for" }
                select #share-days name="days" { @for d in [1, 7, 30] { option value=(d) selected[d == 7] { (d) " day(s)" } } }
                button type="submit" { "Create a link" }
                span #share-result aria-live="polite" {}
            }
        }
        (document(&report))
    };
    super::tenant_page(&state, &viewer, &tenant, Section::Trust, "Trust and security", body).await
}

/// The share form.
#[derive(Debug, Deserialize)]
pub struct ShareForm {
    days: u32,
}

/// `POST /t/{tenant}/trust/share`.
pub async fn share(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    Form(f): Form<ShareForm>,
) -> Response {
    match ops::trust::share(&state, &viewer.who, &tenant, f.days).await {
        Ok((token, expires)) => {
            let url = format!("{}/trust/{token}", state.inner.config.public_url.trim_end_matches('/'));
            html! { (layout::copyable("Link", &url)) span.hint { "works until " (layout::time(expires)) } }
                .into_response()
        }
        Err(e) => (e.status, layout::problem(&e)).into_response(),
    }
}

/// `GET /trust/{token}`: the shared page, without signing in.
pub async fn shared(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match ops::trust::shared(&state, &token).await {
        Ok(Some(report)) => {
            public_page(&format!("{}: trust and security", report.tenant.1), document(&report)).into_response()
        }
        Ok(None) => (
            axum::http::StatusCode::NOT_FOUND,
            public_page("Link expired", html! { p { "This link is unknown or expired. Ask for a new one." } }),
        )
            .into_response(),
        Err(e) => (e.status, public_page("Problem", layout::problem(&e))).into_response(),
    }
}

fn document(r: &TrustReport) -> Markup {
    let kind = |k: &str| match k {
        "web-server" => {
            "OAuth 2.0 web-server flow with PKCE: a Salesforce user authorized the connected app; Portico keeps the refresh token"
        }
        "jwt-bearer" => {
            "OAuth 2.0 JWT bearer: a dedicated integration user, with a certificate the connected app trusts"
        }
        "client-credentials" => "OAuth 2.0 client credentials: the connected app's run-as integration user",
        _ => "not connected",
    };
    html! {
        article.trust {
            @if let Some(at) = r.expires_at { p.hint { "Shared link, valid until " (layout::time(at)) "." } }
            p { "Portico turns each booked meeting into Salesforce records for " strong { (r.tenant.1) } ". It relies on Salesforce's own four security tiers; "
                "this page shows how each is enforced, generated from the tenant's configuration as it is now." }
            section.card {
                h2 { "1. Org level" }
                p { "Connection: " @match &r.connection {
                    Some((k, url)) => { (kind(k)) ", org " code { (url) } "." }
                    None => { "not connected yet." } } }
                p { "OAuth scopes requested: " code { "api" } " and " code { "refresh_token" } " (web-server flow). Portico only talks to Salesforce domains over HTTPS; access and refresh tokens, consumer secrets and private keys are encrypted at rest (AES-256-GCM)." }
                @if r.egress.is_empty() { p { "Egress addresses: ask the operator of this Portico service." } } @else {
                    p { "Requests to Salesforce come from these addresses (for login IP ranges): " }
                    ul { @for a in &r.egress { li { code { (a) } } } }
                }
            }
            section.card {
                h2 { "2. Object level (CRUD)" }
                p { "The mapping plugin" @if let Some((n, v, d)) = &r.plugin { " " strong { (n) " " (v) } " (" code { (layout::short(d)) } ")" }
                    " may use only what the tenant admin approved. Every call is checked against this grant before any request reaches Salesforce:" }
                @if r.grant.objects.is_empty() { p.muted { "No plugin is approved and active: nothing is allowed." } } @else {
                    div.table-wrap tabindex="0" { table #trust-grant {
                        thead { tr { th { "Object" } th { "Operations" } th { "Fields read" } th { "Fields written" } } }
                        tbody { @for (o, g) in &r.grant.objects { tr {
                            td { code { (o) } }
                            td { (g.operations.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")) }
                            td { (g.read.iter().cloned().collect::<Vec<_>>().join(", ")) }
                            td { (g.write.iter().cloned().collect::<Vec<_>>().join(", ")) }
                        } } }
                    } }
                }
            }
            section.card {
                h2 { "3. Field level (FLS)" }
                p { "The plugin sees only fields that are both in the grant and visible to the integration user; writing any other field fails before Salesforce sees it. The integration user needs exactly:" }
                ul { li { "API Enabled" }
                    @for p in &r.permissions {
                        li { code { (p.sobject) } ": " ([("Read", p.read), ("Create", p.create), ("Edit", p.edit)].iter().filter(|x| x.1).map(|x| x.0).collect::<Vec<_>>().join(", "))
                            @if !p.fields.is_empty() { "; fields " (p.fields.iter().map(|f| format!("{} ({})", f.field, if f.edit { "edit" } else { "read" })).collect::<Vec<_>>().join(", ")) } }
                    }
                }
            }
            section.card {
                h2 { "4. Record level (sharing)" }
                p { "Records are written as the connected user, so Salesforce's sharing rules apply. Lookups (finds) return only records that user can see. "
                    "Each booking's records are committed in one Composite request with allOrNone: all or nothing." }
            }
            section.card {
                h2 { "What Portico stores, and for how long" }
                ul {
                    li { "Each booking's payload, the plugin's logs and any error, for " strong { (r.retention_days.0) " days" } " after its job finished (to replay a failed one); then only the job's row remains." }
                    li { "An audit row per record written (ids and field values) for " strong { (r.retention_days.1) " days" } "; then the values are dropped and ids and field names stay." }
                    li { "Secrets (tokens, keys, the webhook secret) are encrypted with the service's master key; API keys and passwords are stored only as hashes (Argon2id for passwords)." }
                    li { "A person's data can be erased on request, by email address." }
                }
            }
            p.hint { "Print this page for your records (the browser's print command leaves out the navigation)." }
        }
    }
}
