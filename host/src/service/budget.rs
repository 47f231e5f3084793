//! The Salesforce API budget, as the workers keep it.
//!
//! An org's daily API allowance is shared by every integration it has, so Portico spends only
//! what the tenant admin gave it: each replica counts the calls it makes for a tenant and adds
//! them to the day's total in the database (every [`FLUSH_CALLS`] calls or [`FLUSH_EVERY`]),
//! deciding on the total it knows. Near the budget ([`SLOW_AT`] of it) the tenant's jobs run one
//! at a time; at the budget they are paused (not claimed, not failed) until the next UTC day.
//! Whatever the budget, when the org itself reports (`Sforce-Limit-Info`) that less than
//! `workers.org_api_reserve_percent` of its allowance is left, the tenant pauses for
//! [`ORG_PAUSE`] and looks again: the rest is left to the org's other integrations.
//!
//! Replicas may together overshoot a budget by what they spent and had not yet added up (at
//! most [`FLUSH_CALLS`] each), plus the jobs already running when the budget was reached.

use crate::salesforce::ApiUsage;
use crate::service::AppState;
use crate::store::{DAY_MS, Tenant, day_of};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Calls a replica spends for a tenant before adding them to the day's total.
pub const FLUSH_CALLS: u64 = 50;
/// The longest a replica keeps spent calls before adding them up.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);
/// The share of the budget from which the tenant's jobs run one at a time.
pub const SLOW_AT: f64 = 0.9;
/// How long a tenant pauses when its org is nearly out of calls, before it looks again.
pub const ORG_PAUSE: Duration = Duration::from_secs(5 * 60);

/// How a tenant's jobs may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// As its share allows.
    Normal,
    /// One at a time: close to its budget.
    Slow,
}

#[derive(Debug)]
struct Spend {
    day: i64,
    /// Spent here and not yet added to the day's total.
    unflushed: u64,
    /// The day's total as last read, plus what this replica spent since (`None` until read).
    known: Option<i64>,
    flushed_at: Instant,
}

/// Each tenant's spending on this replica.
#[derive(Debug, Default)]
pub struct Budgets {
    spend: Mutex<HashMap<String, Spend>>,
}

impl Budgets {
    /// The calls spent today as this replica knows them (the database's total when it has
    /// none in memory).
    pub async fn used_today(&self, state: &AppState, tenant: &str, now_ms: i64) -> i64 {
        let day = day_of(now_ms);
        if let Some(known) =
            self.spend.lock().expect("budget lock").get(tenant).filter(|s| s.day == day).and_then(|s| s.known)
        {
            return known;
        }
        state.inner.store.api_calls_on(tenant, day).await.unwrap_or(0)
    }

    /// Records `calls` a job of `tenant` just made and decides how its next jobs run: paused
    /// (in the database, for every replica) at its budget or when the org is nearly out.
    pub async fn spent(
        &self,
        state: &AppState,
        tenant: &Tenant,
        calls: u64,
        org: Option<ApiUsage>,
        now_ms: i64,
    ) -> Pace {
        let inner = &state.inner;
        let day = day_of(now_ms);
        let flush = {
            let mut spend = self.spend.lock().expect("budget lock");
            let fresh = || Spend { day, unflushed: 0, known: None, flushed_at: Instant::now() };
            let s = spend.entry(tenant.id.clone()).or_insert_with(fresh);
            if s.day != day {
                *s = fresh();
            }
            s.unflushed += calls;
            if let Some(known) = &mut s.known {
                *known += calls as i64;
            }
            let due = s.known.is_none() || s.unflushed >= FLUSH_CALLS || s.flushed_at.elapsed() >= FLUSH_EVERY;
            due.then(|| std::mem::take(&mut s.unflushed))
        };
        if let Some(unflushed) = flush {
            match inner.store.add_api_calls(&tenant.id, day, unflushed as i64).await {
                Ok(total) => {
                    let mut spend = self.spend.lock().expect("budget lock");
                    if let Some(s) = spend.get_mut(&tenant.id).filter(|s| s.day == day) {
                        s.known = Some(total + s.unflushed as i64);
                        s.flushed_at = Instant::now();
                    }
                }
                Err(e) => {
                    tracing::warn!("adding up the tenant's API calls failed: {e}");
                    if let Some(s) = self.spend.lock().expect("budget lock").get_mut(&tenant.id) {
                        s.unflushed += unflushed;
                    }
                }
            }
        }
        let used = self.used_today(state, &tenant.id, now_ms).await;
        inner
            .metrics
            .api_used_today
            .get_or_create(&crate::service::metrics::TenantLabels { tenant: tenant.id.clone() })
            .set(used);
        let reserve = inner.config.workers.org_api_reserve_percent;
        let pause = match (tenant.api_daily_budget, org) {
            (Some(budget), _) if used >= budget => Some((
                (day + 1) * DAY_MS,
                format!("its daily Salesforce API budget of {budget} calls is spent; jobs resume at 00:00 UTC"),
            )),
            (_, Some(org)) if org.max > 0 && org.max.saturating_sub(org.used) * 100 < org.max * u64::from(reserve) => {
                Some((
                    now_ms + ORG_PAUSE.as_millis() as i64,
                    format!(
                        "the org has used {} of its {} daily API calls; Portico leaves the last {reserve}% to its \
                         other integrations and looks again in {} minutes",
                        org.used,
                        org.max,
                        ORG_PAUSE.as_secs() / 60
                    ),
                ))
            }
            _ => None,
        };
        if let Some((until, reason)) = pause {
            tracing::warn!(tenant = tenant.id, "pausing the tenant's jobs: {reason}");
            if let Err(e) = inner.store.pause_api(&tenant.id, Some((until, &reason))).await {
                tracing::error!("pausing the tenant's jobs failed: {e}");
            }
            inner.contexts.invalidate(&tenant.id);
        }
        pace(used, tenant.api_daily_budget)
    }
}

/// How a tenant's jobs run having spent `used` calls today of `budget`.
pub fn pace(used: i64, budget: Option<i64>) -> Pace {
    match budget {
        Some(budget) if used as f64 >= budget as f64 * SLOW_AT => Pace::Slow,
        _ => Pace::Normal,
    }
}
