//! Cost of one invocation of the `lead-event` example: fresh instance from the pooling
//! allocator, `map` with its host calls (two finds, a create, an upsert), staging validation,
//! and drop — with epoch interruption only, with fuel metering on top, and with pool slots reset
//! without `PAGEMAP_SCAN` (what `runtime.pagemap_scan = false`, or a kernel older than 6.7, pays).
//!
//! Run: `cargo bench -p portico-host --bench invoke`

use criterion::{Criterion, criterion_group, criterion_main};
use portico_host::{Call, Runtime, RuntimeConfig};
use portico_model::{Booking, LocalOrg};
use std::sync::Arc;

fn call(rt: &Runtime, grant: &Arc<portico_model::Grant>, org: &Arc<LocalOrg>, booking: &Booking) -> Call {
    Call {
        booking: booking.clone(),
        grant: grant.clone(),
        config: Arc::default(),
        limits: rt.default_limits(),
        crm: org.clone(),
    }
}

fn bench(c: &mut Criterion) {
    let root = portico_plugins::repo_root();
    let org = Arc::new(LocalOrg::load(&root.join("tests/fixtures/salesforce/describe")).unwrap());
    let booking = Booking::from_json(
        &std::fs::read_to_string(root.join("plugins/lead-event/samples/new-lead.booking.json")).unwrap(),
    )
    .unwrap();
    let wasm = portico_plugins::example("lead-event").unwrap().wasm;
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();

    let mut group = c.benchmark_group("lead-event");
    for (name, fuel, pagemap_scan) in
        [("invoke/epoch", false, true), ("invoke/epoch+fuel", true, true), ("invoke/epoch, no page scan", false, false)]
    {
        let rt = Runtime::new(RuntimeConfig { fuel, pagemap_scan, ..RuntimeConfig::default() }, None).unwrap();
        let plugin = rt.load(wasm).unwrap();
        let grant = Arc::new(plugin.manifest.objects.clone());
        let first = tokio.block_on(rt.invoke(&plugin, call(&rt, &grant, &org, &booking)));
        assert_eq!(first.result.unwrap().records.len(), 2, "the benchmark maps a real booking");
        group.bench_function(name, |b| {
            b.iter(|| {
                let outcome = tokio.block_on(rt.invoke(&plugin, call(&rt, &grant, &org, &booking)));
                assert!(outcome.result.is_ok());
                outcome
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
