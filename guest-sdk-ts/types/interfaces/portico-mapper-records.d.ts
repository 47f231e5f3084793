/// <reference path="./portico-mapper-types.d.ts" />
declare module 'portico:mapper/records@0.1.0' {
  /**
   * Stages a record to be created. Validates it against describe at once (fields, types,
   * lengths, picklists, references); required fields are checked when `map` returns.
   */
  export function create(record: NewRecord): RecordRef;
  /**
   * Stages an upsert: create the record, or update the one whose external-id field
   * `key-field` equals `key`. Use it with a stable key (such as the booking id) so that a
   * retried or rescheduled booking never creates a duplicate. `key-field` must not also
   * appear in `record.fields`.
   */
  export function upsert(record: NewRecord, keyField: string, key: string): RecordRef;
  /**
   * Finds existing records whose `field` equals `value` exactly (e.g. Contact by Email),
   * returning their ids and the requested `fields`. Returns at most `limit` records
   * (at most 200), oldest first. Both `field` and `fields` must be granted for reading.
   */
  export function find(sobject: string, field: string, value: Value, fields: Array<string>, limit: number): Array<Found>;
  export type NewRecord = import('portico:mapper/types@0.1.0').NewRecord;
  export type RecordRef = import('portico:mapper/types@0.1.0').RecordRef;
  export type Found = import('portico:mapper/types@0.1.0').Found;
  export type Error = import('portico:mapper/types@0.1.0').Error;
  export type Value = import('portico:mapper/types@0.1.0').Value;
}
