//! One invocation's capabilities: every import call goes through here.
//!
//! A [`Session`] holds the tenant's grant, the plugin's config, the limits, the staged unit and
//! the logs of one invocation. Each call is counted, checked against the grant *before* any
//! I/O, then answered from the [`Crm`]. The wasm host and the guest SDK's fake host both drive
//! the same session, so a plugin's native tests see exactly the errors the host would give.

use crate::crm::{Crm, CrmError, FindQuery};
use crate::error::{ErrorKind, HostError};
use crate::limits::{Limit, LimitExceeded, Limits};
use crate::manifest::{Grant, ObjectGrant, Operation};
use crate::staging::{Unit, WriteMode};
use crate::value::{Found, NewRecord, RecordRef, Value};
use crate::view::SObjectView;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Why a host call did not return a value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// Refused; the plugin receives the error and may handle it.
    #[error(transparent)]
    Refused(#[from] HostError),
    /// A limit was hit; the invocation stops.
    #[error(transparent)]
    Limit(#[from] LimitExceeded),
}

/// The severity of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// One log line kept with the job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Severity.
    pub level: LogLevel,
    /// The message.
    pub message: String,
}

/// The most records one `find` may return.
pub const MAX_FIND_LIMIT: u32 = 200;

/// The state of one invocation.
#[derive(Debug)]
pub struct Session {
    grant: Arc<Grant>,
    config: Arc<BTreeMap<String, String>>,
    limits: Limits,
    views: HashMap<String, Arc<SObjectView>>,
    /// The records staged so far.
    pub unit: Unit,
    /// The log lines so far.
    pub logs: Vec<LogLine>,
    log_bytes: u64,
    /// Host calls made so far.
    pub host_calls: u32,
}

