//! Every example plugin, as a component in the host, against every one of its samples.

use super::{org, root, runtime};
use portico_host::Call;
use portico_model::Limits;
use std::sync::Arc;

#[tokio::test]
async fn every_example_matches_its_samples_in_the_host() {
    let rt = runtime();
    let mut failures = Vec::new();
    let mut ran = 0;
    for example in portico_plugins::EXAMPLES {
        let plugin = rt.load(example.wasm).unwrap_or_else(|e| panic!("{}: {e}", example.name));
        let dir = root().join(example.dir).join("samples");
        let config = portico_model::samples::config(&dir).unwrap();
        let samples = portico_model::samples::samples(&dir).unwrap();
        for checked in portico_host::samples::check(rt, &plugin, samples, org(), &config, &Limits::default()).await {
            ran += 1;
            if let Some(problem) = checked.mismatch {
                failures.push(format!("[{}] {}: {problem}", example.name, checked.sample.name));
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
