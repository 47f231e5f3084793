//! `configurable`: the whole mapping comes from the tenant's `mapping` setting, so an admin
//! maps any booking field to any granted sObject field without writing code.
//!
//! ```json
//! {"records": [
//!   {"sobject": "Lead", "ref": "person",
//!    "find": {"field": "Email", "value": "{attendee.email}"},
//!    "fields": {"LastName": "{attendee.last_name}", "Company": "{attendee.company|[not provided]}",
//!               "Email": "{attendee.email}", "LeadSource": "Web"}},
//!   {"sobject": "Event", "upsert": {"field": "Booking_Id__c", "key": "{booking.id}"},
//!    "fields": {"Subject": "{booking.title}", "StartDateTime": "{booking.start}",
//!               "EndDateTime": "{booking.end}", "WhoId": "@person"}}
//! ]}
//! ```
//!
//! - Records are staged in order. `ref` names a record so later ones can point at it with
//!   `"@name"`. With `find`, an existing record whose field equals the value is used instead
//!   (nothing is staged for it; `@name` is its id). With `upsert`, the record is upserted by
//!   that external-id field and key; otherwise it is created.
//! - Values are templates: text with `{path}` placeholders, `{path|fallback}` for a fallback
//!   when the value is empty. Paths: `booking.id|title|description|start|end|timezone|location|
//!   kind|cancel_reason`, `organizer.name|email`, `attendee.name|first_name|last_name|email|
//!   phone|company` (the first attendee), `answers.<key>`.
//! - Each value is converted to its field's type, learnt from describe: date-times and dates
//!   from the booking's times or ISO text, numbers, checkboxes (`true`/`false`), lookups from
//!   `@ref` or an id. A value that comes out empty leaves the field unset.
//! - Mistakes in the mapping (bad JSON, an unknown path or `@ref`, a value that cannot convert)
//!   fail with a configuration error that names the record and field.

use portico_sdk::prelude::*;
use portico_sdk::{FieldType, SObjectInfo, split_name};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;

/// The plugin.
pub struct Configurable;

impl Mapper for Configurable {
    const MANIFEST: &'static str = include_str!("../portico.toml");

    fn map(booking: &Booking, host: &mut dyn Host) -> Result<()> {
        let mapping = host.config_required("mapping")?;
        let mapping: Json = serde_json::from_str(&mapping)
            .map_err(|e| MappingError::Config(format!("`mapping` is not valid JSON: {e}")))?;
        let records = mapping
            .get("records")
            .and_then(Json::as_array)
            .ok_or_else(|| config_error("`mapping` needs a \"records\" array"))?;
        let mut refs: HashMap<String, Value> = HashMap::new();
        let mut describes: HashMap<String, SObjectInfo> = HashMap::new();
        for (i, spec) in records.iter().enumerate() {
            let spec = spec.as_object().ok_or_else(|| config_error(&format!("records[{i}] is not an object")))?;
            let sobject = str_key(spec, "sobject", i)?;
            let here = format!("records[{i}] ({sobject})");
            if !describes.contains_key(sobject) {
                describes.insert(sobject.to_owned(), host.describe(sobject)?);
            }
            let info = &describes[sobject];

            if let Some(find) = spec.get("find") {
                let field = find
                    .get("field")
                    .and_then(Json::as_str)
                    .ok_or_else(|| config_error(&format!("{here}: find needs \"field\"")))?;
                let value = render(find.get("value").and_then(Json::as_str).unwrap_or(""), booking, &here)?;
                if let Some(found) = host.find_one(sobject, field, value.as_str(), &["Id"])? {
                    host.info(&format!("{here}: found existing {sobject} {}", found.id));
                    if let Some(name) = spec.get("ref").and_then(Json::as_str) {
                        refs.insert(name.to_owned(), Value::Text(found.id));
                    }
                    continue;
                }
            }

            let fields = spec
                .get("fields")
                .and_then(Json::as_object)
                .ok_or_else(|| config_error(&format!("{here}: needs a \"fields\" object")))?;
            let mut record = NewRecord::new(sobject);
            for (field, template) in fields {
                let template = template
                    .as_str()
                    .ok_or_else(|| config_error(&format!("{here}.{field}: the value must be a string template")))?;
                let where_ = format!("{here}.{field}");
                if let Some(value) = convert(info, field, template, booking, &refs, &where_)? {
                    record = record.set(field.as_str(), value);
                }
            }
            let staged = match spec.get("upsert") {
                Some(upsert) => {
                    let field = upsert
                        .get("field")
                        .and_then(Json::as_str)
                        .ok_or_else(|| config_error(&format!("{here}: upsert needs \"field\"")))?;
                    let key = render(upsert.get("key").and_then(Json::as_str).unwrap_or(""), booking, &here)?;
                    host.upsert(record, field, &key)?
                }
                None => host.create(record)?,
            };
            if let Some(name) = spec.get("ref").and_then(Json::as_str) {
                refs.insert(name.to_owned(), Value::RecordRef(staged));
            }
        }
        Ok(())
    }
}

