//! Plugin versions: upload by drag and drop, each version's digest, size, manifest and the
//! Salesforce permissions it needs; approval with a checkbox tree for a narrower grant;
//! activation and roll-back; the settings form generated from the manifest's keys.

use super::layout::{self, Section};
use super::{Viewer, fragment};
use crate::console_try;
use crate::service::ops::{self, Permission};
use crate::service::{ApiError, AppState};
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use portico_model::manifest::ObjectGrant;
use portico_model::{Grant, Manifest, Operation};
use std::collections::BTreeMap;

/// `GET /t/{tenant}/plugins`.
pub async fn page(State(state): State<AppState>, viewer: Viewer, Path(tenant): Path<String>) -> Response {
    let versions = console_try!(viewer, ops::plugins::list(&state, &viewer.who, &tenant).await);
    let may = viewer.who.permissions_in(&tenant);
    let active = versions.first().and_then(|v| v.active.clone());
    let active_manifest = active_manifest(&versions);
    let config = console_try!(viewer, ops::tenants::config(&state, &viewer.who, &tenant).await);
    let body = html! {
        @if let Some(m) = active_manifest.as_ref().filter(|m| !m.config.is_empty()) {
            section.card #settings {
                h2 { "Settings of " (m.plugin.name) }
                (settings_form(&tenant, m, &config, may.has(Permission::MappingsEdit), None))
            }
        }
        @if may.has(Permission::PluginsUpload) {
            section.card {
                h2 { "Upload a version" }
                form #upload hx-post={ "/t/" (tenant) "/plugins" } hx-encoding="multipart/form-data" hx-target="#upload-result" {
                    div.dropzone data-dropzone {
                        label for="component" { "Drop a plugin component (.wasm) here, or choose one" }
                        input #component type="file" name="component" accept=".wasm,application/wasm" required;
                        p.hint data-file-name {}
                    }
                    div.actions { button type="submit" { "Upload" } }
                    div #upload-result {}
                }
            }
        }
        section.card {
            h2 { "Versions" }
            @if versions.is_empty() { p { "No plugin uploaded yet." } } @else {
                div.table-wrap tabindex="0" { table #versions {
                    thead { tr { th { "Plugin" } th { "Digest" } th { "Size" } th { "Uploaded" } th { "State" } } }
                    tbody {
                        @for v in &versions {
                            @let p = &v.version;
                            tr {
                                td { a href={ "/t/" (tenant) "/plugins/" (p.digest) } { (p.name) " " (p.version) } }
                                td { code title=(p.digest) { (layout::short(&p.digest)) } }
                                td { (kib(p.size)) }
                                td { (layout::time(p.uploaded_at)) }
                                td {
                                    @if active.as_deref() == Some(p.digest.as_str()) { strong { "active" } }
                                    @else if p.approved_grant.is_some() { "approved" } @else { "awaiting approval" }
                                }
                            }
                        }
                    }
                } }
            }
            @if may.has(Permission::PluginsActivate) && active.is_some() {
                div.actions {
                    button.secondary hx-post={ "/t/" (tenant) "/plugins/rollback" } hx-target="#rollback-result"
                        hx-confirm="Go back to the version that was active before this one?" { "Roll back" }
                    span #rollback-result {}
                }
            }
        }
    };
    super::tenant_page(&state, &viewer, &tenant, Section::Plugins, "Plugins", body).await
}

fn settings_form(
    tenant: &str,
    m: &Manifest,
    values: &BTreeMap<String, String>,
    editable: bool,
    outcome: Option<Result<(), &ApiError>>,
) -> Markup {
    html! {
        form hx-post={ "/t/" (tenant) "/plugins/settings" } hx-target="this" hx-swap="outerHTML" {
            @match outcome { Some(Ok(())) => { (layout::notice("Settings saved.")) } Some(Err(e)) => { (layout::problem(e)) } None => {} }
            @for (key, c) in &m.config {
                @if key == ops::mappings::MAPPING_KEY {
                    p { code { (key) } ": " a href={ "/t/" (tenant) "/mapping" } { "edit it in the mapping editor" } }
                } @else {
                    div.field {
                        label for={ "cfg-" (key) } { code { (key) } @if c.required { span.req aria-hidden="true" { " *" } } }
                        input id={ "cfg-" (key) } name=(key) value=(values.get(key).map(String::as_str).unwrap_or(""))
                            placeholder=[c.default.as_deref()] required[c.required] disabled[!editable] aria-describedby={ "cfg-" (key) "-hint" };
                        p.hint id={ "cfg-" (key) "-hint" } { (c.description) @if let Some(d) = &c.default { " Default: " code { (d) } "." } }
                    }
                }
            }
            @if editable && m.config.keys().any(|k| k != ops::mappings::MAPPING_KEY) {
                div.actions { button type="submit" { "Save settings" } }
            }
        }
    }
}

