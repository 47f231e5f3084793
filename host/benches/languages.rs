//! The same mapping (`lead-event`) in Rust, TypeScript and Python, per booking: compile time,
//! component size, instantiate + map + drop (median and p99 of 300 runs after 20 warm-up runs),
//! the instantiation's share (median) and peak linear memory per instance, with each linear
//! memory reserving the default address space (explicit bounds checks) or 4 GiB (none). Rust
//! with the default is the baseline measured in the same run.
//!
//! Build the ports first (`node guest-sdk-ts/build.mjs plugins-ts/lead-event`, `python
//! guest-sdk-py/build.py plugins-py/lead-event`; see the guides), then:
//! `cargo bench -p portico-host --bench languages`

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
    let ports: [(&str, Option<Vec<u8>>); 3] = [
        ("Rust", Some(portico_plugins::example("lead-event").unwrap().wasm.to_vec())),
        ("TypeScript", std::fs::read(root.join("target/plugins/ts/lead-event.wasm")).ok()),
        ("Python", std::fs::read(root.join("target/plugins/py/lead-event.wasm")).ok()),
    ];
    println!(
        "| language | reserved per memory | kept resident | size | compile | median | p99 | of it instantiate (median) | vs Rust (median) | peak memory |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut baseline = None;
    for (language, wasm) in ports {
        let Some(wasm) = wasm else {
            println!("| {language} | | not built (see the guide) | | | | | | | | |");
            continue;
        };
        for (reservation, resident) in [(0u64, 4usize << 20), (4 << 30, 4 << 20), (4 << 30, 16 << 20)] {
            // No disk cache: the compile is measured, as an upload pays it once.
            let config = RuntimeConfig {
                memory_reservation: reservation,
                memory_keep_resident: resident,
                ..RuntimeConfig::default()
            };
            let rt = Runtime::new(config, None).unwrap();
            let started = Instant::now();
            let plugin = rt.load(&wasm).unwrap();
            let compile = started.elapsed();
            let grant = Arc::new(plugin.manifest.objects.clone());
            let call = || Call {
                booking: booking.clone(),
                grant: grant.clone(),
                config: Arc::default(),
                limits: rt.default_limits(),
                crm: org.clone(),
            };
            let mut peak = 0;
            for _ in 0..20 {
                let outcome = tokio.block_on(rt.invoke(&plugin, call()));
                assert_eq!(outcome.result.unwrap().records.len(), 2, "{language} maps the booking");
            }
            let mut instantiations = Vec::with_capacity(RUNS);
            let mut times: Vec<Duration> = (0..RUNS)
                .map(|_| {
                    let started = Instant::now();
                    let outcome = tokio.block_on(rt.invoke(&plugin, call()));
                    let took = started.elapsed();
                    assert!(outcome.result.is_ok());
                    peak = peak.max(outcome.usage.peak_memory_bytes);
                    instantiations.push(outcome.usage.instantiate);
                    took
                })
                .collect();
            times.sort();
            instantiations.sort();
            let median = times[RUNS / 2];
            let p99 = times[RUNS * 99 / 100];
            let ratio = *baseline.get_or_insert(median);
            println!(
                "| {language} | {} | {} MiB | {:.1} MB | {:.2} s | {:.3} ms | {:.3} ms | {:.3} ms | {:.1}× | {:.1} MiB |",
                if reservation == 0 { "64 MiB (checks)".to_owned() } else { format!("{} GiB", reservation >> 30) },
                resident >> 20,
                wasm.len() as f64 / 1e6,
                compile.as_secs_f64(),
                median.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                instantiations[RUNS / 2].as_secs_f64() * 1e3,
                median.as_secs_f64() / ratio.as_secs_f64(),
                peak as f64 / (1 << 20) as f64,
            );
        }
    }
}
