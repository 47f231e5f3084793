//! The console: the web UI tenant admins, their teams and the platform's staff use. Pages are
//! rendered on the server (maud) and updated in part with htmx; every asset is embedded in the
//! binary. Each handler reads the request, calls one application-layer operation
//! (`service::ops`) as the signed-in person and renders what it answers — the same operations,
//! permissions and errors as the JSON API.
//!
//! - [`layout`]: the page shell, navigation and the small shared pieces (times, errors, forms).
//! - [`signin`]: sign-in with the second factor, sign-out, invitations, password resets.
//! - [`account`]: my sessions, my password, two-factor enrolment with its QR code.
//! - [`tenant`]: the tenant list and a tenant's overview (ingestion URLs, secret rotation,
//!   sandbox limits, suspending and resuming for platform staff).
//! - [`connection`]: connecting Salesforce and the preflight checklist, with [`budget`]: the
//!   daily API budget.
//! - [`plugins`]: upload, approve, activate and roll back plugin versions.
//! - [`mapping`]: the describe-driven mapping editor with its preview and history.
//! - [`jobs`]: the live job list, a job's page, replays and the audit trail.
//! - [`platform`]: platform staff's tenants, service health and security log.
//! - [`team`]: members (role, password reset, removal), invitations, API keys, outbound
//!   webhooks, the security log.
//! - [`roles`]: the team page's roles: define, edit and delete the tenant's own.
//! - [`trust`]: the trust page for the customer's Salesforce admin and security team.

pub mod account;
pub mod budget;
pub mod connection;
pub mod jobs;
pub mod layout;
pub mod mapping;
mod mapping_form;
pub mod platform;
pub mod plugins;
pub mod roles;
pub mod signin;
pub mod team;
pub mod tenant;
pub mod trust;

use super::auth::{csrf_echoed, request_address, session_token};
use super::ops::{Actor, Principal, sessions};
use super::{ApiError, AppState};
use axum::Router;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

/// The console's routes (merged into the service's router).
pub fn routes(max_component_bytes: usize) -> Router<AppState> {
    let t = "/t/{tenant}";
    // The upload's multipart framing adds a little to the component itself.
    let upload_limit = axum::extract::DefaultBodyLimit::max(max_component_bytes + (64 << 10));
    Router::new()
        .route("/", get(tenant::home))
        .route("/assets/{name}", get(asset))
        .route("/sign-in", get(signin::page).post(signin::submit))
        .route("/sign-out", post(signin::sign_out))
        .route("/accept-invitation", get(signin::invitation_page).post(signin::accept_invitation))
        .route("/reset-password", get(signin::reset_page).post(signin::reset_password))
        .route("/forgot-password", get(signin::forgot_page).post(signin::forgot_password))
        .route("/account", get(account::page))
        .route("/platform", get(platform::page))
        .route("/platform/tenants", post(platform::create_tenant))
        .route("/account/password", post(account::change_password))
        .route("/account/totp", post(account::begin_totp))
        .route("/account/totp/confirm", post(account::confirm_totp))
        .route("/account/sessions/{id}/revoke", post(account::revoke_session))
        .route(t, get(tenant::overview))
        .route(&format!("{t}/webhook-secret"), post(tenant::rotate_secret))
        .route(&format!("{t}/limits"), post(tenant::set_limits))
        .route(&format!("{t}/suspend"), post(tenant::suspend))
        .route(&format!("{t}/resume"), post(tenant::resume))
        .route(&format!("{t}/connection"), get(connection::page).post(connection::save))
        .route(&format!("{t}/connection/authorize"), post(connection::authorize))
        .route(&format!("{t}/connection/preflight"), post(connection::preflight))
        .route(&format!("{t}/connection/api-budget"), post(budget::save))
        .route(&format!("{t}/connection/permission-set.xml"), get(connection::permission_set))
        .route(&format!("{t}/plugins"), get(plugins::page).post(plugins::upload).layer(upload_limit))
        .route(&format!("{t}/plugins/{{digest}}"), get(plugins::version))
        .route(&format!("{t}/plugins/{{digest}}/approve"), post(plugins::approve))
        .route(&format!("{t}/plugins/{{digest}}/activate"), post(plugins::activate))
        .route(&format!("{t}/plugins/rollback"), post(plugins::roll_back))
        .route(&format!("{t}/plugins/settings"), post(plugins::save_settings))
        .route(&format!("{t}/mapping"), get(mapping::page).post(mapping::edit))
        .route(&format!("{t}/mapping/preview"), post(mapping::preview))
        .route(&format!("{t}/mapping/save"), post(mapping::save))
        .route(&format!("{t}/mapping/approve"), post(mapping::approve))
        .route(&format!("{t}/mapping/versions/{{version}}/restore"), post(mapping::restore))
        .route(&format!("{t}/jobs"), get(jobs::page))
        .route(&format!("{t}/jobs/rows"), get(jobs::rows))
        .route(&format!("{t}/jobs/replay"), post(jobs::replay_all))
        .route(&format!("{t}/jobs/{{job}}"), get(jobs::job))
        .route(&format!("{t}/jobs/{{job}}/replay"), post(jobs::replay))
        .route(&format!("{t}/audit"), get(jobs::audit))
        .route(&format!("{t}/team"), get(team::page))
        .route(&format!("{t}/team/invite"), post(team::invite))
        .route(&format!("{t}/team/invitations/{{id}}/revoke"), post(team::revoke_invitation))
        .route(&format!("{t}/team/members/{{user}}/remove"), post(team::remove_member))
        .route(&format!("{t}/team/members/{{user}}/role"), post(team::set_role))
        .route(&format!("{t}/team/children"), post(team::create_child))
        .route(&format!("{t}/team/roles"), post(roles::put_role))
        .route(&format!("{t}/team/roles/{{name}}/delete"), post(roles::delete_role))
        .route(&format!("{t}/team/members/{{user}}/reset"), post(team::reset_member))
        .route(&format!("{t}/team/keys"), post(team::create_key))
        .route(&format!("{t}/team/keys/{{prefix}}/revoke"), post(team::revoke_key))
        .route(&format!("{t}/team/webhooks"), post(team::add_webhook))
        .route(&format!("{t}/team/webhooks/{{id}}/remove"), post(team::remove_webhook))
        .route(&format!("{t}/team/webhooks/{{id}}/deliveries"), get(team::deliveries))
        .route(&format!("{t}/trust"), get(trust::page))
        .route(&format!("{t}/trust/share"), post(trust::share))
        .route("/trust/{token}", get(trust::shared))
}

