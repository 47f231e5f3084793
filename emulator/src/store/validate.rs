//! The server-side validation Salesforce applies to writes: field existence and security,
//! types, lengths, restricted picklists, references, required fields.

use super::{Record, Store};
use crate::error::SfError;
use crate::profile::Profile;
use crate::schema::{ObjectSchema, Schema};
use portico_model::describe::{FieldDescribe, FieldType};
use portico_model::{Date, DateTime};
use serde_json::{Map, Value};

fn label(f: &FieldDescribe) -> &str {
    &f.label
}

impl Store {
    /// Checks each field of a body as Salesforce does; returns the record to store.
    pub(super) fn validate(
        &self,
        schema: &Schema,
        profile: &Profile,
        o: &ObjectSchema,
        body: &Map<String, Value>,
        create: bool,
    ) -> Result<Record, Vec<SfError>> {
        let object = &o.describe.name;
        let mut out = Record::new();
        for (key, value) in body {
            if key == "attributes" {
                continue;
            }
            let Some(f) = o.describe.field(key).filter(|f| profile.field_visible(object, &f.name)) else {
                return Err(vec![SfError::new(
                    "INVALID_FIELD",
                    format!("No such column '{key}' on sobject of type {object}"),
                )]);
            };
            let writable = if create { f.createable } else { f.updateable };
            if !writable || !profile.field_editable(object, &f.name) {
                return Err(vec![SfError::fields(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    format!(
                        "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                        f.name
                    ),
                    &[&f.name],
                )]);
            }
            self.check_value(schema, object, f, value)?;
            out.insert(f.name.clone(), value.clone());
        }
        Ok(out)
    }

    fn check_value(&self, schema: &Schema, object: &str, f: &FieldDescribe, value: &Value) -> Result<(), Vec<SfError>> {
        let name = f.name.as_str();
        let json_error = |expected: &str| {
            vec![SfError::new(
                "JSON_PARSER_ERROR",
                format!(
                    "Cannot deserialize instance of {expected} from {} value {value} for field {name}",
                    json_kind(value)
                ),
            )]
        };
        if value.is_null() {
            if !f.nillable && !f.defaulted_on_create && f.field_type != FieldType::Boolean {
                return Err(vec![SfError::fields(
                    "REQUIRED_FIELD_MISSING",
                    format!("Required fields are missing: [{name}]"),
                    &[name],
                )]);
            }
            return Ok(());
        }
        match f.field_type {
            FieldType::Boolean => value.as_bool().map(|_| ()).ok_or_else(|| json_error("boolean")),
            t if t.is_number() => value.as_f64().map(|_| ()).ok_or_else(|| json_error("double")),
            FieldType::Date => {
                let s = value.as_str().ok_or_else(|| json_error("date"))?;
                Date::parse(s).map(|_| ()).map_err(|_| json_error("date"))
            }
            FieldType::Datetime => {
                let s = value.as_str().ok_or_else(|| json_error("datetime"))?;
                DateTime::parse_rfc3339(&s.replace("+0000", "Z")).map(|_| ()).map_err(|_| json_error("datetime"))
            }
            FieldType::Reference | FieldType::Id => {
                let s = value.as_str().ok_or_else(|| json_error("id"))?;
                if !portico_model::value::is_salesforce_id(s) {
                    return Err(vec![SfError::fields(
                        "MALFORMED_ID",
                        format!("{}: id value of incorrect type: {s}", label(f)),
                        &[name],
                    )]);
                }
                let target_ok = schema
                    .object_of_id(s)
                    .is_some_and(|t| f.reference_to.iter().any(|r| r.eq_ignore_ascii_case(&t.describe.name)));
                if !target_ok {
                    return Err(vec![SfError::fields(
                        "FIELD_INTEGRITY_EXCEPTION",
                        format!("{}: id value of incorrect type: {s}", label(f)),
                        &[name],
                    )]);
                }
                if !self.exists(schema, s) {
                    return Err(vec![SfError::fields(
                        "INVALID_CROSS_REFERENCE_KEY",
                        "invalid cross reference id",
                        &[name],
                    )]);
                }
                Ok(())
            }
            t if t.is_text() => {
                let s = value.as_str().ok_or_else(|| json_error("string"))?;
                let len = s.chars().count();
                if f.length > 0 && len > f.length as usize {
                    return Err(vec![SfError::fields(
                        "STRING_TOO_LONG",
                        format!("{}: data value too large: {s} (max length={})", label(f), f.length),
                        &[name],
                    )]);
                }
                if f.restricted_picklist && matches!(t, FieldType::Picklist | FieldType::Multipicklist) {
                    for part in s.split(';') {
                        if !f.active_picklist_values().any(|v| v == part) {
                            return Err(vec![SfError::fields(
                                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                format!("{}: bad value for restricted picklist field: {part}", label(f)),
                                &[name],
                            )]);
                        }
                    }
                }
                if t == FieldType::Email && !(s.contains('@') && s.rsplit('@').next().is_some_and(|d| d.contains('.')))
                {
                    return Err(vec![SfError::fields(
                        "INVALID_EMAIL_ADDRESS",
                        format!("{}: invalid email address: {s}", label(f)),
                        &[name],
                    )]);
                }
                Ok(())
            }
            _ => Err(vec![SfError::fields(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!("Unable to create/update fields: {name}. The field type cannot be written on {object}."),
                &[name],
            )]),
        }
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(_) => "VALUE_TRUE_OR_FALSE",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        Value::Null => "VALUE_NULL",
    }
}

