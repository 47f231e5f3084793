//! The mapping editor's page: the records a booking creates, each field picked from the org's
//! filtered describe and mapped to a booking value, a form answer, a template or a fixed value;
//! the preview in the real sandbox; saving as a new version; the history with diffs; and the
//! grant the mapping needs beside the one approved.

use super::layout::{self, Section};
use super::mapping_form::{self, Posted};
use super::{Viewer, fragment, go};
use crate::console_try;
use crate::service::ops::Permission;
use crate::service::ops::mapping_spec::{Mapping, check};
use crate::service::ops::mappings::{self, Editor, PreviewBooking};
use crate::service::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use portico_model::Grant;

/// `GET /t/{tenant}/mapping`.
pub async fn page(State(state): State<AppState>, viewer: Viewer, Path(tenant): Path<String>) -> Response {
    let editor = match mappings::editor(&state, &viewer.who, &tenant).await {
        Ok(e) => e,
        Err(e) if e.status == axum::http::StatusCode::CONFLICT => {
            let body = html! { (layout::problem(&e)) p { a href={ "/t/" (tenant) "/plugins" } { "Plugins" } " · " a href={ "/t/" (tenant) "/connection" } { "Salesforce" } } };
            return super::tenant_page(&state, &viewer, &tenant, Section::Mapping, "Mapping", body).await;
        }
        Err(e) => return super::error_page(Some(&viewer), e),
    };
    let history = console_try!(viewer, mappings::versions(&state, &viewer.who, &tenant).await);
    let recent = console_try!(viewer, mappings::recent_bookings(&state, &viewer.who, &tenant).await);
    let may_edit = viewer.who.permissions_in(&tenant).has(Permission::MappingsEdit);
    let body = html! {
        p.hint { "Choose the records each booking creates, in order, and where each field's value comes from. "
            @if editor.open_ended { "Fields the integration user can create are offered; those beyond the approved grant are marked and need approval. " }
            @else { "Only fields the integration user can create and the approved grant allows are offered. " }
            strong { "*" } " marks fields Salesforce requires." }
        (editor_form(&tenant, &editor, &editor.mapping, may_edit, None))
        @if may_edit {
            section.card {
                h2 { "Preview" }
                p.hint { "Runs the active plugin with this mapping in the sandbox, against the org (reads only), and commits nothing." }
                div.field {
                    label for="preview_booking" { "Booking" }
                    select #preview_booking name="preview_booking" {
                        option value="sample" { "Sample booking (Linus Torvalds, intro call)" }
                        @for (job, booking, title) in &recent { option value=(job) { "Job " (job) ": " (title) " (" (booking) ")" } }
                    }
                }
                div.actions {
                    button #preview-button type="button" hx-post={ "/t/" (tenant) "/mapping/preview" } hx-include="#editor, #preview_booking" hx-target="#preview" { "Preview" }
                    button #save-button type="button" hx-post={ "/t/" (tenant) "/mapping/save" } hx-include="#editor" hx-target="#save-result" { "Save as a new version" }
                }
                div #save-result aria-live="polite" {}
                div #preview aria-live="polite" {}
            }
        }
        section.card #needed-grant {
            h2 { "Grant this mapping needs" }
            (grant_table(&editor.mapping.needed_grant(), &editor.approved))
            @if editor.open_ended && !editor.mapping.needed_grant().excess_over(&editor.approved).is_empty() {
                p.problem { "The saved mapping uses more than the approved grant: bookings fail before anything reaches Salesforce until it is approved." }
                @if viewer.who.permissions_in(&tenant).has(Permission::PluginsApprove) {
                    div.actions { button #approve-grant hx-post={ "/t/" (tenant) "/mapping/approve" } hx-target="#needed-grant"
                        hx-confirm="Approve exactly the access this mapping needs (and nothing else)?" { "Approve this grant" } }
                }
            }
            p.hint { "The plugin may do no more than the approved grant of version " code { (layout::short(&editor.digest)) } "; "
                a href={ "/t/" (tenant) "/plugins/" (editor.digest) } { "review or narrow it" } "." }
        }
        section.card #history {
            h2 { "History" }
            @if history.is_empty() { p.muted { "Not saved yet." } } @else {
                ol reversed {
                    @for (n, v) in history.iter().enumerate() {
                        li {
                            "Version " (v.version) ", " (layout::time(v.created_at)) " by " (v.created_by)
                            @if let Some(older) = history.get(n + 1) {
                                details { summary { "Changes from version " (older.version) }
                                    (diff(&older.config, &v.config)) }
                            }
                            @if n > 0 && may_edit {
                                " " button.small.secondary hx-post={ "/t/" (tenant) "/mapping/versions/" (v.version) "/restore" }
                                    hx-confirm={ "Restore version " (v.version) " (saved as a new version)?" } { "Restore" }
                            }
                        }
                    }
                }
            }
        }
    };
    super::tenant_page(&state, &viewer, &tenant, Section::Mapping, "Mapping", body).await
}

fn editor_form(tenant: &str, editor: &Editor, mapping: &Mapping, editable: bool, refused: Option<&ApiError>) -> Markup {
    let problems = check(mapping, &editor.objects);
    html! {
        form #editor hx-post={ "/t/" (tenant) "/mapping" } hx-target="this" hx-swap="outerHTML" {
            @if let Some(e) = refused { (layout::problem(e)) }
            input type="hidden" name="action" value="refresh";
            (mapping_form::render(tenant, mapping, &editor.objects, &editor.approved, &problems, editable))
            @if !problems.is_empty() && !mapping.records.is_empty() {
                p.hint { (problems.len()) " thing(s) to fix before saving (shown beside each)." }
            }
        }
    }
}

