//! `portico serve`, `portico admin`, `portico dev` and `portico send`: running the service.

use crate::service::client::PorticoClient;
use crate::service::secrets::KeyRing;
use crate::service::{self, AppState, ServeConfig, auth};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The master key ring from `PORTICO_MASTER_KEY`, else the configured file.
fn key_ring(config: &ServeConfig) -> anyhow::Result<KeyRing> {
    let text = match (std::env::var("PORTICO_MASTER_KEY").ok(), &config.master_key_file) {
        (Some(text), _) => text,
        (None, Some(path)) => {
            std::fs::read_to_string(path).with_context(|| format!("reading the master key file {}", path.display()))?
        }
        (None, None) => anyhow::bail!(
            "no master key: set PORTICO_MASTER_KEY or master_key_file (`portico admin generate-master-key` makes one)"
        ),
    };
    Ok(KeyRing::parse(&text)?)
}

async fn until_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// `portico serve`.
pub(super) async fn serve(config_path: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let config = ServeConfig::load(config_path.as_deref())?;
    let keys = key_ring(&config)?;
    let state = AppState::new(config, keys).await?;
    service::run(state, until_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// `portico admin create-key`: a platform admin key, printed once.
pub(super) async fn create_admin_key(config_path: Option<PathBuf>, label: String) -> anyhow::Result<ExitCode> {
    let config = ServeConfig::load(config_path.as_deref())?;
    let store = crate::store::Store::open(&config.database_url).await?;
    let key = auth::issue(auth::Role::PlatformAdmin, None, &label);
    store.insert_key(&key.row).await?;
    println!("{}", key.key);
    eprintln!("platform admin key {} created; it is shown only this once", key.row.prefix);
    Ok(ExitCode::SUCCESS)
}

/// `portico admin generate-master-key`.
pub(super) fn generate_master_key(id: &str) -> ExitCode {
    println!("{}", KeyRing::generate(id));
    ExitCode::SUCCESS
}

/// What `portico dev` writes for `portico send` and the developer.
#[derive(serde::Serialize, serde::Deserialize)]
struct DevTenant {
    url: String,
    tenant: String,
    webhook_secret: String,
    admin_key: String,
}

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
        ..ServeConfig::default()
    };
    let keys = KeyRing::parse(&std::fs::read_to_string(&key_file)?)?;
    let state = AppState::new(config, keys).await?;
    let running = service::start(state.clone()).await?;
    let url = format!("http://{}", running.addr);

    // The platform admin key lives only for this run; the demo tenant's secrets are re-issued
    // each run and written to the dev folder for `portico send`.
    let store = &state.inner.store;
    let admin = auth::issue(auth::Role::PlatformAdmin, None, "portico dev");
    store.insert_key(&admin.row).await?;
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
    use portico_emulator::credentials::{CLIENT_ID, CLIENT_SECRET};
    tenant_api.connect(tenant, &emulator.base_url, CLIENT_ID, CLIENT_SECRET).await?;
    let dev_file = dir.join("demo-tenant.json");
    let saved = DevTenant {
        url: url.clone(),
        tenant: tenant.into(),
        webhook_secret: secret.clone(),
        admin_key: tenant_key.clone(),
    };
    std::fs::write(&dev_file, serde_json::to_string_pretty(&saved)?)?;

    println!("Portico dev: serving on {url}");
    println!("  database        {}", dir.join("portico.db").display());
    println!("  emulated org    {} (in-process Salesforce emulator)", emulator.base_url);
    println!("  tenant          `{tenant}`, plugin lead-event {digest} approved and active");
    println!("  secrets         {} (webhook secret, tenant admin key)", dev_file.display());
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

fn print_job(detail: &serde_json::Value) {
    println!("  job {} {}", detail["id"], detail["state"].as_str().unwrap_or_default());
    if let Some(error) = detail["error"].as_str() {
        println!("  error: {error}");
    }
    for record in detail["records"].as_array().into_iter().flatten().rev() {
        println!(
            "  {} {} {}  {}",
            if record["created"].as_bool() == Some(true) { "created" } else { "updated" },
            record["sobject"].as_str().unwrap_or_default(),
            record["record_id"].as_str().unwrap_or_default(),
            record["fields"]
        );
    }
}

/// `portico send`: signs and posts a booking file to a running `portico dev` (or any service,
/// given the URL, tenant, secret and key), then shows the job's outcome.
pub(super) async fn send(
    file: PathBuf,
    dev_dir: PathBuf,
    url: Option<String>,
    tenant: Option<String>,
    secret: Option<String>,
    key: Option<String>,
) -> anyhow::Result<ExitCode> {
    let saved: Option<DevTenant> =
        std::fs::read_to_string(dev_dir.join("demo-tenant.json")).ok().and_then(|t| serde_json::from_str(&t).ok());
    let pick = |given: Option<String>, from: fn(&DevTenant) -> &String, what: &str| {
        given.or_else(|| saved.as_ref().map(|s| from(s).clone())).with_context(|| {
            format!(
                "no {what}: pass it, or start `portico dev` first (it writes {})",
                dev_dir.join("demo-tenant.json").display()
            )
        })
    };
    let url = pick(url, |s| &s.url, "--url")?;
    let tenant = pick(tenant, |s| &s.tenant, "--tenant")?;
    let secret = pick(secret, |s| &s.webhook_secret, "--secret")?;
    let key = key.or_else(|| saved.as_ref().map(|s| s.admin_key.clone()));
    let api = PorticoClient::new(&url, key.as_deref());
    let booking = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let answer = api.send_booking(&tenant, &secret, &booking).await?;
    println!("{} {}", answer.status, answer.body);
    if answer.body["created"] == false {
        println!("  (already received: the same booking id and kind is one job; showing that job)");
    }
    if !answer.status.is_success() {
        return Ok(ExitCode::FAILURE);
    }
    if let (Some(_), Some(job)) = (&key, answer.body["job_id"].as_i64()) {
        let detail = api.wait_for_job(&tenant, job, Duration::from_secs(30)).await?;
        print_job(&detail);
        if detail["state"] == "failed" {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}
