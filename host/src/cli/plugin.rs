//! `portico plugin check|permissions|run` (and `test|pack`, in `plugin_test`): the plugin
//! author's tools.

use super::runtime;
use crate::inspect;
use crate::runtime::{Call, Outcome, RuntimeConfig};
use anyhow::{Context, bail};
use clap::Subcommand;
use portico_model::{Booking, Limits, LocalOrg};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// How to reach an org: instance URL and OAuth client credentials.
#[derive(Debug, clap::Args)]
pub(super) struct OrgArgs {
    /// The org's instance URL (https on a Salesforce domain, or an --allow-host).
    #[arg(long)]
    pub org: Option<String>,
    /// Where to get tokens (default: the instance URL).
    #[arg(long, requires = "org")]
    pub login_url: Option<String>,
    /// The connected app's consumer key.
    #[arg(long, requires = "org", env = "PORTICO_SF_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The connected app's consumer secret.
    #[arg(long, requires = "org", env = "PORTICO_SF_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// A host[:port] allowed besides Salesforce's domains (for the emulator); repeatable.
    #[arg(long = "allow-host", requires = "org")]
    pub allow_hosts: Vec<String>,
    /// An extra CA certificate (PEM) to trust, e.g. `portico emulator --https`'s.
    #[arg(long, requires = "org")]
    pub ca_cert: Option<PathBuf>,
}

impl OrgArgs {
    /// The Salesforce client these arguments describe.
    pub fn client(&self) -> anyhow::Result<Option<crate::salesforce::SalesforceClient>> {
        use crate::salesforce::{Auth, Connection, SalesforceClient, Secret};
        let Some(org) = &self.org else { return Ok(None) };
        let (Some(id), Some(secret)) = (&self.client_id, &self.client_secret) else {
            bail!("--org needs --client-id and --client-secret (or PORTICO_SF_CLIENT_ID / PORTICO_SF_CLIENT_SECRET)")
        };
        let auth = Auth::ClientCredentials { client_id: id.clone(), client_secret: Secret::new(secret.clone()) };
        let login = self.login_url.as_deref().unwrap_or(org);
        let mut conn = Connection::new(org, login, auth, &self.allow_hosts)
            .map_err(|e| anyhow::anyhow!("{e} (a local emulator needs --allow-host HOST:PORT)"))?;
        if let Some(path) = &self.ca_cert {
            conn.extra_ca_pem =
                Some(std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?);
        }
        Ok(Some(SalesforceClient::new(conn)?))
    }
}

// Parsed once at start-up: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(super) enum PluginCommand {
    /// Validate a component (world, imports, manifest, size) and print what it needs,
    /// including the Salesforce permissions for the integration user.
    Check {
        /// The component (.wasm).
        component: PathBuf,
    },
    /// Print the Salesforce permissions the plugin needs and write them as a Permission Set
    /// (`<name>.permissionset-meta.xml`) an admin can deploy.
    Permissions {
        /// The component (.wasm).
        component: PathBuf,
        /// A recorded org folder, to leave out fields Salesforce does not let a permission set
        /// control (always-required fields).
        #[arg(long)]
        describe: Option<PathBuf>,
        /// Where to write the permission set (default: `<plugin name>.permissionset-meta.xml`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run a component on a booking exactly as the host would, against recorded describe
    /// data, and print the Composite request it would send, its logs and resource use.
    Run {
        /// The component (.wasm).
        component: PathBuf,
        /// The booking JSON.
        #[arg(long)]
        booking: PathBuf,
        /// A recorded org folder: <Object>.describe.json files, optional <Object>.fields.json
        /// and records.json. Either this or --org.
        #[arg(long, required_unless_present = "org", conflicts_with = "org")]
        describe: Option<PathBuf>,
        /// Run against an org (e.g. `portico emulator`) and commit the records for real.
        #[command(flatten)]
        org: OrgArgs,
        /// A tenant config value, `key=value`; repeatable.
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
        /// Tenant config as a JSON object of strings (applied before --config).
        #[arg(long)]
        config_file: Option<PathBuf>,
        /// Limits as TOML (keys as in `[limits]`: memory_bytes, cpu_ms, fuel, …).
        #[arg(long)]
        limits: Option<PathBuf>,
        /// Meter fuel and report it.
        #[arg(long)]
        fuel: bool,
    },
    /// Run every sample booking through a component in the sandbox (any language) and compare
    /// with its expected Composite request or error; exits non-zero with a diff on a mismatch.
    Test(super::plugin_test::TestArgs),
    /// Embed (or replace) the manifest in a component built by any toolchain, validated.
    Pack(super::plugin_test::PackArgs),
}