/// `POST /t/{tenant}/mapping`: applies an editor button or a changed choice, and renders the
/// editor again.
pub async fn edit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let mut posted = mapping_form::parse(&body);
    let editor = console_try!(viewer, mappings::editor(&state, &viewer.who, &tenant).await);
    mapping_form::reconcile(&mut posted, &editor.objects);
    let Posted { mut mapping, action, .. } = posted;
    if let Some(action) = action {
        mapping_form::apply(&mut mapping, action, &editor.objects);
    }
    let may_edit = viewer.who.permissions_in(&tenant).has(Permission::MappingsEdit);
    editor_form(&tenant, &editor, &mapping, may_edit, None).into_response()
}

/// `POST /t/{tenant}/mapping/preview`.
pub async fn preview(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let posted = mapping_form::parse(&body);
    let on = posted.preview_booking.parse::<i64>().map(PreviewBooking::Job).unwrap_or(PreviewBooking::Sample);
    let p = match mappings::preview(&state, &viewer.who, &tenant, &posted.mapping, on).await {
        Ok(p) => p,
        Err(e) => return (e.status, layout::problem(&e)).into_response(),
    };
    html! {
        @match &p.result {
            Ok(request) => {
                (layout::notice(&format!("The plugin staged {} record(s); {} Salesforce call(s) spent on the preview.", p.records.len(), p.salesforce_calls)))
                h3 { "The Composite request it would send" }
                (layout::json_block(request))
            }
            Err(message) => {
                div.problem role="alert" #preview-error { strong { "The plugin refused this booking: " } (message) }
            }
        }
        @if !p.logs.is_empty() {
            h3 { "Plugin log" }
            ul { @for l in &p.logs { li { code { (format!("{:?}", l.level).to_lowercase()) } " " (l.message) } } }
        }
        details { summary { "The booking" } pre { code { (p.booking) } } }
    }
    .into_response()
}

/// `POST /t/{tenant}/mapping/save`.
pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let posted = mapping_form::parse(&body);
    match mappings::save(&state, &viewer.who, &tenant, &posted.mapping).await {
        Ok(version) => html! {
            (layout::notice(&format!("Saved as version {version}. New bookings use it now.")))
            a href={ "/t/" (tenant) "/mapping" } { "See the history" }
        }
        .into_response(),
        // A mapping with mistakes: the editor again, each problem beside its field.
        Err(e) if e.code == "bad-mapping" => {
            let editor = console_try!(viewer, mappings::editor(&state, &viewer.who, &tenant).await);
            let form = editor_form(&tenant, &editor, &posted.mapping, true, Some(&e));
            (e.status, [("hx-retarget", "#editor"), ("hx-reswap", "outerHTML")], form).into_response()
        }
        Err(e) => (e.status, layout::problem(&e)).into_response(),
    }
}

/// `POST /t/{tenant}/mapping/approve`: approves exactly what the saved mapping needs.
pub async fn approve(State(state): State<AppState>, viewer: Viewer, Path(tenant): Path<String>) -> Response {
    fragment(mappings::approve_needed(&state, &viewer.who, &tenant).await, |grant| {
        html! {
            h2 { "Grant this mapping needs" }
            (layout::notice("Approved: the plugin may now do exactly this."))
            (grant_table(&grant, &grant))
        }
    })
}

/// `POST /t/{tenant}/mapping/versions/{version}/restore`.
pub async fn restore(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant, version)): Path<(String, i64)>,
) -> Response {
    console_try!(viewer, mappings::restore(&state, &viewer.who, &tenant, version).await);
    go(viewer.htmx, &format!("/t/{tenant}/mapping"))
}

fn grant_table(needed: &Grant, approved: &Grant) -> Markup {
    html! {
        div.table-wrap tabindex="0" { table {
            thead { tr { th { "Object" } th { "Operations" } th { "Fields found by" } th { "Fields written" } } }
            tbody {
                @for (object, g) in &needed.objects {
                    @let a = approved.object(object).map(|(_, a)| a);
                    tr {
                        td { code { (object) } }
                        td { @for op in &g.operations {
                            @let ok = a.is_some_and(|a| a.operations.contains(op));
                            span class=(if ok { "check-ok" } else { "check-missing" }) { (op) " " } } }
                        td { @for f in &g.read { span class=(if a.is_some_and(|a| a.can_read(f)) { "check-ok" } else { "check-missing" }) { (f) " " } } }
                        td { @for f in &g.write { span class=(if a.is_some_and(|a| a.can_write(f)) { "check-ok" } else { "check-missing" }) { (f) " " } } }
                    }
                }
            }
        } }
    }
}

/// The settings that changed between two saved versions, key by key (the mapping's records
/// shown as pretty JSON lines).
fn diff(old: &str, new: &str) -> Markup {
    let lines = |text: &str| -> Vec<String> {
        let map: std::collections::BTreeMap<String, String> = serde_json::from_str(text).unwrap_or_default();
        map.iter()
            .flat_map(|(k, v)| {
                let pretty = serde_json::from_str::<serde_json::Value>(v)
                    .ok()
                    .filter(|j| j.is_object())
                    .and_then(|j| serde_json::to_string_pretty(&j).ok())
                    .unwrap_or_else(|| v.clone());
                pretty.lines().map(|l| format!("{k}: {l}")).collect::<Vec<_>>()
            })
            .collect()
    };
    let (a, b) = (lines(old), lines(new));
    html! {
        pre.diff { code {
            @for l in a.iter().filter(|l| !b.contains(l)) { "- " (l) "\n" }
            @for l in b.iter().filter(|l| !a.contains(l)) { "+ " (l) "\n" }
        } }
    }
}
