//! The mapping a `configurable` plugin reads from its `mapping` setting, as the console edits
//! it: which records a booking creates, in order, how they relate, and where each field's value
//! comes from. Parsed from and written to the plugin's JSON format; checked against what the
//! org's describe and the tenant's grant allow; and the grant it needs, derived from it.

use portico_model::describe::{FieldDescribe, FieldType};
use portico_model::manifest::ObjectGrant;
use portico_model::{Grant, Operation};
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;

/// The booking values a template may use (`{path}`), with what they are.
pub const BOOKING_PATHS: &[(&str, &str)] = &[
    ("booking.id", "Booking id"),
    ("booking.title", "Title"),
    ("booking.description", "Description"),
    ("booking.start", "Start (date and time)"),
    ("booking.end", "End (date and time)"),
    ("booking.timezone", "Time zone"),
    ("booking.location", "Location"),
    ("booking.kind", "Kind (Created, Rescheduled, Cancelled)"),
    ("booking.cancel_reason", "Cancellation reason"),
    ("organizer.name", "Organizer name"),
    ("organizer.email", "Organizer email"),
    ("attendee.name", "Attendee full name"),
    ("attendee.first_name", "Attendee first name"),
    ("attendee.last_name", "Attendee last name"),
    ("attendee.email", "Attendee email"),
    ("attendee.phone", "Attendee phone"),
    ("attendee.company", "Attendee company"),
];

/// Where a field's value comes from (each is stored as a template string).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// One booking value: `{attendee.email}`.
    Booking(String),
    /// A booking-form answer: `{answers.team-size}`.
    Answer(String),
    /// A record staged earlier: `@person`.
    Record(String),
    /// Text with placeholders: `Intro: {booking.title}`.
    Template(String),
    /// A fixed value.
    Constant(String),
}

impl Source {
    /// Reads a stored template back as what the editor shows.
    pub fn parse(template: &str) -> Source {
        if let Some(r) = template.strip_prefix('@') {
            return Source::Record(r.to_owned());
        }
        if let Some(inner) = template.strip_prefix('{').and_then(|t| t.strip_suffix('}'))
            && !inner.contains(['{', '}', '|'])
        {
            if let Some(key) = inner.strip_prefix("answers.") {
                return Source::Answer(key.to_owned());
            }
            if BOOKING_PATHS.iter().any(|(p, _)| *p == inner) {
                return Source::Booking(inner.to_owned());
            }
        }
        if template.contains('{') {
            Source::Template(template.to_owned())
        } else {
            Source::Constant(template.to_owned())
        }
    }

    /// The stored template.
    pub fn template(&self) -> String {
        match self {
            Source::Booking(p) => format!("{{{p}}}"),
            Source::Answer(k) => format!("{{answers.{k}}}"),
            Source::Record(r) => format!("@{r}"),
            Source::Template(t) | Source::Constant(t) => t.clone(),
        }
    }

    /// The editor's name of the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Booking(_) => "booking",
            Source::Answer(_) => "answer",
            Source::Record(_) => "record",
            Source::Template(_) => "template",
            Source::Constant(_) => "constant",
        }
    }

    /// The value as the editor's input holds it.
    pub fn value(&self) -> &str {
        match self {
            Source::Booking(v) | Source::Answer(v) | Source::Record(v) | Source::Template(v) | Source::Constant(v) => v,
        }
    }

    /// A source of the named kind.
    pub fn of_kind(kind: &str, value: String) -> Source {
        match kind {
            "booking" => Source::Booking(value),
            "answer" => Source::Answer(value),
            "record" => Source::Record(value),
            "template" => Source::Template(value),
            _ => Source::Constant(value),
        }
    }
}

/// One record a booking stages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordSpec {
    /// The sObject.
    pub sobject: String,
    /// The name later records point at it by (`@name`).
    pub reference: String,
    /// Use an existing record whose field equals the value (`find`): (field, template).
    pub find: Option<(String, String)>,
    /// Upsert by this external-id field and key template; otherwise create.
    pub upsert: Option<(String, String)>,
    /// Field → where its value comes from, in the editor's order.
    pub fields: Vec<(String, Source)>,
}

/// A whole mapping.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapping {
    /// The records, staged in order.
    pub records: Vec<RecordSpec>,
}

