declare module 'portico:mapper/config@0.1.0' {
  /**
   * The value of a setting, or `none` when the tenant has not set it.
   */
  export function get(key: string): string | undefined;
}
