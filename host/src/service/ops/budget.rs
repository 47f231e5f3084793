//! A tenant's Salesforce API budget: how much of its org's daily allowance Portico may spend
//! for it, what it spent today, and why its jobs wait when they do (see `service::budget`).

use super::tenants::open;
use super::{OpResult, Ops, Permission, Principal};
use crate::service::budget::{Pace, pace};
use crate::service::{ApiError, now_ms};

/// The largest daily budget accepted (Salesforce's largest allowances are in the millions).
pub const MAX_DAILY_BUDGET: i64 = 100_000_000;

/// Where a tenant stands against its budget and its org's allowance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetState {
    /// Calls Portico may spend per UTC day (`None`: no budget of its own).
    pub daily_budget: Option<i64>,
    /// Calls spent today (UTC), as this replica knows them.
    pub used_today: i64,
    /// Near the budget: one job at a time.
    pub slowed: bool,
    /// Jobs wait until then (Unix ms), and why.
    pub paused: Option<(i64, String)>,
    /// The org's usage and allowance as Salesforce last reported them to this replica.
    pub org_usage: Option<crate::salesforce::ApiUsage>,
}

/// The tenant's budget and spending.
pub async fn get(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<BudgetState> {
    let t = open(ops, who, tenant, Permission::ConnectionView, "view-api-budget").await?;
    let now = now_ms();
    let used_today = ops.inner.budgets.used_today(ops, tenant, now).await;
    let paused = match (t.api_paused_until, t.api_paused_reason) {
        (Some(until), reason) if until > now => Some((until, reason.unwrap_or_default())),
        _ => None,
    };
    let slowed = paused.is_none() && pace(used_today, t.api_daily_budget) == Pace::Slow;
    let org_usage = ops.inner.orgs.cached(tenant).and_then(|org| org.client.api_usage());
    Ok(BudgetState { daily_budget: t.api_daily_budget, used_today, slowed, paused, org_usage })
}

/// Sets the tenant's daily budget (`None` removes it). A pause for the budget is lifted: the
/// next job looks again, and pauses the tenant anew if it is still over.
pub async fn set(ops: &Ops, who: &Principal, tenant: &str, daily_budget: Option<i64>) -> OpResult<BudgetState> {
    open(ops, who, tenant, Permission::ConnectionManage, "set-api-budget").await?;
    if let Some(n) = daily_budget.filter(|n| !(1..=MAX_DAILY_BUDGET).contains(n)) {
        return Err(ApiError::unprocessable(
            "bad-api-budget",
            format!("daily_budget is {n}; it must be between 1 and {MAX_DAILY_BUDGET} calls, or null for none"),
        ));
    }
    ops.inner.store.set_api_budget(tenant, daily_budget).await?;
    ops.inner.store.pause_api(tenant, None).await?;
    ops.inner.contexts.invalidate(tenant);
    ops.inner.wake.notify_waiters();
    tracing::info!(tenant, by = %who.actor.label(), ?daily_budget, "API budget set");
    get(ops, who, tenant).await
}
