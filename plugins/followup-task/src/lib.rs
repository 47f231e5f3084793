//! `followup-task`: a Task to follow up each meeting, due `days` after it.
//!
//! - `ActivityDate` is the meeting end's UTC date plus the `days` setting; `Subject` comes from
//!   the `subject` template; `Status` and `Priority` from settings (restricted picklists, so a
//!   wrong value fails with the allowed values listed).
//! - `WhoId` is the attendee's Contact, else Lead, by email; the Task is unlinked otherwise.
//! - The Task is upserted by `Booking_Id__c`: a retried booking never makes a second Task, and a
//!   rescheduled one moves the due date.
//! - A cancelled meeting needs no follow-up, but a Task may already exist from the booking: it
//!   is upserted with the `cancelled_status` (default `Deferred`) and a "Cancelled:" subject, so
//!   the rep's list shows what happened instead of a stale to-do.

use portico_sdk::prelude::*;
use portico_sdk::truncate;

/// The plugin.
pub struct FollowupTask;

impl Mapper for FollowupTask {
    const MANIFEST: &'static str = include_str!("../portico.toml");

    fn map(booking: &Booking, host: &mut dyn Host) -> Result<()> {
        let days: i64 = host.config_parsed("days", 2)?;
        if !(0..=3650).contains(&days) {
            return Err(MappingError::Config(format!("setting `days` must be 0 to 3650, not {days}")));
        }
        let attendee = booking.attendees.first();
        let who = match attendee {
            Some(a) => find_person(&a.email, host)?,
            None => None,
        };
        let template = host.config_or("subject", "Follow up: {title}");
        let mut subject = template
            .replace("{title}", &booking.title)
            .replace("{attendee}", attendee.map_or("", |a| a.name.as_str()))
            .replace("{organizer}", &booking.organizer.name);
        let status = if booking.kind == BookingKind::Cancelled {
            subject = format!("Cancelled: {subject}");
            host.config_or("cancelled_status", "Deferred")
        } else {
            host.config_or("status", "Not Started")
        };
        let mut description =
            format!("Meeting \"{}\" at {} (booked in {}).", booking.title, booking.start, booking.timezone);
        if let Some(reason) = &booking.cancel_reason {
            description.push_str(&format!("\nCancelled: {reason}"));
        }
        let task = NewRecord::new("Task")
            .set("Subject", truncate(&subject, 255))
            .set("ActivityDate", booking.end.date_utc().add_days(days))
            .set("Status", status)
            .set("Priority", host.config_or("priority", "Normal"))
            .set_some("WhoId", who)
            .set("Description", description);
        host.upsert(task, "Booking_Id__c", &booking.id)?;
        Ok(())
    }
}

/// The id of the Contact, else the Lead, with this email.
fn find_person(email: &str, host: &mut dyn Host) -> Result<Option<String>> {
    for sobject in ["Contact", "Lead"] {
        if let Some(found) = host.find_one(sobject, "Email", email, &["Id"])? {
            return Ok(Some(found.id));
        }
    }
    host.info(&format!("{email} is neither a Contact nor a Lead: the Task is not linked to a person"));
    Ok(None)
}

portico_sdk::export_mapper!(FollowupTask);

#[cfg(test)]
mod tests {
    use super::*;
    use portico_sdk::testing::{FakeHost, check_samples};

    const ORG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/salesforce/describe");
    const BOOKING: &str = include_str!("../samples/contact-default-config.booking.json");

    #[test]
    fn samples_match_their_expected_requests() {
        assert!(check_samples::<FollowupTask>(concat!(env!("CARGO_MANIFEST_DIR"), "/samples"), ORG) >= 4);
    }

    #[test]
    fn the_due_date_follows_the_days_setting() {
        let mut host = FakeHost::new(FollowupTask::MANIFEST, ORG).config("days", "30");
        host.run_json::<FollowupTask>(BOOKING).unwrap();
        assert_eq!(host.composite_request()["compositeRequest"][0]["body"]["ActivityDate"], "2026-12-31");
    }

    #[test]
    fn a_bad_days_setting_is_a_config_error() {
        for bad in ["two", "-1", "1.5"] {
            let mut host = FakeHost::new(FollowupTask::MANIFEST, ORG).config("days", bad);
            let err = host.run_json::<FollowupTask>(BOOKING).unwrap_err();
            assert!(matches!(err, MappingError::Config(ref m) if m.contains("days")), "{bad}: {err}");
        }
    }

    #[test]
    fn a_status_outside_the_picklist_names_the_allowed_values() {
        let mut host = FakeHost::new(FollowupTask::MANIFEST, ORG).config("status", "Someday");
        let MappingError::Host(e) = host.run_json::<FollowupTask>(BOOKING).unwrap_err() else { panic!() };
        assert_eq!(e.kind, ErrorKind::BadPicklistValue);
        assert!(e.message.contains("Not Started, In Progress, Completed"), "{}", e.message);
    }
}
