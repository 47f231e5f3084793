//! Cal.com: `{"triggerEvent", "createdAt", "payload"}`, where the payload is Cal.com's calendar event
//! (`uid`, `title`, `startTime`, `endTime`, `organizer`, `attendees`, `responses`, …).
//!
//! | booking field    | from                                                                      |
//! |------------------|---------------------------------------------------------------------------|
//! | `id`             | `payload.uid`; for `BOOKING_RESCHEDULED`, `payload.rescheduleUid` if set   |
//! | `kind`           | `BOOKING_CREATED` / `BOOKING_RESCHEDULED` / `BOOKING_CANCELLED`            |
//! | `title`          | `payload.title`, else `payload.eventTitle`                                |
//! | `description`    | `payload.description`, else `payload.additionalNotes`                     |
//! | `start`, `end`   | `payload.startTime`, `payload.endTime`                                    |
//! | `timezone`       | organizer's `timeZone`, else the first attendee's, else `UTC`             |
//! | `location`       | `payload.location`; `payload.metadata.videoCallUrl` when the location is an app (`integrations:…`) or missing |
//! | `organizer`      | `payload.organizer` (`name`, `email`, `timeZone`)                          |
//! | `attendees`      | `payload.attendees[*]` (`name`, `email`, `phoneNumber`, `timeZone`); the first one's empty `company` and `phone` from `payload.responses` (below) |
//! | `answers`        | `payload.responses`, except `name` and `email` (they are the attendee)    |
//! | `cancel_reason`  | `payload.cancellationReason` (cancellations)                              |
//! | `previous_start` | `payload.rescheduleStartTime` (reschedules)                               |
//!
//! # Company and phone from the booking form
//!
//! `payload.responses` is keyed by each booking field's identifier (`name`), and each response
//! is `{"label", "value"}`. The first attendee is the booker. Their empty `company` is filled
//! from a response whose identifier or label is a company question (`company`, `Company name`,
//! `organization`, …, see `form`). Their phone is `attendees[0].phoneNumber` when Cal.com sends
//! one; otherwise it is filled from `attendeePhoneNumber` (Cal.com's own phone field, label
//! `phone_number` unless the host renamed it), `smsReminderNumber` (the number a workflow asks
//! for text reminders, label `number_text_notifications`), or a response whose identifier or
//! label is a phone question (`phone`, `Phone number`, `Mobile`, …). The responses stay in
//! `answers` too.

use super::{Fields, Mapped, PlatformError, answer, answer_text, form, person};
use crate::booking::{Answer, Booking, BookingKind, Person};
use serde_json::Value;

