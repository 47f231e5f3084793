//! Calendly webhooks v2: `{"event", "created_at", "created_by", "payload"}`. For `invitee.*`
//! events, the payload is the Invitee resource, with the scheduled event embedded in
//! `scheduled_event`.
//!
//! | booking field    | from                                                                          |
//! |------------------|-------------------------------------------------------------------------------|
//! | `id`             | UUID of the scheduled event in `payload.old_invitee` if set, else in `payload.scheduled_event.uri` |
//! | `kind`           | `invitee.created` → created (rescheduled with `old_invitee`); `invitee.canceled` → cancelled |
//! | `title`          | `payload.scheduled_event.name`                                                |
//! | `description`    | `payload.scheduled_event.meeting_notes_plain`                                 |
//! | `start`, `end`   | `payload.scheduled_event.start_time`, `…end_time`                             |
//! | `timezone`       | `payload.timezone` (the invitee's), else `UTC`                                |
//! | `location`       | `payload.scheduled_event.location.location`, else `….join_url`                |
//! | `organizer`      | `payload.scheduled_event.event_memberships[0]` (`user_name`, `user_email`)    |
//! | `attendees`      | the invitee: `name`, `email`, `text_reminder_number`, `timezone`; empty `company` and `phone` from `payload.questions_and_answers` (below) |
//! | `answers`        | `payload.questions_and_answers[*]`: key `q<position>`, label the question     |
//! | `cancel_reason`  | `payload.cancellation.reason` (cancellations)                                 |
//! | `previous_start` | never: the old event's time is not in the delivery                           |
//!
//! `invitee.canceled` with `rescheduled: true` is the first half of a reschedule and is ignored.
//! So are all other events (`routing_form_submission.created`, `invitee_no_show.*`, …).
//!
//! # Company and phone from the booking form
//!
//! Each of `payload.questions_and_answers` is `{"question", "answer", "position"}`, and the
//! question is the host's own text: Calendly has no fixed key for a company or phone question.
//! The invitee's `company` is filled from the answer to a company question (`Company`,
//! `Company name`, `Organization`, …, see `form`). Their phone is `text_reminder_number` when
//! the invitee asked for text reminders; otherwise it is filled from the answer to a phone
//! question (`Phone`, `Phone number`, `Mobile`, …). The answers stay in `answers` too.

use super::{Fields, Mapped, PlatformError, answer, answer_text, form, person};
use crate::booking::{Answer, Booking, BookingKind};

pub(super) fn map(f: &Fields<'_>) -> Result<Option<Mapped>, PlatformError> {
    let event = f.required_text("event")?;
    let canceled = match event.as_str() {
        "invitee.created" => false,
        "invitee.canceled" => true,
        _ => return Ok(None),
    };
    f.object("payload")?;
    if canceled && f.flag("payload.rescheduled")? {
        // The old invitee of a reschedule; the `invitee.created` of the new one carries the move.
        return Ok(None);
    }
    let event_uri = f.required_text("payload.scheduled_event.uri")?;
    let event_id = scheduled_event_uuid(&event_uri).ok_or_else(|| {
        f.malformed("payload.scheduled_event.uri", format!("no scheduled event UUID in `{event_uri}`"))
    })?;
    let old_event_id = match f.text("payload.old_invitee")? {
        Some(uri) => Some(
            scheduled_event_uuid(&uri)
                .ok_or_else(|| f.malformed("payload.old_invitee", format!("no scheduled event UUID in `{uri}`")))?,
        ),
        None => None,
    };
    let kind = match (canceled, &old_event_id) {
        (true, _) => BookingKind::Cancelled,
        (false, Some(_)) => BookingKind::Rescheduled,
        (false, None) => BookingKind::Created,
    };
    let (start, end) = f.span("payload.scheduled_event.start_time", "payload.scheduled_event.end_time")?;
    let membership = "payload.scheduled_event.event_memberships[0]";
    let organizer =
        person(f.text(&format!("{membership}.user_name"))?, f.email(&format!("{membership}.user_email"))?, None, None);
    let invitee_name = match f.text("payload.name")? {
        Some(name) => Some(name),
        None => {
            let parts = [f.text("payload.first_name")?, f.text("payload.last_name")?];
            Some(parts.into_iter().flatten().collect::<Vec<_>>().join(" ")).filter(|n| !n.is_empty())
        }
    };
    let timezone = f.text("payload.timezone")?;
    let mut invitee =
        person(invitee_name, f.email("payload.email")?, f.text("payload.text_reminder_number")?, timezone.clone());
    let answers = answers(f)?;
    form::fill_attendee(&mut invitee, &answers, &[]);
    let booking = Booking {
        id: old_event_id.unwrap_or_else(|| event_id.clone()),
        kind,
        title: f.required_text("payload.scheduled_event.name")?,
        description: f.text("payload.scheduled_event.meeting_notes_plain")?,
        start,
        end,
        timezone: timezone.unwrap_or_else(|| "UTC".to_owned()),
        location: match f.text("payload.scheduled_event.location.location")? {
            Some(place) => Some(place),
            None => f.text("payload.scheduled_event.location.join_url")?,
        },
        organizer,
        attendees: vec![invitee],
        answers,
        cancel_reason: if canceled { f.text("payload.cancellation.reason")? } else { None },
        previous_start: None,
        raw: String::new(),
    };
    Ok(Some(Mapped { event, booking, own_id: event_id }))
}

