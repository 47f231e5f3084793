//! The booking: Portico's canonical JSON form of one booked meeting.
//!
//! Booking platforms' payloads are mapped to this shape at ingestion; plugins receive it as
//! the WIT `booking` record. Unknown JSON keys are allowed (platforms add fields) and stay
//! reachable through `raw`.

use crate::time::DateTime;
use serde::{Deserialize, Serialize};

/// What happened to the booking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BookingKind {
    /// A new meeting.
    Created,
    /// Moved to a new time.
    Rescheduled,
    /// Cancelled.
    Cancelled,
}

/// A participant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// Display name.
    pub name: String,
    /// Email address (lower-cased on parse).
    pub email: String,
    /// Phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// Company.
    #[serde(default)]
    pub company: Option<String>,
    /// IANA time zone.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// One booking-form answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The question's key.
    pub key: String,
    /// The question's label.
    #[serde(default)]
    pub label: String,
    /// The answer.
    pub value: String,
}

/// One booked meeting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Booking {
    /// The platform's booking id.
    pub id: String,
    /// Created, rescheduled or cancelled.
    pub kind: BookingKind,
    /// Meeting title.
    pub title: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Start (RFC 3339 in JSON).
    #[serde(with = "rfc3339")]
    pub start: DateTime,
    /// End (RFC 3339 in JSON).
    #[serde(with = "rfc3339")]
    pub end: DateTime,
    /// IANA time zone of the booking.
    pub timezone: String,
    /// Address, room or link.
    #[serde(default)]
    pub location: Option<String>,
    /// The host of the meeting.
    pub organizer: Person,
    /// The invitees.
    #[serde(default)]
    pub attendees: Vec<Person>,
    /// Booking-form answers.
    #[serde(default)]
    pub answers: Vec<Answer>,
    /// Why it was cancelled.
    #[serde(default)]
    pub cancel_reason: Option<String>,
    /// The start before a reschedule.
    #[serde(default, with = "rfc3339_opt")]
    pub previous_start: Option<DateTime>,
    /// The JSON this booking was parsed from.
    #[serde(skip)]
    pub raw: String,
}

/// Why a booking document was refused.
#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    /// Not JSON of the booking shape.
    #[error("the booking is not valid: {0}")]
    Json(#[from] serde_json::Error),
    /// Well-formed but inconsistent.
    #[error("the booking is not valid: {0}")]
    Invalid(String),
}

/// The longest booking id accepted, in bytes (ids are keys: in the job queue, in upserts).
pub const MAX_ID_BYTES: usize = 255;

impl Booking {
    /// Checks a booking id: not blank, at most [`MAX_ID_BYTES`], no control characters.
    pub fn valid_id(id: &str) -> Result<(), BookingError> {
        if id.trim().is_empty() {
            return Err(BookingError::Invalid("`id` is empty".into()));
        }
        if id.len() > MAX_ID_BYTES {
            return Err(BookingError::Invalid(format!(
                "`id` is {} bytes long; at most {MAX_ID_BYTES} are allowed",
                id.len()
            )));
        }
        if id.chars().any(char::is_control) {
            return Err(BookingError::Invalid("`id` contains control characters".into()));
        }
        Ok(())
    }

    /// Parses and checks a booking JSON document, keeping the original text in `raw`.
    pub fn from_json(text: &str) -> Result<Booking, BookingError> {
        let mut booking: Booking = serde_json::from_str(text)?;
        Booking::valid_id(&booking.id)?;
        if booking.end < booking.start {
            return Err(BookingError::Invalid(format!(
                "`end` ({}) is before `start` ({})",
                booking.end, booking.start
            )));
        }
        booking.organizer.email = booking.organizer.email.trim().to_lowercase();
        for person in &mut booking.attendees {
            person.email = person.email.trim().to_lowercase();
        }
        booking.raw = text.to_owned();
        Ok(booking)
    }
}

mod rfc3339 {
    use crate::time::DateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_salesforce())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

mod rfc3339_opt {
    use crate::time::DateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.to_salesforce()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| DateTime::parse_rfc3339(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"id":"bk_1","kind":"created","title":"Intro","start":"2026-12-01T15:00:00+01:00",
        "end":"2026-12-01T14:30:00Z","timezone":"Europe/Paris","extra":1,
        "organizer":{"name":"Rep","email":"Rep@Example.com"},
        "attendees":[{"name":"Ada","email":" ADA@example.com "}]}"#;

    #[test]
    fn parses_and_normalises() {
        let b = Booking::from_json(SAMPLE).unwrap();
        assert_eq!(b.start.to_salesforce(), "2026-12-01T14:00:00.000Z");
        assert_eq!(b.attendees[0].email, "ada@example.com");
        assert_eq!(b.organizer.email, "rep@example.com");
        assert_eq!(b.raw, SAMPLE);
    }

