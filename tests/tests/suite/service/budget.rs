//! The Salesforce API budget: a tenant's daily budget holds (its jobs wait, with the reason in
//! the API, instead of spending more), raising it lets them run, and an org nearly out of calls
//! pauses the tenant whatever its budget.

use super::{booking_with_id, emulator, sqlite_service, tenant};
use portico_host::service::now_ms;
use portico_host::store::Claim;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Polls the tenant's budget until `done` holds.
async fn budget_until(t: &super::Tenant, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let budget = t.get("/api-budget").await;
        if done(&budget) {
            return budget;
        }
        assert!(Instant::now() < deadline, "budget never reached the expected state: {budget}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A paused tenant's job is not claimed: a claim as the workers make it finds nothing, and the
/// job is still pending.
async fn stays_pending(service: &super::Service, t: &super::Tenant, job: &Value) {
    let claim = Claim { lease_ms: 60_000, max_attempts: 8, busy: &[], limit: 100 };
    let claimed = service.state().inner.store.claim_batch("budget-test", now_ms(), &claim).await.unwrap();
    assert!(claimed.is_empty(), "a paused tenant's jobs are not claimed: {claimed:?}");
    let detail = t.get(&format!("/jobs/{}", job["job_id"])).await;
    assert_eq!(detail["state"], "pending", "{detail}");
}

#[tokio::test]
async fn a_tenants_daily_api_budget_holds_and_its_jobs_wait_with_the_reason() {
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let t = tenant(&service, "budget", "lead-event", &org).await;
    let path = "/v1/tenants/budget/api-budget";

    let refused = t.api.put(path, &json!({ "daily_budget": 0 })).await.unwrap();
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.body["code"], "bad-api-budget", "{}", refused.body);
    let set = t.api.put(path, &json!({ "daily_budget": 10 })).await.unwrap().ok().unwrap();
    assert_eq!((set["daily_budget"].as_i64(), set["state"].as_str()), (Some(10), Some("ok")), "{set}");

    // Bookings spend calls (a cold one 6: three describes, two finds, one commit; then 3 each)
    // until the budget is spent; the tenant is then paused until the next UTC day.
    let calls_before = org.org.api_calls();
    let mut n = 0;
    loop {
        let job = t.send(&booking_with_id(&format!("bk-budget-{n}"))).await;
        assert_eq!(t.finished(&job).await["state"], "succeeded");
        n += 1;
        let budget = t.get("/api-budget").await;
        if budget["state"] == "paused" {
            break;
        }
        assert!(n < 5, "the tenant is paused once 10 calls are spent: {budget}");
    }
    let budget = t.get("/api-budget").await;
    let used = budget["used_today"].as_i64().unwrap();
    assert!((10..=12).contains(&used), "the budget held, give or take one job's calls: {budget}");
    assert_eq!(used as u64, org.org.api_calls() - calls_before, "every call is counted");
    assert!(budget["reason"].as_str().unwrap().contains("budget of 10 calls is spent"), "{budget}");
    assert!(budget["paused_until"].as_str().unwrap().contains("T00:00:00"), "midnight UTC: {budget}");

    // A booking now waits, and spends nothing.
    let waiting = t.send(&booking_with_id("bk-budget-waits")).await;
    stays_pending(&service, &t, &waiting).await;
    assert_eq!(org.org.api_calls() - calls_before, used as u64);
    let metrics = reqwest::get(format!("{}/metrics", service.url)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains(&format!("portico_salesforce_api_used_today{{tenant=\"budget\"}} {used}")), "{metrics}");

    // The admin raises the budget: the pause is lifted and the booking runs.
    let raised = t.api.put(path, &json!({ "daily_budget": 1000 })).await.unwrap().ok().unwrap();
    assert_eq!(raised["state"], "ok", "{raised}");
    assert_eq!(t.finished(&waiting).await["state"], "succeeded");
}

#[tokio::test]
async fn an_org_nearly_out_of_calls_pauses_the_tenant_whatever_its_budget() {
    // Leaving the org 100 % of its allowance: any usage Salesforce reports is too much.
    let service = sqlite_service(|c| c.workers.org_api_reserve_percent = 100).await;
    let org = emulator().await;
    let t = tenant(&service, "nearly-out", "lead-event", &org).await;
    let first = t.send(&booking_with_id("bk-org-1")).await;
    assert_eq!(t.finished(&first).await["state"], "succeeded");
    let budget = budget_until(&t, |b| b["state"] == "paused").await;
    assert_eq!(budget["org_max"], 15_000, "{budget}");
    let reason = budget["reason"].as_str().unwrap();
    assert!(reason.contains("of its 15000 daily API calls") && reason.contains("other integrations"), "{reason}");
    let second = t.send(&booking_with_id("bk-org-2")).await;
    stays_pending(&service, &t, &second).await;
}
