//! `portico dev`: the whole product on one machine, with the emulated org and the example
//! plugins (the `dev` feature, on by default; a production build leaves it out).

use super::plugin::{commit, print_outcome};
use super::runtime;
use super::serve::{DevTenant, print_job, until_signal};
use crate::runtime::{Call, RuntimeConfig};
use crate::service::client::PorticoClient;
use crate::service::ops::{self, Principal};
use crate::service::secrets::KeyRing;
use crate::service::{self, AppState, ServeConfig};
use anyhow::Context;
use portico_model::Booking;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// `portico dev`: SQLite in `dir`, an in-process emulated org, a demo tenant with the
/// `lead-event` plugin approved and active; sends one sample booking and shows its records.
pub(super) async fn dev(dir: PathBuf, port: u16, cache_dir: Option<PathBuf>, once: bool) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let key_file = dir.join("master.key");
    if !key_file.exists() {
        std::fs::write(&key_file, KeyRing::generate("dev1"))?;
    }
    let root = portico_plugins::repo_root();
    let org_dir = root.join("tests/fixtures/salesforce/describe");
    let emulator = portico_emulator::Emulator::start(portico_emulator::Org::load(&org_dir)?).await?;
    let emulator_host = emulator.base_url.trim_start_matches("http://").to_owned();
    let config = ServeConfig {
        listen: ([127, 0, 0, 1], port).into(),
        database_url: format!("sqlite://{}", dir.join("portico.db").display()),
        public_url: format!("http://127.0.0.1:{port}"),
        master_key_file: Some(key_file.clone()),
        cache_dir,
        allow_hosts: vec![emulator_host],
        console: crate::service::config::ConsoleConfig {
            login_url: emulator.base_url.clone(),
            client_id: portico_emulator::credentials::CLIENT_ID.into(),
            egress_addresses: vec!["127.0.0.1".into()],
        },
        ..ServeConfig::default()
    };
    let keys = KeyRing::parse(&std::fs::read_to_string(&key_file)?)?;
    let state = AppState::new(config, keys).await?;
    let running = service::start(state.clone()).await?;
    let url = format!("http://{}", running.addr);

    // The platform admin key lives only for this run; the demo tenant's secrets are re-issued
    // each run and written to the dev folder for `portico send`.
    let store = &state.inner.store;
    let operator = Principal::operator();
    let admin =
        ops::keys::create_platform_key(&state, &operator, "portico dev").await.map_err(super::serve::op_error)?;
    let api = PorticoClient::new(&url, Some(&admin.key));
    let tenant = "demo";
    if store.tenant(tenant).await?.is_none() {
        api.create_tenant(tenant, "Demo tenant").await?;
    }
    let secret = api.post(&format!("/v1/tenants/{tenant}/webhook-secret"), &serde_json::json!({})).await?.ok()?;
    let secret = secret["webhook_secret"].as_str().unwrap_or_default().to_owned();
    let key = api
        .post(
            &format!("/v1/tenants/{tenant}/keys"),
            &serde_json::json!({"role": "tenant-admin", "label": "portico dev"}),
        )
        .await?
        .ok()?;
    let tenant_key = key["key"].as_str().unwrap_or_default().to_owned();
    let tenant_api = api.with_key(&tenant_key);
    let example = portico_plugins::example("lead-event").expect("lead-event is bundled");
    let digest = tenant_api.install(tenant, example.wasm).await?;
    // The no-code plugin, uploaded but not approved: the console's mapping editor is its
    // settings page once a tenant admin approves and activates it.
    let configurable = portico_plugins::example("configurable").expect("configurable is bundled");
    tenant_api.upload(tenant, configurable.wasm).await?.ok()?;
    use portico_emulator::credentials::{CLIENT_ID, CLIENT_SECRET};
    tenant_api.connect(tenant, &emulator.base_url, CLIENT_ID, CLIENT_SECRET).await?;
    let (login, password) = demo_login(&state, &operator, tenant).await?;
    let dev_file = dir.join("demo-tenant.json");
    let saved = DevTenant {
        url: url.clone(),
        tenant: tenant.into(),
        webhook_secret: secret.clone(),
        admin_key: tenant_key.clone(),
    };
    std::fs::write(&dev_file, serde_json::to_string_pretty(&saved)?)?;

    println!("Portico dev: serving on {url}");
    println!("  console         {url}/  (sign in below)");
    println!("  database        {}", dir.join("portico.db").display());
    println!("  emulated org    {} (in-process Salesforce emulator)", emulator.base_url);
    println!("  tenant          `{tenant}`, plugin lead-event {digest} approved and active;");
    println!("                  `configurable` (mapping without code) uploaded for you to approve");
    println!("  secrets         {} (webhook secret, tenant admin key)", dev_file.display());
    println!("  sign in         {login} / {password}  (platform admin and owner of `{tenant}`; new each run)");
    println!();
    let sample = root.join(example.dir).join("samples/new-lead.booking.json");
    println!("Sending the sample booking {} ...", sample.strip_prefix(&root).unwrap_or(&sample).display());
    send_and_show(&tenant_api, tenant, &secret, &sample, &emulator).await?;
    println!();
    println!("Send more (in another terminal):");
    println!(
        "  cargo run -- send {}",
        rel(&root, &root.join(example.dir).join("samples/existing-contact.booking.json"))
    );
    println!("Watch jobs:  curl -s -H 'Authorization: Bearer {tenant_key}' {url}/v1/tenants/{tenant}/jobs");
    println!("API:         {url}/openapi.json    metrics: {url}/metrics");
    if once {
        running.shutdown().await?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("Ctrl-C stops it.");
    until_signal().await;
    running.shutdown().await?;
    Ok(ExitCode::SUCCESS)
}

