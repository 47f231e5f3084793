//! The `portico` command line. Parses arguments, then calls into the library.

mod connection;
mod emulator;
mod plugin;

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
    Demo,
    /// Work with a tenant's Salesforce connection.
    #[command(subcommand)]
    Connection(ConnectionCommand),
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
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("PORTICO_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
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
        Command::Demo => plugin::demo(cache_dir).await,
        Command::Emulator { port, org_dir, https } => emulator::run(port, org_dir, https).await,
        Command::Connection(ConnectionCommand::Check { org, plugin }) => {
            connection::check(org, plugin, cache_dir).await
        }
    }
}

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("portico").join("compiled"))
}

fn runtime(config: RuntimeConfig, cache_dir: Option<PathBuf>) -> anyhow::Result<Runtime> {
    Runtime::new(config, cache_dir)
}