impl Mapping {
    /// Parses the plugin's JSON format.
    pub fn from_json(text: &str) -> Result<Mapping, String> {
        let root: Json = serde_json::from_str(text).map_err(|e| format!("the mapping is not valid JSON: {e}"))?;
        let list = root.get("records").and_then(Json::as_array).ok_or("the mapping needs a \"records\" array")?;
        let s = |v: Option<&Json>| v.and_then(Json::as_str).unwrap_or_default().to_owned();
        let pair = |v: Option<&Json>, a: &str, b: &str| v.map(|o| (s(o.get(a)), s(o.get(b))));
        let records = list
            .iter()
            .map(|r| RecordSpec {
                sobject: s(r.get("sobject")),
                reference: s(r.get("ref")),
                find: pair(r.get("find"), "field", "value"),
                upsert: pair(r.get("upsert"), "field", "key"),
                fields: r
                    .get("fields")
                    .and_then(Json::as_object)
                    .map(|m| {
                        m.iter().map(|(k, v)| (k.clone(), Source::parse(v.as_str().unwrap_or_default()))).collect()
                    })
                    .unwrap_or_default(),
            })
            .collect();
        Ok(Mapping { records })
    }

    /// The plugin's JSON format.
    pub fn to_json(&self) -> String {
        let records: Vec<Json> = self
            .records
            .iter()
            .map(|r| {
                let mut o = Map::new();
                o.insert("sobject".into(), json!(r.sobject));
                if !r.reference.is_empty() {
                    o.insert("ref".into(), json!(r.reference));
                }
                if let Some((field, value)) = &r.find {
                    o.insert("find".into(), json!({"field": field, "value": value}));
                }
                if let Some((field, key)) = &r.upsert {
                    o.insert("upsert".into(), json!({"field": field, "key": key}));
                }
                let fields: Map<String, Json> =
                    r.fields.iter().map(|(f, s)| (f.clone(), json!(s.template()))).collect();
                o.insert("fields".into(), Json::Object(fields));
                Json::Object(o)
            })
            .collect();
        json!({ "records": records }).to_string()
    }

    /// The grant this mapping needs: what the plugin will do with each object.
    pub fn needed_grant(&self) -> Grant {
        let mut objects: BTreeMap<String, ObjectGrant> = BTreeMap::new();
        for r in self.records.iter().filter(|r| !r.sobject.is_empty()) {
            let g = objects.entry(r.sobject.clone()).or_default();
            g.operations.insert(Operation::Describe);
            if let Some((field, _)) = &r.find {
                g.operations.insert(Operation::Find);
                g.read.insert(field.clone());
            }
            match &r.upsert {
                Some((field, _)) => {
                    g.operations.insert(Operation::Upsert);
                    g.write.insert(field.clone());
                }
                None => {
                    g.operations.insert(Operation::Create);
                }
            }
            g.write.extend(r.fields.iter().map(|(f, _)| f.clone()));
        }
        Grant { objects }
    }
}

/// What the editor offers for one object: the org's fields the integration user may create
/// that the grant lets the plugin write, and the fields it may find by.
#[derive(Clone, Debug)]
pub struct EditableObject {
    /// API name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Fields the mapping may set, by label.
    pub fields: Vec<FieldDescribe>,
    /// Fields a `find` may match on.
    pub find_fields: Vec<String>,
    /// External-id fields an upsert may key on.
    pub upsert_fields: Vec<String>,
    /// Required on create by Salesforce, but not writable under the grant.
    pub required_out_of_reach: Vec<String>,
    /// The grant allows creating, upserting, finding.
    pub can_create: bool,
    /// …
    pub can_upsert: bool,
    /// …
    pub can_find: bool,
}

/// A mistake in the mapping, placed where the editor shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The record (index).
    pub record: usize,
    /// The field, or `None` for the record as a whole.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Checks a mapping against what the editor offers; empty when it may be saved.