/// The demo admin account: platform staff and owner of the demo tenant, with a new password
/// each run (printed, never stored in the clear).
async fn demo_login(state: &AppState, operator: &Principal, tenant: &str) -> anyhow::Result<(String, String)> {
    const LOGIN: &str = "admin@portico.dev";
    let password = crate::service::accounts::new_token();
    let e = super::serve::op_error;
    if state.inner.store.user_by_email(LOGIN).await?.is_none() {
        ops::accounts::create_user(state, operator, LOGIN, &password, true).await.map_err(e)?;
    } else {
        ops::accounts::set_password(state, operator, LOGIN, &password).await.map_err(e)?;
    }
    ops::accounts::add_member(state, operator, tenant, LOGIN, "tenant-owner").await.map_err(e)?;
    Ok((LOGIN.to_owned(), password))
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

async fn send_and_show(
    api: &PorticoClient,
    tenant: &str,
    secret: &str,
    path: &Path,
    emulator: &portico_emulator::Emulator,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    // A booking id of this run's own, so a second `portico dev` shows a new job, not the
    // first run's (the same booking id twice is one job, by design).
    let mut booking: serde_json::Value = serde_json::from_str(&text)?;
    let id = format!("{}-{}", booking["id"].as_str().unwrap_or("bk"), service::now_ms());
    booking["id"] = id.into();
    let accepted = api.send_booking(tenant, secret, &serde_json::to_vec(&booking)?).await?.ok()?;
    let job = accepted["job_id"].as_i64().context("no job id")?;
    println!("  202 Accepted: job {job}");
    let detail = api.wait_for_job(tenant, job, Duration::from_secs(30)).await?;
    print_job(&detail);
    println!(
        "  the emulated org now holds {} Event(s), {} Lead(s)",
        emulator.org.records("Event").len(),
        emulator.org.records("Lead").len()
    );
    Ok(())
}

/// `portico demo`: the example plugin on its samples, as a newcomer's first look.
pub(super) async fn demo(cache_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    use crate::salesforce::{Auth, Connection, SalesforceClient, Secret};
    use portico_emulator::credentials::{CLIENT_ID, CLIENT_SECRET};
    let example = portico_plugins::example("lead-event").expect("lead-event is bundled");
    let root = portico_plugins::repo_root();
    let rt = runtime(RuntimeConfig::default(), cache_dir)?;
    let plugin = rt.load(example.wasm)?;
    let org_dir = root.join("tests/fixtures/salesforce/describe");
    let emulator = portico_emulator::Emulator::start(portico_emulator::Org::load(&org_dir)?).await?;
    let allow = vec![emulator.base_url.trim_start_matches("http://").to_owned()];
    let auth = Auth::ClientCredentials { client_id: CLIENT_ID.into(), client_secret: Secret::new(CLIENT_SECRET) };
    let client =
        Arc::new(SalesforceClient::new(Connection::new(&emulator.base_url, &emulator.base_url, auth, &allow)?)?);
    println!("Portico demo: the `lead-event` plugin ({}) maps sample bookings to Salesforce records", plugin.digest);
    println!(
        "and commits them to an emulated org at {} (real describe captures, OAuth, Composite).\n",
        emulator.base_url
    );
    let samples = root.join(example.dir).join("samples");
    for name in ["new-lead", "existing-contact"] {
        let path = samples.join(format!("{name}.booking.json"));
        let shown = format!("{}/samples/{name}.booking.json", example.dir);
        let booking = Booking::from_json(&std::fs::read_to_string(&path)?)?;
        println!("=== {shown}: \"{}\" booked by {}", booking.title, booking.attendees[0].email);
        let call = Call {
            booking,
            grant: Arc::new(plugin.manifest.objects.clone()),
            config: Arc::default(),
            limits: rt.default_limits(),
            crm: client.clone(),
        };
        let outcome = rt.invoke(&plugin, call).await;
        print_outcome(&outcome);
        if let Ok(unit) = &outcome.result {
            commit(&client, unit).await?;
        }
        println!();
    }
    let events = emulator.org.records("Event");
    println!(
        "The emulated org now holds {} Event(s) and {} Lead(s); {} API calls were made.",
        events.len(),
        emulator.org.records("Lead").len(),
        emulator.org.api_calls()
    );
    println!("Next: `portico plugin check|run|permissions`, `portico emulator` (see README.md).");
    Ok(ExitCode::SUCCESS)
}
