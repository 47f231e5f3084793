//! Connecting Salesforce: the web-server flow started with a button (and the way back from
//! Salesforce's consent page), JWT bearer or client credentials in a form, the connected org
//! and its API allowance, and the preflight as a checklist with the permission set to download.

use super::layout::{self, FieldAttrs, Section, public_page};
use super::{Viewer, fragment, go};
use crate::console_try;
use crate::service::ops::connection::{NewConnection, Preflight, StartAuthorization};
use crate::service::ops::{self, Permission};
use crate::service::{ApiError, AppState};
use crate::store::ConnectionRow;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

/// The page's query.
#[derive(Debug, Default, Deserialize)]
pub struct Back {
    /// Set after the browser came back from Salesforce.
    #[serde(default)]
    connected: Option<String>,
}

/// `GET /t/{tenant}/connection`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    Query(back): Query<Back>,
) -> Response {
    let row = match ops::connection::get(&state, &viewer.who, &tenant).await {
        Ok(row) => Some(row),
        Err(e) if e.status == axum::http::StatusCode::NOT_FOUND && viewer.who.sees(&tenant) => None,
        Err(e) => return super::error_page(Some(&viewer), e),
    };
    let usage = console_try!(viewer, ops::connection::usage(&state, &viewer.who, &tenant).await);
    let manage = viewer.who.permissions_in(&tenant).has(Permission::ConnectionManage);
    let config = &state.inner.config.console;
    let budget = super::budget::card(&state, &viewer, &tenant).await;
    let body = html! {
        @if back.connected.is_some() { (layout::notice("Salesforce authorized the connection.")) }
        section.card #current {
            h2 { "Connection" }
            @match &row {
                Some(c) => { (connection_summary(c, usage)) }
                None => { p { "Not connected yet." } }
            }
        }
        (budget)
        @if manage {
            section.card {
                h2 { "Preflight" }
                p.hint { "Checks that the integration user has every permission the active plugin needs (it spends one API call per object)." }
                div #preflight {
                    button hx-post={ "/t/" (tenant) "/connection/preflight" } hx-target="#preflight" { "Run the preflight" }
                }
                p { a href={ "/t/" (tenant) "/connection/permission-set.xml" } download="portico.permissionset-meta.xml" { "Download the permission set" }
                    span.hint { " — deploy it and assign it to the integration user." } }
            }
            section.card {
                h2 { "Connect with Salesforce" }
                p.hint { "Opens Salesforce's login and consent page; you come back here when the org's admin has approved." }
                form hx-post={ "/t/" (tenant) "/connection/authorize" } hx-target="find .result" {
                    div.result {}
                    (layout::field("Login URL (My Domain)", "login_url", "url", &config.login_url, None, FieldAttrs { required: true, ..FieldAttrs::default() }))
                    (layout::field("Consumer key", "client_id", "text", &config.client_id, None, FieldAttrs { required: true, ..FieldAttrs::default() }))
                    (layout::field("Consumer secret (if the connected app requires it)", "client_secret", "password", "", None, FieldAttrs { autocomplete: Some("off"), ..FieldAttrs::default() }))
                    div.actions { button type="submit" { "Connect with Salesforce" } }
                }
            }
            section.card {
                h2 { "Or connect a server-to-server integration user" }
                (credentials_form(&tenant, None))
            }
        }
    };
    super::tenant_page(&state, &viewer, &tenant, Section::Connection, "Salesforce", body).await
}

