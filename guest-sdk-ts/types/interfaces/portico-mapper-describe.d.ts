/// <reference path="./portico-mapper-types.d.ts" />
declare module 'portico:mapper/describe@0.1.0' {
  /**
   * Describes an sObject. Only fields both granted and visible to the integration user are
   * listed. Fails with `not-granted` for sObjects outside the grant.
   */
  export function sobject(name: string): SobjectInfo;
  /**
   * The sObjects the tenant granted to this plugin, sorted by name.
   */
  export function grantedSobjects(): Array<string>;
  export type Error = import('portico:mapper/types@0.1.0').Error;
  /**
   * A Salesforce field type, as describe reports it.
   * # Variants
   * 
   * ## `"id"`
   * 
   * The record id.
   * ## `"string"`
   * 
   * Single-line text.
   * ## `"textarea"`
   * 
   * Multi-line text.
   * ## `"email"`
   * 
   * An email address.
   * ## `"phone"`
   * 
   * A phone number.
   * ## `"url"`
   * 
   * A URL.
   * ## `"picklist"`
   * 
   * One value from a list.
   * ## `"multipicklist"`
   * 
   * Several values from a list, joined with `;`.
   * ## `"combobox"`
   * 
   * A picklist that also accepts free text.
   * ## `"reference"`
   * 
   * A lookup: the id of another record (or a `record-ref`).
   * ## `"boolean"`
   * 
   * A checkbox.
   * ## `"currency"`
   * 
   * An amount of money.
   * ## `"double"`
   * 
   * A decimal number.
   * ## `"percent"`
   * 
   * A percentage.
   * ## `"int"`
   * 
   * A whole number.
   * ## `"long"`
   * 
   * A large whole number.
   * ## `"date"`
   * 
   * A calendar date.
   * ## `"datetime"`
   * 
   * A point in time.
   * ## `"time"`
   * 
   * A time of day (written as text, `HH:MM:SS.sssZ`).
   * ## `"address"`
   * 
   * A compound address (read-only; write its component fields).
   * ## `"location"`
   * 
   * A compound geolocation (read-only).
   * ## `"base64"`
   * 
   * Binary data (not writable by plugins).
   * ## `"encryptedstring"`
   * 
   * Encrypted text.
   * ## `"anytype"`
   * 
   * A value of varying type.
   * ## `"complexvalue"`
   * 
   * A structured value (not writable by plugins).
   * ## `"other"`
   * 
   * A type this version of the host does not know.
   */
  export type FieldType = 'id' | 'string' | 'textarea' | 'email' | 'phone' | 'url' | 'picklist' | 'multipicklist' | 'combobox' | 'reference' | 'boolean' | 'currency' | 'double' | 'percent' | 'int' | 'long' | 'date' | 'datetime' | 'time' | 'address' | 'location' | 'base64' | 'encryptedstring' | 'anytype' | 'complexvalue' | 'other';
  /**
   * One active value of a picklist field.
   */
  export interface PicklistEntry {
    /**
     * The value to write, e.g. `Web`.
     */
    value: string,
    /**
     * The label shown in Salesforce.
     */
    label: string,
    /**
     * Whether this is the field's default.
     */
    defaultValue: boolean,
  }
  /**
   * One field of an sObject that the plugin may use.
   */
  export interface FieldInfo {
    /**
     * The API name, e.g. `LastName`.
     */
    name: string,
    /**
     * The label shown in Salesforce, e.g. `Last Name`.
     */
    label: string,
    /**
     * The field's type.
     */
    type: FieldType,
    /**
     * The maximum length for text fields; 0 when not applicable.
     */
    length: number,
    /**
     * Whether the plugin may set it when creating a record (granted for writing and
     * createable for the integration user).
     */
    createable: boolean,
    /**
     * Whether the plugin may set it on an existing record (granted for writing and
     * updateable for the integration user); relevant to upserts.
     */
    updateable: boolean,
    /**
     * Whether Salesforce requires a value on create (not nillable, not defaulted, createable).
     */
    required: boolean,
    /**
     * Whether the field is an external id, usable as an upsert key.
     */
    externalId: boolean,
    /**
     * Whether a value must be one of `picklist-values`.
     */
    restrictedPicklist: boolean,
    /**
     * The active picklist values; empty for other types.
     */
    picklistValues: Array<PicklistEntry>,
    /**
     * For `reference` fields, the sObjects it can point at.
     */
    referenceTo: Array<string>,
  }
  /**
   * An sObject as the plugin may see it.
   */
  export interface SobjectInfo {
    /**
     * The API name, e.g. `Lead`.
     */
    name: string,
    /**
     * The singular label, e.g. `Lead`.
     */
    label: string,
    /**
     * Whether the plugin may create records of this sObject.
     */
    createable: boolean,
    /**
     * The fields granted to the plugin and accessible to the integration user.
     */
    fields: Array<FieldInfo>,
  }
}
