//! The `portico` command line. Parses arguments, then calls into the library.

mod connection;
#[cfg(feature = "dev")]
mod dev;
#[cfg(feature = "dev")]
mod emulator;
mod plugin;
mod plugin_test;
mod serve;

use crate::runtime::{Runtime, RuntimeConfig};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Portico: a sandboxed host for tenant Salesforce mapping plugins.
#[derive(Debug, Parser)]
#[command(name = "portico", version, about)]
struct Cli {
    /// Where compiled components are cached (default: $PORTICO_CACHE_DIR, else
    /// ~/.cache/portico/compiled).
    #[arg(long, global = true, env = "PORTICO_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile without the disk cache.
    #[arg(long, global = true)]
    no_cache: bool,
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start-up: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Work with plugin components: check, run.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Run the example `lead-event` plugin on its sample bookings against the recorded org and
    /// print the Composite requests it would send.
    #[cfg(feature = "dev")]
    Demo,
    /// Work with a tenant's Salesforce connection.
    #[command(subcommand)]
    Connection(ConnectionCommand),
    /// Run the service: admin API, signed booking ingestion and job workers.
    Serve {
        /// The config file (TOML; see README). Environment: PORTICO_LISTEN, DATABASE_URL,
        /// PORTICO_PUBLIC_URL, PORTICO_MASTER_KEY / PORTICO_MASTER_KEY_FILE.
        #[arg(long, env = "PORTICO_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Operator tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    #[cfg(feature = "dev")]
    /// The whole product on this machine: SQLite in a local folder, an in-process emulated
    /// Salesforce org, a demo tenant with the `lead-event` plugin active. Sends a sample booking
    /// and shows its records, then keeps serving.
    Dev {
        /// Where the database, master key and demo secrets live.
        #[arg(long, default_value = ".portico-dev")]
        dir: PathBuf,
        /// The port to serve on (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Exit after the sample booking instead of serving.
        #[arg(long)]
        once: bool,
    },
    /// Sign and send a booking file to a running service (by default the `portico dev` one),
    /// then show the job's outcome.
    Send {
        /// The booking (canonical JSON).
        file: PathBuf,
        /// The `portico dev` folder to read the URL, tenant and secrets from.
        #[arg(long, default_value = ".portico-dev")]
        dev_dir: PathBuf,
        /// The service URL.
        #[arg(long)]
        url: Option<String>,
        /// The tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// The tenant's webhook secret.
        #[arg(long, env = "PORTICO_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// An API key to watch the job with.
        #[arg(long, env = "PORTICO_API_KEY", hide_env_values = true)]
        key: Option<String>,
    },
    #[cfg(feature = "dev")]
    /// Serve an emulated Salesforce org on this machine (http on 127.0.0.1) and print its URL
    /// and test credentials.
    Emulator {
        /// The port (0 picks a free one).
        #[arg(long, default_value_t = 8787)]
        port: u16,
        /// A recorded org folder (default: the repository's tests/fixtures/salesforce/describe).
        #[arg(long)]
        org_dir: Option<PathBuf>,
        /// Serve https with a generated self-signed certificate (written next to the cache as
        /// `emulator-ca.pem`; pass it to clients with --ca-cert).
        #[arg(long)]
        https: bool,
        /// Delay every answer by this many milliseconds (a distant org, for load tests).
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// The org's daily API allowance, as `/limits` and `Sforce-Limit-Info` report it
        /// (15,000: a Developer Edition org's).
        #[arg(long, default_value_t = 15_000)]
        daily_api_requests: u64,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a platform admin API key in the configured database and print it (once).
    CreateKey {
        /// The config file.
        #[arg(long, env = "PORTICO_CONFIG")]
        config: Option<PathBuf>,
        /// What the key is for.
        #[arg(long, default_value = "platform admin")]
        label: String,
    },
    /// Create a person's account in the configured database (`--platform-admin` for the first
    /// one). Its password is read from stdin with `--password-stdin`, else generated and
    /// printed once.
    CreateUser {
        /// The config file.
        #[arg(long, env = "PORTICO_CONFIG")]
        config: Option<PathBuf>,
        /// Their email (their sign-in name).
        #[arg(long)]
        email: String,
        /// Platform staff: may do everything in every tenant.
        #[arg(long)]
        platform_admin: bool,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print a new random master key (`id:base64`) for PORTICO_MASTER_KEY or master_key_file.
    GenerateMasterKey {
        /// The key id (stored with every value it seals, so keys can rotate).
        #[arg(long, default_value = "k1")]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConnectionCommand {
    /// Log in, verify API access and compare a plugin's needs with what the connected user may
    /// do; prints exactly what is missing and exits non-zero if anything is.
    Check {
        #[command(flatten)]
        org: plugin::OrgArgs,
        /// The plugin whose manifest to check (without it, only login and API access).
        #[arg(long)]
        plugin: Option<PathBuf>,
    },
}

/// Entry point of the `portico` binary.
pub fn main() -> ExitCode {
    // `PORTICO_LOG` filters (default: warnings; `portico serve` logs info); `PORTICO_LOG_FORMAT=json`
    // writes one JSON object per line, with the span fields (job, tenant) on every event.
    let default = if std::env::args().nth(1).as_deref() == Some("serve") { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PORTICO_LOG").unwrap_or_else(|_| default.into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("PORTICO_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

fn fail(e: anyhow::Error) -> ExitCode {
    eprintln!("error: {e:#}");
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let cache_dir = if cli.no_cache { None } else { cli.cache_dir.or_else(default_cache_dir) };
    match cli.command {
        Command::Plugin(cmd) => plugin::run(cmd, cache_dir).await,
        #[cfg(feature = "dev")]
        Command::Demo => dev::demo(cache_dir).await,
        #[cfg(feature = "dev")]
        Command::Emulator { port, org_dir, https, latency_ms, daily_api_requests } => {
            emulator::run(port, org_dir, https, latency_ms, daily_api_requests).await
        }
        Command::Connection(ConnectionCommand::Check { org, plugin }) => {
            connection::check(org, plugin, cache_dir).await
        }
        Command::Serve { config } => serve::serve(config).await,
        Command::Admin(AdminCommand::CreateKey { config, label }) => serve::create_admin_key(config, label).await,
        Command::Admin(AdminCommand::CreateUser { config, email, platform_admin, password_stdin }) => {
            serve::create_user(config, email, platform_admin, password_stdin).await
        }
        Command::Admin(AdminCommand::GenerateMasterKey { id }) => Ok(serve::generate_master_key(&id)),
        #[cfg(feature = "dev")]
        Command::Dev { dir, port, once } => dev::dev(dir, port, cache_dir, once).await,
        Command::Send { file, dev_dir, url, tenant, secret, key } => {
            serve::send(file, dev_dir, url, tenant, secret, key).await
        }
    }
}

pub(crate) fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("portico").join("compiled"))
}

fn runtime(config: RuntimeConfig, cache_dir: Option<PathBuf>) -> anyhow::Result<Runtime> {
    Runtime::new(config, cache_dir)
}
