//! Density: the service's resident memory per active tenant.
//!
//! ```text
//! cargo bench -p portico-host --bench density -- [--tenants 10000] [--concurrency 16] [--database sqlite|postgres://…]
//! ```
//!
//! Starts `portico emulator` and `portico serve` as child processes (see `stack`), reads the
//! service's resident memory (`VmRSS`) with no tenant (the baseline), then creates tenants
//! through the admin API — each created, `lead-event` uploaded, approved and activated,
//! connected to the emulated org — and sends each one booking, which must be committed. The
//! service's memory is read after every tenth of the tenants, once their bookings are done.

mod stack;

use portico_emulator::credentials::{CLIENT_ID, CLIENT_SECRET};
use serde_json::json;
use stack::{Settings, Stack, rss_bytes};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Args {
    tenants: usize,
    concurrency: usize,
    database: String,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let value = |name: &str| argv.iter().position(|x| x == name).and_then(|i| argv.get(i + 1)).cloned();
    Args {
        tenants: value("--tenants").map_or(10_000, |v| v.parse().expect("--tenants N")),
        concurrency: value("--concurrency").map_or(16, |v| v.parse().expect("--concurrency N")),
        database: value("--database").unwrap_or_else(|| "sqlite".into()),
    }
}

/// One tenant through the API, with one committed booking.
async fn tenant(stack: &Stack, wasm: &[u8], template: &serde_json::Value, i: usize) -> anyhow::Result<()> {
    let id = format!("dense-{i}");
    let (secret, key) = stack.admin.create_tenant(&id, &id).await?;
    let api = stack.admin.with_key(&key);
    api.install(&id, wasm).await?;
    api.connect(&id, &stack.org_url, CLIENT_ID, CLIENT_SECRET).await?;
    let mut booking = template.clone();
    booking["id"] = json!(format!("bk-dense-{i}"));
    let accepted = api.send_booking(&id, &secret, &serde_json::to_vec(&booking)?).await?.ok()?;
    let job = api.wait_for_job(&id, accepted["job_id"].as_i64().unwrap_or(0), Duration::from_secs(120)).await?;
    anyhow::ensure!(job["state"] == "succeeded", "tenant {id}'s booking: {job}");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args();
    let stack = Stack::start(Settings { latency_ms: 0, database: &args.database, workers: 64, extra: "" }).await?;
    let pid = stack.service.0.id();
    let wasm = portico_plugins::example("lead-event").expect("bundled").wasm.to_vec();
    let template: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        portico_plugins::repo_root().join("plugins/lead-event/samples/new-lead.booking.json"),
    )?)?;
    let baseline = rss_bytes(pid);
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!("tenants {} (concurrency {}), database {}", args.tenants, args.concurrency, args.database);
    println!("| tenants | service RSS | per tenant above the baseline | describes held | clients held | elapsed |");
    println!("|---|---|---|---|---|---|");
    println!("| 0 (baseline) | {:.1} MiB | | | | |", mib(baseline));
    let stack = Arc::new(stack);
    let (wasm, template) = (Arc::new(wasm), Arc::new(template));
    let started = Instant::now();
    let step = (args.tenants / 10).max(1);
    let mut done = 0;
    while done < args.tenants {
        let upto = (done + step).min(args.tenants);
        let next = Arc::new(AtomicUsize::new(done));
        let workers: Vec<_> = (0..args.concurrency)
            .map(|_| {
                let (stack, wasm, template, next) = (stack.clone(), wasm.clone(), template.clone(), next.clone());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= upto {
                            return anyhow::Ok(());
                        }
                        tenant(&stack, &wasm, &template, i).await?;
                    }
                })
            })
            .collect();
        for w in workers {
            w.await??;
        }
        done = upto;
        let rss = rss_bytes(pid);
        println!(
            "| {done} | {:.1} MiB | {:.1} KiB | {:.1} MiB ({:.0}) | {:.0} | {:.0} s |",
            mib(rss),
            rss.saturating_sub(baseline) as f64 / 1024.0 / done as f64,
            mib(stack.metric("portico_describe_cache_bytes").await? as u64),
            stack.metric("portico_describe_cache_entries").await?,
            stack.metric("portico_salesforce_clients").await?,
            started.elapsed().as_secs_f64(),
        );
    }
    let stack = Arc::into_inner(stack).expect("the workers are done");
    stack.finish().await
}
