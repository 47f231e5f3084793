//! Booking platforms' webhook payloads mapped to Portico's canonical booking.
//!
//! Tenants can point Cal.com or Calendly at Portico directly; the delivery is mapped here to
//! the booking JSON every plugin receives, and the platform's own payload stays reachable under
//! `source` (`{"platform", "event", "payload"}`), since the booking keeps its raw text.
//!
//! One meeting keeps one booking id across its deliveries, so a reschedule or cancellation
//! updates the records its creation made:
//! - **Cal.com** gives a rescheduled booking a new `uid` and names the original in
//!   `rescheduleUid`; the original is used.
//! - **Calendly** reschedules by cancelling the old invitee (`invitee.canceled` with
//!   `rescheduled: true` — ignored here, the next delivery carries the move) and creating a new
//!   one whose `old_invitee` points at the old scheduled event; that event's UUID is used.
//!
//! Deliveries that do not create, move or cancel a booking (Cal.com `PING`, `MEETING_ENDED` and
//! any trigger added later; Calendly routing forms) are `Ok(None)`: well-formed, ignored.

use crate::booking::Booking;
use serde_json::{Map, Value, json};

/// Which platform sent a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// Cal.com (`X-Cal-Signature-256`).
    CalCom,
    /// Calendly webhooks v2 (`Calendly-Webhook-Signature`).
    Calendly,
}

impl Platform {
    fn name(self) -> &'static str {
        match self {
            Platform::CalCom => "calcom",
            Platform::Calendly => "calendly",
        }
    }
}

/// Why a delivery could not be mapped.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// Not JSON.
    #[error("the {platform} delivery is not JSON: {detail}")]
    NotJson {
        /// The platform.
        platform: &'static str,
        /// The parser's words.
        detail: String,
    },
    /// A required field is missing or of the wrong type.
    #[error("the {platform} delivery has no usable `{path}`")]
    Missing {
        /// The platform.
        platform: &'static str,
        /// The JSON path, e.g. `payload.startTime`.
        path: String,
    },
    /// The mapped booking is inconsistent (e.g. end before start).
    #[error("the {platform} delivery does not make a valid booking: {detail}")]
    Invalid {
        /// The platform.
        platform: &'static str,
        /// Why.
        detail: String,
    },
}

/// Maps a platform's webhook body to canonical booking JSON (which [`Booking::from_json`]
/// accepts), or `Ok(None)` for a delivery Portico deliberately ignores.
pub fn to_booking_json(platform: Platform, body: &[u8]) -> Result<Option<String>, PlatformError> {
    let delivery: Value = serde_json::from_slice(body)
        .map_err(|e| PlatformError::NotJson { platform: platform.name(), detail: e.to_string() })?;
    let booking = match platform {
        Platform::CalCom => calcom(&delivery)?,
        Platform::Calendly => calendly(&delivery)?,
    };
    let Some(mut booking) = booking else { return Ok(None) };
    let event = match platform {
        Platform::CalCom => &delivery["triggerEvent"],
        Platform::Calendly => &delivery["event"],
    };
    booking["source"] = json!({"platform": platform.name(), "event": event, "payload": delivery["payload"]});
    let text = booking.to_string();
    Booking::from_json(&text)
        .map_err(|e| PlatformError::Invalid { platform: platform.name(), detail: e.to_string() })?;
    Ok(Some(text))
}

/// Reads fields of a delivery, naming the path of what is missing.
struct Reader<'a> {
    platform: &'static str,
    root: &'a Value,
}

impl Reader<'_> {
    fn get(&self, path: &str) -> Option<&Value> {
        path.split('.').try_fold(self.root, |v, key| v.get(key)).filter(|v| !v.is_null())
    }

    fn text(&self, path: &str) -> Option<String> {
        self.get(path).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
    }

    fn required(&self, path: &str) -> Result<String, PlatformError> {
        self.text(path).ok_or_else(|| PlatformError::Missing { platform: self.platform, path: path.to_owned() })
    }
}