fn config_error(message: &str) -> MappingError {
    MappingError::Config(format!("mapping: {message}"))
}

fn str_key<'a>(spec: &'a Map<String, Json>, key: &str, i: usize) -> Result<&'a str> {
    spec.get(key).and_then(Json::as_str).ok_or_else(|| config_error(&format!("records[{i}] needs a \"{key}\" string")))
}

/// A booking value by path; `None` for an unknown path.
fn lookup(path: &str, booking: &Booking) -> Option<String> {
    let attendee = booking.attendees.first();
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    Some(match path {
        "booking.id" => booking.id.clone(),
        "booking.title" => booking.title.clone(),
        "booking.description" => text(&booking.description),
        "booking.start" => booking.start.to_salesforce(),
        "booking.end" => booking.end.to_salesforce(),
        "booking.timezone" => booking.timezone.clone(),
        "booking.location" => text(&booking.location),
        "booking.cancel_reason" => text(&booking.cancel_reason),
        "booking.kind" => format!("{:?}", booking.kind),
        "organizer.name" => booking.organizer.name.clone(),
        "organizer.email" => booking.organizer.email.clone(),
        "attendee.name" => attendee.map(|a| a.name.clone()).unwrap_or_default(),
        "attendee.first_name" => attendee.and_then(|a| split_name(&a.name).0).unwrap_or_default(),
        "attendee.last_name" => attendee.map(|a| split_name(&a.name).1).unwrap_or_default(),
        "attendee.email" => attendee.map(|a| a.email.clone()).unwrap_or_default(),
        "attendee.phone" => attendee.and_then(|a| a.phone.clone()).unwrap_or_default(),
        "attendee.company" => attendee.and_then(|a| a.company.clone()).unwrap_or_default(),
        _ => {
            let key = path.strip_prefix("answers.")?;
            booking.answers.iter().find(|a| a.key == key).map(|a| a.value.clone()).unwrap_or_default()
        }
    })
}

