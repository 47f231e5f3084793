//! Booking platforms' webhook deliveries mapped to Portico's canonical booking.
//!
//! A tenant can point Cal.com or Calendly straight at Portico. Their deliveries are turned
//! here into the booking JSON every plugin receives, so plugins never see platform shapes.
//! [`to_booking_json`] returns JSON *text*, because ingestion stores the text as the job's
//! payload. Before returning it, the function checks the text with [`Booking::from_json`], so a
//! caller only ever gets a booking that parses. The platform's own delivery stays reachable
//! under an extra key, `"source": {"platform", "event", "payload"}`. `Booking` accepts unknown
//! keys and keeps its raw text, so a plugin can still read a field this mapping does not carry.
//!
//! # One id for one meeting
//!
//! A reschedule or a cancellation must update the Salesforce records that the creation made,
//! so every delivery about one meeting gets the same booking `id`:
//! - **Cal.com** gives a rescheduled booking a new `uid` and names the booking it replaces in
//!   `rescheduleUid`. For `BOOKING_RESCHEDULED`, that original uid is the id. The booking's
//!   own uid stays in `source.payload.uid`.
//! - **Calendly** has no reschedule event. It cancels the old invitee (`invitee.canceled` with
//!   `rescheduled: true`) and creates a new invitee on a new scheduled event, whose `old_invitee`
//!   URI names the old scheduled event. The id is the scheduled event's UUID. For an invitee
//!   with an `old_invitee`, it is the *old* event's UUID, and such a creation is a
//!   `rescheduled` booking. The cancel half of the pair is ignored (`Ok(None)`), because the
//!   creation that follows carries the move. A later plain cancellation of the rescheduled
//!   invitee still has `old_invitee`, so it gets the same id.
//!
//! This mapping alone holds for **one** move. Neither platform names the *first* booking of a
//! chain: after a second reschedule, the original-uid field names the previous booking. After
//! a Cal.com reschedule, a plain cancellation names only the new uid. A stateless mapping
//! cannot join those ids, so it also says which id the platform itself gave this delivery's
//! booking, in `source.booking_id` (Cal.com's `uid`, Calendly's scheduled event UUID). When
//! that differs from `id`, ingestion remembers it as an alias of the meeting's first id and
//! maps later deliveries naming it back to that id, so a chain of moves and a cancellation
//! at its end all reach the same records.
//!
//! # The attendee's company and phone
//!
//! Hosts ask bookers for their company and phone in the booking form, so both mappings fill the
//! primary attendee's empty `company` and `phone` from the answers to such questions: `Company`,
//! `Company name`, `Organisation`/`Organization` (and `… name`); `Phone`, `Phone number`,
//! `Mobile`, `Mobile number`, `Mobile phone`, `Telephone`, `Telephone number`, compared ignoring
//! case and punctuation, by key or label. A phone the platform gives explicitly wins. The
//! answers stay in `answers` unchanged. The shared list and its rules live in `form`; each
//! platform's module says which of its fields count.
//!
//! # Ignored, refused
//!
//! `Ok(None)` means that the delivery is well formed and Portico ignores it on purpose.
//! That covers Cal.com `PING`, `MEETING_ENDED`, `BOOKING_REQUESTED` (a confirmed request
//! arrives later as `BOOKING_CREATED`) and every trigger that is not a create, reschedule or
//! cancel, including triggers added later. Both platforms add triggers, and a subscription
//! should not fail because of them. It also covers Calendly `routing_form_submission.created`
//! and the cancel half of a reschedule.
//!
//! A delivery that Portico should map but cannot is an error. Its message names the JSON path,
//! for example: the Cal.com delivery has no `payload.startTime`. [`PlatformError::path`]
//! returns the path on its own.
//!
//! Optional fields may be missing or `null`. When one is present with the wrong type, the
//! mapping fails too, because that means the platform changed the shape.

mod calcom;
mod calendly;
mod form;

use crate::booking::{Answer, Booking, Person};
use crate::time::DateTime;
use serde_json::{Map, Value};
use std::fmt;

