//! The component side: [`Host`] over the generated imports, and the `map` export's glue.
//!
//! Converts between the generated WIT types and the SDK's model types at the boundary, so a
//! plugin author only ever sees the SDK's types.

use crate::Mapper;
use crate::bindings::portico::mapper::{config, describe as wit_describe, log as wit_log, records, types as wit};
use crate::host::{Host, Level};
use portico_model::booking::{Answer, Booking, BookingKind, Person};
use portico_model::describe::{FieldType, PicklistValue};
use portico_model::{
    Date, DateTime, ErrorKind, FieldInfo, FieldValue, Found, HostError, MappingError, NewRecord, RecordRef,
    SObjectInfo, Value,
};

/// Runs a [`Mapper`] on a booking received from the host.
pub fn run<M: Mapper>(booking: wit::Booking) -> Result<(), wit::MappingError> {
    let booking = booking_from_wit(booking);
    M::map(&booking, &mut WasmHost).map_err(mapping_error_to_wit)
}

struct WasmHost;

impl Host for WasmHost {
    fn describe(&mut self, sobject: &str) -> Result<SObjectInfo, HostError> {
        wit_describe::sobject(sobject).map(sobject_from_wit).map_err(error_from_wit)
    }

    fn granted_sobjects(&mut self) -> Vec<String> {
        wit_describe::granted_sobjects()
    }

    fn create(&mut self, record: NewRecord) -> Result<RecordRef, HostError> {
        records::create(&record_to_wit(record)).map(ref_from_wit).map_err(error_from_wit)
    }

    fn upsert(&mut self, record: NewRecord, key_field: &str, key: &str) -> Result<RecordRef, HostError> {
        records::upsert(&record_to_wit(record), key_field, key).map(ref_from_wit).map_err(error_from_wit)
    }

    fn find(
        &mut self,
        sobject: &str,
        field: &str,
        value: Value,
        fields: &[&str],
        limit: u32,
    ) -> Result<Vec<Found>, HostError> {
        let fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        records::find(sobject, field, &value_to_wit(value), &fields, limit)
            .map(|found| {
                found
                    .into_iter()
                    .map(|f| Found {
                        id: f.id,
                        fields: f
                            .fields
                            .into_iter()
                            .map(|v| FieldValue { name: v.name, value: value_from_wit(v.value) })
                            .collect(),
                    })
                    .collect()
            })
            .map_err(error_from_wit)
    }

    fn config(&mut self, key: &str) -> Option<String> {
        config::get(key)
    }

    fn log(&mut self, level: Level, message: &str) {
        let level = match level {
            Level::Debug => wit_log::Level::Debug,
            Level::Info => wit_log::Level::Info,
            Level::Warn => wit_log::Level::Warn,
            Level::Error => wit_log::Level::Error,
        };
        wit_log::log(level, message);
    }
}

fn dt(t: wit::DateTime) -> DateTime {
    DateTime { seconds: t.seconds, nanoseconds: t.nanoseconds }
}

fn person(p: wit::Person) -> Person {
    Person { name: p.name, email: p.email, phone: p.phone, company: p.company, timezone: p.timezone }
}

fn booking_from_wit(b: wit::Booking) -> Booking {
    Booking {
        id: b.id,
        kind: match b.kind {
            wit::BookingKind::Created => BookingKind::Created,
            wit::BookingKind::Rescheduled => BookingKind::Rescheduled,
            wit::BookingKind::Cancelled => BookingKind::Cancelled,
        },
        title: b.title,
        description: b.description,
        start: dt(b.start),
        end: dt(b.end),
        timezone: b.timezone,
        location: b.location,
        organizer: person(b.organizer),
        attendees: b.attendees.into_iter().map(person).collect(),
        answers: b.answers.into_iter().map(|a| Answer { key: a.key, label: a.label, value: a.value }).collect(),
        cancel_reason: b.cancel_reason,
        previous_start: b.previous_start.map(dt),
        raw: b.raw,
    }
}

fn ref_from_wit(r: wit::RecordRef) -> RecordRef {
    RecordRef { reference_id: r.reference_id, sobject: r.sobject }
}

