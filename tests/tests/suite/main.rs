//! End-to-end tests: the real host running real components built from `plugins/` and
//! `tests/guests/`, against the recorded org in `tests/fixtures/salesforce/describe`.

mod clients;
mod console;
mod economy;
mod examples;
mod languages;
mod loading;
mod salesforce;
mod sandbox;
mod service;

use portico_host::{Call, Outcome, Plugin, Runtime, RuntimeConfig};
use portico_model::{Booking, Crm, Limits, LocalOrg};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// The repository root.
pub fn root() -> PathBuf {
    portico_plugins::repo_root()
}

/// The recorded org the examples run against.
pub fn org() -> Arc<LocalOrg> {
    static ORG: OnceLock<Arc<LocalOrg>> = OnceLock::new();
    ORG.get_or_init(|| {
        Arc::new(LocalOrg::load(&root().join("tests/fixtures/salesforce/describe")).expect("recorded org"))
    })
    .clone()
}

/// One runtime shared by the tests of this binary, like a server serving many tenants: every
/// adversarial test also proves the runtime keeps serving.
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        let config = RuntimeConfig {
            limits: Limits { memory_bytes: 32 << 20, ..Limits::default() },
            ..RuntimeConfig::default()
        };
        Runtime::new(config, Some(cache_dir())).expect("runtime")
    })
}

/// A compile cache shared by the runtimes of this test run.
pub fn cache_dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir")).path().to_owned()
}

/// A booking to feed any plugin.
pub fn sample_booking() -> Booking {
    let path = root().join("plugins/lead-event/samples/new-lead.booking.json");
    Booking::from_json(&std::fs::read_to_string(path).expect("sample")).expect("valid sample")
}

/// Runs `plugin` on `booking` with its full manifest granted.
pub async fn invoke(
    rt: &Runtime,
    plugin: &Plugin,
    booking: Booking,
    config: &[(&str, &str)],
    limits: Limits,
    crm: Arc<dyn Crm>,
) -> Outcome {
    let config: BTreeMap<String, String> = config.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let call =
        Call { booking, grant: Arc::new(plugin.manifest.objects.clone()), config: Arc::new(config), limits, crm };
    rt.invoke(plugin, call).await
}
