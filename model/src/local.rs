//! A recorded org: describe responses and existing records read from a folder.
//!
//! Plugin authors test against it without any Salesforce org (`portico plugin run --describe`,
//! the guest SDK's fake host), and the runtime's tests use it behind the [`Crm`] trait.
//!
//! The folder holds `<Object>.describe.json` (a describe response body, e.g. a real capture),
//! optionally `<Object>.fields.json` (a JSON array of field entries merged into that describe:
//! an org's custom fields, or standard fields a trimmed capture lacks), and optionally `records.json` (`{"Contact": [{"Id": "003…",
//! "Email": "…"}]}`), the records `find` searches.

use crate::crm::{Crm, CrmError, FindQuery};
use crate::describe::{FieldDescribe, SObjectDescribe};
use crate::value::{FieldValue, Found, Value};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a recorded org could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not the JSON expected.
    #[error("{path} is not a valid {what}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What it should have been.
        what: &'static str,
        /// The cause.
        source: serde_json::Error,
    },
    /// The folder has no describe files.
    #[error("{0} holds no <Object>.describe.json files")]
    Empty(PathBuf),
}

/// A recorded org.
#[derive(Clone, Debug, Default)]
pub struct LocalOrg {
    describes: BTreeMap<String, Arc<SObjectDescribe>>,
    records: BTreeMap<String, Vec<serde_json::Map<String, serde_json::Value>>>,
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Io { path: path.to_owned(), source })
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path, what: &'static str) -> Result<T, LoadError> {
    serde_json::from_str(&read(path)?).map_err(|source| LoadError::Json { path: path.to_owned(), what, source })
}

impl LocalOrg {
    /// Loads a recorded org from a folder.
    pub fn load(dir: &Path) -> Result<LocalOrg, LoadError> {
        let mut org = LocalOrg::default();
        let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Io { path: dir.to_owned(), source })?;
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in &paths {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.ends_with(".describe.json") {
                org.add_describe(parse(path, "sObject describe response")?);
            }
        }
        for path in &paths {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if let Some(object) = name.strip_suffix(".fields.json") {
                let fields: Vec<FieldDescribe> = parse(path, "list of describe field entries")?;
                org.add_fields(object, fields);
            }
        }
        let records_path = dir.join("records.json");
        if records_path.exists() {
            org.records = parse(&records_path, "records file ({\"Object\": [records]})")?;
        }
        if org.describes.is_empty() {
            return Err(LoadError::Empty(dir.to_owned()));
        }
        Ok(org)
    }

    /// Adds or replaces an sObject's describe.
    pub fn add_describe(&mut self, describe: SObjectDescribe) {
        self.describes.insert(describe.name.to_ascii_lowercase(), Arc::new(describe));
    }

    /// Adds fields (an org's customisations) to a loaded describe; ignored when it is absent.
    pub fn add_fields(&mut self, sobject: &str, fields: Vec<FieldDescribe>) {
        if let Some(d) = self.describes.get_mut(&sobject.to_ascii_lowercase()) {
            let d = Arc::make_mut(d);
            d.fields.retain(|f| !fields.iter().any(|n| n.name.eq_ignore_ascii_case(&f.name)));
            d.fields.extend(fields.into_iter().map(Arc::new));
        }
    }

    /// Adds an existing record for `find` (a JSON object with at least `Id`).
    pub fn add_record(&mut self, sobject: &str, record: serde_json::Map<String, serde_json::Value>) {
        self.records.entry(sobject.to_owned()).or_default().push(record);
    }

    /// An sObject's describe, if the folder has it.
    pub fn describe_sync(&self, sobject: &str) -> Option<Arc<SObjectDescribe>> {
        self.describe_now(sobject).ok()
    }

    fn describe_now(&self, sobject: &str) -> Result<Arc<SObjectDescribe>, CrmError> {
        self.describes
            .get(&sobject.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| CrmError::UnknownSobject(sobject.to_owned()))
    }

    fn find_now(&self, q: &FindQuery) -> Vec<Found> {
        let Some((_, records)) = self.records.iter().find(|(k, _)| k.eq_ignore_ascii_case(&q.sobject)) else {
            return Vec::new();
        };
        let get = |r: &serde_json::Map<String, serde_json::Value>, f: &str| {
            r.iter().find(|(k, _)| k.eq_ignore_ascii_case(f)).map(|(_, v)| v.clone()).unwrap_or_default()
        };
        records
            .iter()
            .filter(|r| equals_soql(&Value::from_salesforce_json(&get(r, &q.field)), &q.value))
            .take(q.limit as usize)
            .map(|r| Found {
                id: get(r, "Id").as_str().unwrap_or_default().to_owned(),
                fields: q
                    .fields
                    .iter()
                    .map(|f| FieldValue { name: f.clone(), value: Value::from_salesforce_json(&get(r, f)) })
                    .collect(),
            })
            .collect()
    }
}

/// SOQL `=`: text compares case-insensitively; numbers by value; dates by their text form.
fn equals_soql(stored: &Value, wanted: &Value) -> bool {
    match (stored, wanted) {
        (Value::Text(a), Value::Text(b)) => a.eq_ignore_ascii_case(b),
        (Value::Number(a), Value::Number(b)) => a == b,
        (Value::Boolean(a), Value::Boolean(b)) => a == b,
        (Value::Text(a), Value::Date(d)) => *a == d.to_string(),
        (Value::Text(a), Value::DateTime(t)) => {
            crate::time::DateTime::parse_rfc3339(&a.replace("+0000", "Z")).is_ok_and(|s| s == *t)
        }
        (Value::Null, Value::Null) => true,
        _ => false,
    }
}

#[async_trait]
impl Crm for LocalOrg {
    async fn describe(&self, sobject: &str) -> Result<Arc<SObjectDescribe>, CrmError> {
        self.describe_now(sobject)
    }

    async fn sobjects(&self) -> Result<Vec<String>, CrmError> {
        Ok(self.describes.values().map(|d| d.name.clone()).collect())
    }

    async fn find(&self, query: &FindQuery) -> Result<Vec<Found>, CrmError> {
        Ok(self.find_now(query))
    }
}
