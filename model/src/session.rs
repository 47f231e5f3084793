//! One invocation's capabilities: every import call goes through here.
//!
//! A [`Session`] holds the tenant's grant, the plugin's config, the limits, the staged unit and
//! the logs of one invocation. Each call is counted, checked against the grant *before* any
//! I/O, then answered from the [`Crm`]. The wasm host and the guest SDK's fake host both drive
//! the same session, so a plugin's native tests see exactly the errors the host would give.

use crate::crm::{Crm, CrmError, FailureClass, FindQuery};
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
    /// Salesforce round trips made so far (finds, describes the cache could not answer).
    pub salesforce_calls: u32,
    /// The last failure of the org, as the CRM classed it: the job layer retries by this, not
    /// by whatever the plugin made of the error it was handed.
    pub crm_failure: Option<(FailureClass, String)>,
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
            salesforce_calls: 0,
            crm_failure: None,
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

    /// Counts one Salesforce round trip, before it is made.
    fn count_round_trip(&mut self) -> Result<(), LimitExceeded> {
        self.salesforce_calls += 1;
        if self.salesforce_calls > self.limits.salesforce_calls {
            return Err(self.limits.exceeded(Limit::SalesforceCalls));
        }
        Ok(())
    }

    /// The plugin's error for a CRM failure; an org failure is remembered with its class.
    fn crm_error(&mut self, sobject: &str, e: CrmError) -> CallError {
        match e {
            CrmError::UnknownSobject(_) => HostError::object(ErrorKind::UnknownSobject, sobject, e.to_string()).into(),
            CrmError::Unavailable { class, ref message } => {
                self.crm_failure = Some((class, message.clone()));
                HostError::object(ErrorKind::Unavailable, sobject, e.to_string()).into()
            }
            CrmError::TooLarge { .. } => self.limits.exceeded(Limit::ResultBytes).into(),
        }
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

    async fn view(&mut self, crm: &dyn Crm, op: Operation, sobject: &str) -> Result<Arc<SObjectView>, CallError> {
        let (name, grant) = self.authorize(op, sobject)?;
        if let Some(v) = self.views.get(&name) {
            return Ok(v.clone());
        }
        let describe = match crm.cached_describe(&name) {
            Some(d) => d,
            None => {
                self.count_round_trip()?;
                match crm.describe(&name).await {
                    Ok(d) => d,
                    Err(e) => return Err(self.crm_error(&name, e)),
                }
            }
        };
        let view = Arc::new(SObjectView::new(describe, &grant));
        self.views.insert(name, view.clone());
        Ok(view)
    }

    /// `describe.sobject`.
    pub async fn describe(&mut self, crm: &dyn Crm, sobject: &str) -> Result<Arc<SObjectView>, CallError> {
        self.count_call()?;
        let view = self.view(crm, Operation::Describe, sobject).await?;
        if view.answer_bytes() > self.limits.result_bytes {
            return Err(self.limits.exceeded(Limit::ResultBytes).into());
        }
        Ok(view)
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
        if record.fields.len() > view.fields.len() {
            return Err(HostError::object(
                ErrorKind::InvalidArgument,
                &view.name,
                format!(
                    "the record sets {} fields; {} has only {} visible to this plugin",
                    record.fields.len(),
                    view.name,
                    view.fields.len()
                ),
            )
            .into());
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
        // The guest pays 8 bytes per list entry; the host would pay per entry and per record.
        if fields.len() > view.fields.len() {
            return Err(LimitExceeded { limit: Limit::FindFields, max: view.fields.len() as u64 }.into());
        }
        let mut wanted: Vec<String> = Vec::with_capacity(fields.len());
        for f in &fields {
            let name = &view.require_field(f, "reading")?.describe.name;
            if wanted.contains(name) {
                return Err(HostError::field(
                    ErrorKind::InvalidArgument,
                    &view.name,
                    name,
                    format!("find asks for {}.{name} twice", view.name),
                )
                .into());
            }
            wanted.push(name.clone());
        }
        // No record holds a text longer than its field: answer without asking the org.
        if let Value::Text(text) = &value
            && filter.describe.length > 0
            && text.chars().count() > filter.describe.length as usize
        {
            return Ok(Vec::new());
        }
        let oldest_first = view.describe.field("CreatedDate").is_some();
        let query = FindQuery {
            sobject: view.name.clone(),
            field: filter.describe.name.clone(),
            value,
            fields: wanted,
            limit,
            oldest_first,
            max_bytes: self.limits.result_bytes,
        };
        self.count_round_trip()?;
        let found = match crm.find(&query).await {
            Ok(found) => found,
            Err(e) => return Err(self.crm_error(&view.name, e)),
        };
        let bytes: u64 = found.iter().map(Found::answer_bytes).sum();
        if bytes > self.limits.result_bytes || found.len() > limit as usize {
            return Err(self.limits.exceeded(Limit::ResultBytes).into());
        }
        Ok(found)
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
        let mut message = message;
        crate::text::clip_owned(&mut message, crate::text::MAX_LOG_LINE_BYTES);
        self.logs.push(LogLine { level, message });
        Ok(())
    }

    /// Ends staging: checks required fields and returns the unit to commit.
    pub fn finish(&self) -> Result<&Unit, HostError> {
        self.unit.finish()?;
        Ok(&self.unit)
    }
}
