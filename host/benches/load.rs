//! The load generator: sustained bookings per second from signed ingest to committed records.
//!
//! Runs `portico emulator` and `portico serve` as child processes (so the service's CPU is
//! measured on its own, from /proc), sets up tenants through the admin API, then posts signed
//! bookings from many concurrent connections and waits until every job is committed.
//!
//! ```text
//! cargo bench -p portico-host --bench load -- [--bookings 20000] [--concurrency 64]
//!     [--tenants 4] [--latency-ms 0] [--database sqlite|postgres://…] [--workers 64] [--new-attendees]
//!     [--plugin target/plugins/ts/lead-event.wasm] [--batch-wait-ms 10] [--no-sharing]
//!     [--find-cache-ms 5000] [--idle N] [--example configurable] [--keep-resident-mib 4]
//! ```
//!
//! `--example configurable` runs that bundled example with its sample config (a mapping with a
//! Lead found by email or created, an Event and a Task) on its `new-attendee` booking.
//!
//! `--idle N` measures the service at rest instead: N bookings sent one at a time, each
//! waited for, and the time from its job's creation to its commit (the job's own timestamps).
//!
//! `--plugin` runs a `lead-event` built in another language (its port gives the same requests)
//! instead of the bundled Rust one. The generator also reports the Salesforce API calls per
//! booking, from the service's `portico_salesforce_api_calls` counter.

mod stack;

use serde_json::{Value, json};
use stack::{Settings, Stack, cpu_seconds, rss_bytes};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Args {
    bookings: usize,
    concurrency: usize,
    tenants: usize,
    latency_ms: u64,
    database: String,
    workers: usize,
    /// Every booking from a new attendee: lead-event then creates a Lead each time (a unit with
    /// a create, which is noted before its commit).
    new_attendees: bool,
    /// The bundled example whose samples (booking, config) are used, and whose component runs
    /// unless `plugin` is given.
    example: String,
    /// A component to run instead of the bundled Rust one.
    plugin: Option<String>,
    /// `orgs.batch_wait_ms` (the service's default when absent).
    batch_wait_ms: Option<u64>,
    /// `orgs.share_requests = false`: every find and commit a request of its own (the baseline).
    no_sharing: bool,
    /// `orgs.find_cache_ms` (the service's default when absent).
    find_cache_ms: Option<u64>,
    /// Bookings sent one at a time instead of the backlog.
    idle: Option<usize>,
    /// `runtime.memory_keep_resident`, in MiB (the service's default when absent).
    keep_resident_mib: Option<usize>,
}

