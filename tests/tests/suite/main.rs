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

/// A Python that can import `module`: `$env_var`, else `root/venv/bin/python`; or why not
/// (which requirements to install).
pub fn python_with(env_var: &str, venv: &str, module: &str, requirements: &str) -> Result<PathBuf, String> {
    let python = std::env::var_os(env_var).map(PathBuf::from).unwrap_or_else(|| root().join(venv).join("bin/python"));
    let has = std::process::Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if has { Ok(python) } else { Err(format!("{} has no {module} ({requirements})", python.display())) }
}

/// A tool the test needs, or `None` (said loudly) when it is missing and not required;
/// `PORTICO_REQUIRE_GUEST_TOOLCHAINS` (set by `.ci/run`) makes a missing one a failure.
pub fn required<T>(what: &str, tool: Result<T, String>) -> Option<T> {
    match tool {
        Ok(tool) => Some(tool),
        Err(why) if std::env::var_os("PORTICO_REQUIRE_GUEST_TOOLCHAINS").is_none() => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {what}: {why} ***\n");
            None
        }
        Err(why) => panic!("{what}: {why}"),
    }
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
