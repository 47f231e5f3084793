// `lead-event` in TypeScript: the attendee becomes (or is found as) a Contact or Lead, the meeting
// an Event. The same samples as the Rust original (`plugins/lead-event/samples`) must give the
// same Composite requests.
//
// - Finds the first attendee as a Contact, then as a Lead, by email; creates a Lead when neither
//   exists (not for a cancelled booking: a cancelled meeting is no reason to create a Lead).
// - Upserts the Event by `Booking_Id__c` = booking id, so a retried or rescheduled booking
//   updates the same Event; a cancellation marks it `Booking_Status__c = Cancelled` and prefixes
//   the subject.
import {
  type Booking,
  type Person,
  type RecordRef,
  configOr,
  create,
  defineMapper,
  findOne,
  invalidBooking,
  log,
  record,
  splitName,
  truncate,
  upsert,
} from "@portico/plugin-sdk";

const STATUS = { created: "Booked", rescheduled: "Rescheduled", cancelled: "Cancelled" } as const;

export const map = defineMapper((booking) => {
  const attendee = booking.attendees[0] ?? invalidBooking("the booking has no attendees");
  if (attendee.email === "") invalidBooking("the first attendee has no email address");
  const who = findOrCreatePerson(booking, attendee);

  const subject = booking.kind === "cancelled" ? `Cancelled: ${booking.title}` : booking.title;
  let description = booking.description ?? "";
  if (booking.cancelReason !== undefined) {
    description = `${description}\n\nCancelled: ${booking.cancelReason}`.trim();
  }
  const event = record("Event")
    .set("Subject", truncate(subject, 255))
    .set("StartDateTime", booking.start)
    .set("EndDateTime", booking.end)
    .setSome("Location", booking.location === undefined ? undefined : truncate(booking.location, 255))
    .setSome("Description", description === "" ? undefined : truncate(description, 32_000))
    .setSome("WhoId", who)
    .set("Booking_Status__c", STATUS[booking.kind]);
  upsert(event, "Booking_Id__c", booking.id);
});

/** The Contact or Lead the Event is about (an id, or a staged Lead), or none. */
function findOrCreatePerson(booking: Booking, attendee: Person): string | RecordRef | undefined {
  for (const sobject of ["Contact", "Lead"]) {
    const found = findOne(sobject, "Email", attendee.email, ["Id"]);
    if (found) {
      log.info(`${attendee.email} is ${sobject} ${found.id}`);
      return found.id;
    }
  }
  if (booking.kind === "cancelled") {
    log.info("cancelled booking of an unknown attendee: no Lead created");
    return undefined;
  }
  const [first, last] = splitName(attendee.name);
  const company = attendee.company?.trim() ? attendee.company : configOr("unknown_company", "[not provided]");
  const lead = record("Lead")
    .setSome("FirstName", first === undefined ? undefined : truncate(first, 40))
    .set("LastName", truncate(last, 80))
    .set("Company", truncate(company, 255))
    .set("Email", attendee.email)
    .setSome("Phone", attendee.phone === undefined ? undefined : truncate(attendee.phone, 40))
    .set("LeadSource", configOr("lead_source", "Web"));
  return create(lead);
}