fn args() -> Args {
    let mut a = Args {
        bookings: 20_000,
        concurrency: 64,
        tenants: 4,
        latency_ms: 0,
        database: "sqlite".into(),
        workers: 64,
        new_attendees: false,
        example: "lead-event".into(),
        plugin: None,
        batch_wait_ms: None,
        no_sharing: false,
        find_cache_ms: None,
        idle: None,
        keep_resident_mib: None,
    };
    let argv: Vec<String> = std::env::args().collect();
    let value = |name: &str| argv.iter().position(|x| x == name).and_then(|i| argv.get(i + 1)).cloned();
    if let Some(v) = value("--bookings") {
        a.bookings = v.parse().expect("--bookings N");
    }
    if let Some(v) = value("--concurrency") {
        a.concurrency = v.parse().expect("--concurrency N");
    }
    if let Some(v) = value("--tenants") {
        a.tenants = v.parse().expect("--tenants N");
    }
    if let Some(v) = value("--latency-ms") {
        a.latency_ms = v.parse().expect("--latency-ms N");
    }
    if let Some(v) = value("--database") {
        a.database = v;
    }
    a.new_attendees = argv.iter().any(|x| x == "--new-attendees");
    a.plugin = value("--plugin");
    if let Some(v) = value("--example") {
        a.example = v;
    }
    a.batch_wait_ms = value("--batch-wait-ms").map(|v| v.parse().expect("--batch-wait-ms N"));
    a.no_sharing = argv.iter().any(|x| x == "--no-sharing");
    a.find_cache_ms = value("--find-cache-ms").map(|v| v.parse().expect("--find-cache-ms N"));
    a.idle = value("--idle").map(|v| v.parse().expect("--idle N"));
    a.keep_resident_mib = value("--keep-resident-mib").map(|v| v.parse().expect("--keep-resident-mib N"));
    if let Some(v) = value("--workers") {
        a.workers = v.parse().expect("--workers N");
    }
    a
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The service's Salesforce API calls, all tenants.
const CALLS: &str = "portico_salesforce_api_calls_total";
/// Finds the service answered from tenants' recent answers.
const FIND_HITS: &str = "portico_salesforce_find_cache_hits";

/// Milliseconds since the epoch of an API time (RFC 3339).
fn epoch_ms(time: &Value) -> anyhow::Result<i64> {
    let t = portico_model::DateTime::parse_rfc3339(time.as_str().unwrap_or_default())?;
    Ok(t.seconds * 1000 + i64::from(t.nanoseconds / 1_000_000))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args();
    // Appended to the service's `[runtime]` table: its settings first, then `[orgs]`.
    let mut extra = match args.keep_resident_mib {
        Some(mib) => format!("memory_keep_resident = {}\n", mib.checked_mul(1 << 20).expect("--keep-resident-mib N")),
        None => String::new(),
    };
    extra.push_str("[orgs]\n");
    if let Some(ms) = args.batch_wait_ms {
        extra.push_str(&format!("batch_wait_ms = {ms}\n"));
    }
    if args.no_sharing {
        extra.push_str("share_requests = false\n");
    }
    if let Some(ms) = args.find_cache_ms {
        extra.push_str(&format!("find_cache_ms = {ms}\n"));
    }
    let stack = Stack::start(Settings {
        latency_ms: args.latency_ms,
        database: &args.database,
        workers: args.workers,
        extra: &extra,
    })
    .await?;
    let (admin, org_url) = (&stack.admin, &stack.org_url);

    // Tenants, each with lead-event installed and connected to the org.
    use portico_emulator::credentials::{CLIENT_ID, CLIENT_SECRET};
    let wasm = match &args.plugin {
        // `cargo bench` runs in `host/`: a relative path is the repository's, as the usage shows.
        Some(path) => std::fs::read(portico_plugins::repo_root().join(path))
            .map_err(|e| anyhow::anyhow!("--plugin {path}: {e}"))?,
        None => portico_plugins::example(&args.example)
            .ok_or_else(|| anyhow::anyhow!("--example {}: no such bundled example", args.example))?
            .wasm
            .to_vec(),
    };
    let samples = portico_plugins::repo_root().join("plugins").join(&args.example).join("samples");
    let config: Option<Value> = match std::fs::read_to_string(samples.join("config.json")) {
        Ok(text) => Some(serde_json::from_str(&text)?),
        Err(_) => None,
    };
    let mut tenants = Vec::new();
    for i in 0..args.tenants {
        let id = format!("load-{i}");
        let (secret, key) = admin.create_tenant(&id, &id).await?;
        let api = admin.with_key(&key);
        api.install(&id, &wasm).await?;
        api.connect(&id, org_url, CLIENT_ID, CLIENT_SECRET).await?;
        if let Some(config) = &config {
            api.put(&format!("/v1/tenants/{id}/config"), config).await?.ok()?;
        }
        tenants.push((id, secret, api));
    }
    let booking = ["new-lead", "new-attendee"]
        .iter()
        .map(|name| samples.join(format!("{name}.booking.json")))
        .find(|path| path.exists())
        .ok_or_else(|| anyhow::anyhow!("{} has no new-lead or new-attendee booking", samples.display()))?;
    let template: Value = serde_json::from_str(&std::fs::read_to_string(booking)?)?;
    // Warm-up: one booking per tenant (compile cache, tokens, describes).
    for (id, secret, api) in &tenants {
        let mut b = template.clone();
        b["id"] = json!(format!("warm-{id}"));
        let accepted = api.send_booking(id, secret, &serde_json::to_vec(&b)?).await?.ok()?;
        let job = api.wait_for_job(id, accepted["job_id"].as_i64().unwrap_or(0), Duration::from_secs(60)).await?;
        anyhow::ensure!(job["state"] == "succeeded", "warm-up failed: {job}");
    }

    let calls0 = stack.metric(CALLS).await?;
    let hits0 = stack.metric(FIND_HITS).await?;
    if let Some(n) = args.idle {
        // At rest: one booking at a time, each committed before the next is sent.
        let (id, secret, api) = &tenants[0];
        let mut took = Vec::with_capacity(n);
        for k in 0..n {
            let mut b = template.clone();
            b["id"] = json!(format!("bk-idle-{k}"));
            if args.new_attendees {
                b["attendees"][0]["email"] = json!(format!("idle-{k}@attendee.example"));
            }
            let accepted = api.send_booking(id, secret, &serde_json::to_vec(&b)?).await?.ok()?;
            let job = api.wait_for_job(id, accepted["job_id"].as_i64().unwrap_or(0), Duration::from_secs(60)).await?;
            anyhow::ensure!(job["state"] == "succeeded", "an idle booking failed: {job}");
            took.push((epoch_ms(&job["updated_at"])? - epoch_ms(&job["created_at"])?) as f64);
        }
        took.sort_by(|a, b| a.total_cmp(b));
        let calls = stack.metric(CALLS).await? - calls0;
        println!("idle bookings            {n} (one at a time, tenant {id})");
        println!("emulated latency         {} ms", args.latency_ms);
        println!("requests shared          {}", if args.no_sharing { "no" } else { "yes" });
        println!(
            "job created → committed  p50 {:.0} ms  p99 {:.0} ms  (ms resolution)",
            percentile(&took, 0.5),
            percentile(&took, 0.99)
        );
        println!("Salesforce API calls     {calls:.0} ({:.3} per booking)", calls / n as f64);
        println!("finds from recent answers {:.0}", stack.metric(FIND_HITS).await? - hits0);
        return stack.finish().await;
    }

    let tenants = Arc::new(tenants);
    let next = Arc::new(AtomicUsize::new(0));
    let service_cpu0 = cpu_seconds(stack.service.0.id());
    let emulator_cpu0 = cpu_seconds(stack.emulator.0.id());
    let started = Instant::now();
    let mut senders = Vec::new();
    for _ in 0..args.concurrency {
        let (tenants, next, template, total) = (tenants.clone(), next.clone(), template.clone(), args.bookings);
        let new_attendees = args.new_attendees;
        senders.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut last = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let (id, secret, api) = &tenants[n % tenants.len()];
                let mut b = template.clone();
                b["id"] = json!(format!("bk-load-{n}"));
                if new_attendees {
                    b["attendees"][0]["email"] = json!(format!("load-{n}@attendee.example"));
                }
                let body = serde_json::to_vec(&b).expect("json");
                let t = Instant::now();
                let answer = api.send_booking(id, secret, &body).await.expect("send");
                latencies.push(t.elapsed().as_secs_f64());
                assert_eq!(answer.status, 202, "{}", answer.body);
                last.push(answer.body["job_id"].as_i64().expect("job id"));
            }
            (latencies, last)
        }));
    }
    let mut latencies = Vec::new();
    let mut jobs = Vec::new();
    for s in senders {
        let (l, j) = s.await?;
        latencies.extend(l);
        jobs.extend(j);
    }
    let ingested = started.elapsed();
    // Wait until the queue is empty (one scrape of the queue gauges per poll).
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let metrics = stack.metrics().await?;
        let gauge = |state: &str| stack::sum(&metrics, &format!("portico_queue_jobs{{state=\"{state}\"}}")) as i64;
        anyhow::ensure!(gauge("failed") == 0, "{} jobs failed", gauge("failed"));
        if gauge("pending") + gauge("running") == 0 {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "jobs unfinished after 10 minutes");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let done = started.elapsed();
    let calls = stack.metric(CALLS).await? - calls0;
    let service_cpu = cpu_seconds(stack.service.0.id()) - service_cpu0;
    let emulator_cpu = cpu_seconds(stack.emulator.0.id()) - emulator_cpu0;
    latencies.sort_by(|a, b| a.total_cmp(b));
    let n = args.bookings as f64;
    println!("bookings                 {}", args.bookings);
    println!("database                 {}", if args.database == "sqlite" { "sqlite" } else { "postgres" });
    println!("emulated latency         {} ms", args.latency_ms);
    println!("tenants / senders / workers {} / {} / {}", args.tenants, args.concurrency, args.workers);
    println!(
        "ingest phase             {:.2} s ({:.0} bookings/s accepted)",
        ingested.as_secs_f64(),
        n / ingested.as_secs_f64()
    );
    println!(
        "ingest → committed       {:.2} s  =>  {:.0} bookings/s sustained",
        done.as_secs_f64(),
        n / done.as_secs_f64()
    );
    println!(
        "ingest latency           p50 {:.2} ms  p99 {:.2} ms",
        percentile(&latencies, 0.5) * 1e3,
        percentile(&latencies, 0.99) * 1e3
    );
    println!(
        "requests shared          {}",
        if args.no_sharing {
            "no (each find and commit its own)".to_owned()
        } else {
            format!("yes, batch wait {}", args.batch_wait_ms.map_or("the default".to_owned(), |ms| format!("{ms} ms")))
        }
    );
    let bundled = format!("{} (Rust, bundled)", args.example);
    println!("plugin                   {}", args.plugin.as_deref().unwrap_or(&bundled));
    println!("Salesforce API calls     {calls:.0} ({:.3} per booking)", calls / n);
    println!("finds from recent answers {:.0}", stack.metric(FIND_HITS).await? - hits0);
    println!("service CPU per booking  {:.0} µs (emulator: {:.0} µs)", service_cpu / n * 1e6, emulator_cpu / n * 1e6);
    println!(
        "service memory at the end {:.0} MiB resident",
        rss_bytes(stack.service.0.id()) as f64 / f64::from(1 << 20)
    );
    stack.finish().await
}
