//! The emulator as widely used Salesforce client libraries see it: `simple-salesforce` (Python)
//! and `jsforce` (JavaScript) run their smoke suites (`tests/clients/`) against an emulator
//! served over https, as `portico emulator --https` serves it, trusting its certificate the way
//! each library is told to (`REQUESTS_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS`).
//!
//! The libraries are pinned: `tests/clients/requirements.txt` in a virtualenv at
//! `target/clients-venv`, and `jsforce` in `tests/package.json` (`npm ci` in `tests/`). `.ci/run`
//! installs both and sets `PORTICO_REQUIRE_GUEST_TOOLCHAINS=1`, which turns a missing one into a
//! failure; elsewhere a missing one skips its suite, loudly.

use super::{python_with, required, root};
use portico_emulator::credentials::{CLIENT_ID, CLIENT_SECRET};
use portico_emulator::{Emulator, Org};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long one suite may take (both finish in a few seconds).
const SUITE_DEADLINE: Duration = Duration::from_secs(240);

/// The suite's command, or why its library is not installed here.
type Suite = fn() -> Result<Command, String>;

fn simple_salesforce() -> Result<Command, String> {
    let python = python_with(
        "PORTICO_CLIENTS_PYTHON",
        "target/clients-venv",
        "simple_salesforce",
        "tests/clients/requirements.txt",
    )?;
    let mut cmd = Command::new(python);
    cmd.arg(root().join("tests/clients/simple_salesforce_suite.py"));
    Ok(cmd)
}

fn jsforce() -> Result<Command, String> {
    if !root().join("tests/node_modules/jsforce/package.json").exists() {
        return Err("no jsforce in tests/node_modules (run `npm ci` in tests/)".into());
    }
    let mut cmd = Command::new("node");
    cmd.arg(root().join("tests/clients/jsforce_suite.mjs")).current_dir(root().join("tests"));
    Ok(cmd)
}

/// Serves the recorded org over https and runs one suite against it; skips (loudly) when the
/// library is missing and not required.
async fn run(name: &str, suite: Suite) {
    let Some(mut cmd) = required(&format!("the {name} client suite"), suite()) else { return };
    let org = Org::load(&root().join("tests/fixtures/salesforce/describe")).expect("the recorded org");
    let emulator = Emulator::start_tls_on(org, SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("the emulator");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("emulator-ca.pem");
    std::fs::write(&ca, emulator.certificate_pem.as_deref().expect("a certificate")).unwrap();
    cmd.env("PORTICO_EMULATOR_URL", &emulator.base_url)
        .env("PORTICO_EMULATOR_CA", &ca)
        .env("PORTICO_CLIENT_ID", CLIENT_ID)
        .env("PORTICO_CLIENT_SECRET", CLIENT_SECRET)
        // requests prefers these to a session's own `verify`; node adds this to its roots.
        .env("REQUESTS_CA_BUNDLE", &ca)
        .env_remove("CURL_CA_BUNDLE")
        .env("NODE_EXTRA_CA_CERTS", &ca);
    let output = finish(cmd, name).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the {name} client suite failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("suite passed"), "the {name} client suite said:\n{stdout}\n{stderr}");
    assert!(emulator.org.api_calls() > 20, "the {name} suite reached the emulator");
}

/// Runs a command to its end, or kills it (by its id) at the deadline.
async fn finish(mut cmd: Command, name: &str) -> std::process::Output {
    let child =
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the suite starts");
    let pid = child.id();
    let waited =
        tokio::time::timeout(SUITE_DEADLINE, tokio::task::spawn_blocking(move || child.wait_with_output())).await;
    match waited {
        Ok(joined) => joined.expect("the waiting thread").expect("the suite's output"),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("the {name} client suite did not finish within {SUITE_DEADLINE:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_salesforce_passes_its_suite_against_the_emulator() {
    run("simple-salesforce (Python)", simple_salesforce).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsforce_passes_its_suite_against_the_emulator() {
    run("jsforce (JavaScript)", jsforce).await;
}