/// Which platform sent a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Cal.com (signed with `X-Cal-Signature-256`).
    CalCom,
    /// Calendly webhooks v2 (signed with `Calendly-Webhook-Signature`).
    Calendly,
}

impl Platform {
    /// The platform's name in the canonical booking's `source.platform`: `calcom` or `calendly`.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::CalCom => "calcom",
            Platform::Calendly => "calendly",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Platform::CalCom => "Cal.com",
            Platform::Calendly => "Calendly",
        })
    }
}

/// Why a delivery could not be mapped to a booking.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// The body is not JSON, or not a JSON object.
    #[error("the {platform} delivery is not a JSON object: {detail}")]
    NotJson {
        /// The sender.
        platform: Platform,
        /// The parser's words.
        detail: String,
    },
    /// A required field is missing, `null` or empty.
    #[error("the {platform} delivery has no `{path}`")]
    Missing {
        /// The sender.
        platform: Platform,
        /// The field's JSON path, e.g. `payload.startTime` or `payload.attendees[0].email`.
        path: String,
    },
    /// A field is present but has the wrong type or an unreadable value.
    #[error("the {platform} delivery's `{path}` is malformed: {detail}")]
    Malformed {
        /// The sender.
        platform: Platform,
        /// The field's JSON path.
        path: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The fields map, but the result is not a valid booking.
    #[error("the {platform} delivery does not make a valid booking: {detail}")]
    Invalid {
        /// The sender.
        platform: Platform,
        /// Why [`Booking::from_json`] refused it.
        detail: String,
    },
}

impl PlatformError {
    /// The JSON path of the offending field, when the error is about one field.
    pub fn path(&self) -> Option<&str> {
        match self {
            PlatformError::Missing { path, .. } | PlatformError::Malformed { path, .. } => Some(path),
            PlatformError::NotJson { .. } | PlatformError::Invalid { .. } => None,
        }
    }
}

/// Maps a platform's webhook body to canonical booking JSON text, which [`Booking::from_json`]
/// accepts. Returns `Ok(None)` for a well-formed delivery that Portico ignores on purpose
/// (see the module documentation). Returns an error that names the missing or malformed
/// field's path.
///
/// The text has the [`Booking`] fields, with timestamps in UTC (`2026-12-01T14:00:00.000Z`) and
/// e-mail addresses lower-cased. It also has
/// `"source": {"platform": "calcom"|"calendly", "event": <trigger>, "payload": <the delivery's payload>,
/// "booking_id": <the platform's own id of this booking>}`.
pub fn to_booking_json(platform: Platform, body: &[u8]) -> Result<Option<String>, PlatformError> {
    let mut delivery: Value =
        serde_json::from_slice(body).map_err(|e| PlatformError::NotJson { platform, detail: e.to_string() })?;
    if !delivery.is_object() {
        return Err(PlatformError::NotJson { platform, detail: format!("the body is a JSON {}", kind_of(&delivery)) });
    }
    let fields = Fields { platform, root: &delivery };
    let mapped = match platform {
        Platform::CalCom => calcom::map(&fields)?,
        Platform::Calendly => calendly::map(&fields)?,
    };
    let Some(Mapped { event, booking, own_id }) = mapped else { return Ok(None) };
    let mut document = match serde_json::to_value(&booking) {
        Ok(Value::Object(document)) => document,
        _ => unreachable!("a Booking serialises to a JSON object"),
    };
    let payload = delivery.as_object_mut().and_then(|d| d.remove("payload")).unwrap_or(Value::Null);
    let mut source = Map::new();
    source.insert("platform".into(), Value::from(platform.as_str()));
    source.insert("event".into(), Value::from(event));
    source.insert("payload".into(), payload);
    source.insert("booking_id".into(), Value::from(own_id));
    document.insert("source".into(), Value::Object(source));
    let text = Value::Object(document).to_string();
    Booking::from_json(&text).map_err(|e| PlatformError::Invalid { platform, detail: e.to_string() })?;
    Ok(Some(text))
}

/// A delivery mapped by one platform's module: its trigger and the booking (with `raw` unset).
struct Mapped {
    event: String,
    booking: Booking,
    /// The platform's own id of the booking the delivery is about (differs from
    /// `booking.id` after a reschedule).
    own_id: String,
}

