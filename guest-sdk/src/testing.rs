//! The fake host for native plugin tests: `cargo test`, no Wasm, no org.
//!
//! [`FakeHost`] drives the same [`Session`] the Portico host uses — grant checks, the filtered
//! describe, staging validation, limits — against a recorded org folder (describe files and
//! optional records; see [`LocalOrg`]). After `run`, inspect the Composite request the host
//! would send, the staged records and the logs.

use crate::Mapper;
use crate::host::{Host, Level};
use portico_model::session::{CallError, LogLevel, LogLine, Session};
use portico_model::staging::Unit;
use portico_model::{
    Booking, Found, HostError, Limits, LocalOrg, Manifest, MappingError, NewRecord, RecordRef, SObjectInfo, Value,
};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

pub use portico_model::LocalOrg as RecordedOrg;

/// An in-memory host for running a [`Mapper`] natively.
#[derive(Debug)]
pub struct FakeHost {
    manifest: Manifest,
    org: LocalOrg,
    config: BTreeMap<String, String>,
    limits: Limits,
    session: Session,
}

/// The `LocalOrg` futures never wait; poll once.
fn now<F: Future>(f: F) -> F::Output {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("a recorded org answers at once"),
    }
}

impl FakeHost {
    /// A host granting everything the manifest asks for, over the recorded org in `org_dir`.
    ///
    /// Panics with the reason when the manifest or the folder is invalid (this is for tests).
    pub fn new(manifest: &str, org_dir: impl AsRef<Path>) -> FakeHost {
        let manifest = Manifest::from_toml(manifest).unwrap_or_else(|e| panic!("{e}"));
        let org = LocalOrg::load(org_dir.as_ref()).unwrap_or_else(|e| panic!("{e}"));
        let mut host =
            FakeHost { manifest, org, config: BTreeMap::new(), limits: Limits::default(), session: empty_session() };
        host.reset();
        host
    }

    /// Sets a config value (as the tenant admin would).
    pub fn config(mut self, key: &str, value: &str) -> FakeHost {
        self.config.insert(key.to_owned(), value.to_owned());
        self.reset();
        self
    }

    /// Sets config values from a JSON object of strings.
    pub fn config_json(mut self, json: &str) -> FakeHost {
        let map: BTreeMap<String, String> = serde_json::from_str(json).unwrap_or_else(|e| panic!("config JSON: {e}"));
        self.config.extend(map);
        self.reset();
        self
    }

    /// Adds an existing record `find` can return (a JSON object with `Id`).
    pub fn record(mut self, sobject: &str, json: &str) -> FakeHost {
        let record = serde_json::from_str(json).unwrap_or_else(|e| panic!("record JSON: {e}"));
        self.org.add_record(sobject, record);
        self
    }

    /// Replaces the limits.
    pub fn limits(mut self, limits: Limits) -> FakeHost {
        self.limits = limits;
        self.reset();
        self
    }

    fn reset(&mut self) {
        let mut config = self.config.clone();
        for (key, spec) in &self.manifest.config {
            if let Some(default) = &spec.default {
                config.entry(key.clone()).or_insert_with(|| default.clone());
            }
        }
        self.session = Session::new(Arc::new(self.manifest.objects.clone()), Arc::new(config), self.limits.clone());
    }

    /// Runs the mapper on a booking as the host would, including the required-field check at
    /// the end. Each run starts from nothing staged.
    pub fn run<M: Mapper>(&mut self, booking: &Booking) -> Result<&Unit, MappingError> {
        self.reset();
        M::map(booking, self)?;
        self.session.finish().map_err(MappingError::Host)
    }

    /// Parses booking JSON and runs the mapper on it.
    pub fn run_json<M: Mapper>(&mut self, booking_json: &str) -> Result<&Unit, MappingError> {
        let booking = Booking::from_json(booking_json).unwrap_or_else(|e| panic!("{e}"));
        self.run::<M>(&booking)
    }

    /// The Composite API request body the host would send for what is staged.
    pub fn composite_request(&self) -> serde_json::Value {
        self.session.unit.composite_request()
    }

    /// What the last run logged.
    pub fn logs(&self) -> &[LogLine] {
        &self.session.logs
    }

