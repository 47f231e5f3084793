//! Team and settings: members and their roles, invitations, custom roles with their permission
//! toggles, API keys, outbound webhook endpoints with their deliveries, and the security log.
//! Each section shows only to those whose role includes its permission.

use super::layout::{self, Section, req};
use super::{Viewer, fragment};
use crate::console_try;
use crate::service::ops::keys::NewKey;
use crate::service::ops::{self, BuiltinRole, Permission};
use crate::service::webhooks::{EndpointAuth, Event, NewEndpoint};
use crate::service::{ApiError, AppState};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

/// `GET /t/{tenant}/team`.
pub async fn page(State(state): State<AppState>, viewer: Viewer, Path(tenant): Path<String>) -> Response {
    console_try!(viewer, ops::tenants::get(&state, &viewer.who, &tenant).await);
    let may = viewer.who.permissions_in(&tenant);
    let (who, t) = (&viewer.who, tenant.as_str());
    let members = if may.has(Permission::UsersManage) {
        Some(console_try!(viewer, ops::members::members(&state, who, t).await))
    } else {
        None
    };
    let invitations = if may.has(Permission::UsersManage) {
        console_try!(viewer, ops::members::invitations(&state, who, t).await)
    } else {
        Vec::new()
    };
    let roles = console_try!(viewer, ops::members::roles(&state, who, t).await);
    let keys = if may.has(Permission::KeysManage) {
        Some(console_try!(viewer, ops::keys::list(&state, who, t).await))
    } else {
        None
    };
    let hooks = if may.has(Permission::WebhooksManage) {
        Some(console_try!(viewer, ops::webhooks::endpoints(&state, who, t).await))
    } else {
        None
    };
    let children = if may.has(Permission::ChildrenManage) && viewer.who.grant(t).is_some_and(|g| g.via.is_none()) {
        Some(console_try!(viewer, ops::tenants::children(&state, who, t).await))
    } else {
        None
    };
    let log = if may.has(Permission::AuditView) {
        Some(console_try!(viewer, ops::members::security_log(&state, who, Some(t), None, 50).await))
    } else {
        None
    };
    let role_names: Vec<String> = BuiltinRole::ALL
        .iter()
        .filter(|r| **r != BuiltinRole::PlatformAdmin)
        .map(|r| r.as_str().to_owned())
        .chain(roles.iter().map(|r| r.name.clone()))
        .collect();
    let body = html! {
        @if let Some(members) = &members {
            section.card #members {
                h2 { "Members" }
                div.table-wrap tabindex="0" { table {
                    thead { tr { th { "Email" } th { "Role" } th { "Since" } th { span.visually-hidden { "Actions" } } } }
                    tbody { @for m in members { tr {
                        td { (m.email) }
                        td {
                            label.visually-hidden for={ "role-" (m.user_id) } { "Role of " (m.email) }
                            select id={ "role-" (m.user_id) } name="role" hx-post={ "/t/" (tenant) "/team/members/" (m.user_id) "/role" }
                                hx-trigger="change" hx-target="next .role-result" {
                                @for r in &role_names { option value=(r) selected[*r == m.role] { (r) } }
                            }
                            span.role-result aria-live="polite" {}
                        }
                        td { (layout::time(m.created_at)) }
                        td.actions {
                            button.small.secondary hx-post={ "/t/" (tenant) "/team/members/" (m.user_id) "/reset" } hx-target="next .reset-result"
                                hx-confirm={ "Issue a password reset for " (m.email) "? Their current password keeps working until they use it." } { "Reset password" }
                            button.small.danger hx-post={ "/t/" (tenant) "/team/members/" (m.user_id) "/remove" } hx-target="closest tr" hx-swap="outerHTML"
                                hx-confirm={ "Remove " (m.email) " from this tenant?" } { "Remove" }
                            div.reset-result aria-live="polite" {}
                        }
                    } } }
                } }
                h3 { "Invite someone" }
                form hx-post={ "/t/" (tenant) "/team/invite" } hx-target="#invite-result" {
                    div.record-head {
                        (layout::field("Email", "email", "email", "", None, req("off")))
                        div.field { label for="invite-role" { "Role" }
                            select #invite-role name="role" { @for r in &role_names { option value=(r) selected[r == "viewer"] { (r) } } } }
                        div.field { button type="submit" { "Invite" } }
                    }
                    div #invite-result aria-live="polite" {}
                }
                @if !invitations.is_empty() {
                    h3 { "Pending invitations" }
                    ul { @for i in &invitations { li { (i.email) " as " (i.role.as_deref().unwrap_or("")) ", until " (layout::time(i.expires_at)) " "
                        button.small.secondary hx-post={ "/t/" (tenant) "/team/invitations/" (i.id) "/revoke" } hx-target="closest li" hx-swap="outerHTML" { "Withdraw" } } } }
                }
            }
        }
        (super::roles::section(&tenant, &roles, may))
        @if let Some(keys) = &keys {
            section.card #keys {
                h2 { "API keys" }
                div.table-wrap tabindex="0" { table {
                    thead { tr { th { "Key" } th { "Label" } th { "Role" } th { "Created" } th { "Last used" } th { "Expires" } th { span.visually-hidden { "Actions" } } } }
                    tbody { @for k in keys.iter().filter(|k| k.revoked_at.is_none()) { tr {
                        td { code { (k.prefix) "…" } } td { (k.label) } td { (k.role) } td { (layout::time(k.created_at)) }
                        td { @if let Some(at) = k.last_used_at { (layout::time(at)) } @else { "never" } }
                        td { @if let Some(at) = k.expires_at { (layout::time(at)) } @else { "never" } }
                        td { button.small.danger hx-post={ "/t/" (tenant) "/team/keys/" (k.prefix) "/revoke" } hx-target="closest tr" hx-swap="outerHTML"
                            hx-confirm="Revoke this key? Whatever uses it stops working." { "Revoke" } }
                    } } }
                } }
                h3 { "Create a key" }
                form hx-post={ "/t/" (tenant) "/team/keys" } hx-target="#key-result" {
                    div.record-head {
                        (layout::field("Label", "label", "text", "", None, req("off")))
                        div.field { label for="key-role" { "Role" }
                            select #key-role name="role" { @for r in &role_names { option value=(r) selected[r == "viewer"] { (r) } } } }
                        (layout::field("Expires in (days, empty: never)", "expires_in_days", "number", "", None, layout::FieldAttrs::default()))
                        div.field { button type="submit" { "Create" } }
                    }
                    div #key-result aria-live="polite" {}
                }
            }
        }
        @if let Some(hooks) = &hooks {
            section.card #webhooks {
                h2 { "Outbound webhooks" }
                p.hint { "Portico tells these endpoints what happened, signed with each endpoint's secret." }
                @for h in hooks {
                    details { summary { code { (h.url) } " — " (h.events.join(", ")) @if h.disabled_at.is_some() { " (disabled)" } }
                        div hx-get={ "/t/" (tenant) "/team/webhooks/" (h.id) "/deliveries" } hx-trigger="toggle from:closest details once" { "Loading the deliveries…" }
                        button.small.danger hx-post={ "/t/" (tenant) "/team/webhooks/" (h.id) "/remove" } hx-target="closest details" hx-swap="outerHTML"
                            hx-confirm="Remove this endpoint?" { "Remove" } }
                }
                h3 { "Add an endpoint" }
                form hx-post={ "/t/" (tenant) "/team/webhooks" } hx-target="#hook-result" {
                    (layout::field("URL (https)", "url", "url", "", None, req("off")))
                    fieldset { legend { "Events" }
                        ul.tree { @for e in Event::ALL { li { label { input type="checkbox" name="event" value=(e.as_str()) checked; " " code { (e.as_str()) } } } } }
                    }
                    div.actions { button type="submit" { "Add" } }
                    div #hook-result aria-live="polite" {}
                }
            }
        }
        @if let Some(children) = &children {
            section.card #children {
                h2 { "Tenants you manage" }
                p.hint { "Your role here carries to each of these tenants (every act there is in both security logs)." }
                @if children.is_empty() { p.muted { "None yet." } } @else {
                    ul { @for c in children { li { a href={ "/t/" (c.id) } { (c.name) } " (" code { (c.id) } ")" } } }
                }
                form hx-post={ "/t/" (tenant) "/team/children" } hx-target="#child-result" {
                    div.record-head {
                        (layout::field("Id (lowercase letters, digits, -)", "child_id", "text", "", None, req("off")))
                        (layout::field("Name", "child_name", "text", "", None, req("off")))
                        div.field { button type="submit" { "Create a tenant to manage" } }
                    }
                    div #child-result aria-live="polite" {}
                }
            }
        }
        @if let Some(log) = &log {
            section.card #security-log {
                h2 { "Security log" }
                div.table-wrap tabindex="0" { table {
                    thead { tr { th { "When" } th { "Who" } th { "What" } th { "On" } th { "From" } } }
                    tbody { @for e in log { tr {
                        td { (layout::time(e.at)) } td { (e.actor) @if let Some(v) = &e.via { " via " (v) } } td { (e.action) }
                        td { (e.subject) } td { (e.address.as_deref().unwrap_or("")) }
                    } } }
                } }
            }
        }
    };
    super::tenant_page(&state, &viewer, &tenant, Section::Team, "Team and settings", body).await
}