/// A form answer as text: strings as they are, lists joined, other values as JSON.
fn answer_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) => Some(items.iter().filter_map(answer_text).collect::<Vec<_>>().join(", ")),
        Value::Object(o) if o.contains_key("value") => answer_text(&o["value"]),
        other => Some(other.to_string()),
    }
}

fn calcom(delivery: &Value) -> Result<Option<Value>, PlatformError> {
    let r = Reader { platform: "calcom", root: delivery };
    let trigger = r.required("triggerEvent")?;
    let kind = match trigger.as_str() {
        "BOOKING_CREATED" => "created",
        "BOOKING_RESCHEDULED" => "rescheduled",
        "BOOKING_CANCELLED" => "cancelled",
        _ => return Ok(None),
    };
    if r.get("payload").is_none_or(|p| !p.is_object()) {
        return Err(PlatformError::Missing { platform: "calcom", path: "payload".into() });
    }
    let id = if kind == "rescheduled" {
        r.text("payload.rescheduleUid").map_or_else(|| r.required("payload.uid"), Ok)?
    } else {
        r.required("payload.uid")?
    };
    let person = |v: &Value| {
        json!({
            "name": v["name"].as_str().unwrap_or_default(),
            "email": v["email"].as_str().unwrap_or_default(),
            "phone": v.get("phoneNumber").filter(|p| !p.is_null()),
            "timezone": v.get("timeZone").filter(|p| !p.is_null()),
        })
    };
    let organizer = r
        .get("payload.organizer")
        .ok_or(PlatformError::Missing { platform: "calcom", path: "payload.organizer".into() })?;
    let attendees: Vec<Value> = r
        .get("payload.attendees")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(person).collect())
        .unwrap_or_default();
    let mut answers = Vec::new();
    if let Some(responses) = r.get("payload.responses").and_then(Value::as_object) {
        for (key, response) in responses {
            // Name and email are the attendee; the rest are the booking form's questions.
            if key == "name" || key == "email" {
                continue;
            }
            if let Some(value) = answer_text(response) {
                let label = response.get("label").and_then(Value::as_str).unwrap_or(key);
                answers.push(json!({"key": key, "label": label, "value": value}));
            }
        }
    }
    let timezone = r
        .text("payload.organizer.timeZone")
        .or_else(|| attendees.first().and_then(|a| a["timezone"].as_str().map(str::to_owned)))
        .unwrap_or_else(|| "UTC".into());
    Ok(Some(json!({
        "id": id,
        "kind": kind,
        "title": r.text("payload.title").or_else(|| r.text("payload.eventTitle")).unwrap_or_else(|| "Meeting".into()),
        "description": r.text("payload.description").or_else(|| r.text("payload.additionalNotes")),
        "start": r.required("payload.startTime")?,
        "end": r.required("payload.endTime")?,
        "timezone": timezone,
        "location": r.text("payload.location").or_else(|| r.text("payload.metadata.videoCallUrl")),
        "organizer": person(organizer),
        "attendees": attendees,
        "answers": answers,
        "cancel_reason": r.text("payload.cancellationReason"),
        "previous_start": if kind == "rescheduled" { r.text("payload.rescheduleStartTime") } else { None },
    })))
}

/// The scheduled event UUID in a Calendly URI (`…/scheduled_events/<uuid>[/invitees/…]`).
fn scheduled_event_uuid(uri: &str) -> Option<String> {
    let rest = uri.split("/scheduled_events/").nth(1)?;
    rest.split('/').next().filter(|s| !s.is_empty()).map(str::to_owned)
}

