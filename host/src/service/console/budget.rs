//! The Salesforce API budget on the connection page: what Portico spent today of the share the
//! tenant admin gave it, whether its jobs are slowed or waiting and why, and the form to change it.

use super::layout::{self, FieldAttrs};
use super::{Viewer, go};
use crate::service::AppState;
use crate::service::ops::budget::BudgetState;
use crate::service::ops::{self, Permission};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

/// The card: where the tenant stands, and (for those who manage the connection) the form.
pub async fn card(state: &AppState, viewer: &Viewer, tenant: &str) -> Markup {
    match ops::budget::get(state, &viewer.who, tenant).await {
        Ok(b) => {
            let manage = viewer.who.permissions_in(tenant).has(Permission::ConnectionManage);
            render(tenant, &b, manage, None)
        }
        Err(e) => html! { section.card #api-budget { h2 { "API budget" } (layout::problem(&e)) } },
    }
}

fn render(tenant: &str, b: &BudgetState, manage: bool, error: Option<&crate::service::ApiError>) -> Markup {
    let value = b.daily_budget.map(|n| n.to_string()).unwrap_or_default();
    html! {
        section.card #api-budget {
            h2 { "API budget" }
            p.hint { "Salesforce gives each org a daily allowance of API calls, shared by all its integrations. \
                      Portico spends at most this many a day (UTC) for your bookings: near it, bookings run one at \
                      a time; at it, they wait until midnight UTC. Bookings also wait when the org itself is nearly out." }
            @if let Some((until, reason)) = &b.paused {
                p.problem role="status" { strong { "Bookings are waiting" } " until " (layout::time(*until)) ": " (reason) }
            } @else if b.slowed {
                p.notice role="status" { "Close to the budget: bookings run one at a time." }
            }
            dl {
                dt { "Spent today (UTC)" }
                dd { (b.used_today) @if let Some(n) = b.daily_budget { " of " (n) } }
                dt { "Daily budget" }
                dd { @match b.daily_budget { Some(n) => { (n) " calls" } None => { span.muted { "none (only the org's own limit)" } } } }
            }
            @if manage {
                form method="post" action={ "/t/" (tenant) "/connection/api-budget" } hx-post={ "/t/" (tenant) "/connection/api-budget" } hx-target="#api-budget" hx-swap="outerHTML" {
                    @if let Some(e) = error { (layout::problem(e)) }
                    (layout::field("Daily budget, calls (empty: none)", "daily_budget", "number", &value, None, FieldAttrs::default()))
                    div.actions { button type="submit" { "Save the budget" } }
                }
            }
        }
    }
}

/// The budget form.
#[derive(Deserialize)]
pub struct BudgetForm {
    #[serde(default)]
    daily_budget: String,
}

/// `POST /t/{tenant}/connection/api-budget`.
pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    Form(f): Form<BudgetForm>,
) -> Response {
    let text = f.daily_budget.trim();
    let budget = match text {
        "" => Ok(None),
        n => n.parse::<i64>().map(Some).map_err(|_| {
            crate::service::ApiError::unprocessable("bad-api-budget", format!("“{n}” is not a whole number of calls"))
        }),
    };
    let result = match budget {
        Ok(budget) => ops::budget::set(&state, &viewer.who, &tenant, budget).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => go(viewer.htmx, &format!("/t/{tenant}/connection")),
        Err(e) => match ops::budget::get(&state, &viewer.who, &tenant).await {
            Ok(b) => (e.status, render(&tenant, &b, true, Some(&e))).into_response(),
            Err(_) => super::error_page(Some(&viewer), e),
        },
    }
}
