//! Jobs: the list (filtered by state, booking and date, refreshed live), a job's page (the
//! booking, the plugin's logs, resources used, the error, the records written with links into
//! Salesforce), replays, and the audit trail.

use super::layout::{self, Section};
use super::{Viewer, fragment};
use crate::console_try;
use crate::service::AppState;
use crate::service::ops::jobs::JobQuery;
use crate::service::ops::{self, Permission};
use crate::store::{Job, JobState};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

/// Rows per page.
const PAGE: i64 = 50;

/// The list's filter.
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    state: String,
    #[serde(default)]
    booking: String,
    /// `YYYY-MM-DD`: jobs received on or before that day (UTC).
    #[serde(default)]
    until: String,
    /// The next page: jobs below this id.
    #[serde(default)]
    before: Option<i64>,
}

impl Filter {
    fn query(&self) -> JobQuery<'_> {
        let created_before =
            portico_model::Date::parse(self.until.trim()).ok().map(|d| d.add_days(1).at_midnight_utc().seconds * 1000);
        JobQuery { state: Some(self.state.as_str()), booking_id: Some(self.booking.trim()), created_before }
    }

    fn query_string(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("state", &self.state)
            .append_pair("booking", &self.booking)
            .append_pair("until", &self.until)
            .finish()
    }
}