fn value_to_wit(v: Value) -> wit::Value {
    match v {
        Value::Null => wit::Value::Null,
        Value::Text(s) => wit::Value::Text(s),
        Value::Number(n) => wit::Value::Number(n),
        Value::Boolean(b) => wit::Value::Boolean(b),
        Value::Date(d) => wit::Value::Date(wit::Date { year: d.year, month: d.month, day: d.day }),
        Value::DateTime(t) => wit::Value::DateTime(wit::DateTime { seconds: t.seconds, nanoseconds: t.nanoseconds }),
        Value::RecordRef(r) => {
            wit::Value::RecordRef(wit::RecordRef { reference_id: r.reference_id, sobject: r.sobject })
        }
    }
}

fn value_from_wit(v: wit::Value) -> Value {
    match v {
        wit::Value::Null => Value::Null,
        wit::Value::Text(s) => Value::Text(s),
        wit::Value::Number(n) => Value::Number(n),
        wit::Value::Boolean(b) => Value::Boolean(b),
        wit::Value::Date(d) => Value::Date(Date { year: d.year, month: d.month, day: d.day }),
        wit::Value::DateTime(t) => Value::DateTime(dt(t)),
        wit::Value::RecordRef(r) => Value::RecordRef(ref_from_wit(r)),
    }
}

fn record_to_wit(r: NewRecord) -> wit::NewRecord {
    wit::NewRecord {
        sobject: r.sobject,
        fields: r.fields.into_iter().map(|f| wit::FieldValue { name: f.name, value: value_to_wit(f.value) }).collect(),
    }
}

fn error_from_wit(e: wit::Error) -> HostError {
    use wit::ErrorKind as K;
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

fn error_to_wit(e: HostError) -> wit::Error {
    use wit::ErrorKind as K;
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
    wit::Error { kind, message: e.message, sobject: e.sobject, field: e.field }
}

fn mapping_error_to_wit(e: MappingError) -> wit::MappingError {
    match e {
        MappingError::Host(e) => wit::MappingError::Host(error_to_wit(e)),
        MappingError::InvalidBooking(m) => wit::MappingError::InvalidBooking(m),
        MappingError::Config(m) => wit::MappingError::Config(m),
        MappingError::Other(m) => wit::MappingError::Other(m),
    }
}

fn field_type_from_wit(t: wit_describe::FieldType) -> FieldType {
    use wit_describe::FieldType as W;
    match t {
        W::Id => FieldType::Id,
        W::String => FieldType::String,
        W::Textarea => FieldType::Textarea,
        W::Email => FieldType::Email,
        W::Phone => FieldType::Phone,
        W::Url => FieldType::Url,
        W::Picklist => FieldType::Picklist,
        W::Multipicklist => FieldType::Multipicklist,
        W::Combobox => FieldType::Combobox,
        W::Reference => FieldType::Reference,
        W::Boolean => FieldType::Boolean,
        W::Currency => FieldType::Currency,
        W::Double => FieldType::Double,
        W::Percent => FieldType::Percent,
        W::Int => FieldType::Int,
        W::Long => FieldType::Long,
        W::Date => FieldType::Date,
        W::Datetime => FieldType::Datetime,
        W::Time => FieldType::Time,
        W::Address => FieldType::Address,
        W::Location => FieldType::Location,
        W::Base64 => FieldType::Base64,
        W::Encryptedstring => FieldType::Encryptedstring,
        W::Anytype => FieldType::Anytype,
        W::Complexvalue => FieldType::Complexvalue,
        W::Other => FieldType::Other,
    }
}

fn sobject_from_wit(s: wit_describe::SobjectInfo) -> SObjectInfo {
    SObjectInfo {
        name: s.name,
        label: s.label,
        createable: s.createable,
        fields: s
            .fields
            .into_iter()
            .map(|f| FieldInfo {
                name: f.name,
                label: f.label,
                field_type: field_type_from_wit(f.type_),
                length: f.length,
                createable: f.createable,
                updateable: f.updateable,
                required: f.required,
                external_id: f.external_id,
                restricted_picklist: f.restricted_picklist,
                picklist_values: f
                    .picklist_values
                    .into_iter()
                    .map(|p| PicklistValue {
                        value: p.value,
                        label: Some(p.label),
                        active: true,
                        default_value: p.default_value,
                    })
                    .collect(),
                reference_to: f.reference_to,
            })
            .collect(),
    }
}
