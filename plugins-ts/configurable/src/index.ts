// `configurable` in TypeScript: maps bookings to records as the tenant's `mapping` setting says,
// without code. The same samples as the Rust original (`plugins/configurable/samples`) must give
// the same Composite requests; the mapping's format is documented there (`src/lib.rs`).
import {
  type Booking,
  type SObjectInfo,
  type Settable,
  configError,
  configRequired,
  create,
  dateUtc,
  defineMapper,
  describe,
  findOne,
  log,
  parseDate,
  parseDateTime,
  record,
  splitName,
  toSalesforce,
  upsert,
} from "@portico/plugin-sdk";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Spec = { [key: string]: Json };

const fail = (message: string): never => configError(`mapping: ${message}`);
const str = (v: Json | undefined): string | undefined => (typeof v === "string" ? v : undefined);
const obj = (v: Json | undefined): Spec | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? v : undefined;

export const map = defineMapper((booking) => {
  const text = configRequired("mapping");
  let mapping: Json;
  try {
    mapping = JSON.parse(text) as Json;
  } catch (e) {
    return configError(`\`mapping\` is not valid JSON: ${(e as Error).message}`);
  }
  const records = obj(mapping)?.records;
  if (!Array.isArray(records)) return fail('`mapping` needs a "records" array');
  const refs = new Map<string, Settable>();
  const describes = new Map<string, SObjectInfo>();
  records.forEach((entry, i) => {
    const spec = obj(entry) ?? fail(`records[${i}] is not an object`);
    const sobject = str(spec.sobject) ?? fail(`records[${i}] needs a "sobject" string`);
    const here = `records[${i}] (${sobject})`;
    if (!describes.has(sobject)) describes.set(sobject, describe(sobject));
    const info = describes.get(sobject)!;

    const find = obj(spec.find);
    if (spec.find !== undefined) {
      const field = str(find?.field) ?? fail(`${here}: find needs "field"`);
      const value = render(str(find?.value) ?? "", booking, here);
      const found = findOne(sobject, field, value, ["Id"]);
      if (found) {
        log.info(`${here}: found existing ${sobject} ${found.id}`);
        const name = str(spec.ref);
        if (name !== undefined) refs.set(name, found.id);
        return;
      }
    }

    const fields = obj(spec.fields) ?? fail(`${here}: needs a "fields" object`);
    const rec = record(sobject);
    for (const [field, template] of Object.entries(fields)) {
      const t = str(template) ?? fail(`${here}.${field}: the value must be a string template`);
      const value = convert(info, field, t, booking, refs, `${here}.${field}`);
      if (value !== undefined) rec.set(field, value);
    }
    let staged;
    if (spec.upsert !== undefined) {
      const u = obj(spec.upsert);
      const field = str(u?.field) ?? fail(`${here}: upsert needs "field"`);
      staged = upsert(rec, field, render(str(u?.key) ?? "", booking, here));
    } else {
      staged = create(rec);
    }
    const name = str(spec.ref);
    if (name !== undefined) refs.set(name, staged);
  });
});

const KIND = { created: "Created", rescheduled: "Rescheduled", cancelled: "Cancelled" } as const;

function lookup(path: string, b: Booking): string | undefined {
  const a = b.attendees[0];
  switch (path) {
    case "booking.id": return b.id;
    case "booking.title": return b.title;
    case "booking.description": return b.description ?? "";
    case "booking.start": return toSalesforce(b.start);
    case "booking.end": return toSalesforce(b.end);
    case "booking.timezone": return b.timezone;
    case "booking.location": return b.location ?? "";
    case "booking.cancel_reason": return b.cancelReason ?? "";
    case "booking.kind": return KIND[b.kind];
    case "organizer.name": return b.organizer.name;
    case "organizer.email": return b.organizer.email;
    case "attendee.name": return a?.name ?? "";
    case "attendee.first_name": return (a && splitName(a.name)[0]) ?? "";
    case "attendee.last_name": return a ? splitName(a.name)[1] : "";
    case "attendee.email": return a?.email ?? "";
    case "attendee.phone": return a?.phone ?? "";
    case "attendee.company": return a?.company ?? "";
  }
  if (!path.startsWith("answers.")) return undefined;
  const key = path.slice("answers.".length);
  return b.answers.find((x) => x.key === key)?.value ?? "";
}

function render(template: string, b: Booking, here: string): string {
  let out = "";
  let rest = template;
  for (let open = rest.indexOf("{"); open >= 0; open = rest.indexOf("{")) {
    out += rest.slice(0, open);
    const close = rest.indexOf("}", open);
    if (close < 0) fail(`${here}: unclosed \`{\` in \`${template}\``);
    const inner = rest.slice(open + 1, close);
    const bar = inner.indexOf("|");
    const [path, fallback] = bar < 0 ? [inner, ""] : [inner.slice(0, bar), inner.slice(bar + 1)];
    const value = lookup(path.trim(), b) ?? fail(`${here}: unknown placeholder \`{${path}}\``);
    out += value === "" ? fallback : value;
    rest = rest.slice(close + 1);
  }
  return out + rest;
}

const NUMERIC = new Set(["double", "currency", "percent", "int", "long"]);
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function convert(
  info: SObjectInfo,
  field: string,
  template: string,
  b: Booking,
  refs: Map<string, Settable>,
  here: string,
): Settable | undefined {
  if (template.startsWith("@")) {
    const name = template.slice(1);
    return refs.get(name) ?? fail(`${here}: \`@${name}\` names no earlier record with that "ref"`);
  }
  const text = render(template, b, here);
  if (text === "") return undefined;
  // Salesforce field names are case-insensitive, as the host's describe lookup is.
  const type = info.fields.find((f) => f.name.toLowerCase() === field.toLowerCase())?.type;
  const bad = (what: string): never => fail(`${here}: \`${text}\` is not ${what}`);
  switch (type) {
    case "datetime":
      return parseDateTime(text) ?? bad("a date-time");
    case "date": {
      const instant = parseDate(text) === undefined ? parseDateTime(text) : undefined;
      return parseDate(text) ?? (instant ? dateUtc(instant) : bad("a date"));
    }
    case "boolean":
      return text === "true" ? true : text === "false" ? false : bad("true or false");
    default:
      if (type !== undefined && NUMERIC.has(type)) {
        // Decimal notation only, as Rust's f64 parse (no 0x…, 0b…, 0o…).
        const t = text.trim();
        return DECIMAL.test(t) ? Number(t) : bad("a number");
      }
      return text;
  }
}