/// `GET /t/{tenant}/jobs`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    Query(f): Query<Filter>,
) -> Response {
    let jobs = console_try!(viewer, ops::jobs::list(&state, &viewer.who, &tenant, f.query(), f.before, PAGE).await);
    let may_replay = viewer.who.permissions_in(&tenant).has(Permission::JobsReplay);
    let rows_url = format!("/t/{tenant}/jobs/rows?{}", f.query_string());
    let body = html! {
        form.record-head method="get" action={ "/t/" (tenant) "/jobs" } {
            div.field {
                label for="state" { "State" }
                select #state name="state" {
                    @for (v, l) in [("", "All"), ("pending", "Waiting"), ("running", "Running"), ("succeeded", "Succeeded"), ("failed", "Failed"), ("unknown", "Outcome unknown")] {
                        option value=(v) selected[f.state == v] { (l) }
                    }
                }
            }
            div.field { label for="booking" { "Booking id" } input #booking name="booking" value=(f.booking); }
            div.field { label for="until" { "Received on or before (UTC)" } input #until type="date" name="until" value=(f.until); }
            div.field { button type="submit" { "Filter" } }
        }
        @if may_replay && f.state == "failed" && !jobs.is_empty() {
            div.actions {
                button hx-post={ "/t/" (tenant) "/jobs/replay" } hx-target="#replay-result"
                    hx-confirm="Replay every failed job of this tenant?" { "Replay all failed jobs" }
                span #replay-result {}
            }
        }
        div.table-wrap tabindex="0" { table {
            caption.visually-hidden { "Jobs, newest first; the list refreshes itself" }
            thead { tr { th { "Job" } th { "Booking" } th { "Kind" } th { "State" } th { "Attempts" } th { "Received" } th { "Last change" } } }
            // Refreshed every 2 s while the page is open.
            tbody #job-rows hx-get=(rows_url) hx-trigger="every 2s" hx-swap="outerHTML" { (rows_markup(&tenant, &jobs)) }
        } }
        @if let Some(last) = jobs.last().filter(|_| jobs.len() as i64 == PAGE) {
            p { a href={ "/t/" (tenant) "/jobs?" (f.query_string()) "&before=" (last.id) } { "Older jobs" } }
        }
    };
    super::tenant_page(&state, &viewer, &tenant, Section::Jobs, "Jobs", body).await
}

/// `GET /t/{tenant}/jobs/rows`: the first page of rows, for the live refresh.
pub async fn rows(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    Query(f): Query<Filter>,
) -> Response {
    let jobs = console_try!(viewer, ops::jobs::list(&state, &viewer.who, &tenant, f.query(), None, PAGE).await);
    let url = format!("/t/{tenant}/jobs/rows?{}", f.query_string());
    html! { tbody #job-rows hx-get=(url) hx-trigger="every 2s" hx-swap="outerHTML" { (rows_markup(&tenant, &jobs)) } }
        .into_response()
}

fn rows_markup(tenant: &str, jobs: &[Job]) -> Markup {
    html! {
        @if jobs.is_empty() { tr { td colspan="7" { "No jobs match." } } }
        @for j in jobs {
            tr {
                td { a href={ "/t/" (tenant) "/jobs/" (j.id) } { (j.id) } }
                td { code { (j.booking_id) } }
                td { (j.kind) }
                td { (state_badge(j.state())) }
                td { (j.attempts) }
                td { (layout::time(j.created_at)) }
                td { (layout::time(j.updated_at)) }
            }
        }
    }
}

fn state_badge(s: JobState) -> Markup {
    let label = match s {
        JobState::Pending => "waiting",
        JobState::Running => "running",
        JobState::Succeeded => "succeeded",
        JobState::Failed => "failed",
        JobState::Unknown => "outcome unknown",
    };
    html! { span class={ "state state-" (s.as_str()) } data-state=(s.as_str()) { (label) } }
}

/// `GET /t/{tenant}/jobs/{job}`.
pub async fn job(State(state): State<AppState>, viewer: Viewer, Path((tenant, id)): Path<(String, i64)>) -> Response {
    let (j, records) = console_try!(viewer, ops::jobs::get(&state, &viewer.who, &tenant, id).await);
    let instance = ops::connection::get(&state, &viewer.who, &tenant).await.ok().map(|c| c.instance_url);
    let may_replay = viewer.who.permissions_in(&tenant).has(Permission::JobsReplay);
    let logs: Vec<serde_json::Value> = j.logs.as_deref().and_then(|l| serde_json::from_str(l).ok()).unwrap_or_default();
    let usage: Option<serde_json::Value> = j.usage.as_deref().and_then(|u| serde_json::from_str(u).ok());
    let booking: Option<serde_json::Value> = serde_json::from_str(&j.payload).ok();
    let body = html! {
        section.card {
            dl {
                dt { "Booking" } dd { code { (j.booking_id) } " (" (j.kind) ")" }
                dt { "State" } dd #job-state { (state_badge(j.state())) }
                dt { "Attempts" } dd { (j.attempts) }
                dt { "Received" } dd { (layout::time(j.created_at)) }
                dt { "Last change" } dd { (layout::time(j.updated_at)) }
                @if let Some(d) = &j.digest { dt { "Plugin version" } dd { code { (layout::short(d)) } } }
            }
            @if let Some(e) = &j.error {
                div.problem role="alert" #job-error { strong { "Why it failed: " } (e) }
            }
            @if j.state() == JobState::Unknown {
                p { "The commit was sent but no answer came. Check in Salesforce whether the records exist: if they do, mark the job done; if not, replay it." }
            }
            @if may_replay && matches!(j.state(), JobState::Failed | JobState::Unknown) {
                div.actions {
                    button #replay hx-post={ "/t/" (tenant) "/jobs/" (j.id) "/replay" } hx-target="#replay-result"
                        hx-confirm="Run this job again?" { "Replay" }
                    span #replay-result {}
                }
            }
        }
        section.card {
            h2 { "Records written" }
            @if records.is_empty() { p.muted { "None." } } @else {
                div.table-wrap tabindex="0" { table #records-written {
                    thead { tr { th { "Object" } th { "Record" } th { "Created or updated" } th { "Committed" } } }
                    tbody { @for r in &records { tr {
                        td { (r.sobject) }
                        td { @match &instance {
                            Some(base) => { a href={ (base) "/" (r.record_id) } target="_blank" rel="noopener" { (r.record_id) } }
                            None => { code { (r.record_id) } }
                        } }
                        td { @if r.created { "created" } @else { "updated" } }
                        td { (layout::time(r.committed_at)) }
                    } } }
                } }
            }
        }
        section.card {
            h2 { "Plugin log" }
            @if logs.is_empty() { p.muted { "Nothing logged." } } @else {
                ul { @for l in &logs { li { code { (l["level"].as_str().unwrap_or("")) } " " (l["message"].as_str().unwrap_or("")) } } }
            }
            @if let Some(u) = &usage { h3 { "Resources used" } (layout::json_block(u)) }
        }
        section.card {
            h2 { "The booking" }
            @match &booking { Some(b) => { (layout::json_block(b)) } None => { pre { (j.payload) } } }
        }
    };
    let title = format!("Job {}", j.id);
    super::tenant_page(&state, &viewer, &tenant, Section::Jobs, &title, body).await
}

/// `POST /t/{tenant}/jobs/{job}/replay`.
pub async fn replay(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((tenant, id)): Path<(String, i64)>,
) -> Response {
    super::go_after(ops::jobs::replay(&state, &viewer.who, &tenant, id).await, |()| format!("/t/{tenant}/jobs/{id}"))
}

/// `POST /t/{tenant}/jobs/replay`: every failed job.
pub async fn replay_all(State(state): State<AppState>, viewer: Viewer, Path(tenant): Path<String>) -> Response {
    fragment(ops::jobs::replay_all(&state, &viewer.who, &tenant).await, |r| {
        layout::notice(&format!(
            "{} job(s) replayed; {} skipped because a later delivery of the same booking already succeeded.",
            r.replayed, r.superseded
        ))
    })
}

/// `GET /t/{tenant}/audit`: the records written, newest first.
pub async fn audit(State(state): State<AppState>, viewer: Viewer, Path(tenant): Path<String>) -> Response {
    let rows = console_try!(viewer, ops::jobs::audit(&state, &viewer.who, &tenant, None, None, 200).await);
    let body = html! {
        @if rows.is_empty() { p { "No records written yet." } } @else {
            div.table-wrap tabindex="0" { table {
                thead { tr { th { "Committed" } th { "Job" } th { "Object" } th { "Record" } th { "Fields" } th { "Plugin" } } }
                tbody { @for r in &rows { tr {
                    td { (layout::time(r.committed_at)) }
                    td { a href={ "/t/" (tenant) "/jobs/" (r.job_id) } { (r.job_id) } }
                    td { (r.sobject) } td { code { (r.record_id) } (if r.created { " (new)" } else { "" }) }
                    td { code { (r.fields) } }
                    td { code { (layout::short(&r.digest)) } }
                } } }
            } }
        }
    };
    super::tenant_page(&state, &viewer, &tenant, Section::Audit, "Audit trail", body).await
}