/// `POST /t/{tenant}/plugins/settings`: the settings form's keys replace theirs (others, such
/// as the mapping, are kept); an empty value unsets a key so its default applies.
pub async fn save_settings(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let mut config = console_try!(viewer, ops::tenants::config(&state, &viewer.who, &tenant).await);
    let versions = console_try!(viewer, ops::plugins::list(&state, &viewer.who, &tenant).await);
    let Some(m) = active_manifest(&versions) else {
        return (
            axum::http::StatusCode::CONFLICT,
            layout::problem(&ApiError::conflict("no-active-plugin", "activate a plugin first")),
        )
            .into_response();
    };
    for (key, value) in url::form_urlencoded::parse(&body) {
        if !m.config.contains_key(key.as_ref()) || key == ops::mappings::MAPPING_KEY {
            continue;
        }
        match value.trim() {
            "" => config.remove(key.as_ref()),
            v => config.insert(key.into_owned(), v.to_owned()),
        };
    }
    let result = ops::tenants::set_config(&state, &viewer.who, &tenant, config).await;
    let values = match &result {
        Ok(v) => v.clone(),
        Err(_) => console_try!(viewer, ops::tenants::config(&state, &viewer.who, &tenant).await),
    };
    let status = result.as_ref().map(|_| axum::http::StatusCode::OK).unwrap_or_else(|e| e.status);
    (status, settings_form(&tenant, &m, &values, true, Some(result.as_ref().map(|_| ())))).into_response()
}

/// The active version's manifest, from the version list.
fn active_manifest(versions: &[ops::plugins::Version]) -> Option<Manifest> {
    versions
        .iter()
        .find(|v| v.active.as_ref() == Some(&v.version.digest))
        .and_then(|v| Manifest::from_toml(&v.version.manifest).ok())
}

fn kib(bytes: i64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// `POST /t/{tenant}/plugins` (multipart, field `component`).
pub async fn upload(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    mut form: Multipart,
) -> Response {
    let mut bytes = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("component") => match field.bytes().await {
                Ok(b) => bytes = Some(b),
                Err(e) => {
                    return (e.status(), layout::problem(&ApiError::bad_request("bad-upload", e.body_text())))
                        .into_response();
                }
            },
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                return (e.status(), layout::problem(&ApiError::bad_request("bad-upload", e.body_text())))
                    .into_response();
            }
        }
    }
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            layout::problem(&ApiError::bad_request("bad-upload", "choose a .wasm file first")),
        )
            .into_response();
    };
    super::go_after(ops::plugins::upload(&state, &viewer.who, &tenant, bytes).await, |(v, _)| {
        format!("/t/{tenant}/plugins/{}", v.version.digest)
    })
}

/// `GET /t/{tenant}/plugins/{digest}`: one version, its permissions and the approval tree.
pub async fn version(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant, digest)): Path<(String, String)>,
) -> Response {
    let v = console_try!(viewer, ops::plugins::get(&state, &viewer.who, &tenant, &digest).await);
    let manifest = console_try!(viewer, Manifest::from_toml(&v.version.manifest).map_err(ApiError::internal));
    let approved: Option<Grant> = v.version.approved_grant.as_deref().and_then(|g| serde_json::from_str(g).ok());
    let may = viewer.who.permissions_in(&tenant);
    let p = &v.version;
    let is_active = v.active.as_deref() == Some(p.digest.as_str());
    let title = format!("{} {}", p.name, p.version);
    let body = html! {
        section.card {
            dl {
                dt { "Digest" } dd { code { (p.digest) } }
                dt { "Size" } dd { (kib(p.size)) }
                dt { "Uploaded" } dd { (layout::time(p.uploaded_at)) }
                dt { "Description" } dd { (manifest.plugin.description) }
                dt { "State" } dd #state {
                    @if is_active { "active" } @else if let Some(at) = p.approved_at { "approved " (layout::time(at)) } @else { "awaiting approval" }
                }
            }
            @if may.has(Permission::PluginsActivate) && approved.is_some() && !is_active {
                div.actions { button hx-post={ "/t/" (tenant) "/plugins/" (p.digest) "/activate" } hx-target="#state"
                    hx-confirm="Make this version the one every new booking runs?" { "Activate" } }
            }
        }
        section.card {
            h2 { "Salesforce permissions it needs" }
            (permissions_table(&manifest))
        }
        @if may.has(Permission::PluginsApprove) {
            section.card {
                h2 { "Approve" }
                p.hint { "Untick anything the plugin should not be allowed; it is refused before any request reaches Salesforce." }
                (approval_tree(&tenant, &p.digest, &manifest, approved.as_ref()))
            }
        }
        section.card {
            h2 { "Settings it reads" }
            @if manifest.config.is_empty() { p.muted { "None." } } @else {
                table { thead { tr { th { "Key" } th { "Description" } th { "Default" } th { "Required" } } }
                    tbody { @for (k, c) in &manifest.config { tr { td { code { (k) } } td { (c.description) }
                        td { (c.default.as_deref().unwrap_or("")) } td { @if c.required { "yes" } } } } } }
                @if manifest.config.contains_key("mapping") {
                    p { a href={ "/t/" (tenant) "/mapping" } { "Edit the mapping" } }
                }
            }
        }
        details { summary { "Manifest (portico.toml)" } pre { code { (p.manifest) } } }
    };
    super::tenant_page(&state, &viewer, &tenant, Section::Plugins, &title, body).await
}

