//! The org's records: writes with the server-side validation Salesforce applies
//! ([`validate`]), deletes that leave a tombstone (`IsDeleted`, seen by `queryAll`), and nested
//! transactions for Composite, Composite Graph and sObject Collections with `allOrNone`.

mod validate;

use crate::error::SfError;
use crate::ids;
use crate::profile::Profile;
use crate::schema::{ObjectSchema, Schema};
use portico_model::DateTime;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use validate::{check_required, deletable_object, writable_object};

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
    /// Put the record back at the index (an update or a delete).
    Replaced(String, usize, Record),
}

/// Where a transaction started: [`Store::commit`] or [`Store::rollback`] take it back.
#[derive(Debug)]
#[must_use = "a transaction must be committed or rolled back"]
pub struct Savepoint {
    at: usize,
    outermost: bool,
}

/// The outcome of a successful write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// The record id.
    pub id: String,
    /// Whether a record was created (`false`: an upsert updated one).
    pub created: bool,
}

/// The logical clock's origin: 2026-01-01T00:00:00Z.
const EPOCH: i64 = 1_767_225_600;

/// Whether a record is a tombstone.
pub fn is_deleted(record: &Record) -> bool {
    record.get("IsDeleted").and_then(Value::as_bool).unwrap_or(false)
}

fn id_of(record: &Record) -> &str {
    record.get("Id").and_then(Value::as_str).unwrap_or_default()
}

