//! Staging: validating records as the plugin stages them, and the unit they form.
//!
//! Each staged record is checked at once against the plugin's view of describe, so the plugin
//! learns precisely what is wrong (unknown field, not createable, wrong type, too long,
//! restricted picklist, bad reference, malformed id). Required fields are checked when the unit
//! is finished. The finished unit becomes one Composite API request with `allOrNone: true`.

use crate::describe::FieldType;
use crate::error::{ErrorKind, HostError};
use crate::value::{FieldValue, NewRecord, RecordRef, Value, is_salesforce_id};
use crate::view::{FieldView, SObjectView};
use serde::Serialize;

/// The Salesforce REST API version requests are written for. Upserts that update answer
/// `200` with the record id from v46.0 on, so later records can reference them.
pub const API_VERSION: &str = "v62.0";

/// Characters escaped in a URL path segment: all but RFC 3986's unreserved ones.
const PATH_SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// How a staged record will be written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "method")]
pub enum WriteMode {
    /// `POST /sobjects/{T}`.
    Create,
    /// `PATCH /sobjects/{T}/{key_field}/{key}`.
    Upsert {
        /// The external-id field.
        key_field: String,
        /// Its value.
        key: String,
    },
}

/// A validated record waiting for commit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StagedRecord {
    /// The handle the plugin received.
    pub reference: RecordRef,
    /// Create or upsert.
    pub mode: WriteMode,
    /// The fields, with canonical names.
    pub fields: Vec<FieldValue>,
    /// Required fields not set (reported when the unit is finished).
    #[serde(skip)]
    missing_required: Vec<String>,
}

/// The records staged by one invocation, in staging order.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Unit {
    /// The staged records.
    pub records: Vec<StagedRecord>,
}

impl Unit {
    /// Validates and stages a record; returns its handle.
    pub fn stage(&mut self, view: &SObjectView, record: NewRecord, mode: WriteMode) -> Result<RecordRef, HostError> {
        let upsert = matches!(mode, WriteMode::Upsert { .. });
        let object = &view.name;
        if !view.createable {
            return Err(HostError::object(
                ErrorKind::NotCreateable,
                object,
                format!("the connected user cannot create {object} records"),
            ));
        }
        if upsert && !view.updateable {
            return Err(HostError::object(
                ErrorKind::NotCreateable,
                object,
                format!("the connected user cannot update {object} records, which an upsert may do"),
            ));
        }
        let mut fields = Vec::with_capacity(record.fields.len());
        for FieldValue { name, value } in record.fields {
            let field = view.require_field(&name, "writing")?;
            let canonical = &field.describe.name;
            if fields.iter().any(|f: &FieldValue| f.name == *canonical) {
                return Err(HostError::field(
                    ErrorKind::InvalidArgument,
                    object,
                    canonical,
                    format!("field {object}.{canonical} is given twice"),
                ));
            }
            if let WriteMode::Upsert { key_field, .. } = &mode
                && key_field.eq_ignore_ascii_case(canonical)
            {
                return Err(HostError::field(
                    ErrorKind::InvalidArgument,
                    object,
                    canonical,
                    format!("{object}.{canonical} is the upsert key; pass it as `key`, not as a field"),
                ));
            }
            check_writable(view, field, upsert)?;
            check_value(object, field, &value, self)?;
            fields.push(FieldValue { name: canonical.clone(), value });
        }
        let mode = match mode {
            WriteMode::Create => WriteMode::Create,
            WriteMode::Upsert { key_field, key } => {
                let field = view.require_field(&key_field, "writing (upsert key)")?;
                if !(field.describe.external_id || field.describe.id_lookup) {
                    return Err(HostError::field(
                        ErrorKind::InvalidArgument,
                        object,
                        &field.describe.name,
                        format!(
                            "{object}.{} is not an external id field and cannot key an upsert",
                            field.describe.name
                        ),
                    ));
                }
                check_writable(view, field, true)?;
                if key.is_empty() {
                    return Err(HostError::field(
                        ErrorKind::InvalidArgument,
                        object,
                        &field.describe.name,
                        "the upsert key is empty",
                    ));
                }
                check_value(object, field, &Value::Text(key.clone()), self).or_else(|e| {
                    // Numeric external ids arrive as text in the URL; accept numeric text.
                    if field.describe.field_type.is_number() && key.parse::<f64>().is_ok() { Ok(()) } else { Err(e) }
                })?;
                fields.push(FieldValue { name: field.describe.name.clone(), value: Value::Text(key.clone()) });
                WriteMode::Upsert { key_field: field.describe.name.clone(), key }
            }
        };
        let missing_required = view
            .describe
            .fields
            .iter()
            .filter(|f| f.required_on_create() && !fields.iter().any(|v| v.name == f.name))
            .map(|f| f.name.clone())
            .chain(object_rule_violations(object, &fields))
            .collect();
        if let WriteMode::Upsert { key_field, .. } = &mode {
            fields.retain(|f| f.name != *key_field);
        }
        let n = self.records.iter().filter(|r| r.reference.sobject == *object).count() + 1;
        let reference = RecordRef { reference_id: format!("{object}_{n}"), sobject: object.clone() };
        self.records.push(StagedRecord { reference: reference.clone(), mode, fields, missing_required });
        Ok(reference)
    }

