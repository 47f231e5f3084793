//! A new tenant admin's first day, in the browser: sign in with 2FA, connect the emulated org
//! through its authorize page, upload, approve and activate `configurable`, build a mapping
//! from describe (a Lead found or created by email, an Event related to it, a Task upserted by
//! a custom external-id field), preview and save it, send a signed booking and watch its job
//! succeed live, replay a failed one; then a viewer sees no admin actions and another tenant's
//! pages are not found.

use super::Browser;
use crate::service::{emulator, sqlite_service};
use portico_emulator::credentials::CLIENT_ID;
use portico_host::service::ops::{self, Principal};
use serde_json::json;

const OWNER: &str = "owner@acme.example";
const VIEWER: &str = "viewer@acme.example";
const PASSWORD: &str = "correct horse battery staple";

async fn sign_in(b: &Browser, email: &str, code: Option<&str>) {
    b.go("/sign-in").await;
    b.fill("#f-email", email).await;
    b.fill("#f-password", PASSWORD).await;
    b.click("#sign-in button[type=submit]").await;
    if let Some(code) = code {
        b.fill("#f-code", code).await;
        b.click("#sign-in button[type=submit]").await;
    }
    b.until("the tenant's page", "return location.pathname.startsWith('/t/')").await;
}

/// Adds field `j` to record `i` of the mapping editor: the field, where its value comes from,
/// and the value (typed, or chosen from the input's options).
async fn map_field(b: &Browser, i: usize, j: usize, field: &str, kind: &str, value: &str, typed: bool) {
    b.click(&format!("#r{i}-card button[value='add-field.{i}']")).await;
    b.find(&format!("#r{i}-f{j}-name")).await;
    b.settle().await;
    b.select(&format!("#r{i}-f{j}-name"), field).await;
    b.settle().await;
    b.select(&format!("#r{i}-f{j}-kind"), kind).await;
    b.settle().await;
    if typed {
        b.fill(&format!("#r{i}-f{j}-value"), value).await;
    } else {
        b.select(&format!("#r{i}-f{j}-value"), value).await;
    }
}

/// The authenticator's code `steps` 30-second steps from now (a code works once, and the
/// service accepts the neighbouring steps).
fn totp(secret: &str, steps: u64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, "x".into()).unwrap().generate(now + 30 * steps)
}

