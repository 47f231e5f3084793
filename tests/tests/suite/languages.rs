//! Plugins in TypeScript and Python, built from `plugins-ts/` and `plugins-py/` with their pinned
//! toolchains (`guest-sdk-ts/build.mjs`, `guest-sdk-py/build.py`), packed as `portico plugin
//! pack` packs (`portico_host::pack`, in this process), and run in the host: `lead-event` and `configurable` ported to each, against the Rust
//! originals' samples (the same Composite requests), and each hostile plugin against its named
//! limits; and a port uploaded to the service commits a booking.
//!
//! The toolchains are `npm ci` in `guest-sdk-ts/` and a virtualenv in `target/py-venv` with
//! `guest-sdk-py/requirements.txt`; `.ci/run` installs both and sets
//! `PORTICO_REQUIRE_GUEST_TOOLCHAINS=1`, which turns a missing one into a failure.

use super::{org, python_with, required, root, runtime};
use portico_model::Limits;
use std::process::Command;

/// A language and how to build one of its plugins.
struct Language {
    name: &'static str,
    dir: &'static str,
    /// The build command, or why it cannot run here.
    build: fn() -> Result<Command, String>,
}

const LANGUAGES: [Language; 2] = [
    Language { name: "TypeScript", dir: "plugins-ts", build: typescript },
    Language { name: "Python", dir: "plugins-py", build: python },
];

fn typescript() -> Result<Command, String> {
    let sdk = root().join("guest-sdk-ts");
    if !sdk.join("node_modules/@bytecodealliance/componentize-js").exists() {
        return Err("run `npm ci` in guest-sdk-ts".into());
    }
    let mut cmd = Command::new("node");
    cmd.arg(sdk.join("build.mjs"));
    Ok(cmd)
}

fn python() -> Result<Command, String> {
    let python = python_with("PORTICO_PYTHON", "target/py-venv", "componentize_py", "guest-sdk-py/requirements.txt")?;
    let mut cmd = Command::new(python);
    cmd.arg(root().join("guest-sdk-py/build.py"));
    Ok(cmd)
}