/// The invitation form.
#[derive(Deserialize)]
pub struct InviteForm {
    email: String,
    role: String,
}

/// `POST /t/{tenant}/team/invite`: mailed, or the link shown once when the service sends no mail.
pub async fn invite(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    Form(f): Form<InviteForm>,
) -> Response {
    let base = state.inner.config.public_url.trim_end_matches('/').to_owned();
    fragment(ops::members::invite(&state, &viewer.who, &tenant, f.email.trim(), &f.role).await, |i| match i.token {
        Some(token) => html! {
            (layout::notice(&format!("Invitation created for {}. This service sends no mail: give them this link (shown once).", i.row.email)))
            (layout::copyable("Invitation link", &format!("{base}/accept-invitation?token={token}")))
        },
        None => layout::notice(&format!("Invitation mailed to {}.", i.row.email)),
    })
}

/// `POST /t/{tenant}/team/invitations/{id}/revoke`.
pub async fn revoke_invitation(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant, id)): Path<(String, String)>,
) -> Response {
    fragment(
        ops::members::revoke_invitation(&state, &viewer.who, &tenant, &id).await,
        |()| html! { li { "Withdrawn." } },
    )
}

/// `POST /t/{tenant}/team/members/{user}/reset`: mailed, or the link shown once when the
/// service sends no mail.
pub async fn reset_member(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant, user)): Path<(String, String)>,
) -> Response {
    let base = state.inner.config.public_url.trim_end_matches('/').to_owned();
    fragment(ops::members::reset_link(&state, &viewer.who, &tenant, &user).await, |(row, token)| match token {
        Some(token) => html! {
            (layout::notice("This service sends no mail: give them this link (shown once)."))
            (layout::copyable("Reset link", &format!("{base}/reset-password?token={token}")))
        },
        None => layout::notice(&format!("A reset link was mailed to {}.", row.email)),
    })
}

