"""`configurable` in Python: maps bookings to records as the tenant's ``mapping`` setting says,
without code. The same samples as the Rust original (``plugins/configurable/samples``) must give
the same Composite requests; the mapping's format is documented there (``src/lib.rs``)."""

import json
import re
from typing import Any, Callable, Dict, NoReturn, Optional

from portico_plugin import (
    Booking,
    BookingKind,
    SobjectInfo,
    config_error,
    config_required,
    create,
    date_utc,
    describe,
    find_one,
    log,
    mapper,
    parse_date,
    parse_date_time,
    record,
    split_name,
    to_salesforce,
    upsert,
)


def fail(message: str) -> NoReturn:
    config_error(f"mapping: {message}")


def _str(v: Any) -> Optional[str]:
    return v if isinstance(v, str) else None


def _obj(v: Any) -> Optional[Dict[str, Any]]:
    return v if isinstance(v, dict) else None


@mapper
def map(booking: Booking) -> None:
    text = config_required("mapping")
    try:
        mapping = json.loads(text)
    except ValueError as e:
        config_error(f"`mapping` is not valid JSON: {e}")
    records = _obj(mapping) and mapping.get("records")
    if not isinstance(records, list):
        fail('`mapping` needs a "records" array')
    refs: Dict[str, Any] = {}
    describes: Dict[str, SobjectInfo] = {}
    for i, entry in enumerate(records):
        spec = _obj(entry)
        if spec is None:
            fail(f"records[{i}] is not an object")
        sobject = _str(spec.get("sobject"))
        if sobject is None:
            fail(f'records[{i}] needs a "sobject" string')
        here = f"records[{i}] ({sobject})"
        if sobject not in describes:
            describes[sobject] = describe(sobject)
        info = describes[sobject]

        if "find" in spec:
            find = _obj(spec["find"]) or {}
            field = _str(find.get("field"))
            if field is None:
                fail(f'{here}: find needs "field"')
            value = render(_str(find.get("value")) or "", booking, here)
            found = find_one(sobject, field, value, ["Id"])
            if found is not None:
                log.info(f"{here}: found existing {sobject} {found.id}")
                name = _str(spec.get("ref"))
                if name is not None:
                    refs[name] = found.id
                continue

        fields = _obj(spec.get("fields"))
        if fields is None:
            fail(f'{here}: needs a "fields" object')
        rec = record(sobject)
        for field, template in fields.items():
            if not isinstance(template, str):
                fail(f"{here}.{field}: the value must be a string template")
            value = convert(info, field, template, booking, refs, f"{here}.{field}")
            if value is not None:
                rec.set(field, value)
        if "upsert" in spec:
            u = _obj(spec["upsert"]) or {}
            key_field = _str(u.get("field"))
            if key_field is None:
                fail(f'{here}: upsert needs "field"')
            staged = upsert(rec, key_field, render(_str(u.get("key")) or "", booking, here))
        else:
            staged = create(rec)
        name = _str(spec.get("ref"))
        if name is not None:
            refs[name] = staged


KIND = {BookingKind.CREATED: "Created", BookingKind.RESCHEDULED: "Rescheduled", BookingKind.CANCELLED: "Cancelled"}


def lookup(path: str, b: Booking) -> Optional[str]:
    a = b.attendees[0] if b.attendees else None
    simple: Dict[str, Callable[[], str]] = {
        "booking.id": lambda: b.id,
        "booking.title": lambda: b.title,
        "booking.description": lambda: b.description or "",
        "booking.start": lambda: to_salesforce(b.start),
        "booking.end": lambda: to_salesforce(b.end),
        "booking.timezone": lambda: b.timezone,
        "booking.location": lambda: b.location or "",
        "booking.cancel_reason": lambda: b.cancel_reason or "",
        "booking.kind": lambda: KIND[b.kind],
        "organizer.name": lambda: b.organizer.name,
        "organizer.email": lambda: b.organizer.email,
        "attendee.name": lambda: a.name if a else "",
        "attendee.first_name": lambda: (split_name(a.name)[0] or "") if a else "",
        "attendee.last_name": lambda: split_name(a.name)[1] if a else "",
        "attendee.email": lambda: a.email if a else "",
        "attendee.phone": lambda: (a.phone or "") if a else "",
        "attendee.company": lambda: (a.company or "") if a else "",
    }
    if path in simple:
        return simple[path]()
    if not path.startswith("answers."):
        return None
    key = path[len("answers.") :]
    return next((x.value for x in b.answers if x.key == key), "")


def render(template: str, b: Booking, here: str) -> str:
    out = []
    rest = template
    while "{" in rest:
        open_ = rest.index("{")
        out.append(rest[:open_])
        close = rest.find("}", open_)
        if close < 0:
            fail(f"{here}: unclosed `{{` in `{template}`")
        inner = rest[open_ + 1 : close]
        path, _, fallback = inner.partition("|")
        value = lookup(path.strip(), b)
        if value is None:
            fail(f"{here}: unknown placeholder `{{{path}}}`")
        out.append(value if value != "" else fallback)
        rest = rest[close + 1 :]
    out.append(rest)
    return "".join(out)


NUMERIC = {"DOUBLE", "CURRENCY", "PERCENT", "INT", "LONG"}
DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def convert(info: SobjectInfo, field: str, template: str, b: Booking, refs: Dict[str, Any], here: str) -> Any:
    if template.startswith("@"):
        name = template[1:]
        if name not in refs:
            fail(f'{here}: `@{name}` names no earlier record with that "ref"')
        return refs[name]
    text = render(template, b, here)
    if text == "":
        return None
    # Salesforce field names are case-insensitive, as the host's describe lookup is.
    kind = next((f.type.name for f in info.fields if f.name.lower() == field.lower()), None)

    def bad(what: str) -> NoReturn:
        fail(f"{here}: `{text}` is not {what}")

    if kind == "DATETIME":
        return parse_date_time(text) or bad("a date-time")
    if kind == "DATE":
        instant = None if parse_date(text) else parse_date_time(text)
        return parse_date(text) or (date_utc(instant) if instant else bad("a date"))
    if kind == "BOOLEAN":
        return True if text == "true" else False if text == "false" else bad("true or false")
    if kind in NUMERIC:
        # Decimal notation only, as Rust's f64 parse (no 1_000, no non-ASCII digits).
        if not DECIMAL.fullmatch(text.strip()):
            bad("a number")
        return float(text.strip())
    return text