fn connection_summary(c: &ConnectionRow, usage: Option<crate::salesforce::ApiUsage>) -> Markup {
    let kind = match c.kind.as_str() {
        "web-server" => "Authorized by a Salesforce user (web-server flow)",
        "jwt-bearer" => "JWT bearer",
        "client-credentials" => "Client credentials",
        other => other,
    };
    html! {
        dl {
            dt { "Org" } dd { code { (c.instance_url) } }
            dt { "How" } dd { (kind) }
            @if let Some(u) = &c.username { dt { "Integration user" } dd { (u) } }
            dt { "Consumer key" } dd { code { (c.client_id) } }
            dt { "Since" } dd { (layout::time(c.updated_at)) }
            dt { "API calls in the last 24 hours" }
            dd { @match usage {
                Some(u) => { (u.used) " of " (u.max) }
                None => { span.muted { "not known yet (shown after the next call to the org)" } }
            } }
        }
    }
}

/// The web-server flow's start.
#[derive(Deserialize)]
pub struct AuthorizeForm {
    login_url: String,
    client_id: String,
    #[serde(default)]
    client_secret: String,
}

/// `POST /t/{tenant}/connection/authorize`: sends the browser to Salesforce.
pub async fn authorize(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    Form(f): Form<AuthorizeForm>,
) -> Response {
    let start = StartAuthorization {
        login_url: f.login_url.trim().to_owned(),
        instance_url: None,
        client_id: f.client_id.trim().to_owned(),
        client_secret: Some(f.client_secret).filter(|s| !s.is_empty()),
    };
    match ops::connection::authorize(&state, &viewer.who, &tenant, start).await {
        Ok((url, _)) => go(viewer.htmx, &url),
        Err(e) => (e.status, layout::problem(&e)).into_response(),
    }
}

/// The browser's way back from Salesforce (`/v1/oauth/callback` with `Accept: text/html`).
pub fn back_from_salesforce(result: Result<(String, ConnectionRow), ApiError>) -> Response {
    match result {
        Ok((tenant, _)) => go(false, &format!("/t/{tenant}/connection?connected=1")),
        Err(e) => {
            let hint = explain(&e.message);
            let body = html! {
                (layout::problem(&e))
                @if let Some(h) = hint { p { (h) } }
                p { a href="/" { "Back to the console" } }
            };
            (e.status, public_page("Salesforce did not connect", body)).into_response()
        }
    }
}

/// Salesforce's terse refusals, in words an admin can act on.
fn explain(message: &str) -> Option<&'static str> {
    if message.contains("OAUTH_APPROVAL_ERROR_GENERIC") {
        Some(
            "Salesforce blocks connected apps that are not installed in the org for users without the \
              \"Approve Uninstalled Connected Apps\" permission (or \"Use Any API Client\"). Ask the org's admin to \
              install the connected app (Setup → Connected Apps OAuth Usage → Install) or to grant that permission \
              to the integration user, then connect again.",
        )
    } else if message.contains("access_denied") {
        Some("The Salesforce user chose Deny. Connect again and choose Allow.")
    } else {
        None
    }
}

/// The server-to-server form.
#[derive(Default, Deserialize)]
pub struct CredentialsForm {
    kind: String,
    instance_url: String,
    #[serde(default)]
    login_url: String,
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    private_key: String,
}

fn credentials_form(tenant: &str, error: Option<&ApiError>) -> Markup {
    html! {
        form hx-post={ "/t/" (tenant) "/connection" } hx-target="this" hx-swap="outerHTML" {
            @if let Some(e) = error { (layout::problem(e)) }
            div.field {
                label for="f-kind" { "Method" }
                select #f-kind name="kind" {
                    option value="client-credentials" { "Client credentials (the connected app's run-as user)" }
                    option value="jwt-bearer" { "JWT bearer (a certificate and the integration user's username)" }
                }
            }
            (layout::field("Instance URL", "instance_url", "url", "", None, FieldAttrs { required: true, ..FieldAttrs::default() }))
            (layout::field("Token endpoint host (optional)", "login_url", "url", "", None, FieldAttrs::default()))
            (layout::field("Consumer key", "client_id", "text", "", None, FieldAttrs { required: true, ..FieldAttrs::default() }))
            (layout::field("Consumer secret (client credentials)", "client_secret", "password", "", None, FieldAttrs { autocomplete: Some("off"), ..FieldAttrs::default() }))
            (layout::field("Username (JWT bearer)", "username", "text", "", None, FieldAttrs::default()))
            div.field {
                label for="f-private_key" { "Private key, PEM (JWT bearer)" }
                textarea #f-private_key name="private_key" autocomplete="off" {}
            }
            div.actions { button type="submit" { "Save the connection" } }
        }
    }
}