pub(super) async fn run(cmd: PluginCommand, cache_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    match cmd {
        PluginCommand::Test(args) => super::plugin_test::test(args, cache_dir).await,
        PluginCommand::Pack(args) => super::plugin_test::pack(args, cache_dir),
        PluginCommand::Check { component } => {
            let rt = runtime(RuntimeConfig::default(), cache_dir)?;
            let plugin = load(&rt, &component)?;
            print!("{}", inspect::report(&plugin, rt.config()));
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Permissions { component, describe, out } => {
            let rt = runtime(RuntimeConfig::default(), cache_dir)?;
            let plugin = load(&rt, &component)?;
            let org = describe.as_deref().map(LocalOrg::load).transpose()?;
            let lookup = |name: &str| org.as_ref().and_then(|o| o.describe_sync(name)).map(|d| (*d).clone());
            let xml = portico_model::permissions::permission_set_xml(&plugin.manifest, &lookup);
            let out = out.unwrap_or_else(|| {
                PathBuf::from(format!(
                    "Portico_{}.permissionset-meta.xml",
                    plugin.manifest.plugin.name.replace('-', "_")
                ))
            });
            std::fs::write(&out, xml).with_context(|| format!("writing {}", out.display()))?;
            print!("{}", inspect::permissions_table(&plugin.manifest));
            println!("\nWrote the permission set to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Run { component, booking, describe, org, config, config_file, limits, fuel } => {
            let mut tenant = BTreeMap::new();
            if let Some(path) = config_file {
                let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                tenant = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a JSON object of strings", path.display()))?;
            }
            set_config(&mut tenant, &config)?;
            let limits = read_limits(limits.as_deref())?;
            let rc = RuntimeConfig { fuel, limits: limits.clone(), ..RuntimeConfig::default() };
            let rt = runtime(rc, cache_dir)?;
            let plugin = load(&rt, &component)?;
            let client = org.client()?.map(Arc::new);
            let crm: Arc<dyn portico_model::Crm> = match (&client, &describe) {
                (Some(c), _) => c.clone(),
                (None, Some(dir)) => Arc::new(LocalOrg::load(dir)?),
                (None, None) => bail!("give --describe <dir> or --org <url>"),
            };
            let booking_text =
                std::fs::read_to_string(&booking).with_context(|| format!("reading {}", booking.display()))?;
            let booking = Booking::from_json(&booking_text).with_context(|| format!("in {}", booking.display()))?;
            let call = Call {
                booking,
                grant: Arc::new(plugin.manifest.objects.clone()),
                config: Arc::new(tenant),
                limits,
                crm,
            };
            let outcome = rt.invoke(&plugin, call).await;
            let code = print_outcome(&outcome);
            if let (Some(client), Ok(unit)) = (client, &outcome.result) {
                return commit(&client, unit).await;
            }
            Ok(code)
        }
    }
}

pub(super) async fn commit(
    client: &crate::salesforce::SalesforceClient,
    unit: &portico_model::staging::Unit,
) -> anyhow::Result<ExitCode> {
    match client.commit(unit).await {
        Ok(committed) => {
            println!("\nCommitted in one request:");
            for r in &committed.records {
                println!(
                    "  {:<12} {:<10} {} ({})",
                    r.reference_id,
                    r.sobject,
                    r.id,
                    if r.created { "created" } else { "updated" }
                );
            }
            if let Some(usage) = client.api_usage() {
                println!("API usage: {}/{}", usage.used, usage.max);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let class = if e.is_transient() { "transient: retrying later may succeed" } else { "permanent" };
            eprintln!("error: the commit failed ({class}); nothing was written: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Reads and loads a component with every check the host makes, naming the file in a refusal.
pub(super) fn load(rt: &crate::runtime::Runtime, path: &Path) -> anyhow::Result<Arc<crate::runtime::Plugin>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    rt.load(&bytes).with_context(|| format!("{} was refused", path.display()))
}

/// `--config KEY=VALUE` pairs, over what `config` holds.
pub(super) fn set_config(config: &mut BTreeMap<String, String>, pairs: &[String]) -> anyhow::Result<()> {
    for kv in pairs {
        let Some((k, v)) = kv.split_once('=') else { bail!("--config takes KEY=VALUE, not `{kv}`") };
        config.insert(k.to_owned(), v.to_owned());
    }
    Ok(())
}

/// `--limits <file>` (TOML, keys as in `[limits]`) over the defaults.
pub(super) fn read_limits(path: Option<&Path>) -> anyhow::Result<Limits> {
    let Some(path) = path else { return Ok(Limits::default()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is not a valid limits file", path.display()))
}

pub(super) fn print_outcome(outcome: &Outcome) -> ExitCode {
    let code = match &outcome.result {
        Ok(unit) => {
            println!("Composite request (POST /services/data/{}/composite):", portico_model::staging::API_VERSION);
            println!("{}", serde_json::to_string_pretty(&unit.composite_request()).expect("JSON"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    };
    if !outcome.logs.is_empty() {
        println!("\nLogs:");
        for line in &outcome.logs {
            println!("  [{:?}] {}", line.level, line.message);
        }
    }
    if !outcome.stderr.is_empty() {
        println!("\nStderr:\n  {}", outcome.stderr.replace('\n', "\n  "));
    }
    let u = &outcome.usage;
    println!(
        "\nResources: {:.3} ms wall clock, {} ms cpu, fuel {}, peak memory {} KiB, {} host calls, {} staged records",
        u.duration.as_secs_f64() * 1e3,
        u.cpu_ms,
        u.fuel.map_or("not metered".to_owned(), |f| f.to_string()),
        u.peak_memory_bytes >> 10,
        u.host_calls,
        u.staged_records
    );
    code
}