/// Builds `plugin` of `lang` (the language's build without its last step, `portico plugin
/// pack`, which this process does); `None` (loudly) when the toolchain is missing and not
/// required.
fn build(lang: &Language, plugin: &str, out: &std::path::Path) -> Option<Vec<u8>> {
    let mut cmd = required(&format!("{} plugins", lang.name), (lang.build)())?;
    let output = cmd
        .arg(root().join(lang.dir).join(plugin))
        .arg("-o")
        .arg(out)
        .arg("--no-pack")
        .output()
        .expect("the build runs");
    assert!(
        output.status.success(),
        "building {} {plugin} failed:\n{}\n{}",
        lang.name,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // `portico plugin pack`'s work, in this process: no `portico` binary that could be stale.
    let bare = std::fs::read(out).expect("the built component");
    let manifest = std::fs::read_to_string(root().join(lang.dir).join(plugin).join("portico.toml")).unwrap();
    Some(portico_host::pack::pack(&bare, &manifest).expect("the manifest packs"))
}

/// Runs a built component against a samples folder; the mismatches, named.
async fn mismatches(wasm: &[u8], samples: &str) -> (usize, Vec<String>) {
    let rt = runtime();
    let plugin = rt.load(wasm).expect("the packed component loads");
    let dir = root().join(samples);
    let config = portico_model::samples::config(&dir).unwrap();
    let samples = portico_model::samples::samples(&dir).unwrap();
    let checked = portico_host::samples::check(rt, &plugin, samples, org(), &config, &Limits::default()).await;
    let failed =
        checked.iter().filter_map(|c| c.mismatch.as_ref().map(|m| format!("{}: {m}", c.sample.name))).collect();
    (checked.len(), failed)
}

#[tokio::test]
async fn typescript_and_python_ports_make_exactly_the_rust_plugins_requests() {
    let tmp = tempfile::tempdir().unwrap();
    for lang in &LANGUAGES {
        for (plugin, at_least) in [("lead-event", 6), ("configurable", 3)] {
            let out = tmp.path().join(format!("{}-{plugin}.wasm", lang.name));
            let Some(wasm) = build(lang, plugin, &out) else { continue };
            let (ran, failed) = mismatches(&wasm, &format!("plugins/{plugin}/samples")).await;
            assert!(failed.is_empty(), "{} {plugin}:\n{}", lang.name, failed.join("\n\n"));
            assert!(ran >= at_least, "{} {plugin} ran {ran} samples", lang.name);
            if plugin == "lead-event" {
                committed_by_the_service(lang, &wasm).await;
            }
        }
    }
}

#[tokio::test]
async fn hostile_typescript_and_python_plugins_stop_at_their_named_limits() {
    let tmp = tempfile::tempdir().unwrap();
    for lang in &LANGUAGES {
        let Some(wasm) = build(lang, "hostile", &tmp.path().join(format!("{}.wasm", lang.name))) else { continue };
        // Infinite loop, memory bomb, an exception's message, a flood of logs.
        let (ran, failed) = mismatches(&wasm, &format!("{}/hostile/samples", lang.dir)).await;
        assert!(failed.is_empty(), "{} hostile:\n{}", lang.name, failed.join("\n\n"));
        assert_eq!(ran, 4, "{} hostile", lang.name);
    }
}

/// Uploaded to the service like any plugin (approved, activated), a port commits a booking.
async fn committed_by_the_service(lang: &Language, wasm: &[u8]) {
    use super::service::{booking_with_id, emulator, sqlite_service};
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let (secret, key) = service.admin.create_tenant("acme", "Acme").await.unwrap();
    let api = service.admin.with_key(&key);
    api.install("acme", wasm).await.unwrap();
    api.connect(
        "acme",
        &org.base_url,
        portico_emulator::credentials::CLIENT_ID,
        portico_emulator::credentials::CLIENT_SECRET,
    )
    .await
    .unwrap();
    let accepted = api.send_booking("acme", &secret, &booking_with_id("bk-port")).await.unwrap().ok().unwrap();
    let job = accepted["job_id"].as_i64().unwrap();
    let done = api.wait_for_job("acme", job, std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!(done["state"], "succeeded", "{} lead-event in the service: {done}", lang.name);
    let events = org.org.records("Event").into_iter().filter(|e| e["Booking_Id__c"] == "bk-port").count();
    assert_eq!(events, 1, "{}: the Event is in the org", lang.name);
    service.running.shutdown().await.unwrap();
}

/// The TypeScript SDK's own tests (`guest-sdk-ts/test`, under Node): its helpers give what the
/// Rust SDK's give.
#[test]
fn the_typescript_sdk_passes_its_own_tests() {
    let Some(_) = required("the TypeScript SDK's tests", typescript()) else { return };
    let run = Command::new("node").arg(root().join("guest-sdk-ts/test/run.mjs")).output().unwrap();
    assert!(
        run.status.success(),
        "node guest-sdk-ts/test/run.mjs:\n{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// The Python toolchain's interpreter and its componentize-py, or why they are missing.
fn python_toolchain() -> Result<(std::path::PathBuf, std::path::PathBuf), String> {
    python_with("PORTICO_PYTHON", "target/py-venv", "mypy", "guest-sdk-py/requirements.txt").and_then(|python| {
        let bin = python.parent().map(|p| p.join("componentize-py")).filter(|p| p.exists());
        bin.map(|componentize| (python, componentize)).ok_or_else(|| "no componentize-py beside it".to_owned())
    })
}

/// The Python bindings componentize-py generates from the WIT contract, written to `dir`.
fn python_bindings(componentize: &std::path::Path, dir: &std::path::Path) -> std::path::PathBuf {
    let bindings = dir.join("bindings");
    let generated = Command::new(componentize)
        .args(["-d", root().join("wit").to_str().unwrap(), "-w", "mapper", "bindings"])
        .arg(&bindings)
        .output()
        .unwrap();
    assert!(generated.status.success(), "bindings: {}", String::from_utf8_lossy(&generated.stderr));
    bindings
}

/// The Python SDK's own tests (`guest-sdk-py/tests`, under CPython with the generated
/// bindings): its helpers give what the Rust SDK's give, and `mapper` turns every failure into
/// its mapping error.
#[test]
fn the_python_sdk_passes_its_own_tests() {
    let Some((python, componentize)) = required("the Python SDK's tests", python_toolchain()) else { return };
    let work = tempfile::tempdir().unwrap();
    let bindings = python_bindings(&componentize, work.path());
    let path = std::env::join_paths([bindings, root().join("guest-sdk-py")]).unwrap();
    let run = Command::new(&python)
        .args(["-m", "unittest", "discover", "-v", "-s"])
        .arg(root().join("guest-sdk-py/tests"))
        .env("PYTHONPATH", path)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "the Python SDK's tests:\n{}{report}", String::from_utf8_lossy(&run.stdout));
    assert!(report.contains("Ran ") && !report.contains("Ran 0 tests"), "no test ran:\n{report}");
}

/// The Python SDK, its tests and every Python plugin pass `mypy --strict` against the bindings
/// generated from the WIT contract, as the guide tells authors to check theirs.
#[test]
fn the_python_sdk_and_plugins_type_check_strictly() {
    let Some((python, componentize)) = required("type-checking the Python SDK", python_toolchain()) else { return };
    let work = tempfile::tempdir().unwrap();
    let bindings = python_bindings(&componentize, work.path());
    let mut targets = vec![root().join("guest-sdk-py/portico_plugin"), root().join("guest-sdk-py/tests")];
    for plugin in std::fs::read_dir(root().join("plugins-py")).unwrap() {
        let dir = plugin.unwrap().path();
        if dir.is_dir() {
            targets.push(dir.join("src/app.py"));
        }
    }
    assert!(targets.len() >= 5, "the SDK, its tests and the ports: {targets:?}");
    let path = std::env::join_paths([bindings, root().join("guest-sdk-py")]).unwrap();
    // One module named `app` per plugin: each is checked on its own.
    for target in &targets {
        let checked = Command::new(&python)
            .args(["-m", "mypy", "--strict", "--cache-dir"])
            .arg(work.path().join("cache"))
            .arg(target)
            .env("MYPYPATH", &path)
            .output()
            .unwrap();
        assert!(
            checked.status.success(),
            "mypy --strict {}:\n{}{}",
            target.display(),
            String::from_utf8_lossy(&checked.stdout),
            String::from_utf8_lossy(&checked.stderr)
        );
    }
}
