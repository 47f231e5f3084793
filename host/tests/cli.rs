//! The `portico` binary as a newcomer runs it.

use std::process::Command;

fn portico(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_portico")).arg("--no-cache").args(args).output().expect("run portico");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_demo_maps_and_commits_the_sample_bookings() {
    let (ok, stdout, stderr) = portico(&["demo"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.matches("Committed in one request:").count(), 2, "{stdout}");
    assert!(stdout.contains(r#""WhoId": "@{Lead_1.id}""#));
    assert!(stdout.contains("The emulated org now holds 2 Event(s)"));
}

#[test]
fn check_prints_the_permissions_and_refuses_non_components() {
    let wasm = portico_plugins::wasm_path("portico_plugin_followup_task");
    let (ok, stdout, _) = portico(&["plugin", "check", wasm.to_str().unwrap()]);
    assert!(ok);
    assert!(stdout.contains("System permission: API Enabled"));
    assert!(stdout.contains("Task.ActivityDate"));
    let (ok, _, stderr) = portico(&["plugin", "check", "Cargo.toml"]);
    assert!(!ok);
    assert!(stderr.contains("not a WebAssembly file"), "{stderr}");
}

#[test]
fn run_reports_a_plugin_error_and_exits_non_zero() {
    let wasm = portico_plugins::wasm_path("portico_plugin_lead_event");
    let root = portico_plugins::repo_root();
    let booking = root.join("plugins/lead-event/samples/no-attendees.booking.json");
    let org = root.join("tests/fixtures/salesforce/describe");
    let (ok, _, stderr) = portico(&[
        "plugin",
        "run",
        wasm.to_str().unwrap(),
        "--booking",
        booking.to_str().unwrap(),
        "--describe",
        org.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("the booking has no attendees"), "{stderr}");
}

#[test]
fn dev_serves_a_demo_tenant_and_commits_the_sample_booking() {
    let dir = tempfile::tempdir().unwrap();
    let dev_dir = dir.path().join("dev");
    let (ok, stdout, stderr) = portico(&["dev", "--once", "--port", "0", "--dir", dev_dir.to_str().unwrap()]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("plugin lead-event sha256:"), "{stdout}");
    assert!(stdout.contains("202 Accepted: job 1"), "{stdout}");
    assert!(stdout.contains("job 1 succeeded"), "{stdout}");
    assert!(stdout.contains("created Lead 00Q") && stdout.contains("created Event 00U"), "{stdout}");
    assert!(stdout.contains("cargo run -- send plugins/lead-event/samples/existing-contact.booking.json"));
    assert!(dev_dir.join("portico.db").exists() && dev_dir.join("demo-tenant.json").exists());
    // A second run reuses the folder: same tenant, a new job.
    let (ok, stdout, stderr) = portico(&["dev", "--once", "--port", "0", "--dir", dev_dir.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("job 2 succeeded"), "{stdout}");
}
