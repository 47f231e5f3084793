// Stands in for the `portico:mapper/*` host imports when the SDK's helpers are tested under Node:
// every host call fails loudly, since the helpers under test must not make any.
const refuse = (name: string) => () => {
  throw new Error(`the SDK's helpers called the host (${name}) in a test`);
};
export const get = refuse("config.get");
export const sobject = refuse("describe.sobject");
export const grantedSobjects = refuse("describe.granted-sobjects");
export const log = refuse("log.log");
export const create = refuse("records.create");
export const upsert = refuse("records.upsert");
export const find = refuse("records.find");
