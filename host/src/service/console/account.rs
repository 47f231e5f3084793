//! The signed-in person's own page: their sessions, their password, two-factor enrolment with
//! a QR code, and the tenants they belong to.

use super::layout::{self, req};
use super::{Viewer, error_page};
use crate::console_try;
use crate::service::AppState;
use crate::service::ops;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

/// `GET /account`.
pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Response {
    let me = console_try!(viewer, ops::accounts::me(&state, &viewer.who).await);
    let sessions = console_try!(viewer, ops::sessions::list(&state, &viewer.who).await);
    let current = viewer.who.session.clone();
    let body = html! {
        section.card {
            h2 { "Your tenants" }
            @if me.grants.is_empty() && !me.platform_admin { p.muted { "You belong to no tenant yet." } }
            ul {
                @for g in &me.grants {
                    li { a href={ "/t/" (g.tenant) } { (g.tenant) } " — " (g.role)
                        @if let Some(via) = &g.via { " (through " (via) ")" }
                        @if g.needs_2fa { " — " strong { "turn on two-factor authentication to act here" } } }
                }
            }
        }
        section.card #two-factor {
            h2 { "Two-factor authentication" }
            @if me.user.totp_secret.is_some() {
                p { span.check-ok { "On: sign-in asks for a code from your authenticator app." } }
            } @else {
                p { "Off. With it on, sign-in also asks for a 6-digit code from an authenticator app." }
                button hx-post="/account/totp" hx-target="#two-factor" hx-swap="outerHTML" { "Set up an authenticator app" }
            }
        }
        section.card {
            h2 { "Change your password" }
            (password_form(None, None))
        }
        section.card {
            h2 { "Your sessions" }
            div.table-wrap tabindex="0" { table {
                thead { tr { th { "Signed in" } th { "From" } th { "Browser" } th { "Last used" } th { span.muted { "Action" } } } }
                tbody {
                    @for s in &sessions {
                        tr {
                            td { (layout::time(s.created_at)) }
                            td { (s.address) }
                            td { (s.user_agent) }
                            td { (layout::time(s.last_seen_at)) }
                            td {
                                @if current.as_deref() == Some(s.id.as_str()) { "this one" } @else {
                                    button.small.secondary hx-post={ "/account/sessions/" (s.id) "/revoke" }
                                        hx-confirm="Sign this session out?" hx-target="closest tr" hx-swap="outerHTML" { "Sign out" }
                                }
                            }
                        }
                    }
                }
            } }
        }
    };
    layout::page(&viewer, None, "Your account", body).into_response()
}

fn password_form(error: Option<&crate::service::ApiError>, done: Option<&str>) -> Markup {
    let current_error = error.filter(|e| e.code == "bad-password").map(|e| e.message.as_str());
    let new_error = error.filter(|e| e.code == "weak-password").map(|e| e.message.as_str());
    html! {
        form hx-post="/account/password" hx-target="this" hx-swap="outerHTML" {
            @if let Some(d) = done { (layout::notice(d)) }
            @if let Some(e) = error.filter(|e| e.code != "bad-password" && e.code != "weak-password") { (layout::problem(e)) }
            (layout::field("Current password", "current", "password", "", current_error, req("current-password")))
            (layout::field("New password", "new", "password", "", new_error, req("new-password")))
            div.actions { button type="submit" { "Change password" } }
        }
    }
}

/// The password form.
#[derive(Deserialize)]
pub struct PasswordForm {
    current: String,
    new: String,
}

/// `POST /account/password`.
pub async fn change_password(State(state): State<AppState>, viewer: Viewer, Form(f): Form<PasswordForm>) -> Response {
    match ops::accounts::change_password(&state, &viewer.who, &f.current, &f.new).await {
        Ok(()) => password_form(None, Some("Password changed; your other sessions were signed out.")).into_response(),
        Err(e) => (e.status, password_form(Some(&e), None)).into_response(),
    }
}

/// `POST /account/totp`: a new secret, shown as a QR code and as text, to confirm with a code.
pub async fn begin_totp(State(state): State<AppState>, viewer: Viewer) -> Response {
    let enrolment = console_try!(viewer, ops::totp::begin(&state, &viewer.who).await);
    let qr = match qrcode::QrCode::new(enrolment.uri.as_bytes()) {
        Ok(code) => code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build(),
        Err(e) => return error_page(Some(&viewer), crate::service::ApiError::internal(e)),
    };
    confirm_form(&qr, &enrolment.secret, None).into_response()
}

fn confirm_form(qr: &str, secret: &str, error: Option<&str>) -> Markup {
    html! {
        section.card #two-factor {
            h2 { "Two-factor authentication" }
            p { "Scan this code with your authenticator app, then enter the 6-digit code it shows." }
            div.qr role="img" aria-label="QR code of the authenticator secret" { (layout::trusted(qr.to_owned())) }
            p.hint { "Or type the key in by hand: " code #totp-secret { (secret) } }
            form hx-post="/account/totp/confirm" hx-target="#two-factor" hx-swap="outerHTML" {
                (layout::field("Code from the app", "code", "text", "", error,
                    layout::FieldAttrs { required: true, autocomplete: Some("one-time-code"), inputmode: Some("numeric") }))
                div.actions { button type="submit" { "Turn on" } }
            }
        }
    }
}

/// The confirmation code.
#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

/// `POST /account/totp/confirm`: turns it on and shows the recovery codes, once.
pub async fn confirm_totp(State(state): State<AppState>, viewer: Viewer, Form(f): Form<CodeForm>) -> Response {
    match ops::totp::confirm(&state, &viewer.who, f.code.trim()).await {
        Ok(codes) => html! {
            section.card #two-factor {
                h2 { "Two-factor authentication" }
                (layout::notice("Two-factor authentication is on."))
                p { strong { "Recovery codes" } " — each signs you in once if you lose the app. Store them now: they are not shown again." }
                ul #recovery-codes { @for c in &codes { li { code { (c) } } } }
            }
        }
        .into_response(),
        Err(e) => (e.status, html! { section.card #two-factor { (layout::problem(&e))
            p { a href="/account" { "Start again" } } } })
            .into_response(),
    }
}

/// `POST /account/sessions/{id}/revoke`.
pub async fn revoke_session(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> Response {
    console_try!(viewer, ops::sessions::revoke(&state, &viewer.who, &id).await);
    html! { tr { td colspan="5" { "Signed out." } } }.into_response()
}
