// The SDK's text and time helpers, under Node (`node guest-sdk-ts/test/run.mjs`). They must
// give what the Rust SDK's give, so that a port makes the Rust plugin's requests.
import assert from "node:assert/strict";
import { test } from "node:test";
import { addDays, minutesUntil, parseDate, parseDateTime, record, splitName, toSalesforce, truncate } from "../src/index.ts";

test("truncate counts characters, not UTF-16 units", () => {
  assert.equal(truncate("héllo", 5), "héllo");
  assert.equal(truncate("héllo world", 5), "héll…");
  assert.equal(truncate("", 0), "");
  assert.equal(truncate("ab", 0), "…");
  assert.equal(truncate("ab", 1), "…");
  assert.equal(truncate("ab", 2), "ab");
  // Four characters in eight UTF-16 units: it fits in 4, not in 3.
  const emoji = "😀😁😂🤣";
  assert.equal(truncate(emoji, 4), emoji);
  assert.equal(truncate(emoji, 3), "😀😁…");
  // A surrogate pair is never cut in half.
  assert.equal(truncate("a😀b😁c", 3), "a😀…");
  // A lone surrogate counts as one character, as Rust's lossy conversion makes it one.
  assert.equal(truncate("\ud800xyz", 3), "\ud800x…");
  const long = "x".repeat(40_000);
  assert.equal(truncate(long, 32_000), "x".repeat(31_999) + "…");
});

test("splitName splits at the last white space, as Rust's char::is_whitespace has it", () => {
  assert.deepEqual(splitName("Ada King Lovelace"), ["Ada King", "Lovelace"]);
  assert.deepEqual(splitName(" Cher "), [undefined, "Cher"]);
  assert.deepEqual(splitName(""), [undefined, ""]);
  assert.deepEqual(splitName("Ada \t Lovelace"), ["Ada", "Lovelace"]);
  assert.deepEqual(splitName("Ada\u00a0Lovelace"), ["Ada", "Lovelace"]);
  assert.deepEqual(splitName("Ada\u0085Lovelace"), ["Ada", "Lovelace"]);
  assert.deepEqual(splitName("Ada\u3000Lovelace\n"), ["Ada", "Lovelace"]);
  // U+FEFF is white space to JavaScript's \s and trim(), not to Unicode (nor Rust).
  assert.deepEqual(splitName("Ada\ufeffLovelace"), [undefined, "Ada\ufeffLovelace"]);
  assert.deepEqual(splitName("José 😀Núñez"), ["José", "😀Núñez"]);
});

test("records carry their fields in order, as WIT values", () => {
  const r = record("Lead").set("LastName", "Lovelace").setSome("FirstName", undefined).set("NumberOfEmployees", 12).set("Email", null);
  assert.equal(r.sobject, "Lead");
  assert.deepEqual(r.fields, [
    { name: "LastName", value: { tag: "text", val: "Lovelace" } },
    { name: "NumberOfEmployees", value: { tag: "number", val: 12 } },
    { name: "Email", value: { tag: "null" } },
  ]);
});

test("dates and times", () => {
  const dt = parseDateTime("2026-12-01T15:00:00.250+01:00");
  assert.deepEqual(dt, { seconds: 1_796_133_600n, nanoseconds: 250_000_000 });
  assert.equal(toSalesforce(dt!), "2026-12-01T14:00:00.250Z");
  assert.equal(toSalesforce(addDays(dt!, 31)), "2027-01-01T14:00:00.250Z");
  assert.equal(parseDateTime("2026-02-30T10:00:00Z"), undefined);
  assert.deepEqual(parseDate("0099-03-01"), { year: 99, month: 3, day: 1 });
  assert.equal(minutesUntil(dt!, { seconds: dt!.seconds - 61n, nanoseconds: 0 }), -2);
});
