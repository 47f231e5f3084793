//! Sample bookings and what each must produce: the one convention every plugin language is
//! tested with (`portico plugin test`, the Rust SDK's `check_samples`, the host's own tests).
//!
//! A folder holds `<name>.booking.json` with either `<name>.expected.json` (the Composite
//! request body the host would send) or `<name>.expected-error.txt` (text the error must
//! contain), and optionally `config.json` (an object of strings: the tenant config for every
//! sample). Comparing never writes; only [`Sample::bless`] does.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// One sample booking and the files that say what it should produce.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Its name.
    pub name: String,
    /// `<name>.booking.json`.
    pub booking: PathBuf,
    /// `<name>.expected.json`.
    pub expected: PathBuf,
    /// `<name>.expected-error.txt`.
    pub expected_error: PathBuf,
}

/// The samples of a folder, sorted by name.
pub fn samples(dir: &Path) -> std::io::Result<Vec<Sample>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".booking.json")) else {
            continue;
        };
        let name = name.to_owned();
        out.push(Sample {
            booking: path.clone(),
            expected: dir.join(format!("{name}.expected.json")),
            expected_error: dir.join(format!("{name}.expected-error.txt")),
            name,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The tenant config of a samples folder: its `config.json`, or none.
pub fn config(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let path = dir.join("config.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            serde_json::from_str(&text).map_err(|e| format!("{} is not a JSON object of strings: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// How a sample's outcome differs from what its files say.
#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    /// An error was expected; the mapping failed with another one.
    OtherError {
        /// The text the error had to contain.
        want: String,
        /// The error it gave.
        got: String,
    },
    /// An error was expected; the mapping succeeded.
    Succeeded {
        /// The text the error had to contain.
        want: String,
    },
    /// The mapping failed where a request was expected.
    Failed(String),
    /// There is no expected file yet.
    NoExpected {
        /// The request the mapping produced.
        actual: Box<serde_json::Value>,
    },
    /// An expected file is unusable (not JSON, or an empty expected error).
    BadExpected(String),
    /// The Composite request differs from the expected one.
    Differs {
        /// The expected request.
        expected: Box<serde_json::Value>,
        /// The request the mapping produced.
        actual: Box<serde_json::Value>,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
        match self {
            Mismatch::OtherError { want, got } => write!(f, "expected an error containing `{want}`, got: {got}"),
            Mismatch::Succeeded { want } => {
                write!(f, "expected an error containing `{want}`, but the mapping succeeded")
            }
            Mismatch::Failed(e) => write!(f, "mapping failed: {e}"),
            Mismatch::NoExpected { actual } => {
                write!(f, "no expected file (bless the samples to write it); actual:\n{}", pretty(actual))
            }
            Mismatch::BadExpected(e) => write!(f, "the expected file is unusable: {e}"),
            Mismatch::Differs { expected, actual } => write!(
                f,
                "the Composite request differs.\nexpected:\n{}\nactual:\n{}",
                pretty(expected),
                pretty(actual)
            ),
        }
    }
}

impl Sample {
    /// The booking's text.
    pub fn booking_text(&self) -> std::io::Result<String> {
        std::fs::read_to_string(&self.booking)
    }

    /// Compares an outcome (and the Composite request, on success) with the expected files;
    /// never writes them.
    pub fn compare(&self, outcome: Result<(), String>, request: &serde_json::Value) -> Result<(), Mismatch> {
        if let Ok(want) = std::fs::read_to_string(&self.expected_error) {
            let want = want.trim().to_owned();
            if want.is_empty() {
                return Err(Mismatch::BadExpected(format!(
                    "{} is empty: it must hold text the error contains",
                    self.expected_error.display()
                )));
            }
            return match outcome {
                Err(got) if got.contains(&want) => Ok(()),
                Err(got) => Err(Mismatch::OtherError { want, got }),
                Ok(()) => Err(Mismatch::Succeeded { want }),
            };
        }
        if let Err(e) = outcome {
            return Err(Mismatch::Failed(e));
        }
        let Ok(text) = std::fs::read_to_string(&self.expected) else {
            return Err(Mismatch::NoExpected { actual: Box::new(request.clone()) });
        };
        let expected: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Mismatch::BadExpected(e.to_string()))?;
        if &expected == request {
            Ok(())
        } else {
            Err(Mismatch::Differs { expected: Box::new(expected), actual: Box::new(request.clone()) })
        }
    }

    /// Whether blessing may write this sample's expected request: the mapping succeeded and
    /// the sample does not expect an error.
    pub fn blessable(&self, mismatch: &Mismatch) -> bool {
        matches!(mismatch, Mismatch::NoExpected { .. } | Mismatch::Differs { .. }) && !self.expected_error.exists()
    }

    /// Writes `request` as this sample's expected Composite request.
    pub fn bless(&self, request: &serde_json::Value) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(request).map_err(std::io::Error::other)?;
        std::fs::write(&self.expected, text + "\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Comparing fails on a difference and leaves the expected file as it was; only `bless`
    /// writes.
    #[test]
    fn compare_never_blesses() {
        let dir = std::env::temp_dir().join(format!("portico-compare-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("s.booking.json"), "{}").unwrap();
        std::fs::write(dir.join("s.expected.json"), "{\"a\": 1}\n").unwrap();
        std::fs::write(dir.join("notes.txt"), "not a sample").unwrap();
        let found = samples(&dir).unwrap();
        assert_eq!(found.len(), 1);
        let sample = &found[0];
        let err = sample.compare(Ok(()), &serde_json::json!({"a": 2})).unwrap_err();
        assert!(err.to_string().contains("differs"), "{err}");
        assert!(sample.blessable(&err));
        assert_eq!(std::fs::read_to_string(dir.join("s.expected.json")).unwrap(), "{\"a\": 1}\n");
        sample.bless(&serde_json::json!({"a": 2})).unwrap();
        assert!(sample.compare(Ok(()), &serde_json::json!({"a": 2})).is_ok());
        std::fs::write(dir.join("s.expected-error.txt"), "LastName\n").unwrap();
        let wrong = sample.compare(Err("Company is required".into()), &serde_json::Value::Null).unwrap_err();
        assert!(matches!(&wrong, Mismatch::OtherError { want, .. } if want == "LastName"));
        assert!(!sample.blessable(&wrong), "an expected error is never overwritten");
        assert!(sample.compare(Err("LastName is required".into()), &serde_json::Value::Null).is_ok());
        std::fs::write(dir.join("s.expected-error.txt"), " \n").unwrap();
        let empty = sample.compare(Err("anything".into()), &serde_json::Value::Null).unwrap_err();
        assert!(matches!(empty, Mismatch::BadExpected(_)), "an empty expected error accepts nothing");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
