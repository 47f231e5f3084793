//! Conversions between the generated WIT types and the model's types.

use crate::bindings::{describe as wd, types as w};
use portico_model::booking::{Booking, BookingKind, Person};
use portico_model::describe::FieldType;
use portico_model::text::{MAX_ECHO_BYTES, MAX_ERROR_BYTES, clip_owned};
use portico_model::{
    Date, DateTime, ErrorKind, FieldValue, Found, HostError, MappingError, NewRecord, RecordRef, SObjectInfo, Value,
};

fn dt(t: DateTime) -> w::DateTime {
    w::DateTime { seconds: t.seconds, nanoseconds: t.nanoseconds }
}

fn person(p: &Person) -> w::Person {
    w::Person {
        name: p.name.clone(),
        email: p.email.clone(),
        phone: p.phone.clone(),
        company: p.company.clone(),
        timezone: p.timezone.clone(),
    }
}

/// The booking as the guest receives it.
pub(crate) fn booking_to_wit(b: &Booking) -> w::Booking {
    w::Booking {
        id: b.id.clone(),
        kind: match b.kind {
            BookingKind::Created => w::BookingKind::Created,
            BookingKind::Rescheduled => w::BookingKind::Rescheduled,
            BookingKind::Cancelled => w::BookingKind::Cancelled,
        },
        title: b.title.clone(),
        description: b.description.clone(),
        start: dt(b.start),
        end: dt(b.end),
        timezone: b.timezone.clone(),
        location: b.location.clone(),
        organizer: person(&b.organizer),
        attendees: b.attendees.iter().map(person).collect(),
        answers: b
            .answers
            .iter()
            .map(|a| w::Answer { key: a.key.clone(), label: a.label.clone(), value: a.value.clone() })
            .collect(),
        cancel_reason: b.cancel_reason.clone(),
        previous_start: b.previous_start.map(dt),
        raw: b.raw.clone(),
    }
}

pub(super) fn ref_to_wit(r: RecordRef) -> w::RecordRef {
    w::RecordRef { reference_id: r.reference_id, sobject: r.sobject }
}

pub(super) fn value_from_wit(v: w::Value) -> Value {
    match v {
        w::Value::Null => Value::Null,
        w::Value::Text(s) => Value::Text(s),
        w::Value::Number(n) => Value::Number(n),
        w::Value::Boolean(b) => Value::Boolean(b),
        w::Value::Date(d) => Value::Date(Date { year: d.year, month: d.month, day: d.day }),
        w::Value::DateTime(t) => Value::DateTime(DateTime { seconds: t.seconds, nanoseconds: t.nanoseconds }),
        w::Value::RecordRef(r) => Value::RecordRef(RecordRef { reference_id: r.reference_id, sobject: r.sobject }),
    }
}

fn value_to_wit(v: Value) -> w::Value {
    match v {
        Value::Null => w::Value::Null,
        Value::Text(s) => w::Value::Text(s),
        Value::Number(n) => w::Value::Number(n),
        Value::Boolean(b) => w::Value::Boolean(b),
        Value::Date(d) => w::Value::Date(w::Date { year: d.year, month: d.month, day: d.day }),
        Value::DateTime(t) => w::Value::DateTime(dt(t)),
        Value::RecordRef(r) => w::Value::RecordRef(ref_to_wit(r)),
    }
}

pub(super) fn record_from_wit(r: w::NewRecord) -> NewRecord {
    NewRecord {
        sobject: r.sobject,
        fields: r.fields.into_iter().map(|f| FieldValue { name: f.name, value: value_from_wit(f.value) }).collect(),
    }
}

pub(super) fn found_to_wit(f: Found) -> w::Found {
    w::Found {
        id: f.id,
        fields: f.fields.into_iter().map(|v| w::FieldValue { name: v.name, value: value_to_wit(v.value) }).collect(),
    }
}

pub(super) fn error_to_wit(e: HostError) -> w::Error {
    use w::ErrorKind as K;
    let kind = match e.kind {
        ErrorKind::NotGranted => K::NotGranted,
        ErrorKind::UnknownSobject => K::UnknownSobject,
        ErrorKind::UnknownField => K::UnknownField,
        ErrorKind::NotCreateable => K::NotCreateable,
        ErrorKind::WrongType => K::WrongType,
        ErrorKind::TooLong => K::TooLong,
        ErrorKind::BadPicklistValue => K::BadPicklistValue,
        ErrorKind::RequiredFieldMissing => K::RequiredFieldMissing,
        ErrorKind::BadReference => K::BadReference,
        ErrorKind::MalformedId => K::MalformedId,
        ErrorKind::InvalidArgument => K::InvalidArgument,
        ErrorKind::Unavailable => K::Unavailable,
    };
    w::Error { kind, message: e.message, sobject: e.sobject, field: e.field }
}

