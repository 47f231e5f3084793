//! The `portico` binary as a newcomer runs it.

use std::path::Path;
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

/// `portico plugin test <wasm> --samples <samples> --describe <the recorded org> <extra…>`.
fn plugin_test(wasm: &Path, samples: &Path, extra: &[&str]) -> (bool, String, String) {
    let org = portico_plugins::repo_root().join("tests/fixtures/salesforce/describe");
    let mut args = vec!["plugin", "test", wasm.to_str().unwrap(), "--samples", samples.to_str().unwrap()];
    args.extend(["--describe", org.to_str().unwrap()]);
    args.extend(extra);
    portico(&args)
}

/// `portico plugin pack <wasm> --manifest <manifest> -o <out>`.
fn plugin_pack(wasm: &Path, manifest: &Path, out: &Path) -> (bool, String, String) {
    let args = ["plugin", "pack", wasm.to_str().unwrap(), "--manifest", manifest.to_str().unwrap()];
    portico(&[&args[..], &["-o", out.to_str().unwrap()]].concat())
}

#[test]
fn plugin_test_passes_every_example_and_shows_a_diff_when_one_differs() {
    let root = portico_plugins::repo_root();
    for example in portico_plugins::EXAMPLES {
        let wasm = portico_plugins::wasm_path(&format!("portico_plugin_{}", example.name.replace('-', "_")));
        let (ok, stdout, stderr) = plugin_test(&wasm, &root.join(example.dir).join("samples"), &[]);
        assert!(ok, "{}: {stdout}{stderr}", example.name);
        assert!(stdout.contains(" 0 failed"), "{stdout}");
    }
    // A config that changes one field: those samples fail with a line diff and a non-zero exit.
    let wasm = portico_plugins::wasm_path("portico_plugin_lead_event");
    let samples = root.join("plugins/lead-event/samples");
    let (ok, stdout, _) = plugin_test(&wasm, &samples, &["--config", "lead_source=Partner"]);
    assert!(!ok, "{stdout}");
    assert!(stdout.contains("FAILED  new-lead"), "{stdout}");
    assert!(
        stdout.contains("-        \"LeadSource\": \"Web\"") && stdout.contains("+        \"LeadSource\": \"Partner\"")
    );
    assert!(stdout.contains("4 passed, 2 failed"), "{stdout}");

    // --bless writes what the plugin produces (never over an expected error).
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&samples).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        if !name.ends_with(".expected.json") {
            std::fs::copy(&path, dir.path().join(name)).unwrap();
        }
    }
    let (ok, stdout, stderr) = plugin_test(&wasm, dir.path(), &["--bless"]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("1 passed, 0 failed, 5 blessed"), "{stdout}");
    let written = std::fs::read_to_string(dir.path().join("new-lead.expected.json")).unwrap();
    assert_eq!(written, std::fs::read_to_string(samples.join("new-lead.expected.json")).unwrap());
}

#[test]
fn plugin_pack_embeds_a_manifest_that_the_host_then_reads() {
    let root = portico_plugins::repo_root();
    let dir = tempfile::tempdir().unwrap();
    // A Rust example already carries its manifest inside its module: packing refuses to guess.
    let wasm = portico_plugins::wasm_path("portico_plugin_lead_event");
    let out = dir.path().join("out.wasm");
    let (ok, _, stderr) = plugin_pack(&wasm, &root.join("plugins/lead-event/portico.toml"), &out);
    assert!(!ok && stderr.contains("already embedded"), "{stderr}");
    // A bad manifest is refused with the reason; nothing is written.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[plugin]\nname = \"x\"\n[objects.Lead]\noperations = [\"delete\"]\n").unwrap();
    let (ok, _, stderr) = plugin_pack(&wasm, &bad, &out);
    assert!(!ok && stderr.contains("manifest is not valid"), "{stderr}");
    assert!(!out.exists());
}
