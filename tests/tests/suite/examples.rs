//! Every example plugin, as a component in the host, against every one of its samples.

use super::{org, root, runtime};
use portico_host::Call;
use portico_model::{Booking, Limits};
use portico_sdk::testing::samples;
use std::collections::BTreeMap;
use std::sync::Arc;

#[tokio::test]
async fn every_example_matches_its_samples_in_the_host() {
    let rt = runtime();
    let mut failures = Vec::new();
    let mut ran = 0;
    for example in portico_plugins::EXAMPLES {
        let plugin = rt.load(example.wasm).unwrap_or_else(|e| panic!("{}: {e}", example.name));
        let dir = root().join(example.dir).join("samples");
        let config: BTreeMap<String, String> = std::fs::read_to_string(dir.join("config.json"))
            .map(|t| serde_json::from_str(&t).expect("config.json"))
            .unwrap_or_default();
        for sample in samples(&dir) {
            ran += 1;
            let booking = Booking::from_json(&std::fs::read_to_string(&sample.booking).unwrap()).unwrap();
            let call = Call {
                booking,
                grant: Arc::new(plugin.manifest.objects.clone()),
                config: Arc::new(config.clone()),
                limits: Limits::default(),
                crm: org(),
            };
            let outcome = rt.invoke(&plugin, call).await;
            let request = outcome.result.as_ref().map(|u| u.composite_request()).unwrap_or_default();
            let result = outcome.result.as_ref().map(|_| ()).map_err(|e| e.to_string());
            if let Err(problem) = sample.compare(result, &request) {
                failures.push(format!("[{}] {problem}", example.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(ran >= 10, "only {ran} samples ran");
}

#[tokio::test]
async fn a_narrower_grant_is_enforced_before_any_io() {
    let rt = runtime();
    let plugin = rt.load(portico_plugins::example("lead-event").unwrap().wasm).unwrap();
    let mut grant = plugin.manifest.objects.clone();
    grant.objects.get_mut("Lead").unwrap().write.remove("Phone");
    let call = Call {
        booking: super::sample_booking(),
        grant: Arc::new(grant),
        config: Arc::default(),
        limits: Limits::default(),
        crm: org(),
    };
    let outcome = rt.invoke(&plugin, call).await;
    let err = outcome.result.unwrap_err().to_string();
    assert!(err.contains("not-granted") && err.contains("Lead.Phone"), "{err}");
}