/// `POST /t/{tenant}/connection`: stores a server-to-server connection (the secret is sealed
/// and never shown again).
pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    Form(f): Form<CredentialsForm>,
) -> Response {
    let opt = |s: String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let new = match f.kind.as_str() {
        "jwt-bearer" => NewConnection::JwtBearer {
            instance_url: f.instance_url.trim().to_owned(),
            login_url: opt(f.login_url),
            client_id: f.client_id.trim().to_owned(),
            username: f.username.trim().to_owned(),
            private_key: f.private_key,
        },
        _ => NewConnection::ClientCredentials {
            instance_url: f.instance_url.trim().to_owned(),
            login_url: opt(f.login_url),
            client_id: f.client_id.trim().to_owned(),
            client_secret: f.client_secret,
        },
    };
    match ops::connection::put(&state, &viewer.who, &tenant, new).await {
        Ok(_) => go(true, &format!("/t/{tenant}/connection")),
        Err(e) => (e.status, credentials_form(&tenant, Some(&e))).into_response(),
    }
}

/// `POST /t/{tenant}/connection/preflight`: the checklist.
pub async fn preflight(State(state): State<AppState>, viewer: Viewer, Path(tenant): Path<String>) -> Response {
    fragment(ops::connection::preflight(&state, &viewer.who, &tenant).await, |p| checklist(&p))
}

fn checklist(p: &Preflight) -> Markup {
    let lacks = |permission: &str, on: &str| p.missing.iter().any(|m| m.permission == permission && m.on == on);
    let item = |ok: bool, text: String| {
        html! { li class=(if ok { "check-ok" } else { "check-missing" }) { (text) @if !ok { " — " strong { "missing" } } } }
    };
    html! {
        @if p.api_enabled && p.missing.is_empty() {
            (layout::notice("Ready: the integration user has every permission the plugin needs."))
        } @else {
            div.problem role="alert" { (p.missing.len()) " permission(s) missing; grant them (the permission set below does) and run the preflight again." }
        }
        @if let Some(d) = &p.digest { p.hint { "Checked for plugin version " code { (layout::short(d)) } "." } }
        ul.checklist {
            (item(p.api_enabled, "API Enabled (user permission)".to_owned()))
            @for o in &p.needs {
                @if o.read { (item(!lacks("Read", &o.sobject), format!("{}: Read", o.sobject))) }
                @if o.create { (item(!lacks("Create", &o.sobject), format!("{}: Create", o.sobject))) }
                @if o.edit { (item(!lacks("Edit", &o.sobject), format!("{}: Edit", o.sobject))) }
                @for f in &o.fields {
                    @let on = format!("{}.{}", o.sobject, f.field);
                    @let ok = !lacks("Read field", &on) && !lacks("Edit field", &on);
                    (item(ok, format!("{on}: {}", if f.edit { "field read and edit" } else { "field read" })))
                }
            }
        }
        @if let Some(u) = p.usage { p.hint { "API calls in the last 24 hours: " (u.used) " of " (u.max) "." } }
    }
}

/// `GET /t/{tenant}/connection/permission-set.xml`.
pub async fn permission_set(State(state): State<AppState>, viewer: Viewer, Path(tenant): Path<String>) -> Response {
    let xml = console_try!(viewer, ops::connection::permission_set(&state, &viewer.who, &tenant).await);
    (
        [
            (header::CONTENT_TYPE, "application/xml"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"Portico.permissionset-meta.xml\""),
        ],
        xml,
    )
        .into_response()
}