fn not_found() -> Vec<SfError> {
    vec![SfError::new("NOT_FOUND", "The requested resource does not exist")]
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

    /// The org's clock: 2026-01-01 plus one second per write, so order is stable and date
    /// literals (`TODAY`, `LAST_N_DAYS:n`) have a fixed "now".
    pub fn now(&self) -> DateTime {
        DateTime { seconds: EPOCH + self.clock, nanoseconds: 0 }
    }

    fn stamp(&mut self, record: &mut Record, created: bool) {
        self.clock += 1;
        let now = self.now().to_salesforce().replace('Z', "+0000");
        if created && !record.contains_key("CreatedDate") {
            record.insert("CreatedDate".into(), Value::String(now.clone()));
        }
        record.insert("LastModifiedDate".into(), Value::String(now.clone()));
        record.insert("SystemModstamp".into(), Value::String(now));
    }

    /// Starts a transaction, or a nested one inside an open transaction: writes until
    /// [`Store::commit`] or [`Store::rollback`] are journaled, so undoing costs what was
    /// written, not a copy of the org.
    pub fn begin(&mut self) -> Savepoint {
        match &self.journal {
            Some(journal) => Savepoint { at: journal.len(), outermost: false },
            None => {
                self.journal = Some(Vec::new());
                Savepoint { at: 0, outermost: true }
            }
        }
    }

    /// Keeps the writes since `savepoint` (an enclosing transaction may still undo them).
    pub fn commit(&mut self, savepoint: Savepoint) {
        if savepoint.outermost {
            self.journal = None;
        }
    }

    /// Undoes the writes since `savepoint` (ids are not reused, as in Salesforce).
    pub fn rollback(&mut self, savepoint: Savepoint) {
        // Rare: rebuild the value indexes when next needed instead of undoing them too.
        self.by_value.clear();
        let undo = match &mut self.journal {
            Some(journal) => journal.split_off(savepoint.at.min(journal.len())),
            None => Vec::new(),
        };
        for undo in undo.into_iter().rev() {
            match undo {
                Undo::Inserted(object) => {
                    self.records.get_mut(&object).and_then(Vec::pop);
                }
                Undo::Replaced(object, i, previous) => {
                    if let Some(slot) = self.records.get_mut(&object).and_then(|l| l.get_mut(i)) {
                        *slot = previous;
                    }
                }
            }
        }
        if savepoint.outermost {
            self.journal = None;
        }
    }

    fn journal(&mut self, undo: impl FnOnce() -> Undo) {
        if let Some(journal) = &mut self.journal {
            journal.push(undo());
        }
    }

    /// Positions of the object's live records whose `field` equals `value` (case-insensitively).
    fn positions(&mut self, object: &str, field: &str, value: &str) -> Vec<usize> {
        let object = object.to_ascii_lowercase();
        let key = (object.clone(), field.to_owned());
        if !self.by_value.contains_key(&key) {
            let mut index: HashMap<String, Vec<usize>> = HashMap::new();
            for (i, r) in self.records.get(&object).map_or(&[][..], Vec::as_slice).iter().enumerate() {
                if let Some(v) = r.get(field).and_then(Value::as_str).filter(|_| !is_deleted(r)) {
                    index.entry(v.to_ascii_lowercase()).or_default().push(i);
                }
            }
            self.by_value.insert(key.clone(), index);
        }
        self.by_value[&key].get(&value.to_ascii_lowercase()).cloned().unwrap_or_default()
    }

    /// The records of an object, deleted ones (tombstones) included.
    pub fn records(&self, object: &str) -> &[Record] {
        self.records.get(&object.to_ascii_lowercase()).map_or(&[], Vec::as_slice)
    }

    /// The live records of an object.
    pub fn live(&self, object: &str) -> impl Iterator<Item = &Record> {
        self.records(object).iter().filter(|r| !is_deleted(r))
    }

    fn position(&self, object: &str, id: &str) -> Option<usize> {
        self.records(object).iter().position(|r| ids::to_15(id_of(r)) == ids::to_15(id))
    }

    /// A live record by id (15 or 18 characters).
    pub fn get(&self, object: &str, id: &str) -> Option<&Record> {
        self.get_any(object, id).filter(|r| !is_deleted(r))
    }

    /// A record by id, a tombstone too.
    pub fn get_any(&self, object: &str, id: &str) -> Option<&Record> {
        self.position(object, id).map(|i| &self.records(object)[i])
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
        if body.keys().any(|k| k.eq_ignore_ascii_case("id")) {
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

    /// `PATCH /sobjects/{T}/{id}`: updates a live record.
    pub fn update(
        &mut self,
        schema: &Schema,
        profile: &Profile,
        object: &str,
        id: &str,
        body: &Map<String, Value>,
    ) -> Result<Written, Vec<SfError>> {
        let o = writable_object(schema, profile, object, false)?;
        let Some(i) = self.position(&o.describe.name, id) else { return Err(not_found()) };
        if is_deleted(&self.records(&o.describe.name)[i]) {
            return Err(vec![SfError::fields("ENTITY_IS_DELETED", "entity is deleted", &[])]);
        }
        let mut body = body.clone();
        // The record's own id may be repeated in the body (collections carry it there).
        body.retain(|k, v| {
            !(k.eq_ignore_ascii_case("id") && v.as_str().is_some_and(|s| ids::to_15(s) == ids::to_15(id)))
        });
        let changes = self.validate(schema, profile, &o, &body, false)?;
        Ok(self.replace(&o.describe.name, i, changes))
    }

    /// Applies validated changes to the record at `i`, journaled and indexed.
    fn replace(&mut self, object: &str, i: usize, changes: Record) -> Written {
        let object = object.to_ascii_lowercase();
        let previous = self.records.get(&object).expect("the record exists")[i].clone();
        let mut record = previous.clone();
        record.extend(changes);
        let id = id_of(&record).to_owned();
        self.stamp(&mut record, false);
        self.journal(|| Undo::Replaced(object.clone(), i, previous.clone()));
        for ((_, field), index) in self.by_value.iter_mut().filter(|((o, _), _)| *o == object) {
            let value = |r: &Record| {
                r.get(field).and_then(Value::as_str).filter(|_| !is_deleted(r)).map(str::to_ascii_lowercase)
            };
            let (before, after) = (value(&previous), value(&record));
            if before != after {
                if let Some(list) = before.and_then(|b| index.get_mut(&b)) {
                    list.retain(|p| *p != i);
                }
                if let Some(a) = after {
                    index.entry(a).or_default().push(i);
                }
            }
        }
        self.records.get_mut(&object).expect("the record exists")[i] = record;
        Written { id, created: false }
    }

    /// `DELETE /sobjects/{T}/{id}`: the record becomes a tombstone (`IsDeleted: true`), which
    /// only `queryAll` still returns; a second delete is `ENTITY_IS_DELETED`.
    pub fn delete(
        &mut self,
        schema: &Schema,
        profile: &Profile,
        object: &str,
        id: &str,
    ) -> Result<String, Vec<SfError>> {
        let o = deletable_object(schema, profile, object)?;
        let Some(i) = self.position(&o.describe.name, id) else { return Err(not_found()) };
        if is_deleted(&self.records(&o.describe.name)[i]) {
            return Err(vec![SfError::fields("ENTITY_IS_DELETED", "entity is deleted", &[])]);
        }
        let mut tombstone = Record::new();
        tombstone.insert("IsDeleted".into(), Value::Bool(true));
        Ok(self.replace(&o.describe.name, i, tombstone).id)
    }

    /// The live record of `object` whose `field` is `value`: `Ok(None)` when there is none,
    /// `MULTIPLE_CHOICES` when several match.
    pub fn by_external_id(
        &mut self,
        schema: &Schema,
        profile: &Profile,
        object: &str,
        key_field: &str,
        key: &str,
    ) -> Result<Option<String>, Vec<SfError>> {
        let (name, kf_name) = self.key_field(schema, profile, object, key_field)?;
        match self.positions(&name, &kf_name, key).as_slice() {
            [] => Ok(None),
            [i] => Ok(Some(id_of(&self.records(&name)[*i]).to_owned())),
            many => Err(multiple(&kf_name, many.len())),
        }
    }

    /// The object's name and the external id field's, checked as Salesforce checks them.
    fn key_field(
        &self,
        schema: &Schema,
        profile: &Profile,
        object: &str,
        key_field: &str,
    ) -> Result<(String, String), Vec<SfError>> {
        let Some(o) = schema.object(object).filter(|o| profile.object(&o.describe.name).read) else {
            return Err(not_found());
        };
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
        Ok((name, kf.name.clone()))
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
        let (name, kf_name) = self.key_field(schema, profile, object, key_field)?;
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
                Ok(self.replace(&name, *i, changes))
            }
            many => Err(multiple(&kf_name, many.len())),
        }
    }
}

fn multiple(field: &str, n: usize) -> Vec<SfError> {
    vec![SfError::new("MULTIPLE_CHOICES", format!("The value of the external ID field {field} matches {n} records"))]
}