pub(super) fn map(f: &Fields<'_>) -> Result<Option<Mapped>, PlatformError> {
    let trigger = f.required_text("triggerEvent")?;
    let kind = match trigger.as_str() {
        "BOOKING_CREATED" => BookingKind::Created,
        "BOOKING_RESCHEDULED" => BookingKind::Rescheduled,
        "BOOKING_CANCELLED" => BookingKind::Cancelled,
        // PING, MEETING_ENDED, BOOKING_REQUESTED (confirmation sends BOOKING_CREATED), payments,
        // no-shows, recordings, forms, and whatever Cal.com adds next.
        _ => return Ok(None),
    };
    f.object("payload")?;
    let uid = f.required_text("payload.uid")?;
    let id = match kind {
        // The booking this one replaces, so that the reschedule updates what the creation made.
        BookingKind::Rescheduled => f.text("payload.rescheduleUid")?.unwrap_or_else(|| uid.clone()),
        _ => uid.clone(),
    };
    let (start, end) = f.span("payload.startTime", "payload.endTime")?;
    let organizer = participant(f, "payload.organizer")?;
    let mut attendees = (0..f.array("payload.attendees")?.len())
        .map(|i| participant(f, &format!("payload.attendees[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let timezone = organizer
        .timezone
        .clone()
        .or_else(|| attendees.iter().find_map(|a| a.timezone.clone()))
        .unwrap_or_else(|| "UTC".to_owned());
    let title = match f.text("payload.title")? {
        Some(title) => title,
        None => f.text("payload.eventTitle")?.ok_or_else(|| f.missing("payload.title"))?,
    };
    let description = match f.text("payload.description")? {
        Some(text) => Some(text),
        None => f.text("payload.additionalNotes")?,
    };
    let answers = answers(f)?;
    if let Some(booker) = attendees.first_mut() {
        form::fill_attendee(booker, &answers, PHONE_KEYS);
    }
    let booking = Booking {
        id,
        kind,
        title,
        description,
        start,
        end,
        timezone,
        location: location(f)?,
        organizer,
        attendees,
        answers,
        cancel_reason: match kind {
            BookingKind::Cancelled => f.text("payload.cancellationReason")?,
            _ => None,
        },
        previous_start: match kind {
            BookingKind::Rescheduled => f.time("payload.rescheduleStartTime")?,
            _ => None,
        },
        raw: String::new(),
    };
    Ok(Some(Mapped { event: trigger, booking, own_id: uid }))
}

/// Cal.com's own booking fields that hold the booker's phone, whatever the host labels them.
const PHONE_KEYS: &[&str] = &["attendeePhoneNumber", "smsReminderNumber"];

/// An organizer or attendee object at `path`.
fn participant(f: &Fields<'_>, path: &str) -> Result<Person, PlatformError> {
    f.object(path)?;
    Ok(person(
        f.text(&format!("{path}.name"))?,
        f.email(&format!("{path}.email"))?,
        f.text(&format!("{path}.phoneNumber"))?,
        f.text(&format!("{path}.timeZone"))?,
    ))
}

/// The address or link. Cal.com sends an app's id (`integrations:daily`) as the location, and
/// the meeting link in `metadata.videoCallUrl`.
fn location(f: &Fields<'_>) -> Result<Option<String>, PlatformError> {
    let location = f.text("payload.location")?;
    if location.as_deref().is_some_and(|l| !l.starts_with("integrations:")) {
        return Ok(location);
    }
    Ok(f.text("payload.metadata.videoCallUrl")?.or(location))
}

/// The booking form's answers, in form order. The attendee's `name` and `email` are left out.
/// So are questions that have no answer. A response is normally `{"label", "value"}`; a plain
/// value is accepted too, labelled by its key.
fn answers(f: &Fields<'_>) -> Result<Vec<Answer>, PlatformError> {
    let Some(responses) = f.optional_object("payload.responses")? else { return Ok(Vec::new()) };
    let mut answers = Vec::new();
    for (key, response) in responses {
        if key == "name" || key == "email" {
            continue;
        }
        let (label, value) = match response {
            Value::Object(o) if o.contains_key("label") => {
                (o["label"].as_str().filter(|l| !l.trim().is_empty()).unwrap_or(key), o.get("value"))
            }
            other => (key.as_str(), Some(other)),
        };
        if let Some(text) = value.and_then(answer_text) {
            answers.push(answer(key, label, text));
        }
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use crate::booking::{Answer, Booking, BookingKind, Person};
    use crate::platforms::{Platform, PlatformError, to_booking_json};
    use serde_json::Value;

    const CREATED: &str = include_str!("../../tests/fixtures/platforms/calcom-created.json");
    const RESCHEDULED: &str = include_str!("../../tests/fixtures/platforms/calcom-rescheduled.json");
    const CANCELLED: &str = include_str!("../../tests/fixtures/platforms/calcom-cancelled.json");
    const PING: &str = include_str!("../../tests/fixtures/platforms/calcom-ping.json");

    fn map(body: &str) -> Result<Option<Booking>, PlatformError> {
        to_booking_json(Platform::CalCom, body.as_bytes()).map(|j| j.map(|j| Booking::from_json(&j).unwrap()))
    }

    fn booking(body: &str) -> Booking {
        map(body).unwrap().expect("a booking")
    }

    fn error(body: &str) -> PlatformError {
        map(body).unwrap_err()
    }

    fn answer(key: &str, label: &str, value: &str) -> Answer {
        Answer { key: key.into(), label: label.into(), value: value.into() }
    }

    fn ada(timezone: &str, phone: Option<&str>, company: Option<&str>) -> Person {
        Person {
            name: "Ada Lovelace".into(),
            email: "ada@analytical.example".into(),
            phone: phone.map(Into::into),
            company: company.map(Into::into),
            timezone: Some(timezone.into()),
        }
    }

    fn rep_one() -> Person {
        Person {
            name: "Rep One".into(),
            email: "rep.one@portico-demo.example".into(),
            phone: None,
            company: None,
            timezone: Some("Europe/London".into()),
        }
    }

    #[test]
    fn a_created_booking_maps_every_field() {
        let b = booking(CREATED);
        assert_eq!(b.id, "bFJeNb2uX8ANpT3JL5EfXw");
        assert_eq!(b.kind, BookingKind::Created);
        assert_eq!(b.title, "Intro call between Rep One and Ada Lovelace");
        assert_eq!(b.description.as_deref(), Some("A 30-minute introduction to Portico."));
        assert_eq!(b.start.to_salesforce(), "2026-12-01T14:00:00.000Z");
        assert_eq!(b.end.to_salesforce(), "2026-12-01T14:30:00.000Z");
        assert_eq!(b.timezone, "Europe/London");
        assert_eq!(b.location.as_deref(), Some("https://app.cal.com/video/bFJeNb2uX8ANpT3JL5EfXw"));
        assert_eq!(b.organizer, rep_one());
        assert_eq!(
            b.attendees,
            vec![ada("Europe/London", Some("+44 20 7946 0958"), Some("Analytical Engines Ltd"))],
            "the company from the `company` response"
        );
        assert_eq!(
            b.answers,
            vec![
                answer("location", "location", "integrations:daily"),
                answer("notes", "additional_notes", "Wants to see the Salesforce sync."),
                answer("attendeePhoneNumber", "phone_number", "+44 20 7946 0958"),
                answer("company", "Company", "Analytical Engines Ltd"),
                answer("team-size", "Team size", "11-50"),
                answer("interests", "Interests", "Sync, Reporting"),
                answer("consent", "I agree to be contacted", "true"),
            ],
            "name and email are the attendee; empty guests and an unanswered reschedule reason are left out"
        );
        assert_eq!(b.cancel_reason, None);
        assert_eq!(b.previous_start, None);
    }

    #[test]
    fn the_json_text_is_canonical_and_keeps_the_delivery() {
        let text = to_booking_json(Platform::CalCom, CREATED.as_bytes()).unwrap().unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["start"], "2026-12-01T14:00:00.000Z");
        assert_eq!(doc["organizer"]["email"], "rep.one@portico-demo.example", "lower-cased in the text too");
        assert_eq!(doc["source"]["platform"], "calcom");
        assert_eq!(doc["source"]["event"], "BOOKING_CREATED");
        assert_eq!(doc["source"]["booking_id"], doc["id"], "a creation is its own id");
        let original: Value = serde_json::from_str(CREATED).unwrap();
        assert_eq!(doc["source"]["payload"], original["payload"], "the whole payload, unchanged");
        assert_eq!(Booking::from_json(&text).unwrap().raw, text);
    }

    #[test]
    fn a_reschedule_keeps_the_original_uid_and_the_previous_start() {
        let b = booking(RESCHEDULED);
        assert_eq!(b.id, "bFJeNb2uX8ANpT3JL5EfXw", "rescheduleUid, not the new booking's uid");
        assert_eq!(b.kind, BookingKind::Rescheduled);
        assert_eq!(b.start.to_salesforce(), "2026-12-02T15:00:00.000Z");
        assert_eq!(b.end.to_salesforce(), "2026-12-02T15:30:00.000Z");
        assert_eq!(b.previous_start.unwrap().to_salesforce(), "2026-12-01T14:00:00.000Z");
        assert_eq!(b.description, None, "null description, empty notes");
        assert_eq!(
            b.location.as_deref(),
            Some("https://app.cal.com/video/nEwUiD8ANpT3JL5EfXw00"),
            "the video link rather than `integrations:daily`"
        );
        assert_eq!(b.organizer, rep_one());
        assert_eq!(b.attendees, vec![ada("Europe/London", None, None)], "the form asked for neither");
        assert_eq!(
            b.answers,
            vec![
                answer("location", "location", "integrations:daily"),
                answer("rescheduleReason", "reschedule_reason", "Clash with a board meeting"),
            ]
        );
        assert!(b.raw.contains(r#""uid":"nEwUiD8ANpT3JL5EfXw00""#), "the new uid stays reachable under source");
        let doc: Value = serde_json::from_str(&b.raw).unwrap();
        assert_eq!(doc["source"]["booking_id"], "nEwUiD8ANpT3JL5EfXw00", "the platform's own id, for the alias");

        let without_original = RESCHEDULED.replace("\"rescheduleUid\": \"bFJeNb2uX8ANpT3JL5EfXw\",", "");
        assert_eq!(booking(&without_original).id, "nEwUiD8ANpT3JL5EfXw00", "falls back to the booking's own uid");
    }

    #[test]
    fn a_cancellation_carries_its_reason() {
        let b = booking(CANCELLED);
        assert_eq!(b.id, "bFJeNb2uX8ANpT3JL5EfXw");
        assert_eq!(b.kind, BookingKind::Cancelled);
        assert_eq!(b.cancel_reason.as_deref(), Some("No longer needed"));
        assert_eq!(b.start.to_salesforce(), "2026-12-01T14:00:00.000Z");
        assert_eq!(b.answers, vec![answer("company", "Company", "Analytical Engines Ltd")]);
        assert_eq!(b.previous_start, None);
    }

    /// The created fixture with the attendee's `phoneNumber` and the responses changed: `None`
    /// removes the response, and new ones go after the others, as Cal.com sends custom fields.
    fn created_with(phone_number: Option<&str>, responses: &[(&str, Option<Value>)]) -> String {
        let mut delivery: Value = serde_json::from_str(CREATED).unwrap();
        delivery["payload"]["attendees"][0]["phoneNumber"] = phone_number.map_or(Value::Null, Value::from);
        let form = delivery["payload"]["responses"].as_object_mut().unwrap();
        for (key, response) in responses {
            match response {
                Some(response) => form.insert((*key).to_owned(), response.clone()),
                None => form.shift_remove(*key),
            };
        }
        delivery.to_string()
    }

    fn labelled(label: &str, value: &str) -> Option<Value> {
        Some(serde_json::json!({"label": label, "value": value}))
    }

    #[test]
    fn company_and_phone_responses_fill_the_attendee() {
        // A form with the host's own "Company" and "Phone" fields and Cal.com's phone field hidden.
        let body =
            created_with(None, &[("attendeePhoneNumber", None), ("phone", labelled("Phone", "+44 7700 900123"))]);
        let b = booking(&body);
        assert_eq!(b.attendees, vec![ada("Europe/London", Some("+44 7700 900123"), Some("Analytical Engines Ltd"))]);
        assert_eq!(
            b.answers,
            vec![
                answer("location", "location", "integrations:daily"),
                answer("notes", "additional_notes", "Wants to see the Salesforce sync."),
                answer("company", "Company", "Analytical Engines Ltd"),
                answer("team-size", "Team size", "11-50"),
                answer("interests", "Interests", "Sync, Reporting"),
                answer("consent", "I agree to be contacted", "true"),
                answer("phone", "Phone", "+44 7700 900123"),
            ],
            "the answers are kept as they were"
        );

        let organisation = created_with(
            None,
            &[("company", None), ("Organisation-name", labelled("Organisation name", "Difference Engines plc"))],
        );
        assert_eq!(booking(&organisation).attendees[0].company.as_deref(), Some("Difference Engines plc"));
        assert_eq!(
            booking(&created_with(None, &[])).attendees[0].phone.as_deref(),
            Some("+44 20 7946 0958"),
            "Cal.com's own phone field, when the attendee has no phoneNumber"
        );
        let renamed = created_with(
            None,
            &[
                ("attendeePhoneNumber", None),
                ("smsReminderNumber", labelled("Numéro pour les SMS", "+33 6 12 34 56 78")),
            ],
        );
        assert_eq!(booking(&renamed).attendees[0].phone.as_deref(), Some("+33 6 12 34 56 78"), "by key, any label");
    }

    #[test]
    fn an_explicit_phone_number_wins_over_a_response() {
        let body = created_with(
            Some("+44 20 7946 0958"),
            &[("attendeePhoneNumber", None), ("phone", labelled("Phone number", "+44 7700 900123"))],
        );
        assert_eq!(booking(&body).attendees[0].phone.as_deref(), Some("+44 20 7946 0958"));
    }

    #[test]
    fn blank_company_and_phone_responses_fill_nothing() {
        let body = created_with(
            None,
            &[("attendeePhoneNumber", labelled("phone_number", "  ")), ("company", labelled("Company", " "))],
        );
        let b = booking(&body);
        assert_eq!(b.attendees, vec![ada("Europe/London", None, None)]);
        assert!(b.answers.iter().all(|a| a.key != "company" && a.key != "attendeePhoneNumber"), "{:?}", b.answers);
    }

    #[test]
    fn pings_and_other_triggers_are_ignored() {
        assert_eq!(map(PING).unwrap(), None);
        for trigger in ["MEETING_ENDED", "MEETING_STARTED", "BOOKING_REQUESTED", "BOOKING_PAID", "SOMETHING_NEW"] {
            let body =
                format!(r#"{{"triggerEvent":"{trigger}","createdAt":"2026-11-20T10:00:00.000Z","payload":{{}}}}"#);
            assert_eq!(map(&body).unwrap(), None, "{trigger}");
        }
        assert_eq!(map(r#"{"triggerEvent":"MEETING_ENDED"}"#).unwrap(), None, "an ignored trigger needs no payload");
    }

    #[test]
    fn times_with_offsets_are_stored_in_utc() {
        let body = CREATED
            .replace("\"startTime\": \"2026-12-01T14:00:00Z\"", "\"startTime\": \"2026-12-01T15:00:00+01:00\"")
            .replace("\"endTime\": \"2026-12-01T14:30:00Z\"", "\"endTime\": \"2026-12-01T09:30:00.5-05:00\"");
        let text = to_booking_json(Platform::CalCom, body.as_bytes()).unwrap().unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (doc["start"].as_str(), doc["end"].as_str()),
            (Some("2026-12-01T14:00:00.000Z"), Some("2026-12-01T14:30:00.500Z"))
        );
    }

    #[test]
    fn fallbacks_for_thin_payloads() {
        let body = r#"{"triggerEvent":"BOOKING_CREATED","payload":{"uid":"u1","eventTitle":"Intro call",
            "startTime":"2026-12-01T14:00:00Z","endTime":"2026-12-01T14:30:00Z",
            "organizer":{"email":" Host@Example.com "},"location":"integrations:zoom",
            "attendees":[{"name":"Bo","email":"bo@example.com","timeZone":"Asia/Tokyo"}],
            "responses":{"company":"Acme","size":{"label":"Size","value":{"optionValue":"","value":"big"}}}}}"#;
        let b = booking(body);
        assert_eq!(b.title, "Intro call");
        assert_eq!(b.timezone, "Asia/Tokyo", "the attendee's zone when the organizer has none");
        assert_eq!(b.organizer.name, "host@example.com", "an unnamed organizer is named by their address");
        assert_eq!(b.location.as_deref(), Some("integrations:zoom"), "no link to prefer");
        assert_eq!(b.answers, vec![answer("company", "company", "Acme"), answer("size", "Size", "big")]);
        let no_zones = body.replace(r#","timeZone":"Asia/Tokyo""#, "");
        assert_eq!(booking(&no_zones).timezone, "UTC");
    }

    #[test]
    fn missing_and_malformed_fields_are_named() {
        let path = |body: &str| error(body).path().map(str::to_owned);
        assert_eq!(error(r#"{"triggerEvent":"BOOKING_CREATED"}"#).to_string(), "the Cal.com delivery has no `payload`");
        assert_eq!(path(r#"{"payload":{}}"#).as_deref(), Some("triggerEvent"));
        assert_eq!(
            error(r#"{"triggerEvent":"BOOKING_CREATED","payload":[]}"#).to_string(),
            "the Cal.com delivery's `payload` is malformed: expected an object, found a JSON array"
        );
        assert_eq!(path(&CREATED.replace("startTime", "begins")).as_deref(), Some("payload.startTime"));
        assert_eq!(
            error(&CREATED.replace("\"startTime\": \"2026-12-01T14:00:00Z\"", "\"startTime\": \"1 December\""))
                .to_string(),
            "the Cal.com delivery's `payload.startTime` is malformed: `1 December` is not a valid RFC 3339 timestamp"
        );
        assert_eq!(
            path(&CREATED.replace("\"uid\": \"bFJeNb2uX8ANpT3JL5EfXw\"", "\"uid\": \"\"")).as_deref(),
            Some("payload.uid")
        );
        assert_eq!(
            path(&CREATED.replace("\"email\": \"ADA@analytical.example\",\n", "")).as_deref(),
            Some("payload.attendees[0].email")
        );
        assert_eq!(
            path(&CREATED.replace("Rep.One@Portico-Demo.example", "")).as_deref(),
            Some("payload.organizer.email")
        );
        assert_eq!(path(&CREATED.replace("\"bookingId\": 91", "\"title\": 91")).as_deref(), Some("payload.title"));
        let swapped = CREATED.replace("\"endTime\": \"2026-12-01T14:30:00Z\"", "\"endTime\": \"2026-12-01T13:30:00Z\"");
        assert_eq!(
            error(&swapped).to_string(),
            "the Cal.com delivery's `payload.endTime` is malformed: 2026-12-01T13:30:00.000Z is before `payload.startTime` (2026-12-01T14:00:00.000Z)"
        );
    }
}
