"""`lead-event` in Python: the attendee becomes (or is found as) a Contact or Lead, the meeting an
Event. The same samples as the Rust original (``plugins/lead-event/samples``) must give the same
Composite requests.

- Finds the first attendee as a Contact, then as a Lead, by email; creates a Lead when neither
  exists (not for a cancelled booking: a cancelled meeting is no reason to create a Lead).
- Upserts the Event by ``Booking_Id__c`` = booking id, so a retried or rescheduled booking updates
  the same Event; a cancellation marks it ``Booking_Status__c = Cancelled`` and prefixes the
  subject.
"""

from typing import Optional, Union

from portico_plugin import (
    Booking,
    BookingKind,
    Person,
    RecordRef,
    config_or,
    create,
    find_one,
    invalid_booking,
    log,
    mapper,
    record,
    split_name,
    truncate,
    upsert,
)

STATUS = {BookingKind.CREATED: "Booked", BookingKind.RESCHEDULED: "Rescheduled", BookingKind.CANCELLED: "Cancelled"}


@mapper
def map(booking: Booking) -> None:
    if not booking.attendees:
        invalid_booking("the booking has no attendees")
    attendee = booking.attendees[0]
    if attendee.email == "":
        invalid_booking("the first attendee has no email address")
    who = find_or_create_person(booking, attendee)

    cancelled = booking.kind == BookingKind.CANCELLED
    subject = f"Cancelled: {booking.title}" if cancelled else booking.title
    description = booking.description or ""
    if booking.cancel_reason is not None:
        description = f"{description}\n\nCancelled: {booking.cancel_reason}".strip()
    event = (
        record("Event")
        .set("Subject", truncate(subject, 255))
        .set("StartDateTime", booking.start)
        .set("EndDateTime", booking.end)
        .set_some("Location", None if booking.location is None else truncate(booking.location, 255))
        .set_some("Description", truncate(description, 32_000) if description else None)
        .set_some("WhoId", who)
        .set("Booking_Status__c", STATUS[booking.kind])
    )
    upsert(event, "Booking_Id__c", booking.id)


def find_or_create_person(booking: Booking, attendee: Person) -> Optional[Union[str, RecordRef]]:
    """The Contact or Lead the Event is about (an id, or a staged Lead), or none."""
    for sobject in ("Contact", "Lead"):
        found = find_one(sobject, "Email", attendee.email, ["Id"])
        if found is not None:
            log.info(f"{attendee.email} is {sobject} {found.id}")
            return found.id
    if booking.kind == BookingKind.CANCELLED:
        log.info("cancelled booking of an unknown attendee: no Lead created")
        return None
    first, last = split_name(attendee.name)
    company = attendee.company if attendee.company and attendee.company.strip() else config_or(
        "unknown_company", "[not provided]"
    )
    lead = (
        record("Lead")
        .set_some("FirstName", None if first is None else truncate(first, 40))
        .set("LastName", truncate(last, 80))
        .set("Company", truncate(company, 255))
        .set("Email", attendee.email)
        .set_some("Phone", None if attendee.phone is None else truncate(attendee.phone, 40))
        .set("LeadSource", config_or("lead_source", "Web"))
    )
    return create(lead)
