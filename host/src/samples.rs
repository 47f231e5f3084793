//! Running a plugin's samples in the real sandbox: what `portico plugin test` does for a plugin
//! in any language, and what the host's own tests do for the examples.

use crate::runtime::{Call, Plugin, Runtime};
use portico_model::samples::{Mismatch, Sample};
use portico_model::{Booking, Crm, Limits};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What one sample did.
#[derive(Debug)]
pub struct Checked {
    /// The sample.
    pub sample: Sample,
    /// The Composite request it produced (`null` when the mapping failed).
    pub request: serde_json::Value,
    /// How it differs from its expected files, if it does.
    pub mismatch: Option<Mismatch>,
}

/// Runs every sample in the sandbox, each on a fresh instance with the plugin's full requested
/// grant, `config` and `limits`, against `crm` (nothing is committed).
pub async fn check(
    rt: &Runtime,
    plugin: &Plugin,
    samples: Vec<Sample>,
    crm: Arc<dyn Crm>,
    config: &BTreeMap<String, String>,
    limits: &Limits,
) -> Vec<Checked> {
    let grant = Arc::new(plugin.manifest.objects.clone());
    let config = Arc::new(config.clone());
    let mut out = Vec::with_capacity(samples.len());
    for sample in samples {
        let booking = sample
            .booking_text()
            .map_err(|e| format!("reading {}: {e}", sample.booking.display()))
            .and_then(|text| Booking::from_json(&text).map_err(|e| format!("the booking is invalid: {e}")));
        let (result, request) = match booking {
            Err(e) => (Err(e), serde_json::Value::Null),
            Ok(booking) => {
                let call = Call {
                    booking,
                    grant: grant.clone(),
                    config: config.clone(),
                    limits: limits.clone(),
                    crm: crm.clone(),
                };
                let outcome = rt.invoke(plugin, call).await;
                let request = outcome.result.as_ref().map(|u| u.composite_request()).unwrap_or_default();
                (outcome.result.map(|_| ()).map_err(|e| e.to_string()), request)
            }
        };
        let mismatch = sample.compare(result, &request).err();
        out.push(Checked { sample, request, mismatch });
    }
    out
}

/// A readable line diff of two JSON values (pretty-printed), `-` expected and `+` actual, with
/// three lines of context.
pub fn diff(expected: &serde_json::Value, actual: &serde_json::Value) -> String {
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
    let (old, new) = (pretty(expected), pretty(actual));
    similar::TextDiff::from_lines(&old, &new).unified_diff().context_radius(3).header("expected", "actual").to_string()
}