/// Typed, path-named access to a delivery's fields.
///
/// Paths are dot-separated keys with optional array indices: `payload.attendees[0].email`.
/// `null` counts as missing; so does an empty or all-blank string.
struct Fields<'a> {
    platform: Platform,
    root: &'a Value,
}

impl<'a> Fields<'a> {
    /// The value at `path`, if present and not `null`.
    fn get(&self, path: &str) -> Option<&'a Value> {
        let mut value = self.root;
        for segment in path.split('.') {
            let (key, index) = match segment.split_once('[') {
                Some((key, rest)) => (key, Some(rest.strip_suffix(']')?.parse::<usize>().ok()?)),
                None => (segment, None),
            };
            value = value.get(key)?;
            if let Some(index) = index {
                value = value.get(index)?;
            }
        }
        (!value.is_null()).then_some(value)
    }

    fn missing(&self, path: &str) -> PlatformError {
        PlatformError::Missing { platform: self.platform, path: path.to_owned() }
    }

    fn malformed(&self, path: &str, detail: impl Into<String>) -> PlatformError {
        PlatformError::Malformed { platform: self.platform, path: path.to_owned(), detail: detail.into() }
    }

    fn wrong_type(&self, path: &str, expected: &str, found: &Value) -> PlatformError {
        self.malformed(path, format!("expected {expected}, found a JSON {}", kind_of(found)))
    }

    /// A trimmed, non-empty string, or `None` when missing.
    fn text(&self, path: &str) -> Result<Option<String>, PlatformError> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned)),
            Some(other) => Err(self.wrong_type(path, "a string", other)),
        }
    }

    /// A trimmed, non-empty string that must be there.
    fn required_text(&self, path: &str) -> Result<String, PlatformError> {
        self.text(path)?.ok_or_else(|| self.missing(path))
    }

    /// An e-mail address, trimmed and lower-cased, that must be there.
    fn email(&self, path: &str) -> Result<String, PlatformError> {
        Ok(self.required_text(path)?.to_lowercase())
    }

    /// A boolean; missing is `false`.
    fn flag(&self, path: &str) -> Result<bool, PlatformError> {
        match self.get(path) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.wrong_type(path, "true or false", other)),
        }
    }

    /// A JSON object that must be there.
    fn object(&self, path: &str) -> Result<&'a Map<String, Value>, PlatformError> {
        match self.get(path) {
            None => Err(self.missing(path)),
            Some(Value::Object(o)) => Ok(o),
            Some(other) => Err(self.wrong_type(path, "an object", other)),
        }
    }

    /// A JSON object, or `None` when missing.
    fn optional_object(&self, path: &str) -> Result<Option<&'a Map<String, Value>>, PlatformError> {
        match self.get(path) {
            None => Ok(None),
            Some(_) => self.object(path).map(Some),
        }
    }

    /// A JSON array; missing is empty.
    fn array(&self, path: &str) -> Result<&'a [Value], PlatformError> {
        match self.get(path) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(self.wrong_type(path, "an array", other)),
        }
    }

    /// An RFC 3339 timestamp, or `None` when missing.
    fn time(&self, path: &str) -> Result<Option<DateTime>, PlatformError> {
        let Some(text) = self.text(path)? else { return Ok(None) };
        DateTime::parse_rfc3339(&text).map(Some).map_err(|e| self.malformed(path, e.to_string()))
    }

    /// The start and end timestamps, both required, the end not before the start.
    fn span(&self, start: &str, end: &str) -> Result<(DateTime, DateTime), PlatformError> {
        let from = self.time(start)?.ok_or_else(|| self.missing(start))?;
        let to = self.time(end)?.ok_or_else(|| self.missing(end))?;
        if to < from {
            return Err(self.malformed(end, format!("{to} is before `{start}` ({from})")));
        }
        Ok((from, to))
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A form answer as one line of text; `None` when there is nothing to say.
///
/// Strings are trimmed. Lists are joined with `", "`. Booleans become `true` or `false`.
/// Cal.com's option-with-detail objects (`{"value": "phone", "optionValue": "+44…"}`) give the
/// detail when there is one, and the option otherwise. Names (`{"firstName", "lastName"}`) are
/// joined with a space. Any other object stays as compact JSON.
fn answer_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(answer_text).collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        Value::Object(o) if o.contains_key("value") || o.contains_key("optionValue") => {
            o.get("optionValue").and_then(answer_text).or_else(|| o.get("value").and_then(answer_text))
        }
        Value::Object(o) if o.contains_key("firstName") || o.contains_key("lastName") => {
            let parts: Vec<String> =
                ["firstName", "lastName"].iter().filter_map(|k| o.get(*k)).filter_map(answer_text).collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        }
        Value::Object(o) if o.is_empty() => None,
        Value::Object(_) => Some(value.to_string()),
    }
}

