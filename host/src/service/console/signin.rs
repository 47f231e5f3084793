//! Signing in (password, then the second factor when the account has one), signing out, and
//! the pages the emailed links open: accepting an invitation, resetting a password.

use super::layout::{self, FieldAttrs, public_page, req};
use super::{Viewer, go};
use crate::service::auth::{Client, session_cookie};
use crate::service::ops::{self, sessions::Credentials};
use crate::service::{ApiError, AppState};
use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

/// The page's query: where to go after signing in.
#[derive(Debug, Default, Deserialize)]
pub struct Next {
    /// A path on this console.
    #[serde(default)]
    pub next: Option<String>,
}

/// The sign-in form's fields.
#[derive(Default, Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    next: String,
    /// `email` when the code asked for is the one mailed to the person.
    #[serde(default)]
    factor: String,
}

/// Where the form asks for what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Password,
    SecondFactor,
    EmailedCode,
    NewPassword,
}

/// Only paths on this site (never `//host`), so a link cannot send someone elsewhere.
/// Control characters and backslashes are refused anywhere: browsers drop tabs and newlines
/// from URLs, so `/\t/evil.example` would become `//evil.example`.
fn safe_next(next: &str) -> &str {
    let plain = !next.bytes().any(|b| b < 0x20 || b == 0x7f || b == b'\\');
    if plain && next.starts_with('/') && !next.starts_with("//") { next } else { "/" }
}

/// A form posted from another site (login CSRF: signing someone into an attacker's account) is
/// refused: the browser's `Origin` (or `Sec-Fetch-Site`) must be this console's.
#[derive(Debug)]
pub struct SameOrigin;

impl FromRequestParts<AppState> for SameOrigin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<SameOrigin, Response> {
        let headers = &parts.headers;
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let ours = url::Url::parse(&state.inner.config.public_url).ok().map(|u| u.origin().ascii_serialization());
        // The host the browser addressed (`localhost` or `127.0.0.1` alike) or the public URL.
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let same = |o: &str| {
            Some(o) == ours.as_deref()
                || url::Url::parse(o).ok().and_then(|u| u.host_str().map(|h| (h.to_owned(), u.port()))).is_some_and(
                    |(h, port)| {
                        host == Some(&match port {
                            Some(p) => format!("{h}:{p}"),
                            None => h,
                        })
                    },
                )
        };
        let foreign = fetch_site == Some("cross-site") || origin.is_some_and(|o| !same(o));
        if foreign {
            let e = ApiError::forbidden_code(
                "cross-site",
                "this form was sent from another site; open the console and try again",
            );
            return Err((e.status, layout::problem(&e)).into_response());
        }
        Ok(SameOrigin)
    }
}

/// `GET /sign-in`.
pub async fn page(Query(q): Query<Next>) -> Markup {
    let form = SignInForm { next: q.next.unwrap_or_default(), ..SignInForm::default() };
    public_page("Sign in", form_markup(&form, Step::Password, None))
}

fn form_markup(f: &SignInForm, step: Step, error: Option<&ApiError>) -> Markup {
    let pw_error = error.filter(|e| e.code == "bad-credentials").map(|e| e.message.as_str());
    let code_error = error.filter(|e| e.code == "bad-second-factor").map(|e| e.message.as_str());
    let new_error = error.filter(|e| e.code == "weak-password").map(|e| e.message.as_str());
    let other = error.filter(|e| !matches!(e.code, "bad-credentials" | "bad-second-factor" | "weak-password"));
    html! {
        form #sign-in method="post" action="/sign-in" hx-post="/sign-in" hx-target="this" hx-swap="outerHTML" {
            @if let Some(e) = other { (layout::problem(e)) }
            input type="hidden" name="next" value=(f.next);
            (layout::field("Email", "email", "email", &f.email, None, req("username")))
            // The password stays in the form while the second factor is asked for.
            (layout::field("Password", "password", "password", &f.password, pw_error, req("current-password")))
            @if step == Step::EmailedCode {
                input type="hidden" name="factor" value="email";
                p.hint { "We emailed you a sign-in code. Enter it here." }
                (layout::field("Code from the email", "code", "text", "", code_error,
                    FieldAttrs { required: true, autocomplete: Some("one-time-code"), inputmode: Some("numeric") }))
            }
            @if step == Step::SecondFactor {
                p.hint { "Enter the 6-digit code from your authenticator app, or one of your recovery codes." }
                (layout::field("Authentication code", "code", "text", "", code_error,
                    FieldAttrs { required: true, autocomplete: Some("one-time-code"), inputmode: Some("numeric") }))
            }
            @if step == Step::NewPassword {
                p.hint { "Your password has expired. Choose a new one (at least 12 characters)." }
                (layout::field("New password", "new_password", "password", "", new_error, req("new-password")))
            }
            div.actions {
                button type="submit" { "Sign in" }
                a href="/forgot-password" { "Forgot your password?" }
            }
        }
    }
}

