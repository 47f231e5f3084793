//! The same mapping (`lead-event`) in Rust, TypeScript and Python, per booking: compile time,
//! component size, instantiate + map + drop (median and p99 of 300 runs after 20 warm-up runs),
//! the instantiation's share (median) and peak linear memory per instance, with each linear
//! memory reserving the default address space (explicit bounds checks) or 4 GiB (none). The
//! languages take turns run by run, so that the machine's slow moments fall on all of them
//! alike. Rust with the first setting is the baseline measured in the same run.
//!
//! Build the ports first (`node guest-sdk-ts/build.mjs plugins-ts/lead-event`, `python
//! guest-sdk-py/build.py plugins-py/lead-event`; see the guides), then:
//! `cargo bench -p portico-host --bench languages [-- [--default-only] [label=other.wasm]...]`
//! (`label=…` adds another build of `lead-event` to compare, e.g. with an SDK change).

use portico_host::{Call, Runtime, RuntimeConfig};
use portico_model::{Booking, LocalOrg};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RUNS: usize = 300;

fn main() {
    let root = portico_plugins::repo_root();
    let org = Arc::new(LocalOrg::load(&root.join("tests/fixtures/salesforce/describe")).unwrap());
    let booking = Booking::from_json(
        &std::fs::read_to_string(root.join("plugins/lead-event/samples/new-lead.booking.json")).unwrap(),
    )
    .unwrap();
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut ports: Vec<(String, Option<Vec<u8>>)> = vec![
        ("Rust".into(), Some(portico_plugins::example("lead-event").unwrap().wasm.to_vec())),
        ("TypeScript".into(), std::fs::read(root.join("target/plugins/ts/lead-event.wasm")).ok()),
        ("Python".into(), std::fs::read(root.join("target/plugins/py/lead-event.wasm")).ok()),
    ];
    // `label=path.wasm` arguments add other builds of the mapping (e.g. an SDK change) to the table;
    // `--default-only` measures only the service's default settings.
    let args: Vec<String> = std::env::args().skip(1).collect();
    for arg in &args {
        if let Some((label, path)) = arg.split_once('=') {
            let wasm = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
            ports.push((label.to_owned(), Some(wasm)));
        }
    }
    let settings: &[(u64, usize)] = if args.iter().any(|a| a == "--default-only") {
        &[(4 << 30, 4 << 20)]
    } else {
        &[(0, 4 << 20), (4 << 30, 4 << 20), (4 << 30, 16 << 20)]
    };
    println!(
        "| language | reserved per memory | kept resident | size | compile | median | p99 | of it instantiate (median) | vs Rust (median) | peak memory |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (language, wasm) in &ports {
        if wasm.is_none() {
            println!("| {language} | | not built (see the guide) | | | | | | | | |");
        }
    }
    let ports: Vec<(String, Vec<u8>)> = ports.into_iter().filter_map(|(l, w)| Some((l, w?))).collect();
    let mut baseline = None;
    for &(reservation, resident) in settings {
        // No disk cache: the compile is measured, as an upload pays it once.
        let config = RuntimeConfig {
            memory_reservation: reservation,
            memory_keep_resident: resident,
            ..RuntimeConfig::default()
        };
        let rt = Runtime::new(config, None).unwrap();
        let mut measured: Vec<Measured> = ports
            .iter()
            .map(|(language, wasm)| {
                let started = Instant::now();
                let plugin = rt.load(wasm).unwrap();
                let compile = started.elapsed();
                Measured {
                    grant: Arc::new(plugin.manifest.objects.clone()),
                    plugin,
                    compile,
                    times: Vec::with_capacity(RUNS),
                    instantiations: Vec::with_capacity(RUNS),
                    peak: 0,
                    language,
                }
            })
            .collect();
        let call = |m: &Measured| Call {
            booking: booking.clone(),
            grant: m.grant.clone(),
            config: Arc::default(),
            limits: rt.default_limits(),
            crm: org.clone(),
        };
        for m in &measured {
            for _ in 0..20 {
                let outcome = tokio.block_on(rt.invoke(&m.plugin, call(m)));
                assert_eq!(outcome.result.unwrap().records.len(), 2, "{} maps the booking", m.language);
            }
        }
        // Round by round, so that the machine's slower moments fall on every language alike.
        for _ in 0..RUNS {
            for m in &mut measured {
                let call = call(m);
                let started = Instant::now();
                let outcome = tokio.block_on(rt.invoke(&m.plugin, call));
                m.times.push(started.elapsed());
                assert!(outcome.result.is_ok());
                m.peak = m.peak.max(outcome.usage.peak_memory_bytes);
                m.instantiations.push(outcome.usage.instantiate);
            }
        }
        for (m, (_, wasm)) in measured.iter_mut().zip(&ports) {
            m.times.sort();
            m.instantiations.sort();
            let median = m.times[RUNS / 2];
            let p99 = m.times[RUNS * 99 / 100];
            let ratio = *baseline.get_or_insert(median);
            println!(
                "| {} | {} | {} MiB | {:.1} MB | {:.2} s | {:.3} ms | {:.3} ms | {:.3} ms | {:.1}× | {:.1} MiB |",
                m.language,
                if reservation == 0 { "64 MiB (checks)".to_owned() } else { format!("{} GiB", reservation >> 30) },
                resident >> 20,
                wasm.len() as f64 / 1e6,
                m.compile.as_secs_f64(),
                median.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                m.instantiations[RUNS / 2].as_secs_f64() * 1e3,
                median.as_secs_f64() / ratio.as_secs_f64(),
                m.peak as f64 / (1 << 20) as f64,
            );
        }
    }
}

/// One language's plugin and what was measured of it under one setting.
struct Measured<'a> {
    language: &'a str,
    plugin: Arc<portico_host::Plugin>,
    /// The grant each call gets: the plugin's manifest, made once.
    grant: Arc<portico_model::Grant>,
    compile: Duration,
    times: Vec<Duration>,
    instantiations: Vec<Duration>,
    peak: u64,
}