fn error_from_wit(e: w::Error) -> HostError {
    use w::ErrorKind as K;
    let kind = match e.kind {
        K::NotGranted => ErrorKind::NotGranted,
        K::UnknownSobject => ErrorKind::UnknownSobject,
        K::UnknownField => ErrorKind::UnknownField,
        K::NotCreateable => ErrorKind::NotCreateable,
        K::WrongType => ErrorKind::WrongType,
        K::TooLong => ErrorKind::TooLong,
        K::BadPicklistValue => ErrorKind::BadPicklistValue,
        K::RequiredFieldMissing => ErrorKind::RequiredFieldMissing,
        K::BadReference => ErrorKind::BadReference,
        K::MalformedId => ErrorKind::MalformedId,
        K::InvalidArgument => ErrorKind::InvalidArgument,
        K::Unavailable => ErrorKind::Unavailable,
    };
    HostError { kind, message: e.message, sobject: e.sobject, field: e.field }
}

/// The plugin's error as the model records it.
/// Its text is the plugin's to choose, so it is clipped to [`MAX_ERROR_BYTES`] here, before the
/// host keeps or repeats it.
pub(crate) fn mapping_error_from_wit(e: w::MappingError) -> MappingError {
    let clip = |mut m: String| {
        clip_owned(&mut m, MAX_ERROR_BYTES);
        m
    };
    match e {
        w::MappingError::Host(e) => {
            let mut e = error_from_wit(e);
            e.message = clip(e.message);
            e.sobject = e.sobject.map(|s| clip_echo(&s));
            e.field = e.field.map(|f| clip_echo(&f));
            MappingError::Host(e)
        }
        w::MappingError::InvalidBooking(m) => MappingError::InvalidBooking(clip(m)),
        w::MappingError::Config(m) => MappingError::Config(clip(m)),
        w::MappingError::Other(m) => MappingError::Other(clip(m)),
    }
}

fn clip_echo(s: &str) -> String {
    portico_model::text::clip(s, MAX_ECHO_BYTES).into_owned()
}

fn field_type_to_wit(t: FieldType) -> wd::FieldType {
    use wd::FieldType as W;
    match t {
        FieldType::Id => W::Id,
        FieldType::String => W::String,
        FieldType::Textarea => W::Textarea,
        FieldType::Email => W::Email,
        FieldType::Phone => W::Phone,
        FieldType::Url => W::Url,
        FieldType::Picklist => W::Picklist,
        FieldType::Multipicklist => W::Multipicklist,
        FieldType::Combobox => W::Combobox,
        FieldType::Reference => W::Reference,
        FieldType::Boolean => W::Boolean,
        FieldType::Currency => W::Currency,
        FieldType::Double => W::Double,
        FieldType::Percent => W::Percent,
        FieldType::Int => W::Int,
        FieldType::Long => W::Long,
        FieldType::Date => W::Date,
        FieldType::Datetime => W::Datetime,
        FieldType::Time => W::Time,
        FieldType::Address => W::Address,
        FieldType::Location => W::Location,
        FieldType::Base64 => W::Base64,
        FieldType::Encryptedstring => W::Encryptedstring,
        FieldType::Anytype => W::Anytype,
        FieldType::Complexvalue => W::Complexvalue,
        FieldType::Other => W::Other,
    }
}

pub(super) fn sobject_info_to_wit(s: SObjectInfo) -> wd::SobjectInfo {
    wd::SobjectInfo {
        name: s.name,
        label: s.label,
        createable: s.createable,
        fields: s
            .fields
            .into_iter()
            .map(|f| wd::FieldInfo {
                name: f.name,
                label: f.label,
                type_: field_type_to_wit(f.field_type),
                length: f.length,
                createable: f.createable,
                updateable: f.updateable,
                required: f.required,
                external_id: f.external_id,
                restricted_picklist: f.restricted_picklist,
                picklist_values: f
                    .picklist_values
                    .into_iter()
                    .map(|p| wd::PicklistEntry {
                        label: p.label.unwrap_or_else(|| p.value.clone()),
                        value: p.value,
                        default_value: p.default_value,
                    })
                    .collect(),
                reference_to: f.reference_to,
            })
            .collect(),
    }
}