/// `POST /sign-in`: signs in, sets the session cookie and goes on; or shows the next step
/// (the second factor, a new password) or what was wrong, beside its field.
pub async fn submit(
    State(state): State<AppState>,
    client: Client,
    _: SameOrigin,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Response {
    let htmx = headers.get("hx-request").is_some();
    let code = f.code.trim();
    let emailed = f.factor == "email";
    let (totp_code, recovery_code, email_code) = match code {
        "" => (None, None, None),
        c if emailed => (None, None, Some(c.to_owned())),
        c if c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()) => (Some(c.to_owned()), None, None),
        c => (None, Some(c.to_owned()), None),
    };
    let creds = Credentials {
        email: f.email.clone(),
        password: f.password.clone(),
        totp_code,
        recovery_code,
        email_code,
        new_password: (!f.new_password.is_empty()).then(|| f.new_password.clone()),
    };
    match ops::sessions::login(&state, creds, client.address, &client.user_agent).await {
        Ok(signed) => {
            let max_age = (signed.session.expires_at - signed.session.created_at) / 1000;
            let mut r = go(htmx, safe_next(&f.next));
            r.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, &signed.token, max_age));
            r
        }
        Err(e) => {
            let step = match e.code {
                "two-factor-required" if e.message.contains("emailed") => Step::EmailedCode,
                "bad-second-factor" if emailed => Step::EmailedCode,
                "two-factor-required" | "bad-second-factor" => Step::SecondFactor,
                "password-expired" | "weak-password" => Step::NewPassword,
                _ => Step::Password,
            };
            let shown = (e.code != "two-factor-required" && e.code != "password-expired").then_some(&e);
            let form = form_markup(&f, step, shown);
            let status = if shown.is_some() { e.status } else { axum::http::StatusCode::OK };
            let body = if htmx { form } else { public_page("Sign in", form) };
            (status, body).into_response()
        }
    }
}

/// `POST /sign-out`: ends the session and clears the cookie.
pub async fn sign_out(State(state): State<AppState>, viewer: Viewer) -> Response {
    if let Err(e) = ops::sessions::logout(&state, &viewer.who).await {
        return super::error_page(Some(&viewer), e);
    }
    let mut r = go(viewer.htmx, "/sign-in");
    r.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    r
}

/// A link's token.
#[derive(Debug, Default, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// A link's token with a password.
#[derive(Default, Deserialize)]
pub struct TokenForm {
    token: String,
    password: String,
}

fn token_form(action: &str, button: &str, token: &str, hint: &str, error: Option<&ApiError>) -> Markup {
    let weak = error.filter(|e| e.code == "weak-password" || e.code == "bad-password").map(|e| e.message.as_str());
    let other = error.filter(|e| e.code != "weak-password" && e.code != "bad-password");
    html! {
        form method="post" action=(action) hx-post=(action) hx-target="this" hx-swap="outerHTML" {
            @if let Some(e) = other { (layout::problem(e)) }
            p.hint { (hint) }
            input type="hidden" name="token" value=(token);
            (layout::field("Password", "password", "password", "", weak, req("new-password")))
            div.actions { button type="submit" { (button) } }
        }
    }
}

const NEW_PASSWORD_HINT: &str = "At least 12 characters. Long phrases are good; common or breached passwords are refused. \
    If you already have an account, enter its password.";

/// `GET /accept-invitation?token=…` (the link in the invitation email).
pub async fn invitation_page(Query(q): Query<TokenQuery>) -> Markup {
    public_page("Accept the invitation", token_form("/accept-invitation", "Join", &q.token, NEW_PASSWORD_HINT, None))
}

/// `POST /accept-invitation`.
pub async fn accept_invitation(
    State(state): State<AppState>,
    client: Client,
    _: SameOrigin,
    Form(f): Form<TokenForm>,
) -> Response {
    let acceptance = ops::accounts::Acceptance { token: f.token.clone(), password: f.password };
    match ops::accounts::accept_invitation(&state, acceptance, client.address).await {
        Ok((user, tenant)) => html! {
            (layout::notice(&format!("You joined {tenant} as {}.", user.email)))
            p { a href={ "/sign-in?next=/t/" (tenant) } { "Sign in" } }
        }
        .into_response(),
        Err(e) => {
            (e.status, token_form("/accept-invitation", "Join", &f.token, NEW_PASSWORD_HINT, Some(&e))).into_response()
        }
    }
}

/// `GET /reset-password?token=…` (the link in the reset email).
pub async fn reset_page(Query(q): Query<TokenQuery>) -> Markup {
    public_page(
        "Choose a new password",
        token_form("/reset-password", "Set password", &q.token, "At least 12 characters.", None),
    )
}

/// `POST /reset-password`.
pub async fn reset_password(State(state): State<AppState>, _: SameOrigin, Form(f): Form<TokenForm>) -> Response {
    match ops::accounts::reset_password(&state, &f.token, &f.password).await {
        Ok(()) => html! {
            (layout::notice("Your password is set; every session of your account was signed out."))
            p { a href="/sign-in" { "Sign in" } }
        }
        .into_response(),
        Err(e) => {
            (e.status, token_form("/reset-password", "Set password", &f.token, "At least 12 characters.", Some(&e)))
                .into_response()
        }
    }
}

/// `GET /forgot-password`.
pub async fn forgot_page() -> Markup {
    public_page(
        "Forgot your password?",
        html! {
            form method="post" action="/forgot-password" hx-post="/forgot-password" hx-target="this" hx-swap="outerHTML" {
                p.hint { "We email a link to reset it, if the address has an account and this service sends mail. \
                    Otherwise ask an administrator of your tenant for a reset link." }
                (layout::field("Email", "email", "email", "", None, req("username")))
                div.actions { button type="submit" { "Send the link" } a href="/sign-in" { "Back to sign-in" } }
            }
        },
    )
}

/// The forgot-password form.
#[derive(Debug, Deserialize)]
pub struct ForgotForm {
    email: String,
}

/// `POST /forgot-password`: the same answer whether or not the account exists.
pub async fn forgot_password(
    State(state): State<AppState>,
    client: Client,
    _: SameOrigin,
    Form(f): Form<ForgotForm>,
) -> Response {
    match ops::accounts::forgot_password(&state, &f.email, client.address).await {
        Ok(()) => layout::notice("If that address has an account, a reset link is on its way.").into_response(),
        Err(e) => (e.status, layout::problem(&e)).into_response(),
    }
}
