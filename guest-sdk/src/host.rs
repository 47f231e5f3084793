//! The capabilities a plugin receives: the [`Host`] trait.
//!
//! In a component the host answers these calls; in native tests [`crate::testing::FakeHost`]
//! does, with the same checks.

use portico_model::{Found, HostError, MappingError, NewRecord, RecordRef, SObjectInfo, Value};

/// Severity of a log message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Detail for plugin development.
    Debug,
    /// A normal event.
    Info,
    /// Something unexpected that did not stop the mapping.
    Warn,
    /// Something went wrong.
    Error,
}

/// What a plugin can do during `map`. Every call is checked against the tenant's grant.
pub trait Host {
    /// Describes an sObject: only fields granted to the plugin and visible to the integration
    /// user are listed.
    fn describe(&mut self, sobject: &str) -> Result<SObjectInfo, HostError>;

    /// The sObjects granted to the plugin.
    fn granted_sobjects(&mut self) -> Vec<String>;

    /// Stages a record to create; validated at once. Returns a handle other records can
    /// reference (`Value::RecordRef`).
    fn create(&mut self, record: NewRecord) -> Result<RecordRef, HostError>;

    /// Stages an upsert keyed by the external-id field `key_field` = `key`: creates the record
    /// or updates the existing one. Retrying the same booking never duplicates it.
    fn upsert(&mut self, record: NewRecord, key_field: &str, key: &str) -> Result<RecordRef, HostError>;

    /// Finds up to `limit` existing records of `sobject` whose `field` equals `value`,
    /// returning their ids and `fields`.
    fn find(
        &mut self,
        sobject: &str,
        field: &str,
        value: Value,
        fields: &[&str],
        limit: u32,
    ) -> Result<Vec<Found>, HostError>;

    /// A setting of the tenant's plugin configuration.
    fn config(&mut self, key: &str) -> Option<String>;

    /// Records a message with the job.
    fn log(&mut self, level: Level, message: &str);
}

impl dyn Host + '_ {
    /// The first record of `sobject` whose `field` equals `value`, if any.
    pub fn find_one(
        &mut self,
        sobject: &str,
        field: &str,
        value: impl Into<Value>,
        fields: &[&str],
    ) -> Result<Option<Found>, HostError> {
        Ok(self.find(sobject, field, value.into(), fields, 1)?.into_iter().next())
    }

    /// A setting, or `default` when the tenant has not set it.
    pub fn config_or(&mut self, key: &str, default: &str) -> String {
        self.config(key).unwrap_or_else(|| default.to_owned())
    }

    /// A setting the plugin cannot do without; a clear configuration error when missing.
    pub fn config_required(&mut self, key: &str) -> Result<String, MappingError> {
        self.config(key).ok_or_else(|| MappingError::Config(format!("setting `{key}` is not set")))
    }

    /// A setting parsed as `T`; a clear configuration error when it does not parse.
    pub fn config_parsed<T: std::str::FromStr>(&mut self, key: &str, default: T) -> Result<T, MappingError> {
        match self.config(key) {
            None => Ok(default),
            Some(text) => text.trim().parse().map_err(|_| {
                MappingError::Config(format!("setting `{key}` has the value `{text}`, which does not parse"))
            }),
        }
    }

    /// Logs at info level.
    pub fn info(&mut self, message: &str) {
        self.log(Level::Info, message);
    }

    /// Logs at warn level.
    pub fn warn(&mut self, message: &str) {
        self.log(Level::Warn, message);
    }
}