/// `POST /t/{tenant}/team/members/{user}/remove`.
pub async fn remove_member(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant, user)): Path<(String, String)>,
) -> Response {
    fragment(
        ops::members::remove(&state, &viewer.who, &tenant, &user).await,
        |()| html! { tr { td colspan="4" { "Removed." } } },
    )
}

/// The key form.
#[derive(Deserialize)]
pub struct KeyForm {
    label: String,
    role: String,
    #[serde(default)]
    expires_in_days: String,
}

/// `POST /t/{tenant}/team/keys`: the key is shown this once.
pub async fn create_key(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    Form(f): Form<KeyForm>,
) -> Response {
    let expires_in_days = match f.expires_in_days.trim() {
        "" => None,
        d => match d.parse::<u32>() {
            Ok(d) => Some(d),
            Err(_) => {
                return fragment::<()>(
                    Err(ApiError::unprocessable("bad-expiry", "the expiry is a whole number of days")),
                    |()| html! {},
                );
            }
        },
    };
    let new = NewKey { role: f.role, label: f.label, expires_in_days };
    fragment(ops::keys::create(&state, &viewer.who, &tenant, new).await, |k| {
        html! {
            (layout::notice("Key created. Copy it now: it is not shown again."))
            (layout::copyable("API key", &k.key))
        }
    })
}