    fn answer<T>(&self, r: Result<T, CallError>) -> Result<T, HostError> {
        match r {
            Ok(v) => Ok(v),
            Err(CallError::Refused(e)) => Err(e),
            Err(CallError::Limit(limit)) => panic!("the plugin hit a sandbox limit: {limit}"),
        }
    }
}

fn empty_session() -> Session {
    Session::new(Arc::default(), Arc::default(), Limits::default())
}

impl Host for FakeHost {
    fn describe(&mut self, sobject: &str) -> Result<SObjectInfo, HostError> {
        let r = now(self.session.describe(&self.org, sobject)).map(|v| v.info());
        self.answer(r)
    }

    fn granted_sobjects(&mut self) -> Vec<String> {
        let r = self.session.granted_sobjects();
        self.answer(r).unwrap_or_default()
    }

    fn create(&mut self, record: NewRecord) -> Result<RecordRef, HostError> {
        let r = now(self.session.create(&self.org, record));
        self.answer(r)
    }

    fn upsert(&mut self, record: NewRecord, key_field: &str, key: &str) -> Result<RecordRef, HostError> {
        let r = now(self.session.upsert(&self.org, record, key_field.to_owned(), key.to_owned()));
        self.answer(r)
    }

    fn find(
        &mut self,
        sobject: &str,
        field: &str,
        value: Value,
        fields: &[&str],
        limit: u32,
    ) -> Result<Vec<Found>, HostError> {
        let fields = fields.iter().map(|f| (*f).to_owned()).collect();
        let r = now(self.session.find(&self.org, sobject, field, value, fields, limit));
        self.answer(r)
    }

    fn config(&mut self, key: &str) -> Option<String> {
        let r = self.session.config(key);
        self.answer(r).ok().flatten()
    }

    fn log(&mut self, level: Level, message: &str) {
        let level = match level {
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        let r = self.session.log(level, message.to_owned());
        let _ = self.answer(r);
    }
}

/// Runs every sample in `samples_dir` through `M` natively and compares with the expected files.
///
/// A sample is `<name>.booking.json` with either `<name>.expected.json` (the Composite request
/// body the host would send) or `<name>.expected-error.txt` (text the error must contain).
/// `config.json` in the folder (an object of strings) is the tenant config for every sample.
/// With `PORTICO_BLESS=1` in the environment, missing or differing `expected.json` files are
/// (re)written from the actual output instead of failing — here only: the host's own sample
/// tests compare and never write, so a blessing run cannot make them pass. Returns the number
/// of samples run.
pub fn check_samples<M: Mapper>(samples_dir: impl AsRef<Path>, org_dir: impl AsRef<Path>) -> usize {
    let dir = samples_dir.as_ref();
    let mut host = FakeHost::new(M::MANIFEST, org_dir);
    if let Ok(config) = std::fs::read_to_string(dir.join("config.json")) {
        host = host.config_json(&config);
    }
    let bless = std::env::var_os("PORTICO_BLESS").is_some();
    let mut failures = Vec::new();
    let mut count = 0;
    for sample in samples(dir) {
        count += 1;
        let booking =
            std::fs::read_to_string(&sample.booking).unwrap_or_else(|e| panic!("{}: {e}", sample.booking.display()));
        let outcome = host.run_json::<M>(&booking).map(|_| ()).map_err(|e| e.to_string());
        let request = host.composite_request();
        match sample.compare(outcome.clone(), &request) {
            Ok(()) => {}
            Err(m) if bless && sample.blessable(&m) => {
                sample.bless(&request).unwrap_or_else(|e| panic!("{}: {e}", sample.expected.display()))
            }
            Err(problem) => failures.push(format!("{}: {problem}", sample.name)),
        }
    }
    assert!(failures.is_empty(), "{} of {count} samples failed:\n{}", failures.len(), failures.join("\n\n"));
    assert!(count > 0, "no <name>.booking.json samples in {}", dir.display());
    count
}

pub use portico_model::samples::{Mismatch, Sample};

/// The samples of a folder, sorted by name.
pub fn samples(dir: &Path) -> Vec<Sample> {
    portico_model::samples::samples(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}
