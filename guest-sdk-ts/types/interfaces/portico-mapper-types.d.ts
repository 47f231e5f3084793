declare module 'portico:mapper/types@0.1.0' {
  /**
   * A point in time, as seconds and nanoseconds since the Unix epoch (UTC).
   * 
   * Salesforce `datetime` fields take this type. The guest SDK formats it the way the
   * Salesforce REST API expects (`2026-11-22T14:30:00.000Z`).
   */
  export interface DateTime {
    /**
     * Whole seconds since 1970-01-01T00:00:00Z; negative before it.
     */
    seconds: bigint,
    /**
     * Nanoseconds past `seconds`, always below 1,000,000,000.
     */
    nanoseconds: number,
  }
  /**
   * A calendar date without a time of day, for Salesforce `date` fields (e.g. `ActivityDate`).
   */
  export interface Date {
    /**
     * The year, e.g. 2026.
     */
    year: number,
    /**
     * The month, 1 to 12.
     */
    month: number,
    /**
     * The day of the month, 1 to 31.
     */
    day: number,
  }
  /**
   * What happened to the booking on the booking platform.
   * # Variants
   * 
   * ## `"created"`
   * 
   * A new meeting was booked.
   * ## `"rescheduled"`
   * 
   * An existing booking moved to a new time; `booking.id` is unchanged.
   * ## `"cancelled"`
   * 
   * The booking was cancelled; `booking.cancel-reason` may say why.
   */
  export type BookingKind = 'created' | 'rescheduled' | 'cancelled';
  /**
   * A person taking part in a booking.
   */
  export interface Person {
    /**
     * The display name as entered on the booking form, e.g. `Ada Lovelace`.
     */
    name: string,
    /**
     * The email address, lower-cased by the host. Use it to find existing Leads and Contacts.
     */
    email: string,
    /**
     * The phone number as entered, if any.
     */
    phone?: string,
    /**
     * The company or organisation as entered, if any.
     */
    company?: string,
    /**
     * The person's IANA time zone, if the platform knows it (e.g. `Europe/Paris`).
     */
    timezone?: string,
  }
  /**
   * One answer from the booking form (questions the booking page asked the invitee).
   */
  export interface Answer {
    /**
     * The question's stable key on the booking platform, e.g. `team-size`.
     */
    key: string,
    /**
     * The question as shown to the invitee.
     */
    label: string,
    /**
     * The answer text.
     */
    value: string,
  }
  /**
   * A booked meeting, as the booking platform reported it.
   */
  export interface Booking {
    /**
     * The booking platform's id for this booking. Stable across reschedules and cancels,
     * so it is the natural external id for upserts.
     */
    id: string,
    /**
     * Whether the booking was created, rescheduled or cancelled.
     */
    kind: BookingKind,
    /**
     * The meeting title, e.g. `Intro call with Ada`.
     */
    title: string,
    /**
     * Free text describing the meeting, if any.
     */
    description?: string,
    /**
     * When the meeting starts.
     */
    start: DateTime,
    /**
     * When the meeting ends (after `start`).
     */
    end: DateTime,
    /**
     * The IANA time zone the meeting was booked in, e.g. `America/New_York`.
     */
    timezone: string,
    /**
     * Where the meeting happens: an address, a room or a video link.
     */
    location?: string,
    /**
     * The host of the meeting on the booking platform (usually a sales rep).
     */
    organizer: Person,
    /**
     * The invitees; the first is the one who booked.
     */
    attendees: Array<Person>,
    /**
     * The answers to the booking form's questions.
     */
    answers: Array<Answer>,
    /**
     * For a cancelled booking, the reason given, if any.
     */
    cancelReason?: string,
    /**
     * For a rescheduled booking, the start time it had before, if known.
     */
    previousStart?: DateTime,
    /**
     * The original booking JSON as received, for anything not modelled above.
     */
    raw: string,
  }
  /**
   * A handle to a record staged earlier in this invocation.
   * 
   * Use it as a field value (`value::record-ref`) to point a lookup field, such as
   * `Event.WhoId`, at a record that does not exist in Salesforce yet. The host turns it into a
   * Composite API reference (`@{ref.id}`).
   */
  export interface RecordRef {
    /**
     * The reference id the host assigned, e.g. `Lead_1`. Unique within one invocation.
     */
    referenceId: string,
    /**
     * The sObject type of the staged record, e.g. `Lead`.
     */
    sobject: string,
  }
  /**
   * A value for one Salesforce field.
   */
  export type Value = ValueNull | ValueText | ValueNumber | ValueBoolean | ValueDate | ValueDateTime | ValueRecordRef;
  /**
   * Clears the field (Salesforce `null`). Refused for required fields.
   */
  export interface ValueNull {
    tag: 'null',
  }
  /**
   * Text, for `string`, `textarea`, `email`, `phone`, `url`, `picklist` and similar fields;
   * for `reference` fields, an existing 15- or 18-character Salesforce id.
   */
  export interface ValueText {
    tag: 'text',
    val: string,
  }
  /**
   * A number, for `double`, `currency`, `percent` and `int` fields.
   */
  export interface ValueNumber {
    tag: 'number',
    val: number,
  }
  /**
   * A boolean, for `boolean` (checkbox) fields.
   */
  export interface ValueBoolean {
    tag: 'boolean',
    val: boolean,
  }
  /**
   * A calendar date, for `date` fields.
   */
  export interface ValueDate {
    tag: 'date',
    val: Date,
  }
  /**
   * A point in time, for `datetime` fields.
   */
  export interface ValueDateTime {
    tag: 'date-time',
    val: DateTime,
  }
  /**
   * A record staged earlier in this invocation, for `reference` fields.
   */
  export interface ValueRecordRef {
    tag: 'record-ref',
    val: RecordRef,
  }
  /**
   * One field of a record: its API name and value.
   */
  export interface FieldValue {
    /**
     * The field's API name, e.g. `LastName` or `Booking_Id__c`.
     */
    name: string,
    /**
     * The value to write.
     */
    value: Value,
  }
  /**
   * A record to stage for creation or upsert.
   */
  export interface NewRecord {
    /**
     * The sObject's API name, e.g. `Lead`, `Event` or `Meeting__c`.
     */
    sobject: string,
    /**
     * The fields to set. Each field may appear once.
     */
    fields: Array<FieldValue>,
  }
  /**
   * A record that already exists in Salesforce, as returned by `records.find`.
   */
  export interface Found {
    /**
     * The record's 18-character Salesforce id.
     */
    id: string,
    /**
     * The fields asked for, in the order asked; `value::null` where the record has none.
     */
    fields: Array<FieldValue>,
  }
  /**
   * Why a host call was refused. The plugin may handle it or return it from `map`.
   * # Variants
   * 
   * ## `"not-granted"`
   * 
   * The tenant's grant does not allow this operation, sObject or field.
   * ## `"unknown-sobject"`
   * 
   * The sObject does not exist in the org, or the integration user cannot see it.
   * ## `"unknown-field"`
   * 
   * The field does not exist, or the integration user cannot see it.
   * ## `"not-createable"`
   * 
   * The field exists but cannot be set on create (e.g. a formula or system field).
   * ## `"wrong-type"`
   * 
   * The value's type does not fit the field's type.
   * ## `"too-long"`
   * 
   * The text is longer than the field allows.
   * ## `"bad-picklist-value"`
   * 
   * The value is not one of a restricted picklist's active values.
   * ## `"required-field-missing"`
   * 
   * A field Salesforce requires on create was not set.
   * ## `"bad-reference"`
   * 
   * A `record-ref` that names no record staged in this invocation, or a reference to
   * an sObject the field cannot point at.
   * ## `"malformed-id"`
   * 
   * Text given for a reference field is not a 15- or 18-character Salesforce id.
   * ## `"invalid-argument"`
   * 
   * The call's arguments are malformed (e.g. a field given twice, an empty key).
   * ## `"unavailable"`
   * 
   * The CRM could not be reached or answered with an error.
   */
  export type ErrorKind = 'not-granted' | 'unknown-sobject' | 'unknown-field' | 'not-createable' | 'wrong-type' | 'too-long' | 'bad-picklist-value' | 'required-field-missing' | 'bad-reference' | 'malformed-id' | 'invalid-argument' | 'unavailable';
  /**
   * A precise description of a refused host call.
   */
  export interface Error {
    /**
     * The class of problem.
     */
    kind: ErrorKind,
    /**
     * A human-readable explanation naming what was wrong.
     */
    message: string,
    /**
     * The sObject involved, if any.
     */
    sobject?: string,
    /**
     * The field involved, if any.
     */
    field?: string,
  }
  /**
   * Why `map` did not produce records. Shown to the tenant admin on the failed job.
   */
  export type MappingError = MappingErrorHost | MappingErrorInvalidBooking | MappingErrorConfig | MappingErrorOther;
  /**
   * A host call failed and the plugin passed the error on.
   */
  export interface MappingErrorHost {
    tag: 'host',
    val: Error,
  }
  /**
   * The booking cannot be mapped (e.g. no attendee email). The message says why.
   */
  export interface MappingErrorInvalidBooking {
    tag: 'invalid-booking',
    val: string,
  }
  /**
   * The tenant's plugin configuration is missing or wrong. The message says which key.
   */
  export interface MappingErrorConfig {
    tag: 'config',
    val: string,
  }
  /**
   * Anything else the plugin wants to report.
   */
  export interface MappingErrorOther {
    tag: 'other',
    val: string,
  }
}
