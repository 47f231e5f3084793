/// <reference path="./interfaces/portico-mapper-config.d.ts" />
/// <reference path="./interfaces/portico-mapper-describe.d.ts" />
/// <reference path="./interfaces/portico-mapper-log.d.ts" />
/// <reference path="./interfaces/portico-mapper-records.d.ts" />
/// <reference path="./interfaces/portico-mapper-types.d.ts" />
declare module 'portico:mapper/mapper@0.1.0' {
  export type Booking = import('portico:mapper/types@0.1.0').Booking;
  export type MappingError = import('portico:mapper/types@0.1.0').MappingError;
  export type * as PorticoMapperConfig010 from 'portico:mapper/config@0.1.0'; // import portico:mapper/config@0.1.0
  export type * as PorticoMapperDescribe010 from 'portico:mapper/describe@0.1.0'; // import portico:mapper/describe@0.1.0
  export type * as PorticoMapperLog010 from 'portico:mapper/log@0.1.0'; // import portico:mapper/log@0.1.0
  export type * as PorticoMapperRecords010 from 'portico:mapper/records@0.1.0'; // import portico:mapper/records@0.1.0
  export type * as PorticoMapperTypes010 from 'portico:mapper/types@0.1.0'; // import portico:mapper/types@0.1.0
  /**
  * Maps one booking to staged records. Return `ok` to commit what was staged, or an error
  * to commit nothing.
  */
  export function map(booking: Booking): void;
  export type Result<T, E> = { tag: 'ok', val: T } | { tag: 'err', val: E };
}