#[tokio::test]
async fn a_tenant_admin_connects_maps_and_watches_bookings_in_the_browser() {
    let org = emulator().await;
    // The OAuth callback comes back to the public URL, so the service listens where it says.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let service = sqlite_service(|c| {
        c.listen = ([127, 0, 0, 1], port).into();
        c.public_url = format!("http://127.0.0.1:{port}");
        c.console.login_url = org.base_url.clone();
        c.console.client_id = CLIENT_ID.into();
    })
    .await;
    let Some(b) = Browser::open(&service.url, "console journey").await else { return };
    let (secret, key) = service.admin.create_tenant("acme", "Acme Corp").await.unwrap();
    service.admin.create_tenant("other", "Other Inc").await.unwrap();
    let state = service.state();
    let operator = Principal::operator();
    for (email, role) in [(OWNER, "tenant-owner"), (VIEWER, "viewer")] {
        ops::accounts::create_user(state, &operator, email, PASSWORD, false).await.unwrap();
        ops::accounts::add_member(state, &operator, "acme", email, role).await.unwrap();
    }

    // Sign in; turn on two-factor authentication with the QR page; sign in again with a code.
    sign_in(&b, OWNER, None).await;
    assert_eq!(b.path().await, "/t/acme");
    b.axe("the tenant overview").await;
    b.go("/account").await;
    b.click("#two-factor button").await;
    let secret_text = b.find("#totp-secret").await.text().await.unwrap();
    b.find(".qr svg").await;
    b.shot("two-factor").await;
    b.fill("#f-code", &totp(&secret_text, 0)).await;
    b.click("#two-factor form button").await;
    b.wait_text("#two-factor", "Two-factor authentication is on").await;
    assert_eq!(b.js("return document.querySelectorAll('#recovery-codes li').length", vec![]).await, json!(10));
    b.click("nav.account button").await;
    b.until("the sign-in page", "return location.pathname === '/sign-in'").await;
    b.go("/sign-in").await;
    b.fill("#f-email", OWNER).await;
    b.fill("#f-password", PASSWORD).await;
    b.click("#sign-in button[type=submit]").await;
    b.wait_text("#sign-in", "authenticator app").await;
    b.fill("#f-code", "000000").await;
    b.click("#sign-in button[type=submit]").await;
    b.wait_text("#sign-in", "wrong").await;
    b.fill("#f-code", &totp(&secret_text, 1)).await;
    b.click("#sign-in button[type=submit]").await;
    b.until("the tenant's page", "return location.pathname === '/t/acme'").await;

    // Connect the emulated org through its authorize page, and back to the console.
    b.go("/t/acme/connection").await;
    b.axe("the connection page").await;
    b.click("form[hx-post$='/connection/authorize'] button").await;
    b.until("the way back from Salesforce", "return location.search.includes('connected=1')").await;
    b.wait_text("#current", "Authorized by a Salesforce user").await;
    b.wait_text("#current", portico_emulator::credentials::USERNAME).await;
    b.shot("connection").await;
    // A daily API budget: a bad one is explained in place, a good one is shown.
    b.fill("#f-daily_budget", "0").await;
    b.click("#api-budget button[type=submit]").await;
    b.wait_text("#api-budget .problem", "between 1 and").await;
    b.fill("#f-daily_budget", "5000").await;
    b.click("#api-budget button[type=submit]").await;
    b.wait_text("#api-budget", "of 5000").await;

    // Upload `configurable`, approve it with its full grant, activate it.
    b.go("/t/acme/plugins").await;
    let wasm = portico_plugins::wasm_path("portico_plugin_configurable");
    b.find("#component").await.send_keys(&wasm.display().to_string()).await.unwrap();
    b.click("#upload button[type=submit]").await;
    b.until("the version page", "return location.pathname.startsWith('/t/acme/plugins/sha256')").await;
    b.wait_text("main", "Salesforce permissions it needs").await;
    b.shot("plugin-version").await;
    b.click("form.tree button[type=submit]").await;
    b.wait_text("form.tree .result", "Approved").await;
    b.go(&b.path().await).await;
    b.click_confirm("button[hx-post$='/activate']").await;
    b.wait_text("#state", "active").await;

    // The mapping editor: records and fields from the org's filtered describe.
    b.go("/t/acme/mapping").await;
    b.click("button[value=add-record]").await;
    b.find("#r0-sobject").await;
    b.select("#r0-sobject", "Lead").await;
    // A Lead's required fields arrive to be filled in, marked required.
    b.until("Lead's required fields", "return document.querySelector('#r0-f1-name')?.value === 'LastName'").await;
    b.settle().await;
    b.wait_text("#r0-card", "required").await;
    // Saving before the required fields have values is refused, each problem beside its field.
    b.click("#save-button").await;
    b.wait_text("#r0-card", "is required by Salesforce: give it a value").await;
    b.wait_text("#editor .problem", "Check the input").await;
    b.fill("#r0-ref", "person").await;
    b.click("#r0-find").await;
    b.find("#r0-find_value").await;
    b.settle().await;
    b.fill("#r0-find_value", "{attendee.email}").await;
    assert_eq!(b.find("#r0-find_field").await.prop("value").await.unwrap().as_deref(), Some("Email"));
    b.select("#r0-f1-kind", "booking").await;
    b.settle().await;
    b.select("#r0-f1-value", "attendee.last_name").await;
    b.select("#r0-f0-kind", "template").await;
    b.settle().await;
    b.fill("#r0-f0-value", "{attendee.company|[not provided]}").await;
    b.click("#r0-card button[value='add-field.0']").await;
    b.find("#r0-f2-name").await;
    b.settle().await;
    b.select("#r0-f2-name", "Email").await;
    b.settle().await;
    b.select("#r0-f2-kind", "booking").await;
    b.settle().await;
    b.select("#r0-f2-value", "attendee.email").await;
    b.click("#r0-card button[value='add-field.0']").await;
    b.find("#r0-f3-name").await;
    b.settle().await;
    b.select("#r0-f3-name", "LeadSource").await;
    b.settle().await;
    // A picklist's fixed value is chosen from its values.
    b.select("#r0-f3-value", "Web").await;
    // A field the manifest does not list: `configurable` takes its objects and fields from the
    // mapping, so the editor offers it, marked as needing approval.
    b.click("#r0-card button[value='add-field.0']").await;
    b.find("#r0-f4-name").await;
    b.settle().await;
    b.select("#r0-f4-name", "Rating").await;
    b.wait_text("#r0-f4-name option[value=Rating]", "needs approval").await;
    b.select("#r0-f4-value", "Hot").await;

    // An Event related to the Lead.
    b.click("button[value=add-record]").await;
    b.find("#r1-sobject").await;
    b.settle().await;
    b.select("#r1-sobject", "Event").await;
    b.settle().await;
    for (j, (field, kind, value)) in [
        ("Subject", "template", "Meeting: {booking.title}"),
        ("StartDateTime", "booking", "booking.start"),
        ("EndDateTime", "booking", "booking.end"),
        ("WhoId", "record", "person"),
    ]
    .into_iter()
    .enumerate()
    {
        map_field(&b, 1, j, field, kind, value, kind == "template").await;
    }

    // A Task upserted by its custom external-id field, with a picklist value.
    b.click("button[value=add-record]").await;
    b.find("#r2-sobject").await;
    b.settle().await;
    b.select("#r2-sobject", "Task").await;
    b.settle().await;
    b.select("#r2-mode", "upsert").await;
    b.find("#r2-upsert_field").await;
    b.settle().await;
    b.select("#r2-upsert_field", "Booking_Id__c").await;
    b.fill("#r2-upsert_key", "{booking.id}").await;
    for (j, (field, kind, value)) in [
        ("Subject", "constant", "Send the recap"),
        ("Status", "constant", "Not Started"),
        ("WhoId", "record", "person"),
    ]
    .into_iter()
    .enumerate()
    {
        map_field(&b, 2, j, field, kind, value, field == "Subject").await;
    }
    b.settle().await;
    b.js("window.scrollTo(0, 0)", vec![]).await;
    b.shot("mapping-editor").await;
    b.axe("the mapping editor").await;

    // Preview in the sandbox: the exact Composite request, nothing committed.
    let leads_before = org.org.records("Lead").len();
    b.click("#preview-button").await;
    let preview = b.wait_text("#preview", "compositeRequest").await;
    assert!(preview.contains("\"allOrNone\": true"), "{preview}");
    assert!(preview.contains("Meeting: Intro call: Portico demo"), "{preview}");
    assert!(preview.contains("Booking_Id__c"), "{preview}");
    assert_eq!(org.org.records("Lead").len(), leads_before, "a preview commits nothing");
    b.shot("mapping-preview").await;
    b.click("#save-button").await;
    b.wait_text("#save-result", "Saved as version 1").await;
    // The grant it needs goes beyond the approved one (Lead.Rating): approve exactly that.
    b.go("/t/acme/mapping").await;
    b.wait_text("#needed-grant", "uses more than the approved grant").await;
    b.click_confirm("#approve-grant").await;
    b.wait_text("#needed-grant", "Approved").await;

    // A signed booking: its job succeeds on the live list; its page links each record.
    let api = service.admin.with_key(&key);
    let booking = std::fs::read(crate::root().join("plugins/configurable/samples/new-attendee.booking.json")).unwrap();
    b.go("/t/acme/jobs").await;
    let answer = api.send_booking("acme", &secret, &booking).await.unwrap();
    assert_eq!(answer.status, 202, "{}", answer.body);
    let job = answer.body["job_id"].as_i64().unwrap();
    b.until(
        "the job to succeed on the live list",
        "return !!document.querySelector('#job-rows [data-state=succeeded]')",
    )
    .await;
    b.shot("jobs").await;
    b.go(&format!("/t/acme/jobs/{job}")).await;
    let written = b.wait_text("#records-written", "Lead").await;
    let lead = org.org.records("Lead").into_iter().find(|l| l.get("Rating") == Some(&json!("Hot")));
    assert!(lead.is_some(), "the Lead has the newly approved field");
    assert!(written.contains("Event") && written.contains("Task"), "{written}");
    let link = b.find("#records-written a").await.attr("href").await.unwrap().unwrap();
    assert!(link.starts_with(&org.base_url), "{link}");
    b.shot("job").await;
    // The same person books again: the Lead is found by email, not created twice.
    let leads = org.org.records("Lead").len();
    let mut again: serde_json::Value = serde_json::from_slice(&booking).unwrap();
    again["id"] = json!("bk_again");
    let answer = api.send_booking("acme", &secret, &serde_json::to_vec(&again).unwrap()).await.unwrap();
    let done = api
        .wait_for_job("acme", answer.body["job_id"].as_i64().unwrap(), std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(org.org.records("Lead").len(), leads, "the Lead was found by email");

    // A booking the mapping cannot map (no attendee: no last name) fails with its reason; once
    // the mapping has a fallback, replaying it from its page succeeds.
    let mut bad: serde_json::Value = serde_json::from_slice(&booking).unwrap();
    bad["id"] = json!("bk_no_attendee");
    bad["attendees"] = json!([]);
    let answer = api.send_booking("acme", &secret, &serde_json::to_vec(&bad).unwrap()).await.unwrap();
    let failed = answer.body["job_id"].as_i64().unwrap();
    let done = api.wait_for_job("acme", failed, std::time::Duration::from_secs(30)).await.unwrap();
    assert_eq!(done["state"], "failed", "{done}");
    b.go(&format!("/t/acme/jobs/{failed}")).await;
    b.wait_text("#job-error", "LastName").await;
    let config = api.get("/v1/tenants/acme/config").await.unwrap().ok().unwrap();
    let mapping = config["mapping"].as_str().unwrap().replace("{attendee.last_name}", "{attendee.last_name|Unknown}");
    api.put("/v1/tenants/acme/config", &json!({"mapping": mapping})).await.unwrap().ok().unwrap();
    b.click_confirm("#replay").await;
    b.until(
        "the replay to be taken",
        "return !!document.querySelector('#job-state [data-state]:not([data-state=failed])')",
    )
    .await;
    let done = api.wait_for_job("acme", failed, std::time::Duration::from_secs(30)).await.unwrap();
    assert_eq!(done["state"], "succeeded", "{done}");
    b.go(&format!("/t/acme/jobs/{failed}")).await;
    b.wait_text("#job-state", "succeeded").await;

    // The history shows both versions and what changed.
    b.go("/t/acme/mapping").await;
    b.wait_text("#history", "Version 2").await;

    // The team page: an invitation's link is shown once (this service sends no mail), and so is
    // a new API key. The trust page shows the approved grant and shares itself by a link.
    b.go("/t/acme/team").await;
    b.fill("#f-email", "newcomer@acme.example").await;
    b.click("#members form button[type=submit]").await;
    let invitation = b.wait_text("#invite-result", "accept-invitation?token=").await;
    let invitation_link = b.find("#invite-result code").await.text().await.unwrap();
    assert!(invitation.contains("shown once"), "{invitation}");
    b.fill("#f-label", "zapier").await;
    b.click("#keys form button[type=submit]").await;
    b.wait_text("#key-result", "pk_").await;
    // A member's role changes from its row; a reseller creates a tenant it manages.
    let viewer_id = b.js("return document.querySelector('#members select[id^=role-]:not([disabled]) option[selected][value=viewer]').closest('select').id", vec![]).await;
    let viewer_select = format!("#{}", viewer_id.as_str().unwrap());
    b.select(&viewer_select, "tenant-admin").await;
    b.wait_text("#members", "now tenant-admin").await;
    b.select(&viewer_select, "viewer").await;
    b.wait_text("#members", "now viewer").await;
    // The viewer's password reset link is shown once; a custom role is defined, edited, deleted.
    b.click_confirm(&format!("tr:has({viewer_select}) button[hx-post$='/reset']")).await;
    b.wait_text(&format!("tr:has({viewer_select}) .reset-result"), "reset-password?token=").await;
    b.fill("#f-name", "booker").await;
    b.click("#roles form input[value='jobs:view']").await;
    b.click("#roles form:has(#f-name) button[type=submit]").await;
    b.wait_text("#new-role-result", "Role booker saved").await;
    b.go("/t/acme/team").await;
    b.click("#roles details summary").await;
    b.click("#roles details input[value='jobs:replay']").await;
    b.click("#roles details button[type=submit]").await;
    b.wait_text("#role-booker-result", "Role booker saved").await;
    b.go("/t/acme/team").await;
    b.wait_text("#roles", "jobs:view, jobs:replay").await;
    b.click_confirm("#roles button[hx-post$='/roles/booker/delete']").await;
    b.until("the role is gone", "return !document.querySelector('#role-booker-result')").await;
    b.fill("#f-child_id", "acme-eu").await;
    b.fill("#f-child_name", "Acme Europe").await;
    b.click("#children form button[type=submit]").await;
    b.wait_text("#child-result", "Tenant acme-eu created").await;
    b.shot("team").await;
    b.axe("the team page").await;
    b.go("/t/acme/trust").await;
    let grant = b.wait_text("#trust-grant", "Lead").await;
    assert!(grant.contains("Booking_Id__c"), "{grant}");
    b.click("form[hx-post$='/trust/share'] button").await;
    b.wait_text("#share-result", "/trust/").await;
    let shared_link = b.find("#share-result code").await.text().await.unwrap();
    b.shot("trust").await;
    b.axe("the trust page").await;

    // A viewer sees the same pages without a single admin action.
    b.click("nav.account button").await;
    b.until("the sign-in page", "return location.pathname === '/sign-in'").await;
    sign_in(&b, VIEWER, None).await;
    b.go("/t/acme/plugins").await;
    b.wait_text("main", "Versions").await;
    b.go(&format!("/t/acme/jobs/{failed}")).await;
    b.wait_text("main", "Records written").await;
    b.go("/t/acme/mapping").await;
    b.wait_text("main", "History").await;
    b.go("/t/acme/connection").await;
    b.wait_text("#current", "Org").await;
    let admin_actions = "return document.querySelectorAll('#upload, #replay, #save-button, #preview-button, \
        button[hx-post$=\"/authorize\"], button[value=add-record], form.tree, button[hx-post$=\"/webhook-secret\"]').length";
    for page in [
        "/t/acme",
        "/t/acme/plugins",
        "/t/acme/mapping",
        "/t/acme/connection",
        "/t/acme/team",
        &format!("/t/acme/jobs/{failed}"),
    ] {
        b.go(page).await;
        b.find("main h1").await;
        assert_eq!(b.js(admin_actions, vec![]).await, json!(0), "a viewer sees an admin action on {page}");
        assert_eq!(b.js("return document.querySelectorAll('.problem').length", vec![]).await, json!(0), "{page}");
    }

    // Another tenant's pages are not found, exactly like a missing one.
    for page in ["/t/other", "/t/other/jobs", "/t/nope"] {
        b.go(page).await;
        b.wait_text(".problem", "Not found").await;
    }

    // Signed out: the shared trust page opens; the invitation link makes an account.
    b.click("nav.account button").await;
    b.until("the sign-in page", "return location.pathname === '/sign-in'").await;
    b.client.goto(&shared_link).await.unwrap();
    b.wait_text("main", "Field level").await;
    b.client.goto(&invitation_link).await.unwrap();
    b.fill("#f-password", "a long and unusual passphrase").await;
    b.click("main form button[type=submit]").await;
    b.wait_text("main", "You joined acme as newcomer@acme.example").await;

    // Platform staff see the service's health and create a tenant.
    ops::accounts::create_user(state, &operator, "staff@portico.example", PASSWORD, true).await.unwrap();
    b.go("/sign-in").await;
    b.fill("#f-email", "staff@portico.example").await;
    b.fill("#f-password", PASSWORD).await;
    b.click("#sign-in button[type=submit]").await;
    b.until("the home page", "return location.pathname === '/'").await;
    b.go("/platform").await;
    b.wait_text("#health", "Waiting").await;
    b.wait_text("#health", "acme").await;
    b.fill("#f-id", "newco").await;
    b.fill("#f-name", "NewCo").await;
    b.click("#tenants form button[type=submit]").await;
    b.until("the new tenant's page", "return location.pathname === '/t/newco'").await;
    // Staff set a tenant's own sandbox limit.
    b.fill("#limit-salesforce_calls", "5").await;
    b.click("#limits button[type=submit]").await;
    b.wait_text("#limits-result", "Saved").await;
    b.go("/t/newco").await;
    b.wait_text("#limits", "(this tenant's)").await;
    // Staff suspend a tenant: its pages say why, the platform's list says so; then resume it.
    b.fill("#f-reason", "Invoice overdue").await;
    b.click_confirm("#suspension form button[type=submit]").await;
    b.wait_text("#suspended", "Invoice overdue").await;
    b.go("/platform").await;
    b.wait_text("#tenants", "suspended").await;
    b.go("/t/newco").await;
    b.click_confirm("#suspension button[hx-post$='/resume']").await;
    b.until(
        "the banner is gone",
        "return !document.querySelector('#suspended') && !!document.querySelector('#suspension form')",
    )
    .await;

    // At a phone's width the pages reflow: nothing wider than the screen but tables, which
    // scroll in their own box.
    b.client.set_window_size(390, 844).await.unwrap();
    for page in ["/t/acme", "/t/acme/jobs", "/t/acme/mapping", &format!("/t/acme/jobs/{job}")] {
        b.go(page).await;
        b.find("main h1").await;
        let fits = "return document.documentElement.scrollWidth <= window.innerWidth";
        assert_eq!(b.js(fits, vec![]).await, json!(true), "{page} is wider than a phone's screen");
    }
    b.go("/t/acme/mapping").await;
    b.find("#editor").await;
    b.shot("phone-mapping").await;
}
