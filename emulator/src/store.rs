//! The org's records and the server-side validation Salesforce applies to writes.

use crate::error::SfError;
use crate::ids;
use crate::profile::Profile;
use crate::schema::{ObjectSchema, Schema};
use portico_model::describe::{FieldDescribe, FieldType};
use portico_model::{Date, DateTime};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// One record: its fields as Salesforce returns them (`Id`, `CreatedDate`, …).
pub type Record = Map<String, Value>;

/// All records, per sObject (lower-cased name), in creation order.
#[derive(Clone, Debug, Default)]
pub struct Store {
    records: BTreeMap<String, Vec<Record>>,
    serial: u64,
    clock: i64,
    /// While a transaction is open: how to undo each write, in order.
    journal: Option<Vec<Undo>>,
    /// Record positions by (object, field) and lower-cased value, built on the first upsert
    /// by that field and kept current, so an upsert does not scan the object.
    by_value: HashMap<(String, String), HashMap<String, Vec<usize>>>,
}

/// How to undo one write.
#[derive(Clone, Debug)]
enum Undo {
    /// Remove the last record of the object.
    Inserted(String),
    /// Put the record back at the index.
    Updated(String, usize, Record),
}

/// The outcome of a successful write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// The record id.
    pub id: String,
    /// Whether a record was created (`false`: an upsert updated one).
    pub created: bool,
}

fn label(f: &FieldDescribe) -> &str {
    &f.label
}

impl Store {
    /// Adds records as they are (seed data): each gets an id and timestamps when missing.
    pub fn seed(&mut self, schema: &Schema, object: &str, mut record: Record) {
        let Some(o) = schema.object(object) else { return };
        if !record.contains_key("Id") {
            record.insert("Id".into(), Value::String(self.next_id(o)));
        }
        self.stamp(&mut record, true);
        self.records.entry(o.describe.name.to_ascii_lowercase()).or_default().push(record);
        self.by_value.clear();
    }

    fn next_id(&mut self, o: &ObjectSchema) -> String {
        self.serial += 1;
        ids::new_id(&o.key_prefix, self.serial)
    }

    /// Timestamps are a logical clock from 2026-01-01, one second per write, so order is stable.
    fn stamp(&mut self, record: &mut Record, created: bool) {
        self.clock += 1;
        let now =
            DateTime { seconds: 1_767_225_600 + self.clock, nanoseconds: 0 }.to_salesforce().replace('Z', "+0000");
        if created && !record.contains_key("CreatedDate") {
            record.insert("CreatedDate".into(), Value::String(now.clone()));
        }
        record.insert("LastModifiedDate".into(), Value::String(now.clone()));
        record.insert("SystemModstamp".into(), Value::String(now));
    }

    /// Starts a transaction: writes until [`Store::commit`] or [`Store::rollback`] are
    /// journaled (a Composite request with `allOrNone`), so undoing costs what was written,
    /// not a copy of the org.
    pub fn begin(&mut self) {
        self.journal = Some(Vec::new());
    }

    /// Keeps the transaction's writes.
    pub fn commit(&mut self) {
        self.journal = None;
    }

    /// Undoes the transaction's writes (ids are not reused, as in Salesforce).
    pub fn rollback(&mut self) {
        // Rare: rebuild the value indexes when next needed instead of undoing them too.
        self.by_value.clear();
        for undo in self.journal.take().unwrap_or_default().into_iter().rev() {
            match undo {
                Undo::Inserted(object) => {
                    self.records.get_mut(&object).and_then(Vec::pop);
                }
                Undo::Updated(object, i, previous) => {
                    if let Some(slot) = self.records.get_mut(&object).and_then(|l| l.get_mut(i)) {
                        *slot = previous;
                    }
                }
            }
        }
    }

    fn journal(&mut self, undo: impl FnOnce() -> Undo) {
        if let Some(journal) = &mut self.journal {
            journal.push(undo());
        }
    }

    /// Positions of the object's records whose `field` equals `value` (case-insensitively).
    fn positions(&mut self, object: &str, field: &str, value: &str) -> Vec<usize> {
        let object = object.to_ascii_lowercase();
        let key = (object.clone(), field.to_owned());
        if !self.by_value.contains_key(&key) {
            let mut index: HashMap<String, Vec<usize>> = HashMap::new();
            for (i, r) in self.records.get(&object).map_or(&[][..], Vec::as_slice).iter().enumerate() {
                if let Some(v) = r.get(field).and_then(Value::as_str) {
                    index.entry(v.to_ascii_lowercase()).or_default().push(i);
                }
            }
            self.by_value.insert(key.clone(), index);
        }
        self.by_value[&key].get(&value.to_ascii_lowercase()).cloned().unwrap_or_default()
    }

    /// The records of an object.
    pub fn records(&self, object: &str) -> &[Record] {
        self.records.get(&object.to_ascii_lowercase()).map_or(&[], Vec::as_slice)
    }

