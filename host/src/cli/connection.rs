//! `portico connection check`: the preflight, from the command line.

use super::plugin::OrgArgs;
use crate::salesforce::preflight;
use anyhow::{Context, bail};
use portico_model::Manifest;
use std::path::PathBuf;
use std::process::ExitCode;

pub(super) async fn check(
    org: OrgArgs,
    plugin: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let Some(client) = org.client()? else { bail!("give --org <instance url>") };
    let manifest = match plugin {
        Some(path) => {
            let rt = super::runtime(crate::RuntimeConfig::default(), cache_dir)?;
            let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            rt.load(&bytes).with_context(|| format!("{} was refused", path.display()))?.manifest.clone()
        }
        None => Manifest::from_toml("[plugin]\nname = \"none\"\nversion = \"0\"\n")?,
    };
    let report = preflight(&client, &manifest).await?;
    println!("Logged in; API access: {}", if report.api_enabled { "yes" } else { "NO (API Enabled is missing)" });
    if let Some(usage) = client.api_usage() {
        println!("API usage: {}/{}", usage.used, usage.max);
    }
    print!("{}", report.table());
    Ok(if report.missing.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
