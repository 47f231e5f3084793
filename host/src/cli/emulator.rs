//! `portico emulator`: a Salesforce org on this machine, for plugin authors and manual tests.

use portico_emulator::credentials::{CLIENT_ID, CLIENT_SECRET, USERNAME};
use portico_emulator::{Emulator, Org};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

pub(super) async fn run(
    port: u16,
    org_dir: Option<PathBuf>,
    https: bool,
    latency_ms: u64,
    daily_api_requests: u64,
) -> anyhow::Result<ExitCode> {
    let dir = org_dir.unwrap_or_else(|| portico_plugins::repo_root().join("tests/fixtures/salesforce/describe"));
    let mut org = Org::load(&dir).map_err(|e| anyhow::anyhow!("cannot load the org from {}: {e}", dir.display()))?;
    org.daily_api_requests = daily_api_requests;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let emulator = if https { Emulator::start_tls_on(org, addr).await? } else { Emulator::start_on(org, addr).await? };
    emulator.org.with(|s| s.faults.latency = std::time::Duration::from_millis(latency_ms));
    let base = &emulator.base_url;
    let host = base.trim_start_matches("http://").trim_start_matches("https://");
    let mut ca_arg = String::new();
    if let Some(pem) = &emulator.certificate_pem {
        let path = std::env::temp_dir().join("portico-emulator-ca.pem");
        std::fs::write(&path, pem)?;
        println!("TLS certificate (self-signed, for 127.0.0.1 and localhost): {}", path.display());
        ca_arg = format!(" --ca-cert {}", path.display());
    }
    println!("Salesforce emulator at {base}  (org: {})", dir.display());
    println!("  connected app   client_id={CLIENT_ID}  client_secret={CLIENT_SECRET}");
    println!("  user            {USERNAME} (all permissions; profiles are set from tests)");
    println!(
        "  token           curl -sk {base}/services/oauth2/token -d grant_type=client_credentials -d client_id={CLIENT_ID} -d client_secret={CLIENT_SECRET}"
    );
    println!(
        "  run a plugin    portico plugin run <component.wasm> --booking <file.json> --org {base} --allow-host {host} --client-id {CLIENT_ID} --client-secret {CLIENT_SECRET}{ca_arg}"
    );
    println!("Ctrl-C stops it.");
    tokio::signal::ctrl_c().await?;
    println!("\nAPI calls served: {}", emulator.org.api_calls());
    Ok(ExitCode::SUCCESS)
}