pub fn check(mapping: &Mapping, objects: &[EditableObject]) -> Vec<Problem> {
    let mut out = Vec::new();
    if mapping.records.is_empty() {
        out.push(Problem { record: 0, field: None, message: "add at least one record for bookings to create".into() });
    }
    let mut refs: Vec<&str> = Vec::new();
    for (i, r) in mapping.records.iter().enumerate() {
        let mut bad = |field: Option<&str>, message: String| {
            out.push(Problem { record: i, field: field.map(str::to_owned), message })
        };
        let Some(o) = objects.iter().find(|o| o.name == r.sobject) else {
            bad(None, format!("`{}` is not an object the approved grant lets this plugin write", r.sobject));
            continue;
        };
        if r.upsert.is_none() && !o.can_create {
            bad(None, format!("the grant does not allow creating {}: choose upsert", o.name));
        }
        if let Some((field, key)) = &r.upsert {
            if !o.upsert_fields.contains(field) {
                bad(None, format!("`{field}` is not an external-id field of {} the plugin may write", o.name));
            }
            if key.trim().is_empty() {
                bad(None, "the upsert needs a key (e.g. {booking.id})".into());
            }
        }
        if let Some((field, value)) = &r.find {
            if !o.find_fields.contains(field) {
                bad(None, format!("`{field}` is not a field of {} the plugin may find by", o.name));
            }
            if value.trim().is_empty() {
                bad(None, "finding an existing record needs a value to match (e.g. {attendee.email})".into());
            }
        }
        for (name, source) in &r.fields {
            let Some(f) = o.fields.iter().find(|f| &f.name == name) else {
                bad(
                    Some(name),
                    format!("{}.{name} is not a field the integration user can create and the grant allows", o.name),
                );
                continue;
            };
            check_value(f, source, &refs, &mut |m| bad(Some(name), m));
        }
        let empty = Source::Constant(String::new());
        let set: Vec<&str> = r
            .fields
            .iter()
            .filter(|(_, s)| *s != empty)
            .map(|(f, _)| f.as_str())
            .chain(r.upsert.as_ref().map(|u| u.0.as_str()))
            .collect();
        for f in o.fields.iter().filter(|f| f.required_on_create() && f.field_type != FieldType::Boolean) {
            if !set.contains(&f.name.as_str()) {
                bad(Some(&f.name), format!("{} ({}) is required by Salesforce: give it a value", f.label, f.name));
            }
        }
        for f in &o.required_out_of_reach {
            bad(
                None,
                format!("Salesforce requires {}.{f}, which the approved grant does not let the plugin write", o.name),
            );
        }
        if !r.reference.is_empty() {
            if refs.contains(&r.reference.as_str()) {
                bad(None, format!("the name `{}` is used by an earlier record", r.reference));
            }
            refs.push(&r.reference);
        }
    }
    out
}

fn check_value(f: &FieldDescribe, source: &Source, refs: &[&str], bad: &mut dyn FnMut(String)) {
    match source {
        Source::Record(r) if f.field_type != FieldType::Reference => {
            bad(format!("@{r}: only a lookup field can point at a record"))
        }
        Source::Record(r) if !refs.contains(&r.as_str()) => bad(format!("no earlier record is named `{r}`")),
        Source::Booking(p) if !BOOKING_PATHS.iter().any(|(k, _)| k == p) => bad(format!("unknown booking value `{p}`")),
        Source::Answer(k) if k.trim().is_empty() => bad("name the booking-form question (its key)".into()),
        Source::Constant(v) if !v.is_empty() => match f.field_type {
            FieldType::Picklist if f.restricted_picklist && !f.active_picklist_values().any(|p| p == v) => {
                bad(format!("`{v}` is not one of the picklist's values"))
            }
            FieldType::Boolean if v != "true" && v != "false" => bad("choose true or false".into()),
            t if t.is_number() && v.parse::<f64>().is_err() => bad(format!("`{v}` is not a number")),
            FieldType::Date if portico_model::Date::parse(v).is_err() => {
                bad(format!("`{v}` is not a date (YYYY-MM-DD)"))
            }
            _ if f.field_type.is_text() && f.length > 0 && v.chars().count() > f.length as usize => {
                bad(format!("longer than the field's {} characters", f.length))
            }
            _ => {}
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_mapping_reads_and_writes_back_the_same() {
        let text = r#"{"records":[{"sobject":"Lead","ref":"person","find":{"field":"Email","value":"{attendee.email}"},"fields":{"LastName":"{attendee.last_name}","Company":"{attendee.company|[not provided]}","LeadSource":"Web","Title":"{answers.role}"}},{"sobject":"Event","upsert":{"field":"Booking_Id__c","key":"{booking.id}"},"fields":{"WhoId":"@person"}}]}"#;
        let m = Mapping::from_json(text).unwrap();
        assert_eq!(m.records[0].fields[1].1, Source::Template("{attendee.company|[not provided]}".into()));
        assert_eq!(m.records[0].fields[2].1, Source::Constant("Web".into()));
        assert_eq!(m.records[0].fields[3].1, Source::Answer("role".into()));
        assert_eq!(m.records[1].fields[0].1, Source::Record("person".into()));
        let again: Json = serde_json::from_str(&m.to_json()).unwrap();
        assert_eq!(again, serde_json::from_str::<Json>(text).unwrap());
        let grant = m.needed_grant();
        let lead = &grant.objects["Lead"];
        assert!(lead.operations.contains(&Operation::Find) && lead.read.contains("Email"));
        assert!(grant.objects["Event"].write.contains("Booking_Id__c"));
    }
}