fn permissions_table(manifest: &Manifest) -> Markup {
    html! {
        div.table-wrap tabindex="0" { table {
            thead { tr { th { "Object" } th { "Object permissions" } th { "Fields read" } th { "Fields edited" } } }
            tbody {
                @for p in manifest.permissions() {
                    tr {
                        td { code { (p.sobject) } }
                        td { (([("Read", p.read), ("Create", p.create), ("Edit", p.edit)].iter().filter(|x| x.1).map(|x| x.0).collect::<Vec<_>>().join(", "))) }
                        td { (p.fields.iter().filter(|f| !f.edit).map(|f| f.field.as_str()).collect::<Vec<_>>().join(", ")) }
                        td { (p.fields.iter().filter(|f| f.edit).map(|f| f.field.as_str()).collect::<Vec<_>>().join(", ")) }
                    }
                }
            }
        } }
    }
}

fn approval_tree(tenant: &str, digest: &str, manifest: &Manifest, approved: Option<&Grant>) -> Markup {
    let checked = |object: &str, kind: &str, item: &str| -> bool {
        let Some((_, g)) = approved.and_then(|a| a.object(object)) else { return approved.is_none() };
        match kind {
            "op" => g.operations.iter().any(|o| o.to_string() == item),
            "read" => g.read.contains(item),
            _ => g.write.contains(item),
        }
    };
    html! {
        form.tree hx-post={ "/t/" (tenant) "/plugins/" (digest) "/approve" } hx-target="find .result" {
            ul {
                @for (object, g) in &manifest.objects.objects {
                    li {
                        fieldset {
                            legend { strong { (object) } }
                            ul {
                                @for op in &g.operations {
                                    @let v = format!("{object}|op|{op}");
                                    li { label { input type="checkbox" name="g" value=(v) checked[checked(object, "op", &op.to_string())]; " " (op) } }
                                }
                                @for f in &g.read {
                                    @let v = format!("{object}|read|{f}");
                                    li { label { input type="checkbox" name="g" value=(v) checked[checked(object, "read", f)]; " read " code { (f) } } }
                                }
                                @for f in &g.write {
                                    @let v = format!("{object}|write|{f}");
                                    li { label { input type="checkbox" name="g" value=(v) checked[checked(object, "write", f)]; " write " code { (f) } } }
                                }
                            }
                        }
                    }
                }
            }
            div.actions { button type="submit" { "Approve this grant" } }
            div.result {}
        }
    }
}

/// `POST /t/{tenant}/plugins/{digest}/approve` with the ticked boxes (`g=Object|op|create`,
/// `g=Object|write|Field`, …).
pub async fn approve(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant, digest)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let mut objects: BTreeMap<String, ObjectGrant> = BTreeMap::new();
    for (key, value) in url::form_urlencoded::parse(&body) {
        if key != "g" {
            continue;
        }
        let mut parts = value.splitn(3, '|');
        let (Some(object), Some(kind), Some(item)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let entry = objects.entry(object.to_owned()).or_default();
        match kind {
            "op" => match item {
                "describe" => entry.operations.insert(Operation::Describe),
                "find" => entry.operations.insert(Operation::Find),
                "create" => entry.operations.insert(Operation::Create),
                "upsert" => entry.operations.insert(Operation::Upsert),
                _ => false,
            },
            "read" => entry.read.insert(item.to_owned()),
            _ => entry.write.insert(item.to_owned()),
        };
    }
    let grant = Grant { objects };
    fragment(ops::plugins::approve(&state, &viewer.who, &tenant, &digest, Some(grant)).await, |_| {
        layout::notice("Approved. Activate it to run it on new bookings.")
    })
}

/// `POST /t/{tenant}/plugins/{digest}/activate`.
pub async fn activate(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant, digest)): Path<(String, String)>,
) -> Response {
    fragment(ops::plugins::activate(&state, &viewer.who, &tenant, &digest).await, |_| html! { "active" })
}

/// `POST /t/{tenant}/plugins/rollback`.
pub async fn roll_back(State(state): State<AppState>, viewer: Viewer, Path(tenant): Path<String>) -> Response {
    super::go_after(ops::plugins::roll_back(&state, &viewer.who, &tenant).await, |a| {
        format!("/t/{tenant}/plugins/{}", a.active)
    })
}