    /// Checks what can only be checked once staging is over: required fields.
    pub fn finish(&self) -> Result<(), HostError> {
        for r in &self.records {
            if let Some(field) = r.missing_required.first() {
                let object = &r.reference.sobject;
                return Err(HostError::field(
                    ErrorKind::RequiredFieldMissing,
                    object,
                    field,
                    format!(
                        "{} ({object}) is missing required field{} {}",
                        r.reference.reference_id,
                        if r.missing_required.len() > 1 { "s" } else { "" },
                        r.missing_required.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The Composite API request that commits the unit atomically.
    pub fn composite_request(&self) -> serde_json::Value {
        let requests: Vec<serde_json::Value> = self
            .records
            .iter()
            .map(|r| {
                let object = &r.reference.sobject;
                let body: serde_json::Map<String, serde_json::Value> =
                    r.fields.iter().map(|f| (f.name.clone(), f.value.to_salesforce_json())).collect();
                let (method, url) = match &r.mode {
                    WriteMode::Create => ("POST", format!("/services/data/{API_VERSION}/sobjects/{object}")),
                    WriteMode::Upsert { key_field, key } => (
                        "PATCH",
                        format!(
                            "/services/data/{API_VERSION}/sobjects/{object}/{key_field}/{}",
                            percent_encoding::utf8_percent_encode(key, PATH_SEGMENT)
                        ),
                    ),
                };
                serde_json::json!({
                    "method": method,
                    "url": url,
                    "referenceId": r.reference.reference_id,
                    "body": body,
                })
            })
            .collect();
        serde_json::json!({ "allOrNone": true, "compositeRequest": requests })
    }
}

fn check_writable(view: &SObjectView, field: &FieldView, upsert: bool) -> Result<(), HostError> {
    let (object, name) = (&view.name, &field.describe.name);
    if !field.createable {
        let why = if field.describe.createable {
            format!("field {object}.{name} is not granted to this plugin for writing")
        } else {
            format!("field {object}.{name} cannot be set on create (it is read-only or system-maintained)")
        };
        let kind = if field.describe.createable { ErrorKind::NotGranted } else { ErrorKind::NotCreateable };
        return Err(HostError::field(kind, object, name, why));
    }
    if upsert && !field.updateable {
        return Err(HostError::field(
            ErrorKind::NotCreateable,
            object,
            name,
            format!("field {object}.{name} cannot be updated, which an upsert may do; use create"),
        ));
    }
    Ok(())
}

fn check_value(object: &str, field: &FieldView, value: &Value, unit: &Unit) -> Result<(), HostError> {
    let d = &field.describe;
    let name = &d.name;
    let wrong = || {
        HostError::field(
            ErrorKind::WrongType,
            object,
            name,
            format!(
                "field {object}.{name} is a {} field and does not take a {} value",
                format!("{:?}", d.field_type).to_lowercase(),
                value.type_name()
            ),
        )
    };
    let t = d.field_type;
    match value {
        Value::Null => {
            if !d.nillable {
                return Err(HostError::field(
                    ErrorKind::RequiredFieldMissing,
                    object,
                    name,
                    format!("field {object}.{name} cannot be null"),
                ));
            }
        }
        Value::Text(text) if t == FieldType::Reference || t == FieldType::Id => {
            if !is_salesforce_id(text) {
                return Err(HostError::field(
                    ErrorKind::MalformedId,
                    object,
                    name,
                    format!(
                        "`{}` is not a 15- or 18-character Salesforce id, as {object}.{name} needs",
                        crate::text::clip(text, crate::text::MAX_ECHO_BYTES)
                    ),
                ));
            }
        }
        Value::Text(text) if t.is_text() => {
            let len = text.chars().count();
            if d.length > 0 && len > d.length as usize {
                return Err(HostError::field(
                    ErrorKind::TooLong,
                    object,
                    name,
                    format!("field {object}.{name} holds at most {} characters; the value has {len}", d.length),
                ));
            }
            if d.restricted_picklist && matches!(t, FieldType::Picklist | FieldType::Multipicklist) {
                let parts: Vec<&str> =
                    if t == FieldType::Multipicklist { text.split(';').collect() } else { vec![text.as_str()] };
                for part in parts {
                    if !d.active_picklist_values().any(|v| v == part) {
                        let allowed: Vec<&str> = d.active_picklist_values().collect();
                        return Err(HostError::field(
                            ErrorKind::BadPicklistValue,
                            object,
                            name,
                            format!(
                                "`{}` is not an active value of {object}.{name} (allowed: {})",
                                crate::text::clip(part, crate::text::MAX_ECHO_BYTES),
                                allowed.join(", ")
                            ),
                        ));
                    }
                }
            }
        }
        Value::Text(_) => return Err(wrong()),
        Value::Number(n) => {
            if !t.is_number() {
                return Err(wrong());
            }
            if matches!(t, FieldType::Int | FieldType::Long) && n.fract() != 0.0 {
                return Err(HostError::field(
                    ErrorKind::WrongType,
                    object,
                    name,
                    format!("field {object}.{name} takes whole numbers; {n} is not"),
                ));
            }
            if !n.is_finite() {
                return Err(HostError::field(
                    ErrorKind::WrongType,
                    object,
                    name,
                    format!("{n} is not a number Salesforce can store"),
                ));
            }
        }
        Value::Boolean(_) if t == FieldType::Boolean => {}
        Value::Date(_) if t == FieldType::Date => {}
        Value::DateTime(_) if t == FieldType::Datetime => {}
        Value::Boolean(_) | Value::Date(_) | Value::DateTime(_) => return Err(wrong()),
        Value::RecordRef(r) => {
            if t != FieldType::Reference {
                return Err(wrong());
            }
            let Some(staged) = unit.records.iter().find(|s| s.reference.reference_id == r.reference_id) else {
                return Err(HostError::field(
                    ErrorKind::BadReference,
                    object,
                    name,
                    format!("`{}` names no record staged earlier in this invocation", r.reference_id),
                ));
            };
            let target = &staged.reference.sobject;
            if !d.reference_to.iter().any(|o| o.eq_ignore_ascii_case(target)) {
                return Err(HostError::field(
                    ErrorKind::BadReference,
                    object,
                    name,
                    format!(
                        "{object}.{name} can point at {}, not at {target} ({})",
                        d.reference_to.join(" or "),
                        r.reference_id
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Salesforce's cross-field rules that describe does not express.
fn object_rule_violations(object: &str, fields: &[FieldValue]) -> Vec<String> {
    let has = |n: &str| fields.iter().any(|f| f.name == n && f.value != Value::Null);
    if object != "Event" {
        return Vec::new();
    }
    let all_day = fields.iter().any(|f| f.name == "IsAllDayEvent" && f.value == Value::Boolean(true));
    let mut missing = Vec::new();
    if all_day {
        if !has("ActivityDate") && !has("StartDateTime") && !has("ActivityDateTime") {
            missing.push("ActivityDate".to_owned());
        }
    } else {
        if !has("StartDateTime") && !has("ActivityDateTime") {
            missing.push("StartDateTime".to_owned());
        }
        if !has("EndDateTime") && !has("DurationInMinutes") {
            missing.push("EndDateTime (or DurationInMinutes)".to_owned());
        }
    }
    missing
}