fn calendly(delivery: &Value) -> Result<Option<Value>, PlatformError> {
    let r = Reader { platform: "calendly", root: delivery };
    let event = r.required("event")?;
    let canceled = match event.as_str() {
        "invitee.created" => false,
        "invitee.canceled" => true,
        _ => return Ok(None),
    };
    if r.get("payload").is_none_or(|p| !p.is_object()) {
        return Err(PlatformError::Missing { platform: "calendly", path: "payload".into() });
    }
    if canceled && r.get("payload.rescheduled").and_then(Value::as_bool) == Some(true) {
        return Ok(None);
    }
    let missing = |path: &str| PlatformError::Missing { platform: "calendly", path: path.to_owned() };
    let event_uri = r.required("payload.scheduled_event.uri")?;
    let old = r.text("payload.old_invitee").and_then(|u| scheduled_event_uuid(&u));
    let kind = match (canceled, &old) {
        (true, _) => "cancelled",
        (false, Some(_)) => "rescheduled",
        (false, None) => "created",
    };
    let id = old.or_else(|| scheduled_event_uuid(&event_uri)).ok_or_else(|| missing("payload.scheduled_event.uri"))?;
    let organizer = r
        .get("payload.scheduled_event.event_memberships")
        .and_then(Value::as_array)
        .and_then(|m| m.first())
        .ok_or_else(|| missing("payload.scheduled_event.event_memberships"))?;
    let mut answers = Vec::new();
    for qa in r.get("payload.questions_and_answers").and_then(Value::as_array).into_iter().flatten() {
        let (Some(question), Some(answer)) = (qa["question"].as_str(), answer_text(&qa["answer"])) else { continue };
        let key = qa["position"].as_u64().map_or_else(|| slug(question), |p| format!("q{p}"));
        answers.push(json!({"key": key, "label": question, "value": answer}));
    }
    let location: Option<String> = r
        .text("payload.scheduled_event.location.location")
        .or_else(|| r.text("payload.scheduled_event.location.join_url"));
    let mut invitee = Map::new();
    invitee.insert("name".into(), json!(r.required("payload.name")?));
    invitee.insert("email".into(), json!(r.required("payload.email")?));
    invitee.insert("phone".into(), json!(r.text("payload.text_reminder_number")));
    invitee.insert("timezone".into(), json!(r.text("payload.timezone")));
    Ok(Some(json!({
        "id": id,
        "kind": kind,
        "title": r.text("payload.scheduled_event.name").unwrap_or_else(|| "Meeting".into()),
        "start": r.required("payload.scheduled_event.start_time")?,
        "end": r.required("payload.scheduled_event.end_time")?,
        "timezone": r.text("payload.timezone").unwrap_or_else(|| "UTC".into()),
        "location": location,
        "organizer": {
            "name": organizer["user_name"].as_str().unwrap_or_default(),
            "email": organizer["user_email"].as_str().ok_or_else(|| missing("payload.scheduled_event.event_memberships.0.user_email"))?,
        },
        "attendees": [Value::Object(invitee)],
        "answers": answers,
        "cancel_reason": if canceled { r.text("payload.cancellation.reason") } else { None },
    })))
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BookingKind;

    fn map(platform: Platform, text: &str) -> Option<Booking> {
        to_booking_json(platform, text.as_bytes()).unwrap().map(|j| Booking::from_json(&j).unwrap())
    }

    #[test]
    fn calcom_created_rescheduled_and_cancelled_share_the_booking_id() {
        let created = map(Platform::CalCom, include_str!("../tests/fixtures/platforms/calcom-created.json")).unwrap();
        assert_eq!((created.id.as_str(), created.kind), ("bFJeNb2uX8ANpT3JL5EfXw", BookingKind::Created));
        assert_eq!(created.start.to_salesforce(), "2026-12-01T14:00:00.000Z");
        assert_eq!(created.organizer.email, "rep.one@portico-demo.example");
        assert_eq!(created.attendees[0].email, "ada@analytical.example");
        assert_eq!(created.attendees[0].phone.as_deref(), Some("+44 20 7946 0958"));
        assert_eq!(created.timezone, "Europe/London");
        assert_eq!(created.location.as_deref(), Some("https://meet.example/abc-defg-hij"));
        let answer = |key: &str| created.answers.iter().find(|a| a.key == key).map(|a| a.value.clone());
        assert_eq!(answer("company").as_deref(), Some("Analytical Engines Ltd"));
        assert_eq!(answer("interests").as_deref(), Some("Sync, Reporting"));
        assert_eq!(answer("email"), None, "the attendee is not a form answer");
        assert!(created.raw.contains("\"platform\":\"calcom\""), "the original payload stays reachable");

        let moved = map(Platform::CalCom, include_str!("../tests/fixtures/platforms/calcom-rescheduled.json")).unwrap();
        assert_eq!((moved.id.as_str(), moved.kind), ("bFJeNb2uX8ANpT3JL5EfXw", BookingKind::Rescheduled));
        assert_eq!(moved.previous_start.unwrap().to_salesforce(), "2026-12-01T14:00:00.000Z");
        let cancelled =
            map(Platform::CalCom, include_str!("../tests/fixtures/platforms/calcom-cancelled.json")).unwrap();
        assert_eq!(cancelled.kind, BookingKind::Cancelled);
        assert_eq!(cancelled.cancel_reason.as_deref(), Some("No longer needed"));
        assert!(map(Platform::CalCom, include_str!("../tests/fixtures/platforms/calcom-ping.json")).is_none());
    }

    #[test]
    fn calendly_reschedules_arrive_as_one_move_of_the_original_event() {
        let created =
            map(Platform::Calendly, include_str!("../tests/fixtures/platforms/calendly-created.json")).unwrap();
        assert_eq!((created.id.as_str(), created.kind), ("EVENT0000000001", BookingKind::Created));
        assert_eq!(created.title, "Product demo");
        assert_eq!(created.organizer.email, "rep.one@portico-demo.example");
        assert_eq!(created.attendees[0].email, "grace@navy.example");
        assert_eq!(created.attendees[0].phone.as_deref(), Some("+1 202 555 0147"));
        assert_eq!(created.location.as_deref(), Some("https://zoom.example/j/123456789"));
        assert_eq!(created.answers[0].key, "q0");
        assert_eq!(created.answers[0].value, "Compilers Inc");
        assert_eq!(created.end.to_salesforce(), "2026-12-03T16:45:00.000Z");

        let half = include_str!("../tests/fixtures/platforms/calendly-canceled-for-reschedule.json");
        assert!(map(Platform::Calendly, half).is_none(), "the cancel half of a reschedule is ignored");
        let moved =
            map(Platform::Calendly, include_str!("../tests/fixtures/platforms/calendly-rescheduled.json")).unwrap();
        assert_eq!((moved.id.as_str(), moved.kind), ("EVENT0000000001", BookingKind::Rescheduled));
        assert_eq!(moved.start.to_salesforce(), "2026-12-04T16:00:00.000Z");
        let cancelled =
            map(Platform::Calendly, include_str!("../tests/fixtures/platforms/calendly-canceled.json")).unwrap();
        assert_eq!(cancelled.kind, BookingKind::Cancelled);
        assert_eq!(cancelled.cancel_reason.as_deref(), Some("Found another vendor"));
        let routing = br#"{"event":"routing_form_submission.created","payload":{}}"#;
        assert!(to_booking_json(Platform::Calendly, routing).unwrap().is_none());
    }

    #[test]
    fn malformed_deliveries_name_what_is_wrong() {
        let err = |p, body: &str| to_booking_json(p, body.as_bytes()).unwrap_err().to_string();
        assert!(err(Platform::CalCom, "<xml/>").contains("not JSON"));
        assert!(err(Platform::CalCom, r#"{"triggerEvent":"BOOKING_CREATED"}"#).contains("`payload`"));
        let no_start = include_str!("../tests/fixtures/platforms/calcom-created.json").replace("startTime", "begins");
        assert!(err(Platform::CalCom, &no_start).contains("`payload.startTime`"));
        let no_email =
            include_str!("../tests/fixtures/platforms/calendly-created.json").replace("\"email\"", "\"mail\"");
        assert!(err(Platform::Calendly, &no_email).contains("`payload.email`"));
        let swapped = include_str!("../tests/fixtures/platforms/calcom-created.json")
            .replace("\"endTime\": \"2026-12-01T14:30:00Z\"", "\"endTime\": \"2026-12-01T13:30:00Z\"");
        assert!(err(Platform::CalCom, &swapped).contains("before"));
        assert!(
            to_booking_json(Platform::CalCom, br#"{"triggerEvent":"MEETING_ENDED","payload":{}}"#).unwrap().is_none()
        );
    }
}
