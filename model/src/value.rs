//! Field values and records as the host and the guest SDK both see them.
//!
//! These mirror the WIT `types` interface one to one; the host and the SDK convert their
//! generated bindings into these so that validation and the Composite request are written once.

use crate::time::{Date, DateTime};
use serde::{Deserialize, Serialize};

/// A handle to a record staged earlier in the same invocation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecordRef {
    /// The Composite API reference id, e.g. `Lead_1`.
    pub reference_id: String,
    /// The sObject of the staged record.
    pub sobject: String,
}

/// A value for one Salesforce field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "kebab-case")]
pub enum Value {
    /// Salesforce `null`.
    Null,
    /// Text; for reference fields a Salesforce id.
    Text(String),
    /// A number.
    Number(f64),
    /// A checkbox value.
    Boolean(bool),
    /// A calendar date.
    Date(Date),
    /// A point in time.
    DateTime(DateTime),
    /// A record staged earlier in this invocation.
    RecordRef(RecordRef),
}

impl Value {
    /// A short name of the value's type for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Text(_) => "text",
            Value::Number(_) => "number",
            Value::Boolean(_) => "boolean",
            Value::Date(_) => "date",
            Value::DateTime(_) => "date-time",
            Value::RecordRef(_) => "record-ref",
        }
    }

    /// The JSON Salesforce expects for this value in a request body.
    pub fn to_salesforce_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Text(s) => J::String(s.clone()),
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => J::from(*n as i64),
            Value::Number(n) => serde_json::Number::from_f64(*n).map_or(J::Null, J::Number),
            Value::Boolean(b) => J::Bool(*b),
            Value::Date(d) => J::String(d.to_string()),
            Value::DateTime(t) => J::String(t.to_salesforce()),
            Value::RecordRef(r) => J::String(format!("@{{{}.id}}", r.reference_id)),
        }
    }

    /// Reads a value Salesforce returned for a field (used for `find` results).
    pub fn from_salesforce_json(json: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match json {
            J::Null => Value::Null,
            J::Bool(b) => Value::Boolean(*b),
            J::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
            J::String(s) => Value::Text(s.clone()),
            other => Value::Text(other.to_string()),
        }
    }
}

/// One field of a record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldValue {
    /// The field's API name.
    pub name: String,
    /// Its value.
    pub value: Value,
}

/// A record a plugin wants to create or upsert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewRecord {
    /// The sObject's API name.
    pub sobject: String,
    /// The fields to set.
    pub fields: Vec<FieldValue>,
}

/// An existing record returned by `find`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Found {
    /// The 18-character Salesforce id.
    pub id: String,
    /// The requested fields, in the requested order.
    pub fields: Vec<FieldValue>,
}

impl Found {
    /// About how many bytes the plugin's copy of this record takes: its text plus a fixed cost
    /// per field (checked against the `result_bytes` limit).
    pub fn answer_bytes(&self) -> u64 {
        let value = |v: &Value| match v {
            Value::Text(t) => t.len() as u64,
            Value::RecordRef(r) => (r.reference_id.len() + r.sobject.len()) as u64,
            _ => 16,
        };
        16 + self.id.len() as u64 + self.fields.iter().map(|f| 16 + f.name.len() as u64 + value(&f.value)).sum::<u64>()
    }
}

/// Whether `s` looks like a Salesforce record id: 15 or 18 ASCII letters and digits.
pub fn is_salesforce_id(s: &str) -> bool {
    matches!(s.len(), 15 | 18) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl NewRecord {
    /// Starts a record of `sobject` with no fields.
    pub fn new(sobject: impl Into<String>) -> NewRecord {
        NewRecord { sobject: sobject.into(), fields: Vec::new() }
    }

    /// Sets a field.
    pub fn set(mut self, name: impl Into<String>, value: impl Into<Value>) -> NewRecord {
        self.fields.push(FieldValue { name: name.into(), value: value.into() });
        self
    }

    /// Sets a field when `value` is `Some`, leaves it out otherwise.
    pub fn set_some<V: Into<Value>>(self, name: impl Into<String>, value: Option<V>) -> NewRecord {
        match value {
            Some(v) => self.set(name, v),
            None => self,
        }
    }

    /// The value given for a field, if any.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name)).map(|f| &f.value)
    }
}

impl Found {
    /// The value of a returned field (`Value::Null` when absent).
    pub fn get(&self, name: &str) -> &Value {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name)).map_or(&Value::Null, |f| &f.value)
    }

    /// The text of a returned field, if it is text.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Number(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Number(v as f64)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Number(f64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Boolean(v)
    }
}
impl From<Date> for Value {
    fn from(v: Date) -> Value {
        Value::Date(v)
    }
}
impl From<DateTime> for Value {
    fn from(v: DateTime) -> Value {
        Value::DateTime(v)
    }
}
impl From<RecordRef> for Value {
    fn from(v: RecordRef) -> Value {
        Value::RecordRef(v)
    }
}
impl From<&RecordRef> for Value {
    fn from(v: &RecordRef) -> Value {
        Value::RecordRef(v.clone())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}