/// The scheduled event's UUID in a Calendly URI (`…/scheduled_events/<uuid>[/invitees/<uuid>]`).
fn scheduled_event_uuid(uri: &str) -> Option<String> {
    let (_, rest) = uri.split_once("/scheduled_events/")?;
    rest.split(['/', '?', '#']).next().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The booking questions' answers. The key is `q<position>`, or a slug of the question when
/// there is no position. Unanswered questions are left out.
fn answers(f: &Fields<'_>) -> Result<Vec<Answer>, PlatformError> {
    let mut answers = Vec::new();
    for i in 0..f.array("payload.questions_and_answers")?.len() {
        let path = format!("payload.questions_and_answers[{i}]");
        let question = f.required_text(&format!("{path}.question"))?;
        let Some(text) = f.get(&format!("{path}.answer")).and_then(answer_text) else { continue };
        let key = match f.get(&format!("{path}.position")).and_then(|p| p.as_u64()) {
            Some(position) => format!("q{position}"),
            None => slug(&question),
        };
        answers.push(answer(key, question, text));
    }
    Ok(answers)
}

/// Lower-case ASCII letters and digits, other runs as one `-`: `What's your role?` → `what-s-your-role`.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::slug;
    use crate::booking::{Answer, Booking, BookingKind, Person};
    use crate::platforms::{Platform, PlatformError, to_booking_json};
    use serde_json::Value;

    const CREATED: &str = include_str!("../../tests/fixtures/platforms/calendly-created.json");
    const CANCELED_FOR_RESCHEDULE: &str =
        include_str!("../../tests/fixtures/platforms/calendly-canceled-for-reschedule.json");
    const RESCHEDULED: &str = include_str!("../../tests/fixtures/platforms/calendly-rescheduled.json");
    const CANCELED: &str = include_str!("../../tests/fixtures/platforms/calendly-canceled.json");
    const ROUTING_FORM: &str = include_str!("../../tests/fixtures/platforms/calendly-routing-form.json");

    const FIRST_EVENT: &str = "4f3b2a10-9c8d-4e7f-a6b5-1c2d3e4f5a60";

    fn map(body: &str) -> Result<Option<Booking>, PlatformError> {
        to_booking_json(Platform::Calendly, body.as_bytes()).map(|j| j.map(|j| Booking::from_json(&j).unwrap()))
    }

    fn booking(body: &str) -> Booking {
        map(body).unwrap().expect("a booking")
    }

    fn error(body: &str) -> PlatformError {
        map(body).unwrap_err()
    }

    fn grace() -> Person {
        Person {
            name: "Grace Hopper".into(),
            email: "grace@navy.example".into(),
            phone: Some("+1 202-555-0147".into()),
            company: Some("Compilers Inc".into()),
            timezone: Some("America/New_York".into()),
        }
    }

    fn answers() -> Vec<Answer> {
        vec![
            Answer { key: "q0".into(), label: "Company".into(), value: "Compilers Inc".into() },
            Answer {
                key: "q1".into(),
                label: "What would you like to discuss?".into(),
                value: "Evaluate the sync\nPricing".into(),
            },
        ]
    }

    #[test]
    fn a_created_invitee_maps_every_field() {
        let b = booking(CREATED);
        assert_eq!(b.id, FIRST_EVENT, "the scheduled event's UUID");
        assert_eq!(b.kind, BookingKind::Created);
        assert_eq!(b.title, "Product demo");
        assert_eq!(b.description.as_deref(), Some("Bring questions about the Salesforce sync."));
        assert_eq!(b.start.to_salesforce(), "2026-12-03T16:00:00.000Z");
        assert_eq!(b.end.to_salesforce(), "2026-12-03T16:45:00.000Z");
        assert_eq!(b.timezone, "America/New_York");
        assert_eq!(b.location.as_deref(), Some("https://us02web.zoom.us/j/81234567890"));
        assert_eq!(
            b.organizer,
            Person {
                name: "Rep One".into(),
                email: "rep.one@portico-demo.example".into(),
                phone: None,
                company: None,
                timezone: None
            }
        );
        assert_eq!(b.attendees, vec![grace()]);
        assert_eq!(b.answers, answers());
        assert_eq!(b.cancel_reason, None);
        assert_eq!(b.previous_start, None);

        let doc: Value = serde_json::from_str(&b.raw).unwrap();
        assert_eq!(doc["source"]["platform"], "calendly");
        assert_eq!(doc["source"]["event"], "invitee.created");
        let original: Value = serde_json::from_str(CREATED).unwrap();
        assert_eq!(doc["source"]["payload"], original["payload"]);
        assert_eq!(doc["attendees"][0]["email"], "grace@navy.example", "lower-cased in the text too");
    }

    #[test]
    fn a_reschedule_is_one_move_of_the_original_event() {
        assert_eq!(map(CANCELED_FOR_RESCHEDULE).unwrap(), None, "the cancel half is ignored");
        let b = booking(RESCHEDULED);
        assert_eq!(b.id, FIRST_EVENT, "the old scheduled event's UUID, from old_invitee");
        assert_eq!(b.kind, BookingKind::Rescheduled);
        assert_eq!(b.start.to_salesforce(), "2026-12-04T16:00:00.000Z");
        assert_eq!(b.end.to_salesforce(), "2026-12-04T16:45:00.000Z");
        assert_eq!(b.previous_start, None);
        assert_eq!(b.attendees, vec![grace()]);
        assert_eq!(b.answers, answers());
        assert!(b.raw.contains("9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"), "the new event stays reachable under source");
        let doc: Value = serde_json::from_str(&b.raw).unwrap();
        assert_eq!(doc["source"]["booking_id"], "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "the new event, for the alias");

        // Cancelling the rescheduled invitee later still reaches the original records.
        let later = RESCHEDULED.replace("\"event\": \"invitee.created\"", "\"event\": \"invitee.canceled\"");
        let cancelled = booking(&later);
        assert_eq!((cancelled.id.as_str(), cancelled.kind), (FIRST_EVENT, BookingKind::Cancelled));
    }

    #[test]
    fn a_cancellation_carries_its_reason() {
        let b = booking(CANCELED);
        assert_eq!(b.id, FIRST_EVENT);
        assert_eq!(b.kind, BookingKind::Cancelled);
        assert_eq!(b.cancel_reason.as_deref(), Some("Found another vendor"));
        assert_eq!(b.start.to_salesforce(), "2026-12-03T16:00:00.000Z");
        assert_eq!(b.attendees, vec![grace()]);
    }

    /// The created fixture with `text_reminder_number` and the answers to the named questions
    /// changed (`None` leaves a question unanswered); new questions go after the fixture's.
    fn created_with(reminder: Option<&str>, questions: &[(&str, Option<&str>)]) -> String {
        let mut delivery: Value = serde_json::from_str(CREATED).unwrap();
        delivery["payload"]["text_reminder_number"] = reminder.map_or(Value::Null, Value::from);
        let form = delivery["payload"]["questions_and_answers"].as_array_mut().unwrap();
        for (question, answer) in questions {
            let answer = answer.map_or(Value::Null, Value::from);
            match form.iter_mut().find(|q| q["question"] == *question) {
                Some(existing) => existing["answer"] = answer,
                None => {
                    let position = form.len();
                    form.push(serde_json::json!({"question": question, "answer": answer, "position": position}));
                }
            }
        }
        delivery.to_string()
    }

    #[test]
    fn company_and_phone_answers_fill_the_invitee() {
        let body = created_with(None, &[("Phone number", Some("+1 202-555-0199"))]);
        let b = booking(&body);
        assert_eq!(b.attendees, vec![Person { phone: Some("+1 202-555-0199".into()), ..grace() }]);
        let mut kept = answers();
        kept.push(Answer { key: "q2".into(), label: "Phone number".into(), value: "+1 202-555-0199".into() });
        assert_eq!(b.answers, kept, "the answers are kept as they were");

        let renamed =
            created_with(None, &[("Company", None), ("Organization:", Some(" Navy Labs ")), ("Mobile", Some("555"))]);
        let grace = &booking(&renamed).attendees[0];
        assert_eq!((grace.company.as_deref(), grace.phone.as_deref()), (Some("Navy Labs"), Some("555")));
        let unrelated = created_with(None, &[("Company", None), ("Company size", Some("51-200"))]);
        assert_eq!(booking(&unrelated).attendees[0].company, None, "`Company size` is not the company");
    }

    #[test]
    fn the_text_reminder_number_wins_over_an_answer() {
        let body = created_with(Some("+1 202-555-0147"), &[("Phone", Some("+1 202-555-0199"))]);
        assert_eq!(booking(&body).attendees[0].phone.as_deref(), Some("+1 202-555-0147"));
    }

    #[test]
    fn blank_company_and_phone_answers_fill_nothing() {
        let body = created_with(None, &[("Company", Some("   ")), ("Phone", Some(""))]);
        let b = booking(&body);
        assert_eq!((b.attendees[0].company.as_deref(), b.attendees[0].phone.as_deref()), (None, None));
        assert_eq!(b.answers, answers()[1..], "blank answers are left out, as before");
    }

    #[test]
    fn other_events_are_ignored() {
        assert_eq!(map(ROUTING_FORM).unwrap(), None);
        for event in ["invitee_no_show.created", "event_type.updated", "something.new"] {
            let body = format!(r#"{{"event":"{event}","created_at":"2026-11-20T10:00:00.000000Z","payload":{{}}}}"#);
            assert_eq!(map(&body).unwrap(), None, "{event}");
        }
    }

    #[test]
    fn locations_names_and_keys_have_fallbacks() {
        let physical =
            CREATED.replace(r#""type": "zoom","#, r#""type": "physical", "location": "1 Infinite Loop, Cupertino","#);
        assert_eq!(booking(&physical).location.as_deref(), Some("1 Infinite Loop, Cupertino"));
        let split_name = CREATED
            .replace(r#""name": "Grace Hopper""#, r#""name": null"#)
            .replace(r#""first_name": null"#, r#""first_name": "Grace""#)
            .replace(r#""last_name": null"#, r#""last_name": "Hopper""#);
        assert_eq!(booking(&split_name).attendees[0].name, "Grace Hopper");
        let no_positions = CREATED.replace(r#""position": 1,"#, "");
        assert_eq!(booking(&no_positions).answers[1].key, "what-would-you-like-to-discuss");
        let unnamed_host = CREATED.replace(r#""user_name": "Rep One""#, r#""user_name": null"#);
        assert_eq!(booking(&unnamed_host).organizer.name, "rep.one@portico-demo.example");
        assert_eq!(slug("  What's your role? "), "what-s-your-role");
    }

    #[test]
    fn missing_and_malformed_fields_are_named() {
        let path = |body: &str| error(body).path().map(str::to_owned);
        assert_eq!(error(r#"{"event":"invitee.created"}"#).to_string(), "the Calendly delivery has no `payload`");
        assert_eq!(path(r#"{"payload":{}}"#).as_deref(), Some("event"));
        assert_eq!(
            path(&CREATED.replace("\"start_time\"", "\"starts\"")).as_deref(),
            Some("payload.scheduled_event.start_time")
        );
        assert_eq!(
            error(&CREATED.replace("2026-12-03T16:45:00.000000Z", "soon")).to_string(),
            "the Calendly delivery's `payload.scheduled_event.end_time` is malformed: `soon` is not a valid RFC 3339 timestamp"
        );
        assert_eq!(path(&CREATED.replace("\"Grace@Navy.example\"", "null")).as_deref(), Some("payload.email"));
        assert_eq!(
            path(&CREATED.replace("\"user_email\"", "\"email\"")).as_deref(),
            Some("payload.scheduled_event.event_memberships[0].user_email")
        );
        let detached = CREATED.replace("\"scheduled_event\": {", "\"scheduled_event_\": {");
        assert_eq!(path(&detached).as_deref(), Some("payload.scheduled_event.uri"));
        let odd_uri = CREATED.replace(
            "\"uri\": \"https://api.calendly.com/scheduled_events/4f3b2a10-9c8d-4e7f-a6b5-1c2d3e4f5a60\"",
            "\"uri\": \"https://api.calendly.com/events/4f3b2a10\"",
        );
        assert_eq!(
            error(&odd_uri).to_string(),
            "the Calendly delivery's `payload.scheduled_event.uri` is malformed: no scheduled event UUID in `https://api.calendly.com/events/4f3b2a10`"
        );
        assert_eq!(
            path(&CANCELED_FOR_RESCHEDULE.replace("\"rescheduled\": true", "\"rescheduled\": \"yes\"")).as_deref(),
            Some("payload.rescheduled")
        );
        assert_eq!(
            path(&CREATED.replace("\"question\": \"Company\"", "\"question\": \"\"")).as_deref(),
            Some("payload.questions_and_answers[0].question")
        );
    }
}
