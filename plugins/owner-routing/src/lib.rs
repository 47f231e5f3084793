//! `owner-routing`: the Event belongs to the rep who hosts the meeting.
//!
//! - `OwnerId` is the active Salesforce User whose Email is the organizer's; when there is none,
//!   the field is left out so Salesforce assigns the connected (integration) user, and the
//!   fallback is logged.
//! - `WhoId` is the attendee's Contact and `WhatId` that Contact's Account. An attendee who is
//!   not a Contact is logged and the Event is not linked: this plugin never creates people.
//! - The Event is upserted by `Booking_Id__c`, so reschedules and retries update one Event; a
//!   cancellation marks it `Booking_Status__c = Cancelled`.

use portico_sdk::prelude::*;
use portico_sdk::truncate;

/// The plugin.
pub struct OwnerRouting;

impl Mapper for OwnerRouting {
    const MANIFEST: &'static str = include_str!("../portico.toml");

    fn map(booking: &Booking, host: &mut dyn Host) -> Result<()> {
        let owner = organizer_user(booking, host)?;
        let contact = match booking.attendees.first() {
            Some(attendee) => {
                let found = host.find_one("Contact", "Email", attendee.email.as_str(), &["Id", "AccountId"])?;
                if found.is_none() {
                    host.info(&format!("{} is not a Contact: the Event is not linked to a person", attendee.email));
                }
                found
            }
            None => None,
        };
        let account = contact.as_ref().and_then(|c| c.text("AccountId")).map(str::to_owned);
        let (status, subject) = match booking.kind {
            BookingKind::Created => ("Booked", booking.title.clone()),
            BookingKind::Rescheduled => ("Rescheduled", booking.title.clone()),
            BookingKind::Cancelled => ("Cancelled", format!("Cancelled: {}", booking.title)),
        };
        let event = NewRecord::new("Event")
            .set("Subject", truncate(&subject, 255))
            .set("StartDateTime", booking.start)
            .set("EndDateTime", booking.end)
            .set_some("Location", booking.location.as_deref().map(|l| truncate(l, 255)))
            .set_some("Description", booking.description.as_deref().map(|d| truncate(d, 32_000)))
            .set_some("OwnerId", owner)
            .set_some("WhoId", contact.map(|c| c.id))
            .set_some("WhatId", account)
            .set("Booking_Status__c", status);
        host.upsert(event, "Booking_Id__c", &booking.id)?;
        Ok(())
    }
}

/// The id of the organizer's active User, if there is one.
fn organizer_user(booking: &Booking, host: &mut dyn Host) -> Result<Option<String>> {
    let email = booking.organizer.email.as_str();
    let users = host.find("User", "Email", email.into(), &["Id", "IsActive"], 5)?;
    let active = users.into_iter().find(|u| u.get("IsActive") == &Value::Boolean(true));
    if active.is_none() {
        host.info(&format!("no active Salesforce User has the email {email}: the connected user will own the Event"));
    }
    Ok(active.map(|u| u.id))
}

portico_sdk::export_mapper!(OwnerRouting);

#[cfg(test)]
mod tests {
    use super::*;
    use portico_sdk::testing::{FakeHost, check_samples};

    const ORG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/salesforce/describe");

    #[test]
    fn samples_match_their_expected_requests() {
        assert!(check_samples::<OwnerRouting>(concat!(env!("CARGO_MANIFEST_DIR"), "/samples"), ORG) >= 4);
    }

    #[test]
    fn an_inactive_user_does_not_own_the_event() {
        let mut host = FakeHost::new(OwnerRouting::MANIFEST, ORG)
            .record("User", r#"{"Id":"005Dn00000Old01IAA","Email":"former@portico.example","IsActive":false}"#);
        let booking = include_str!("../samples/organizer-unknown.booking.json").replace("nobody@", "former@");
        let unit = host.run_json::<OwnerRouting>(&booking).unwrap();
        assert!(unit.records[0].fields.iter().all(|f| f.name != "OwnerId"));
        assert!(host.logs().iter().any(|l| l.message.contains("connected user will own")));
    }
}