    /// A record by id (15 or 18 characters).
    pub fn get(&self, object: &str, id: &str) -> Option<&Record> {
        self.records(object)
            .iter()
            .find(|r| r.get("Id").and_then(Value::as_str).is_some_and(|rid| ids::to_15(rid) == ids::to_15(id)))
    }

    fn exists(&self, schema: &Schema, id: &str) -> bool {
        schema.object_of_id(id).is_some_and(|o| self.get(&o.describe.name, id).is_some())
    }

    /// `POST /sobjects/{T}`.
    pub fn insert(
        &mut self,
        schema: &Schema,
        profile: &Profile,
        object: &str,
        body: &Map<String, Value>,
    ) -> Result<Written, Vec<SfError>> {
        let o = writable_object(schema, profile, object, true)?;
        if body.contains_key("Id") || body.keys().any(|k| k.eq_ignore_ascii_case("id")) {
            return Err(vec![SfError::fields(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                "Unable to create/update fields: Id. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                &["Id"],
            )]);
        }
        self.create(schema, profile, &o, body)
    }

    /// Validates a new record, checks required fields, gives it an id and stores it.
    fn create(
        &mut self,
        schema: &Schema,
        profile: &Profile,
        o: &ObjectSchema,
        body: &Map<String, Value>,
    ) -> Result<Written, Vec<SfError>> {
        let mut record = self.validate(schema, profile, o, body, true)?;
        check_required(o, &record)?;
        let id = self.next_id(o);
        record.insert("Id".into(), Value::String(id.clone()));
        self.stamp(&mut record, true);
        let object = o.describe.name.to_ascii_lowercase();
        self.journal(|| Undo::Inserted(object.clone()));
        let list = self.records.entry(object.clone()).or_default();
        let at = list.len();
        for ((_, field), index) in self.by_value.iter_mut().filter(|((o, _), _)| *o == object) {
            if let Some(v) = record.get(field).and_then(Value::as_str) {
                index.entry(v.to_ascii_lowercase()).or_default().push(at);
            }
        }
        list.push(record);
        Ok(Written { id, created: true })
    }

    /// `PATCH /sobjects/{T}/{field}/{value}`: update the record whose external id matches, or
    /// create one.
    pub fn upsert(
        &mut self,
        schema: &Schema,
        profile: &Profile,
        object: &str,
        key_field: &str,
        key: &str,
        body: &Map<String, Value>,
    ) -> Result<Written, Vec<SfError>> {
        let o = writable_object(schema, profile, object, false)?;
        let name = o.describe.name.clone();
        let Some(kf) = o.describe.field(key_field).filter(|f| profile.field_visible(&name, &f.name)) else {
            return Err(vec![SfError::new(
                "NOT_FOUND",
                format!("Provided external ID field does not exist or is not accessible: {key_field}"),
            )]);
        };
        if !(kf.external_id || kf.id_lookup || kf.name == "Id") {
            return Err(vec![SfError::new(
                "INVALID_FIELD",
                format!("Field {} is not an External ID or indexed field for {name}", kf.name),
            )]);
        }
        let kf_name = kf.name.clone();
        let matches = self.positions(&name, &kf_name, key);
        match matches.as_slice() {
            [] => {
                let mut body = body.clone();
                body.insert(kf_name, Value::String(key.to_owned()));
                let o = writable_object(schema, profile, object, true)?;
                self.create(schema, profile, &o, &body)
            }
            [i] => {
                let changes = self.validate(schema, profile, &o, body, false)?;
                let object = name.to_ascii_lowercase();
                let previous = self.records.get(&object).expect("matched")[*i].clone();
                let mut record = previous.clone();
                record.extend(changes);
                let id = record.get("Id").and_then(Value::as_str).unwrap_or_default().to_owned();
                self.stamp(&mut record, false);
                self.journal(|| Undo::Updated(object.clone(), *i, previous.clone()));
                for ((_, field), index) in self.by_value.iter_mut().filter(|((o, _), _)| *o == object) {
                    let before = previous.get(field).and_then(Value::as_str).map(str::to_ascii_lowercase);
                    let after = record.get(field).and_then(Value::as_str).map(str::to_ascii_lowercase);
                    if before != after {
                        if let Some(list) = before.and_then(|b| index.get_mut(&b)) {
                            list.retain(|p| p != i);
                        }
                        if let Some(a) = after {
                            index.entry(a).or_default().push(*i);
                        }
                    }
                }
                self.records.get_mut(&object).expect("matched")[*i] = record;
                Ok(Written { id, created: false })
            }
            many => Err(vec![SfError::new(
                "MULTIPLE_CHOICES",
                format!("The value of the external ID field {kf_name} matches {} records", many.len()),
            )]),
        }
    }

    /// Checks each field of a body as Salesforce does; returns the record to store.
    fn validate(
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

fn writable_object(
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
fn check_required(o: &ObjectSchema, record: &Record) -> Result<(), Vec<SfError>> {
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