/// The embedded assets, served with a content hash in their cache key.
async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind): (&'static str, &str) = match name.as_str() {
        "htmx.min.js" => (include_str!("assets/htmx.min.js"), "text/javascript"),
        "console.js" => (include_str!("assets/console.js"), "text/javascript"),
        "console.css" => (include_str!("assets/console.css"), "text/css"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// The signed-in person a page is rendered for. A page asked for without a live session
/// redirects to the sign-in page (and back after it); a request that changes something must
/// echo the session's CSRF token in `X-CSRF-Token`, which the console's pages send with every
/// htmx request (a cross-site form cannot read it).
#[derive(Debug)]
pub struct Viewer {
    /// Who acts.
    pub who: Principal,
    /// Their email.
    pub email: String,
    /// The session's CSRF token (rendered into the page for htmx to echo).
    pub csrf: String,
    /// Whether the request came from htmx (answer a fragment, redirect with `HX-Redirect`).
    pub htmx: bool,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Response> {
        let htmx = is_htmx(&parts.headers);
        let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let to_sign_in = || go(htmx, &format!("/sign-in?next={next}"));
        let Some(token) = session_token(&parts.headers) else { return Err(to_sign_in()) };
        let address = request_address(parts, state);
        let found = sessions::by_cookie(state, &token, address).await.map_err(|e| error_page(None, e))?;
        let Some((who, session)) = found else { return Err(to_sign_in()) };
        if !csrf_echoed(parts, &session) {
            let e = ApiError::forbidden_code("csrf", "this form is out of date; reload the page and try again");
            return Err(error_page(None, e));
        }
        let email = match &who.actor {
            Actor::User { email, .. } => email.clone(),
            other => other.label(),
        };
        Ok(Viewer { who, email, csrf: session.csrf_token, htmx })
    }
}

fn is_htmx(headers: &HeaderMap) -> bool {
    headers.get("hx-request").is_some()
}

/// Sends the browser to `to`: `HX-Redirect` for an htmx request, a 303 otherwise.
pub fn go(htmx: bool, to: &str) -> Response {
    if htmx {
        let mut r = StatusCode::NO_CONTENT.into_response();
        if let Ok(v) = HeaderValue::from_str(to) {
            r.headers_mut().insert("hx-redirect", v);
        }
        r
    } else {
        Redirect::to(to).into_response()
    }
}

/// An operation's refusal as a page (a whole page, or the fragment an htmx request swaps in).
pub fn error_page(viewer: Option<&Viewer>, e: ApiError) -> Response {
    let status = e.status;
    if status.is_server_error() {
        tracing::warn!(code = e.code, "console: {}", e.message);
    }
    let body = layout::problem(&e);
    let html = match viewer {
        Some(v) if !v.htmx => layout::page(v, None, "Problem", body),
        _ => body,
    };
    (status, html).into_response()
}

/// A page of `tenant`'s: its navigation and, while the platform has it suspended, a banner
/// saying so around `body`.
pub async fn tenant_page(
    state: &AppState,
    viewer: &Viewer,
    tenant: &str,
    section: layout::Section,
    title: &str,
    body: maud::Markup,
) -> Response {
    let row = super::ops::tenants::get(state, &viewer.who, tenant).await.ok();
    let suspended = row.as_ref().and_then(|t| Some((t.suspended_at?, t.suspended_reason.as_deref().unwrap_or(""))));
    let here = layout::InTenant { id: tenant, section, suspended };
    layout::page(viewer, Some(here), title, body).into_response()
}

/// After an operation that changes something: the browser goes to the page `to` names for
/// its answer, or the refusal is shown, with its status, where the form asked.
pub fn go_after<T>(result: Result<T, ApiError>, to: impl FnOnce(T) -> String) -> Response {
    match result {
        Ok(v) => go(true, &to(v)),
        Err(e) => (e.status, layout::problem(&e)).into_response(),
    }
}

/// An htmx fragment from an operation's answer: `ok` renders what it returned; a refusal is
/// the problem, with its status, for the target to show.
pub fn fragment<T>(result: Result<T, ApiError>, ok: impl FnOnce(T) -> maud::Markup) -> Response {
    match result {
        Ok(v) => ok(v).into_response(),
        Err(e) => (e.status, layout::problem(&e)).into_response(),
    }
}

/// Unwraps an operation's answer or returns its error as a page.
#[macro_export]
macro_rules! console_try {
    ($viewer:expr, $result:expr) => {
        match $result {
            Ok(v) => v,
            Err(e) => return $crate::service::console::error_page(Some(&$viewer), e),
        }
    };
}

/// The headers every console page carries: no framing, scripts and styles from this origin only.
pub async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let console = !req.uri().path().starts_with("/v1/");
    let mut r = next.run(req).await;
    if console {
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self' http: https:",
            ),
        );
        h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
        // Pages hold people's data (and a sign-in step holds the password typed): never cached.
        if !h.contains_key(header::CACHE_CONTROL) {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    r
}