/// A participant; an unnamed one is named by their e-mail address.
fn person(name: Option<String>, email: String, phone: Option<String>, timezone: Option<String>) -> Person {
    Person { name: name.unwrap_or_else(|| email.clone()), email, phone, company: None, timezone }
}

fn answer(key: impl Into<String>, label: impl Into<String>, value: String) -> Answer {
    Answer { key: key.into(), label: label.into(), value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_that_are_not_json_objects_are_refused() {
        let err = to_booking_json(Platform::CalCom, b"<xml/>").unwrap_err();
        assert!(matches!(err, PlatformError::NotJson { platform: Platform::CalCom, .. }), "{err:?}");
        assert!(err.to_string().starts_with("the Cal.com delivery is not a JSON object: expected value"), "{err}");
        let err = to_booking_json(Platform::Calendly, b"[1, 2]").unwrap_err();
        assert_eq!(err.to_string(), "the Calendly delivery is not a JSON object: the body is a JSON array");
        assert_eq!(err.path(), None);
        assert!(to_booking_json(Platform::Calendly, b"").is_err());
    }

    #[test]
    fn paths_reach_into_objects_and_arrays() {
        let root = serde_json::json!({"a": {"b": [{"c": " x "}, {"c": null}], "n": 5, "t": true}});
        let f = Fields { platform: Platform::CalCom, root: &root };
        assert_eq!(f.text("a.b[0].c").unwrap().as_deref(), Some("x"));
        assert_eq!(f.text("a.b[1].c").unwrap(), None, "null is missing");
        assert_eq!(f.text("a.b[2].c").unwrap(), None, "out of range is missing");
        assert_eq!(f.required_text("a.b[1].c").unwrap_err().path(), Some("a.b[1].c"));
        assert_eq!(
            f.text("a.n").unwrap_err().to_string(),
            "the Cal.com delivery's `a.n` is malformed: expected a string, found a JSON number"
        );
        assert!(f.flag("a.t").unwrap());
        assert!(!f.flag("a.none").unwrap());
        assert!(f.array("a.none").unwrap().is_empty());
        assert_eq!(f.array("a.n").unwrap_err().path(), Some("a.n"));
    }

    #[test]
    fn answers_read_as_one_line_of_text() {
        use serde_json::json;
        assert_eq!(answer_text(&json!(" Acme ")).as_deref(), Some("Acme"));
        assert_eq!(answer_text(&json!("   ")), None);
        assert_eq!(answer_text(&json!(["Sync", "", "Reporting"])).as_deref(), Some("Sync, Reporting"));
        assert_eq!(answer_text(&json!([])), None);
        assert_eq!(answer_text(&json!(true)).as_deref(), Some("true"));
        assert_eq!(answer_text(&json!(42)).as_deref(), Some("42"));
        assert_eq!(answer_text(&json!({"optionValue": "", "value": "inPerson"})).as_deref(), Some("inPerson"));
        assert_eq!(
            answer_text(&json!({"optionValue": "+44 20 7946 0958", "value": "phone"})).as_deref(),
            Some("+44 20 7946 0958")
        );
        assert_eq!(answer_text(&json!({"firstName": "Ada", "lastName": "Lovelace"})).as_deref(), Some("Ada Lovelace"));
        assert_eq!(answer_text(&json!({"x": 1})).as_deref(), Some(r#"{"x":1}"#));
        assert_eq!(answer_text(&json!({})), None);
    }
}
