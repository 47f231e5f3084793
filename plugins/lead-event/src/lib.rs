//! `lead-event`: the attendee becomes (or is found as) a Contact or Lead, the meeting an Event.
//!
//! - Finds the first attendee as a Contact, then as a Lead, by email; creates a Lead when neither
//!   exists (not for a cancelled booking: a cancelled meeting is no reason to create a Lead).
//! - Upserts the Event by `Booking_Id__c` = booking id, so a retried or rescheduled booking
//!   updates the same Event instead of creating a second one; a cancellation marks it
//!   `Booking_Status__c = Cancelled` and prefixes the subject.

use portico_sdk::prelude::*;
use portico_sdk::{split_name, truncate};

/// The plugin.
pub struct LeadEvent;

impl Mapper for LeadEvent {
    const MANIFEST: &'static str = include_str!("../portico.toml");

    fn map(booking: &Booking, host: &mut dyn Host) -> Result<()> {
        let attendee = booking
            .attendees
            .first()
            .ok_or_else(|| MappingError::InvalidBooking("the booking has no attendees".into()))?;
        if attendee.email.is_empty() {
            return Err(MappingError::InvalidBooking("the first attendee has no email address".into()));
        }
        let who = find_or_create_person(booking, attendee, host)?;

        let (status, subject) = match booking.kind {
            BookingKind::Created => ("Booked", booking.title.clone()),
            BookingKind::Rescheduled => ("Rescheduled", booking.title.clone()),
            BookingKind::Cancelled => ("Cancelled", format!("Cancelled: {}", booking.title)),
        };
        let mut description = booking.description.clone().unwrap_or_default();
        if let Some(reason) = &booking.cancel_reason {
            description = format!("{description}\n\nCancelled: {reason}").trim().to_owned();
        }
        let event = NewRecord::new("Event")
            .set("Subject", truncate(&subject, 255))
            .set("StartDateTime", booking.start)
            .set("EndDateTime", booking.end)
            .set_some("Location", booking.location.as_deref().map(|l| truncate(l, 255)))
            .set_some("Description", (!description.is_empty()).then(|| truncate(&description, 32_000)))
            .set_some("WhoId", who)
            .set("Booking_Status__c", status);
        host.upsert(event, "Booking_Id__c", &booking.id)?;
        Ok(())
    }
}

/// The Contact or Lead the Event is about, staging a new Lead when there is none.
fn find_or_create_person(booking: &Booking, attendee: &Person, host: &mut dyn Host) -> Result<Option<Value>> {
    for sobject in ["Contact", "Lead"] {
        if let Some(found) = host.find_one(sobject, "Email", attendee.email.as_str(), &["Id"])? {
            host.info(&format!("{} is {sobject} {}", attendee.email, found.id));
            return Ok(Some(Value::Text(found.id)));
        }
    }
    if booking.kind == BookingKind::Cancelled {
        host.info("cancelled booking of an unknown attendee: no Lead created");
        return Ok(None);
    }
    let (first, last) = split_name(&attendee.name);
    let company = match &attendee.company {
        Some(c) if !c.trim().is_empty() => c.clone(),
        _ => host.config_or("unknown_company", "[not provided]"),
    };
    let lead = NewRecord::new("Lead")
        .set_some("FirstName", first.map(|f| truncate(&f, 40)))
        .set("LastName", truncate(&last, 80))
        .set("Company", truncate(&company, 255))
        .set("Email", attendee.email.as_str())
        .set_some("Phone", attendee.phone.as_deref().map(|p| truncate(p, 40)))
        .set("LeadSource", host.config_or("lead_source", "Web"));
    let lead = host.create(lead)?;
    Ok(Some(Value::RecordRef(lead)))
}

portico_sdk::export_mapper!(LeadEvent);

#[cfg(test)]
mod tests {
    use super::*;
    use portico_sdk::testing::{FakeHost, check_samples};

    const ORG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/salesforce/describe");

    #[test]
    fn samples_match_their_expected_requests() {
        let n = check_samples::<LeadEvent>(concat!(env!("CARGO_MANIFEST_DIR"), "/samples"), ORG);
        assert!(n >= 5);
    }

    #[test]
    fn an_existing_contact_is_not_duplicated_as_a_lead() {
        let mut host = FakeHost::new(LeadEvent::MANIFEST, ORG);
        let booking = include_str!("../samples/existing-contact.booking.json");
        let unit = host.run_json::<LeadEvent>(booking).unwrap();
        assert_eq!(unit.records.len(), 1, "only the Event is staged");
        assert!(host.logs()[0].message.contains("003Dn00000AbCdEIAV"));
    }

    #[test]
    fn a_cancelled_booking_of_an_unknown_attendee_creates_no_lead() {
        let mut host = FakeHost::new(LeadEvent::MANIFEST, ORG);
        let unit = host.run_json::<LeadEvent>(include_str!("../samples/cancelled.booking.json")).unwrap();
        assert_eq!(unit.records.len(), 1);
        assert_eq!(unit.records[0].reference.sobject, "Event");
        assert!(unit.records[0].fields.iter().all(|f| f.name != "WhoId"));
    }
}