/// `POST /t/{tenant}/team/keys/{prefix}/revoke`.
pub async fn revoke_key(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant, prefix)): Path<(String, String)>,
) -> Response {
    fragment(
        ops::keys::revoke(&state, &viewer.who, &tenant, &prefix).await,
        |()| html! { tr { td colspan="7" { "Revoked." } } },
    )
}

/// `POST /t/{tenant}/team/webhooks` (`url`, `event` repeated): the signing secret shown once.
pub async fn add_webhook(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let mut url = String::new();
    let mut events = Vec::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "url" => url = v.trim().to_owned(),
            "event" => events.extend(Event::ALL.into_iter().find(|e| e.as_str() == v)),
            _ => {}
        }
    }
    let new = NewEndpoint { url, events, auth: EndpointAuth::None };
    fragment(ops::webhooks::register(&state, &viewer.who, &tenant, new).await, |r| {
        html! {
            (layout::notice("Endpoint added. Copy its signing secret now: it is not shown again."))
            (layout::copyable("Signing secret", &r.secret))
        }
    })
}

/// `POST /t/{tenant}/team/webhooks/{id}/remove`.
pub async fn remove_webhook(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant, id)): Path<(String, String)>,
) -> Response {
    fragment(ops::webhooks::remove(&state, &viewer.who, &tenant, &id).await, |()| html! { p { "Removed." } })
}

/// `GET /t/{tenant}/team/webhooks/{id}/deliveries`.
pub async fn deliveries(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant, id)): Path<(String, String)>,
) -> Response {
    fragment(ops::webhooks::deliveries(&state, &viewer.who, &tenant, &id, 20).await, |list| {
        html! {
            @if list.is_empty() { p.muted { "No deliveries yet." } } @else {
                table { thead { tr { th { "Event" } th { "State" } th { "Attempts" } th { "Last answer" } } }
                    tbody { @for d in &list { tr { td { (d.event) } td { (d.state.as_str()) } td { (d.attempts) }
                        td { (d.last_status.map(|s| s.to_string()).unwrap_or_default()) } } } } }
            }
        }
    })
}

/// The role form.
#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

/// `POST /t/{tenant}/team/members/{user}/role`.
pub async fn set_role(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant, user)): Path<(String, String)>,
    Form(f): Form<RoleForm>,
) -> Response {
    fragment(ops::members::set_role(&state, &viewer.who, &tenant, &user, &f.role).await, |m| html! { "now " (m.role) })
}

/// The child tenant form.
#[derive(Deserialize)]
pub struct ChildForm {
    child_id: String,
    child_name: String,
}

/// `POST /t/{tenant}/team/children`: a tenant this one manages (a reseller's customer).
pub async fn create_child(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    Form(f): Form<ChildForm>,
) -> Response {
    let new = ops::tenants::NewTenant {
        id: f.child_id.trim().to_owned(),
        name: f.child_name.trim().to_owned(),
        max_concurrency: None,
    };
    fragment(ops::tenants::create_child(&state, &viewer.who, &tenant, new).await, |c| {
        html! {
            (layout::notice(&format!("Tenant {} created; you manage it from here.", c.tenant.id)))
            a href={ "/t/" (c.tenant.id) } { "Open it" }
        }
    })
}
