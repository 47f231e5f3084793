//! `portico serve`, `portico admin` and `portico send`: running the service.

use crate::service::client::PorticoClient;
use crate::service::ops::{self, Principal};
use crate::service::secrets::KeyRing;
use crate::service::{self, AppState, ServeConfig};
use anyhow::Context;
use std::path::PathBuf;
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

pub(super) async fn until_signal() {
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
    let state = operator_state(config_path).await?;
    let key = ops::keys::create_platform_key(&state, &Principal::operator(), &label).await.map_err(op_error)?;
    println!("{}", key.key);
    eprintln!("platform admin key {} created; it is shown only this once", key.row.prefix);
    Ok(ExitCode::SUCCESS)
}

/// `portico admin create-user`: an account, with the password read from stdin
/// (`--password-stdin`) or generated and printed once.
pub(super) async fn create_user(
    config_path: Option<PathBuf>,
    email: String,
    platform_admin: bool,
    password_stdin: bool,
) -> anyhow::Result<ExitCode> {
    let state = operator_state(config_path).await?;
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("reading the password from stdin")?;
        (line.trim_end_matches(['\r', '\n']).to_owned(), false)
    } else {
        (crate::service::accounts::new_token(), true)
    };
    let user = ops::accounts::create_user(&state, &Principal::operator(), &email, &password, platform_admin)
        .await
        .map_err(op_error)?;
    let kind = if platform_admin { "platform admin" } else { "user" };
    eprintln!("{kind} {} created; sign in at {}/v1/session", user.email, state.inner.config.public_url);
    if generated {
        println!("{password}");
        eprintln!("its password (above) is shown only this once; change it after signing in");
    }
    Ok(ExitCode::SUCCESS)
}

/// The service's state for an operator's one-off command.
async fn operator_state(config_path: Option<PathBuf>) -> anyhow::Result<AppState> {
    let config = ServeConfig::load(config_path.as_deref())?;
    let keys = key_ring(&config)?;
    AppState::new(config, keys).await
}

/// An operation's refusal as a command's error.
pub(super) fn op_error(e: crate::service::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{} ({})", e.message, e.code)
}

/// `portico admin generate-master-key`.
pub(super) fn generate_master_key(id: &str) -> ExitCode {
    println!("{}", KeyRing::generate(id));
    ExitCode::SUCCESS
}

/// What `portico dev` writes for `portico send` and the developer.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct DevTenant {
    pub(super) url: String,
    pub(super) tenant: String,
    pub(super) webhook_secret: String,
    pub(super) admin_key: String,
}

pub(super) fn print_job(detail: &serde_json::Value) {
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