/// Fills a template's `{path}` and `{path|fallback}` placeholders.
fn render(template: &str, booking: &Booking, here: &str) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close =
            rest[open..].find('}').ok_or_else(|| config_error(&format!("{here}: unclosed `{{` in `{template}`")))?;
        let inner = &rest[open + 1..open + close];
        let (path, fallback) = inner.split_once('|').unwrap_or((inner, ""));
        let value = lookup(path.trim(), booking)
            .ok_or_else(|| config_error(&format!("{here}: unknown placeholder `{{{path}}}`")))?;
        out.push_str(if value.is_empty() { fallback } else { &value });
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A template as a value of the field's type; `None` when it renders empty.
fn convert(
    info: &SObjectInfo,
    field: &str,
    template: &str,
    booking: &Booking,
    refs: &HashMap<String, Value>,
    here: &str,
) -> Result<Option<Value>> {
    if let Some(name) = template.strip_prefix('@') {
        return refs
            .get(name)
            .cloned()
            .map(Some)
            .ok_or_else(|| config_error(&format!("{here}: `@{name}` names no earlier record with that \"ref\"")));
    }
    let text = render(template, booking, here)?;
    if text.is_empty() {
        return Ok(None);
    }
    // Unknown or ungranted fields are left to the host, which names the problem precisely.
    let Some(field_type) = info.field(field).map(|f| f.field_type) else { return Ok(Some(Value::Text(text))) };
    let bad = |what: &str| config_error(&format!("{here}: `{text}` is not {what}"));
    let value = match field_type {
        FieldType::Datetime => Value::DateTime(DateTime::parse_rfc3339(&text).map_err(|_| bad("a date-time"))?),
        FieldType::Date => match Date::parse(&text) {
            Ok(d) => Value::Date(d),
            Err(_) => Value::Date(DateTime::parse_rfc3339(&text).map_err(|_| bad("a date"))?.date_utc()),
        },
        FieldType::Boolean => Value::Boolean(text.parse().map_err(|_| bad("true or false"))?),
        FieldType::Double | FieldType::Currency | FieldType::Percent | FieldType::Int | FieldType::Long => {
            Value::Number(text.trim().parse().map_err(|_| bad("a number"))?)
        }
        _ => Value::Text(text),
    };
    Ok(Some(value))
}

portico_sdk::export_mapper!(Configurable);

#[cfg(test)]
mod tests {
    use super::*;
    use portico_sdk::testing::{FakeHost, check_samples};

    const ORG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/salesforce/describe");
    const BOOKING: &str = include_str!("../samples/new-attendee.booking.json");

    #[test]
    fn samples_match_their_expected_requests() {
        assert!(check_samples::<Configurable>(concat!(env!("CARGO_MANIFEST_DIR"), "/samples"), ORG) >= 3);
    }

    fn run_with(mapping: &str) -> std::result::Result<serde_json::Value, MappingError> {
        let mut host = FakeHost::new(Configurable::MANIFEST, ORG).config("mapping", mapping);
        host.run_json::<Configurable>(BOOKING)?;
        Ok(host.composite_request())
    }

    #[test]
    fn mapping_mistakes_are_config_errors_naming_the_place() {
        let cases = [
            ("{", "not valid JSON"),
            (
                r#"{"records": [{"sobject": "Lead", "fields": {"LastName": "{attendee.surname}"}}]}"#,
                "unknown placeholder `{attendee.surname}`",
            ),
            (
                r#"{"records": [{"sobject": "Event", "fields": {"WhoId": "@nobody"}}]}"#,
                "records[0] (Event).WhoId: `@nobody`",
            ),
            (r#"{"records": [{"sobject": "Task", "fields": {"ActivityDate": "{booking.title}"}}]}"#, "is not a date"),
        ];
        for (mapping, want) in cases {
            let err = run_with(mapping).unwrap_err();
            assert!(matches!(err, MappingError::Config(_)) && err.to_string().contains(want), "{mapping}: {err}");
        }
    }

    #[test]
    fn a_field_outside_the_grant_is_refused_by_the_host() {
        let err = run_with(
            r#"{"records": [{"sobject": "Lead", "fields": {"LastName": "x", "Company": "y", "Rating": "Hot"}}]}"#,
        )
        .unwrap_err();
        let MappingError::Host(e) = err else { panic!("{err}") };
        assert_eq!((e.kind, e.field.as_deref()), (ErrorKind::NotGranted, Some("Rating")));
    }

    #[test]
    fn without_a_mapping_the_plugin_says_what_to_set() {
        let mut host = FakeHost::new(Configurable::MANIFEST, ORG);
        let err = host.run_json::<Configurable>(BOOKING).unwrap_err();
        assert!(err.to_string().contains("`mapping` is not set"), "{err}");
    }
}