pub(super) fn writable_object(
    schema: &Schema,
    profile: &Profile,
    object: &str,
    create: bool,
) -> Result<std::sync::Arc<ObjectSchema>, Vec<SfError>> {
    let perms = profile.object(object);
    let Some(o) = schema.object(object).filter(|_| perms.read) else {
        return Err(vec![SfError::new("NOT_FOUND", "The requested resource does not exist")]);
    };
    let allowed = if create { o.describe.createable && perms.create } else { o.describe.updateable && perms.edit };
    if !allowed {
        return Err(vec![SfError::new(
            "INSUFFICIENT_ACCESS_OR_READONLY",
            format!("insufficient access rights on object {}", o.describe.name),
        )]);
    }
    Ok(o.clone())
}

/// Required fields, and Event's start/end rule, as Salesforce checks them on insert.
pub(super) fn check_required(o: &ObjectSchema, record: &Record) -> Result<(), Vec<SfError>> {
    let has = |n: &str| record.get(n).is_some_and(|v| !v.is_null());
    let mut missing: Vec<&str> = o
        .describe
        .fields
        .iter()
        .filter(|f| f.required_on_create() && f.field_type != FieldType::Boolean && !has(&f.name))
        .map(|f| f.name.as_str())
        .collect();
    if o.describe.name == "Event" {
        let all_day = record.get("IsAllDayEvent").and_then(Value::as_bool).unwrap_or(false);
        if all_day {
            if !has("ActivityDate") && !has("StartDateTime") && !has("ActivityDateTime") {
                missing.push("ActivityDate");
            }
        } else {
            if !has("StartDateTime") && !has("ActivityDateTime") {
                missing.push("ActivityDateTime");
            }
            if !has("EndDateTime") && !has("DurationInMinutes") {
                missing.push("DurationInMinutes");
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(vec![SfError::fields(
        "REQUIRED_FIELD_MISSING",
        format!("Required fields are missing: [{}]", missing.join(", ")),
        &missing,
    )])
}

/// The object, if the user may delete its records.
pub(super) fn deletable_object(
    schema: &Schema,
    profile: &Profile,
    object: &str,
) -> Result<std::sync::Arc<ObjectSchema>, Vec<SfError>> {
    let perms = profile.object(object);
    let Some(o) = schema.object(object).filter(|_| perms.read) else {
        return Err(vec![SfError::new("NOT_FOUND", "The requested resource does not exist")]);
    };
    if !(o.raw.get("deletable").and_then(Value::as_bool).unwrap_or(true) && perms.delete) {
        return Err(vec![SfError::new(
            "INSUFFICIENT_ACCESS_OR_READONLY",
            format!("insufficient access rights on object {}", o.describe.name),
        )]);
    }
    Ok(o.clone())
}
