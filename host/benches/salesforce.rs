//! Salesforce cost per booking against the emulator on loopback: API calls per booking for each
//! example plugin (cold and warm describe cache), and the client's time to commit one booking.
//!
//! Run: `cargo bench -p portico-host --bench salesforce`

use criterion::Criterion;
use portico_emulator::credentials::{CLIENT_ID, CLIENT_SECRET};
use portico_emulator::{Emulator, Org};
use portico_host::salesforce::{Auth, Connection, SalesforceClient, Secret};
use portico_host::{Call, Runtime, RuntimeConfig};
use portico_model::Booking;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

fn client(emu: &Emulator) -> Arc<SalesforceClient> {
    let allow = vec![emu.base_url.trim_start_matches("http://").to_owned()];
    let auth = Auth::ClientCredentials { client_id: CLIENT_ID.into(), client_secret: Secret::new(CLIENT_SECRET) };
    Arc::new(SalesforceClient::new(Connection::new(&emu.base_url, &emu.base_url, auth, &allow).unwrap()).unwrap())
}

fn org(root: &Path) -> Org {
    Org::load(&root.join("tests/fixtures/salesforce/describe")).unwrap()
}

fn main() {
    let root = portico_plugins::repo_root();
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let rt = Runtime::new(RuntimeConfig::default(), None).unwrap();

    println!("API calls per booking (emulator on loopback; token requests not counted):");
    println!("{:<15} {:<42} {:>6} {:>6} {:>9} {:>9}", "plugin", "sample", "cold", "warm", "describe", "commits");
    for example in portico_plugins::EXAMPLES {
        let plugin = rt.load(example.wasm).unwrap();
        let samples = root.join(example.dir).join("samples");
        let config: BTreeMap<String, String> = std::fs::read_to_string(samples.join("config.json"))
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap_or_default();
        let mut names: Vec<_> = std::fs::read_dir(&samples)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".booking.json").map(str::to_owned))
            .filter(|n| !samples.join(format!("{n}.expected-error.txt")).exists())
            .collect();
        names.sort();
        let sample = &names[0];
        let booking =
            Booking::from_json(&std::fs::read_to_string(samples.join(format!("{sample}.booking.json"))).unwrap())
                .unwrap();
        tokio.block_on(async {
            let emu = Emulator::start(org(&root)).await.unwrap();
            let client = client(&emu);
            let mut counts = Vec::new();
            for _ in 0..2 {
                let before = (emu.org.api_calls(), emu.org.calls("describe"), emu.org.calls("composite"));
                let call = Call {
                    booking: booking.clone(),
                    grant: Arc::new(plugin.manifest.objects.clone()),
                    config: Arc::new(config.clone()),
                    limits: rt.default_limits(),
                    crm: client.clone(),
                };
                let unit = rt.invoke(&plugin, call).await.result.unwrap();
                client.commit(&unit).await.unwrap();
                counts.push((
                    emu.org.api_calls() - before.0,
                    emu.org.calls("describe") - before.1,
                    emu.org.calls("composite") - before.2,
                ));
            }
            println!(
                "{:<15} {:<42} {:>6} {:>6} {:>9} {:>9}",
                example.name,
                sample,
                counts[0].0,
                counts[1].0,
                format!("{}/{}", counts[0].1, counts[1].1),
                format!("{}/{}", counts[0].2, counts[1].2)
            );
        });
    }
    println!("(describe and commits: cold/warm; describes are cached for 15 minutes, then revalidated)\n");

    let mut c = Criterion::default().configure_from_args();
    let emu = tokio.block_on(Emulator::start(org(&root))).unwrap();
    let client = client(&emu);
    let plugin = rt.load(portico_plugins::example("lead-event").unwrap().wasm).unwrap();
    let booking = Booking::from_json(
        &std::fs::read_to_string(root.join("plugins/lead-event/samples/existing-contact.booking.json")).unwrap(),
    )
    .unwrap();
    let call = Call {
        booking,
        grant: Arc::new(plugin.manifest.objects.clone()),
        config: Arc::default(),
        limits: rt.default_limits(),
        crm: client.clone(),
    };
    let unit = tokio.block_on(rt.invoke(&plugin, call.clone())).result.unwrap();
    c.bench_function("salesforce/commit (one upsert, loopback emulator)", |b| {
        b.iter(|| tokio.block_on(client.commit(&unit)).unwrap())
    });
    c.bench_function("salesforce/map+commit lead-event (warm cache, loopback emulator)", |b| {
        b.iter(|| {
            let unit = tokio.block_on(rt.invoke(&plugin, call.clone())).result.unwrap();
            tokio.block_on(client.commit(&unit)).unwrap()
        })
    });
    c.final_summary();
}