impl Session {
    /// A fresh session for one invocation.
    pub fn new(grant: Arc<Grant>, config: Arc<BTreeMap<String, String>>, limits: Limits) -> Session {
        Session {
            grant,
            config,
            limits,
            views: HashMap::new(),
            unit: Unit::default(),
            logs: Vec::new(),
            log_bytes: 0,
            host_calls: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Bytes of log text recorded (counted against the log limit).
    pub fn log_bytes(&self) -> u64 {
        self.log_bytes
    }

    fn count_call(&mut self) -> Result<(), LimitExceeded> {
        self.host_calls += 1;
        if self.host_calls > self.limits.host_calls {
            return Err(self.limits.exceeded(Limit::HostCalls));
        }
        Ok(())
    }

    /// Counts bytes against the log limit (the host's stderr capture uses it too).
    pub fn charge_log_bytes(&mut self, bytes: u64) -> Result<(), LimitExceeded> {
        self.log_bytes += bytes;
        if self.log_bytes > self.limits.log_bytes {
            return Err(self.limits.exceeded(Limit::LogBytes));
        }
        Ok(())
    }

    fn authorize(&self, op: Operation, sobject: &str) -> Result<(String, ObjectGrant), HostError> {
        match self.grant.object(sobject) {
            Some((name, g)) if g.operations.contains(&op) => Ok((name.to_owned(), g.clone())),
            Some((name, _)) => Err(HostError::object(
                ErrorKind::NotGranted,
                name,
                format!("`{op}` on {name} is not granted to this plugin"),
            )),
            None => Err(HostError::object(
                ErrorKind::NotGranted,
                sobject,
                format!("sObject {sobject} is not granted to this plugin"),
            )),
        }
    }

    async fn view(&mut self, crm: &dyn Crm, op: Operation, sobject: &str) -> Result<Arc<SObjectView>, HostError> {
        let (name, grant) = self.authorize(op, sobject)?;
        if let Some(v) = self.views.get(&name) {
            return Ok(v.clone());
        }
        let describe = crm.describe(&name).await.map_err(|e| crm_error(&name, e))?;
        let view = Arc::new(SObjectView::new(describe, &grant));
        self.views.insert(name, view.clone());
        Ok(view)
    }

    /// `describe.sobject`.
    pub async fn describe(&mut self, crm: &dyn Crm, sobject: &str) -> Result<Arc<SObjectView>, CallError> {
        self.count_call()?;
        Ok(self.view(crm, Operation::Describe, sobject).await?)
    }

    /// `describe.granted-sobjects`.
    pub fn granted_sobjects(&mut self) -> Result<Vec<String>, CallError> {
        self.count_call()?;
        Ok(self.grant.objects.keys().cloned().collect())
    }

    /// `records.create`.
    pub async fn create(&mut self, crm: &dyn Crm, record: NewRecord) -> Result<RecordRef, CallError> {
        self.count_call()?;
        let view = self.view(crm, Operation::Create, &record.sobject).await?;
        self.stage(&view, record, WriteMode::Create)
    }

    /// `records.upsert`.
    pub async fn upsert(
        &mut self,
        crm: &dyn Crm,
        record: NewRecord,
        key_field: String,
        key: String,
    ) -> Result<RecordRef, CallError> {
        self.count_call()?;
        let view = self.view(crm, Operation::Upsert, &record.sobject).await?;
        self.stage(&view, record, WriteMode::Upsert { key_field, key })
    }

    fn stage(&mut self, view: &SObjectView, record: NewRecord, mode: WriteMode) -> Result<RecordRef, CallError> {
        if self.unit.records.len() >= self.limits.staged_records as usize {
            return Err(self.limits.exceeded(Limit::StagedRecords).into());
        }
        Ok(self.unit.stage(view, record, mode)?)
    }

    /// `records.find`.
    pub async fn find(
        &mut self,
        crm: &dyn Crm,
        sobject: &str,
        field: &str,
        value: Value,
        fields: Vec<String>,
        limit: u32,
    ) -> Result<Vec<Found>, CallError> {
        self.count_call()?;
        let view = self.view(crm, Operation::Find, sobject).await?;
        if limit == 0 || limit > MAX_FIND_LIMIT {
            return Err(HostError::invalid(format!("find limit must be 1 to {MAX_FIND_LIMIT}, not {limit}")).into());
        }
        if matches!(value, Value::RecordRef(_)) {
            return Err(HostError::invalid("find cannot compare with a record staged in this invocation").into());
        }
        let filter = view.require_field(field, "reading")?;
        if !filter.describe.filterable {
            return Err(HostError::field(
                ErrorKind::InvalidArgument,
                &view.name,
                &filter.describe.name,
                format!("{}.{} cannot be used to filter records", view.name, filter.describe.name),
            )
            .into());
        }
        let mut wanted = Vec::with_capacity(fields.len());
        for f in &fields {
            wanted.push(view.require_field(f, "reading")?.describe.name.clone());
        }
        let oldest_first = view.describe.field("CreatedDate").is_some();
        let query = FindQuery {
            sobject: view.name.clone(),
            field: filter.describe.name.clone(),
            value,
            fields: wanted,
            limit,
            oldest_first,
        };
        Ok(crm.find(&query).await.map_err(|e| crm_error(&view.name, e))?)
    }

    /// `config.get`: the tenant's value for `key`.
    pub fn config(&mut self, key: &str) -> Result<Option<String>, CallError> {
        self.count_call()?;
        Ok(self.config.get(key).cloned())
    }

    /// `log.log`.
    pub fn log(&mut self, level: LogLevel, message: String) -> Result<(), CallError> {
        self.count_call()?;
        self.charge_log_bytes(message.len() as u64)?;
        self.logs.push(LogLine { level, message });
        Ok(())
    }

    /// Ends staging: checks required fields and returns the unit to commit.
    pub fn finish(&self) -> Result<&Unit, HostError> {
        self.unit.finish()?;
        Ok(&self.unit)
    }
}

fn crm_error(sobject: &str, e: CrmError) -> HostError {
    match e {
        CrmError::UnknownSobject(_) => HostError::object(ErrorKind::UnknownSobject, sobject, e.to_string()),
        CrmError::Unavailable(_) => HostError::object(ErrorKind::Unavailable, sobject, e.to_string()),
    }
}
