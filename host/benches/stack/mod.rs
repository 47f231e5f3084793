//! What the service benchmarks share: `portico emulator` and `portico serve` started as child
//! processes (so each one's CPU and memory are read from /proc on their own), on SQLite or a
//! fresh PostgreSQL schema, with a platform admin client.

// Each benchmark binary compiles this module and uses a part of it.
#![allow(dead_code)]

use portico_host::service::client::PorticoClient;
use portico_host::service::secrets::KeyRing;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process that is killed when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Seconds of CPU (user + system) a process has used, from /proc.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields after the command: state is [0]; utime is field 14 of the line, [11] here.
    (ticks(11) + ticks(12)) / 100.0
}

/// A process's resident memory in bytes (`VmRSS`), from /proc.
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// The emulated org and the service, running.
pub struct Stack {
    pub emulator: Proc,
    pub service: Proc,
    /// The service's base URL.
    pub url: String,
    /// The emulated org's base URL.
    pub org_url: String,
    /// A platform admin.
    pub admin: PorticoClient,
    database: String,
    schema: Option<String>,
    _dir: tempfile::TempDir,
}

/// How to start the stack.
pub struct Settings<'a> {
    /// Emulated Salesforce latency.
    pub latency_ms: u64,
    /// `sqlite` or a PostgreSQL URL (a fresh schema is made in it).
    pub database: &'a str,
    /// Workers (and per-tenant share).
    pub workers: usize,
    /// More `portico.toml`, appended inside its `[runtime]` table (until the text opens another).
    pub extra: &'a str,
}

impl Stack {
    pub async fn start(s: Settings<'_>) -> anyhow::Result<Stack> {
        let exe = env!("CARGO_BIN_EXE_portico");
        let dir = tempfile::tempdir()?;
        let mut emulator = Proc(
            Command::new(exe)
                // An Enterprise-size allowance: a run spends more than a Developer Edition's
                // 15,000 calls, and the service would rightly pause near it.
                .args(["emulator", "--port", "0", "--latency-ms", &s.latency_ms.to_string()])
                .args(["--daily-api-requests", "10000000"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()?,
        );
        let mut lines = BufReader::new(emulator.0.stdout.take().expect("piped")).lines();
        let org_url = loop {
            let line = lines.next().expect("the emulator prints its URL")?;
            if let Some(rest) = line.strip_prefix("Salesforce emulator at ") {
                break rest.split_whitespace().next().expect("a URL").to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});

        let (database_url, schema) = if s.database == "sqlite" {
            (format!("sqlite://{}", dir.path().join("portico.db").display()), None)
        } else {
            let schema = format!("portico_bench_{}", std::process::id());
            let admin = sqlx::PgPool::connect(s.database).await?;
            sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin).await?;
            let sep = if s.database.contains('?') { '&' } else { '?' };
            (format!("{}{sep}options=-c%20search_path%3D{schema}", s.database), Some(schema))
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let config = dir.path().join("portico.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"{database_url}\"\ncache_dir = \"{}\"\n\
                 allow_hosts = [\"127.0.0.1\"]\n[workers]\nconcurrency = {w}\nper_tenant = {w}\npoll_ms = 50\n\
                 [runtime]\nmax_instances = {slots}\n{}",
                dir.path().join("cache").display(),
                s.extra,
                w = s.workers,
                slots = s.workers.max(64),
            ),
        )?;
        let key = KeyRing::generate("bench");
        let created = Command::new(exe)
            .args(["admin", "create-key", "--config"])
            .arg(&config)
            .env("PORTICO_MASTER_KEY", &key)
            .output()?;
        anyhow::ensure!(created.status.success(), "create-key: {}", String::from_utf8_lossy(&created.stderr));
        let admin_key = String::from_utf8(created.stdout)?.trim().to_owned();
        let service = Proc(
            Command::new(exe)
                .args(["serve", "--config"])
                .arg(&config)
                .env("PORTICO_MASTER_KEY", &key)
                .env("PORTICO_LOG", "error")
                .stdout(Stdio::null())
                .spawn()?,
        );
        let url = format!("http://127.0.0.1:{port}");
        let admin = PorticoClient::new(&url, Some(&admin_key));
        let deadline = Instant::now() + Duration::from_secs(60);
        while admin.get("/readyz").await.map(|a| a.status.as_u16()).unwrap_or(0) != 200 {
            anyhow::ensure!(Instant::now() < deadline, "the service did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Stack { emulator, service, url, org_url, admin, database: s.database.to_owned(), schema, _dir: dir })
    }

    /// The service's metrics (text exposition), for [`sum`].
    pub async fn metrics(&self) -> anyhow::Result<String> {
        Ok(reqwest::get(format!("{}/metrics", self.url)).await?.text().await?)
    }

    /// A counter or gauge of the service's metrics, summed over its series.
    pub async fn metric(&self, name: &str) -> anyhow::Result<f64> {
        Ok(sum(&self.metrics().await?, name))
    }
}

/// The series of `metrics` named `name` (a metric name, or a name with all its labels), summed.
pub fn sum(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.strip_prefix(name).is_some_and(|rest| rest.starts_with(['{', ' '])))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

impl Stack {
    /// Stops the service and drops the PostgreSQL schema, if one was made.
    pub async fn finish(self) -> anyhow::Result<()> {
        drop(self.service);
        if let Some(schema) = self.schema {
            let admin = sqlx::PgPool::connect(&self.database).await?;
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&admin).await?;
        }
        Ok(())
    }
}
