declare module 'portico:mapper/log@0.1.0' {
  /**
   * Records a message with the job.
   */
  export function log(level: Level, message: string): void;
  /**
   * How important a message is.
   * # Variants
   * 
   * ## `"debug"`
   * 
   * Detail useful when developing a plugin.
   * ## `"info"`
   * 
   * A normal event worth recording.
   * ## `"warn"`
   * 
   * Something unexpected that did not stop the mapping.
   * ## `"error"`
   * 
   * Something went wrong.
   */
  export type Level = 'debug' | 'info' | 'warn' | 'error';
}
