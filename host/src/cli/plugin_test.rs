//! `portico plugin test` and `portico plugin pack`: testing and packaging a plugin whatever
//! language built it.

use super::plugin::{load, read_limits, set_config};
use super::runtime;
use crate::runtime::RuntimeConfig;
use anyhow::{Context, bail};
use portico_model::LocalOrg;
use portico_model::samples::Mismatch;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// `portico plugin test`.
#[derive(Debug, clap::Args)]
pub(super) struct TestArgs {
    /// The component (.wasm).
    component: PathBuf,
    /// The samples folder: `<name>.booking.json` with `<name>.expected.json` or
    /// `<name>.expected-error.txt`, and an optional `config.json`.
    #[arg(long)]
    samples: PathBuf,
    /// A recorded org folder: <Object>.describe.json files, optional <Object>.fields.json and
    /// records.json (what `find` answers).
    #[arg(long)]
    describe: PathBuf,
    /// A tenant config value, `key=value`, over `config.json`; repeatable.
    #[arg(long = "config", value_name = "KEY=VALUE")]
    config: Vec<String>,
    /// Limits as TOML (keys as in `[limits]`), over the defaults.
    #[arg(long)]
    limits: Option<PathBuf>,
    /// Write `<name>.expected.json` for samples that succeed and differ or have none (never
    /// an expected error).
    #[arg(long)]
    bless: bool,
}

/// `portico plugin pack`.
#[derive(Debug, clap::Args)]
pub(super) struct PackArgs {
    /// The component (.wasm) a toolchain built.
    component: PathBuf,
    /// The manifest (TOML): objects, operations, fields and config keys.
    #[arg(long, default_value = "portico.toml")]
    manifest: PathBuf,
    /// Where to write the packed component (may be the input).
    #[arg(short = 'o', long)]
    out: PathBuf,
}

pub(super) async fn test(args: TestArgs, cache_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let limits = read_limits(args.limits.as_deref())?;
    let rt = runtime(RuntimeConfig { limits: limits.clone(), ..RuntimeConfig::default() }, cache_dir)?;
    let plugin = load(&rt, &args.component)?;
    let mut config = portico_model::samples::config(&args.samples).map_err(anyhow::Error::msg)?;
    set_config(&mut config, &args.config)?;
    let samples = portico_model::samples::samples(&args.samples)
        .with_context(|| format!("reading the samples in {}", args.samples.display()))?;
    if samples.is_empty() {
        bail!("no <name>.booking.json samples in {}", args.samples.display());
    }
    let org = Arc::new(LocalOrg::load(&args.describe)?);
    let m = &plugin.manifest.plugin;
    println!("{} {} ({}): {} samples", m.name, m.version, args.component.display(), samples.len());
    let checked = crate::samples::check(&rt, &plugin, samples, org, &config, &limits).await;
    let (mut failed, mut blessed) = (0, 0);
    for c in &checked {
        match &c.mismatch {
            None => println!("  ok      {}", c.sample.name),
            Some(mismatch) if args.bless && c.sample.blessable(mismatch) => {
                c.sample.bless(&c.request).with_context(|| format!("writing {}", c.sample.expected.display()))?;
                blessed += 1;
                println!("  blessed {} (wrote {})", c.sample.name, c.sample.expected.display());
            }
            Some(mismatch) => {
                failed += 1;
                println!("  FAILED  {}", c.sample.name);
                let detail = match mismatch {
                    Mismatch::Differs { expected, actual } => format!(
                        "the Composite request differs (- expected, + actual):\n{}",
                        crate::samples::diff(expected, actual)
                    ),
                    other => other.to_string(),
                };
                println!("          {}", detail.replace('\n', "\n          "));
            }
        }
    }
    let passed = checked.len() - failed - blessed;
    println!(
        "{passed} passed, {failed} failed{}",
        if blessed > 0 { format!(", {blessed} blessed") } else { String::new() }
    );
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub(super) fn pack(args: PackArgs, cache_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.component).with_context(|| format!("reading {}", args.component.display()))?;
    let manifest =
        std::fs::read_to_string(&args.manifest).with_context(|| format!("reading {}", args.manifest.display()))?;
    let packed = crate::pack::pack(&bytes, &manifest)?;
    // The whole check a service makes at upload: world, imports, limits, manifest, compiling.
    let rt = runtime(RuntimeConfig::default(), cache_dir)?;
    let plugin = rt.load(&packed).with_context(|| format!("{} would be refused", args.component.display()))?;
    std::fs::write(&args.out, &packed).with_context(|| format!("writing {}", args.out.display()))?;
    let m = &plugin.manifest.plugin;
    println!("Packed {} {} into {} ({} bytes, {})", m.name, m.version, args.out.display(), packed.len(), plugin.digest);
    Ok(ExitCode::SUCCESS)
}