    #[test]
    fn refuses_end_before_start_and_bad_times() {
        let swapped = SAMPLE.replace("14:30:00Z", "13:30:00Z");
        assert!(matches!(Booking::from_json(&swapped), Err(BookingError::Invalid(m)) if m.contains("before")));
        let bad = SAMPLE.replace("2026-12-01T15:00:00+01:00", "tomorrow");
        assert!(Booking::from_json(&bad).unwrap_err().to_string().contains("tomorrow"));
        let nul = SAMPLE.replace("bk_1", "bk\\u0000");
        assert!(Booking::from_json(&nul).unwrap_err().to_string().contains("control characters"));
        let long = SAMPLE.replace("bk_1", &"x".repeat(MAX_ID_BYTES + 1));
        assert!(Booking::from_json(&long).unwrap_err().to_string().contains("at most 255"));
    }
}

/// Properties over generated booking documents (proptest). `canonical` is how ingestion hashes
/// a reschedule's content (`host/src/service/api/ingest.rs`): the same meeting sent with its
/// keys in another order or spaced differently must hash the same, or a resend becomes a second
/// job.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};
    use std::hash::{DefaultHasher, Hash, Hasher};

    /// The text ingestion hashes: every object's keys sorted, compact.
    fn canonical(text: &str) -> String {
        let mut document: Value = serde_json::from_str(text).expect("JSON");
        document.sort_all_objects();
        document.to_string()
    }

    /// The same document with every object's keys in an order drawn from `seed`.
    fn permute(value: &Value, seed: u64) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by_key(|(k, _)| {
                    let mut h = DefaultHasher::new();
                    (seed, k).hash(&mut h);
                    h.finish()
                });
                Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), permute(v, seed))).collect::<Map<_, _>>())
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| permute(v, seed)).collect()),
            other => other.clone(),
        }
    }

    /// Any JSON, for the unknown keys platforms add.
    fn extra() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[ -~]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map("[a-z_]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn person() -> impl Strategy<Value = Value> {
        ("[A-Za-z ]{1,12}", "[a-z]{1,8}@[a-z]{1,8}\\.example", prop::option::of("\\+[0-9]{6,12}")).prop_map(
            |(name, email, phone)| json!({"name": name, "email": email, "phone": phone, "timezone": "Europe/Paris"}),
        )
    }

    /// A booking document Portico accepts, with unknown keys.
    fn booking() -> impl Strategy<Value = Value> {
        let times = (0i64..4_000_000_000, 0i64..86_400 * 3, 0u32..1000).prop_map(|(start, length, ms)| {
            let at = |seconds| DateTime { seconds, nanoseconds: ms * 1_000_000 }.to_salesforce();
            (at(start), at(start + length))
        });
        (
            "[A-Za-z0-9_-]{1,24}",
            prop::sample::select(vec!["created", "rescheduled", "cancelled"]),
            "[ -~]{0,30}",
            times,
            person(),
            prop::collection::vec(person(), 0..3),
            prop::collection::btree_map("x_[a-z]{1,6}", extra(), 0..4),
        )
            .prop_map(|(id, kind, title, (start, end), organizer, attendees, extras)| {
                let mut doc = json!({
                    "id": id, "kind": kind, "title": title, "start": start, "end": end,
                    "timezone": "Europe/Paris", "organizer": organizer, "attendees": attendees,
                    "answers": [{"key": "company", "label": "Company", "value": "Acme"}],
                });
                doc.as_object_mut().expect("an object").extend(extras);
                doc
            })
    }

    proptest! {
        #[test]
        fn the_canonical_text_ignores_key_order_and_spacing(doc in booking(), seed in any::<u64>(), pretty in any::<bool>()) {
            let text = doc.to_string();
            let permuted = permute(&doc, seed);
            let resent = if pretty { serde_json::to_string_pretty(&permuted).expect("JSON") } else { permuted.to_string() };
            prop_assert_eq!(canonical(&text), canonical(&resent));
            let mut first = Booking::from_json(&text).expect("a valid booking");
            let second = Booking::from_json(&resent).expect("a valid booking");
            first.raw = second.raw.clone();
            prop_assert_eq!(first, second);
        }

        #[test]
        fn the_canonical_text_changes_with_the_content(doc in booking(), seed in any::<u64>()) {
            let mut changed = doc.clone();
            changed["title"] = Value::from(format!("{}!", doc["title"].as_str().expect("a title")));
            prop_assert_ne!(canonical(&doc.to_string()), canonical(&permute(&changed, seed).to_string()));
        }

        #[test]
        fn a_booking_reads_back_from_its_serialisation(doc in booking()) {
            let booking = Booking::from_json(&doc.to_string()).expect("a valid booking");
            let text = serde_json::to_string(&booking).expect("JSON");
            let mut back = Booking::from_json(&text).expect("its serialisation is a valid booking");
            back.raw = booking.raw.clone();
            prop_assert_eq!(back, booking);
        }
    }
}
