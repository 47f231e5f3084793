//! The console's pages on a tenant with 1,000,000 jobs, against the same pages on a tenant with
//! 1,000 (the baseline, measured in the same run): median and p99 per page, over loopback
//! HTTP with a signed-in session, on SQLite.
//!
//!     cargo bench -p portico-host --bench console
//!
//! `PORTICO_BENCH_JOBS` changes the big tenant's job count (default 1,000,000).

use portico_host::service::ops::{self, Principal};
use portico_host::service::secrets::KeyRing;
use portico_host::service::{self, AppState, ServeConfig};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";
const ROUNDS: usize = 200;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let big: i64 = std::env::var("PORTICO_BENCH_JOBS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("portico.db").display());
    let mut config =
        ServeConfig { listen: ([127, 0, 0, 1], 0).into(), database_url: url.clone(), ..ServeConfig::default() };
    config.workers.concurrency = 0;
    let state = AppState::new(config, KeyRing::parse(&KeyRing::generate("b1"))?).await?;
    let operator = Principal::operator();
    ops::accounts::create_user(&state, &operator, "owner@bench.example", PASSWORD, false)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    for (tenant, jobs) in [("small", 1_000), ("big", big)] {
        let new = ops::tenants::NewTenant { id: tenant.into(), name: tenant.into(), max_concurrency: None };
        ops::tenants::create(&state, &operator, new).await.map_err(|e| anyhow::anyhow!(e.message))?;
        ops::accounts::add_member(&state, &operator, tenant, "owner@bench.example", "tenant-owner")
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        let started = Instant::now();
        fill(&url, tenant, jobs).await?;
        eprintln!("{tenant}: {jobs} jobs inserted in {:.1} s", started.elapsed().as_secs_f64());
    }
    let running = service::start(state).await?;
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let signed = http
        .post(format!("{base}/sign-in"))
        .form(&[("email", "owner@bench.example"), ("password", PASSWORD), ("next", "/")])
        .send()
        .await?;
    let cookie = signed
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("no session cookie"))?
        .to_owned();

    let pages = [
        ("overview", "/t/{t}"),
        ("jobs", "/t/{t}/jobs"),
        ("jobs, live rows", "/t/{t}/jobs/rows"),
        ("jobs, failed", "/t/{t}/jobs?state=failed"),
        ("jobs, one booking", "/t/{t}/jobs?booking=bk_500"),
        ("jobs, before a date", "/t/{t}/jobs?until=2023-11-20"),
        ("jobs, older page", "/t/{t}/jobs?before=400"),
        ("a job", "/t/{t}/jobs/{job}"),
        ("audit trail", "/t/{t}/audit"),
        ("plugins", "/t/{t}/plugins"),
        ("team", "/t/{t}/team"),
        ("trust", "/t/{t}/trust"),
    ];
    println!("| page | 1,000 jobs: median / p99 | {big} jobs: median / p99 | ratio (median) |");
    println!("|---|---|---|---|");
    for (name, path) in pages {
        let mut results = Vec::new();
        for tenant in ["small", "big"] {
            // A job in the middle of the tenant's range.
            let job = if tenant == "small" { 500 } else { 1_000 + big / 2 };
            let url = format!("{base}{}", path.replace("{t}", tenant).replace("{job}", &job.to_string()));
            let mut times = Vec::with_capacity(ROUNDS);
            for _ in 0..ROUNDS {
                let started = Instant::now();
                let answer = http.get(&url).header("cookie", &cookie).send().await?;
                let status = answer.status();
                answer.bytes().await?;
                times.push(started.elapsed());
                anyhow::ensure!(status.is_success(), "{url}: {status}");
            }
            times.sort();
            results.push((times[ROUNDS / 2], times[ROUNDS * 99 / 100]));
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "| {name} | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.2} |",
            ms(results[0].0),
            ms(results[0].1),
            ms(results[1].0),
            ms(results[1].1),
            ms(results[1].0) / ms(results[0].0)
        );
    }
    running.shutdown().await?;
    Ok(())
}

/// `jobs` jobs for `tenant`, one a second from 2023-11-14 on: every 100th failed, the rest
/// succeeded, each with a small payload and a log line (as retention leaves recent ones).
async fn fill(url: &str, tenant: &str, jobs: i64) -> anyhow::Result<()> {
    let pool = sqlx::SqlitePool::connect(url).await?;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2) \
         INSERT INTO jobs (tenant_id, booking_id, kind, payload, state, attempts, run_after, error, logs, created_at, updated_at) \
         SELECT $1, 'bk_' || i, 'created', '{\"id\":\"bk_' || i || '\",\"title\":\"Intro call\"}', \
                CASE WHEN i % 100 = 0 THEN 'failed' ELSE 'succeeded' END, 1, 0, \
                CASE WHEN i % 100 = 0 THEN 'the plugin refused this booking' END, \
                '[{\"level\":\"info\",\"message\":\"mapped\"}]', 1700000000000 + i * 1000, 1700000000000 + i * 1000 FROM n",
    )
    .bind(tenant)
    .bind(jobs)
    .execute(&pool)
    .await?;
    pool.close().await;
    Ok(())
}
