//! The page shell and the pieces every page shares: navigation by what the viewer may do,
//! times shown in the viewer's time zone, problems, and form fields with their errors.

use super::Viewer;
use crate::service::ApiError;
use crate::service::ops::{Permission, Permissions};
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The tenant a page belongs to, for the navigation.
#[derive(Clone, Copy, Debug)]
pub struct InTenant<'a> {
    /// Its id.
    pub id: &'a str,
    /// Which section is open.
    pub section: Section,
    /// Since when (Unix ms) and why the platform suspended it, if it did.
    pub suspended: Option<(i64, &'a str)>,
}

/// A tenant's sections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The overview.
    Overview,
    /// Salesforce.
    Connection,
    /// Plugin versions.
    Plugins,
    /// The mapping editor.
    Mapping,
    /// Jobs.
    Jobs,
    /// The audit trail.
    Audit,
    /// Members, roles, keys, webhooks, the security log.
    Team,
    /// The trust page.
    Trust,
}

/// The head of every page (also of the pages shown before sign-in).
fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            // htmx swaps error answers too (they carry the problem to show), adds no inline
            // styles (the CSP forbids them) and only talks to this origin.
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"selfRequestsOnly":true,"allowEval":false,"responseHandling":[{"code":"204","swap":false},{"code":"[2345]..","swap":true,"error":false}]}"#;
            title { (title) " · Portico" }
            link rel="stylesheet" href="/assets/console.css";
            script src="/assets/htmx.min.js" defer {}
            script src="/assets/console.js" defer {}
        }
    }
}

/// A whole page for a signed-in viewer.
pub fn page(viewer: &Viewer, tenant: Option<InTenant<'_>>, title: &str, body: Markup) -> Markup {
    let headers = format!(r#"{{"X-CSRF-Token": "{}"}}"#, viewer.csrf);
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body hx-headers=(headers) {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "Portico" }
                    @if let Some(t) = tenant {
                        span.tenant-name { "Tenant " strong { (t.id) } }
                    }
                    nav.account aria-label="Account" {
                        @if !viewer.who.platform.list().is_empty() { a href="/platform" { "Platform" } }
                        a href="/account" { (viewer.email) }
                        form method="post" action="/sign-out" hx-post="/sign-out" {
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                div.shell {
                    @if let Some(t) = tenant {
                        (tenant_nav(viewer, t))
                    }
                    main #main tabindex="-1" {
                        @if let Some((since, reason)) = tenant.and_then(|t| t.suspended) {
                            div.banner #suspended role="status" {
                                strong { "This tenant is suspended" } " since " (time(since)) ": " (reason) ". "
                                "Bookings are still received and kept; no new one is written to Salesforce (and no preview runs) until the platform resumes it."
                            }
                        }
                        h1 { (title) }
                        (body)
                    }
                }
            }
        }
    }
}

/// A page for someone not signed in (sign-in, invitations, resets).
pub fn public_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.public {
                main #main.narrow {
                    p.brand { "Portico" }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

fn tenant_nav(viewer: &Viewer, t: InTenant<'_>) -> Markup {
    let may = viewer.who.permissions_in(t.id);
    let items: [(Section, &str, &str, Permissions); 8] = [
        (Section::Overview, "", "Overview", Permissions::of(&[])),
        (Section::Connection, "/connection", "Salesforce", Permissions::of(&[Permission::ConnectionView])),
        (Section::Plugins, "/plugins", "Plugins", Permissions::of(&[Permission::PluginsView])),
        (Section::Mapping, "/mapping", "Mapping", Permissions::of(&[Permission::PluginsView])),
        (Section::Jobs, "/jobs", "Jobs", Permissions::of(&[Permission::JobsView])),
        (Section::Audit, "/audit", "Audit trail", Permissions::of(&[Permission::AuditView])),
        (Section::Team, "/team", "Team and settings", Permissions::of(&[])),
        (Section::Trust, "/trust", "Trust", Permissions::of(&[])),
    ];
    html! {
        nav.sections aria-label="Tenant" {
            ul {
                @for (section, path, label, needs) in items {
                    @if may.covers(needs) {
                        li {
                            a href={ "/t/" (t.id) (path) } aria-current=[(section == t.section).then_some("page")] { (label) }
                        }
                    }
                }
            }
        }
    }
}

/// What went wrong, for a person.
pub fn problem(e: &ApiError) -> Markup {
    let heading = match e.status.as_u16() {
        401 => "Sign in needed",
        403 => "Not allowed",
        404 => "Not found",
        409 => "Conflict",
        422 | 400 => "Check the input",
        429 => "Too many tries",
        _ if e.status.is_server_error() => "Something failed on our side",
        _ => "Problem",
    };
    html! {
        div.problem role="alert" {
            strong { (heading) ": " }
            (e.message)
        }
    }
}

/// A success message.
pub fn notice(text: &str) -> Markup {
    html! { div.notice role="status" { (text) } }
}

/// A time (Unix ms) in RFC 3339, shown in the viewer's own time zone by `console.js`.
pub fn time(ms: i64) -> Markup {
    let iso = crate::service::api_time(ms);
    html! { time datetime=(iso) { (iso.replace('T', " ").trim_end_matches('Z')) " UTC" } }
}

/// A labelled input with an optional error beside it.
pub fn field(label: &str, name: &str, kind: &str, value: &str, error: Option<&str>, attrs: FieldAttrs) -> Markup {
    let id = format!("f-{name}");
    let err_id = format!("{id}-error");
    html! {
        div.field {
            label for=(id) { (label) @if attrs.required { span.req aria-hidden="true" { " *" } } }
            input #(id) name=(name) type=(kind) value=(value) required[attrs.required]
                autocomplete=[attrs.autocomplete] inputmode=[attrs.inputmode]
                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| err_id.as_str())];
            @if let Some(e) = error { p.error id=(err_id) { (e) } }
        }
    }
}

/// Extra attributes of [`field`].
#[derive(Clone, Copy, Debug, Default)]
pub struct FieldAttrs {
    /// The field must be filled.
    pub required: bool,
    /// The browser's autocomplete hint.
    pub autocomplete: Option<&'static str>,
    /// The on-screen keyboard hint.
    pub inputmode: Option<&'static str>,
}

/// Required, with an autocomplete hint.
pub fn req(autocomplete: &'static str) -> FieldAttrs {
    FieldAttrs { required: true, autocomplete: Some(autocomplete), inputmode: None }
}

/// A value that may be copied with one click.
pub fn copyable(label: &str, value: &str) -> Markup {
    html! {
        div.copy {
            span.copy-label { (label) }
            code { (value) }
            button.small type="button" data-copy=(value) aria-label={ "Copy " (label) } { "Copy" }
        }
    }
}

/// Pretty JSON in a `<pre>`.
pub fn json_block(value: &serde_json::Value) -> Markup {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    html! { pre.json { code { (text) } } }
}

/// A short digest for display.
pub fn short(digest: &str) -> &str {
    let d = digest.strip_prefix("sha256:").unwrap_or(digest);
    &d[..d.len().min(12)]
}

/// Markup from trusted, already escaped HTML (the QR code's SVG).
pub fn trusted(html: String) -> Markup {
    PreEscaped(html)
}
