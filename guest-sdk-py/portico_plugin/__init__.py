"""Portico's plugin SDK for Python: the same helpers as the Rust SDK (``portico_sdk``), over the
``portico:mapper`` imports that componentize-py generates from the WIT contract (``wit_world``).

A plugin module defines its mapping with :func:`mapper`::

    from portico_plugin import mapper, record, create, invalid_booking

    @mapper
    def map(booking):
        who = booking.attendees[0] if booking.attendees else invalid_booking("no attendees")
        create(record("Lead").set("LastName", who.name).set("Company", who.company or "[not provided]"))

Return to commit what was staged; raise (or let a host call's :class:`HostError` through) to
commit nothing. Any other exception becomes the ``other`` error with its message instead of
trapping the sandbox.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Callable, List, NoReturn, Optional, Tuple, TypeVar, Union

from componentize_py_types import Err
from wit_world.imports import config as _config
from wit_world.imports import describe as _describe
from wit_world.imports.describe import SobjectInfo
from wit_world.imports import log as _log
from wit_world.imports import records as _records
from wit_world.imports.types import (
    Answer,
    Booking,
    BookingKind,
    Date,
    DateTime,
    Error as HostErrorDetail,
    ErrorKind,
    FieldValue,
    Found,
    MappingError,
    MappingError_Config,
    MappingError_Host,
    MappingError_InvalidBooking,
    MappingError_Other,
    NewRecord,
    Person,
    RecordRef,
    Value,
    Value_Boolean,
    Value_Date,
    Value_DateTime,
    Value_Null,
    Value_Number,
    Value_RecordRef,
    Value_Text,
)

__all__ = [
    "Answer", "Booking", "BookingKind", "Date", "DateTime", "ErrorKind", "Found", "HostError",
    "MappingFailure", "NewRecord", "Person", "RecordBuilder", "RecordRef", "SobjectInfo", "Value", "add_days",
    "add_seconds", "config", "config_or", "config_required", "config_error", "create", "date_utc",
    "describe", "fail", "find", "find_one", "found_text", "invalid_booking", "log", "mapper",
    "minutes_until", "parse_date", "parse_date_time", "record", "split_name", "to_salesforce", "truncate",
    "upsert", "value",
]

# ---------------------------------------------------------------------------------------------
# Errors


class HostError(Exception):
    """A refused host call (grant, describe, validation, Salesforce). Let through ``map``, it is
    the ``host`` mapping error with the host's own message."""

    def __init__(self, detail: HostErrorDetail):
        super().__init__(detail.message)
        self.detail = detail

    @property
    def kind(self) -> ErrorKind:
        """The class of problem, e.g. ``ErrorKind.NOT_GRANTED``."""
        return self.detail.kind


class MappingFailure(Exception):
    """Stops the mapping with one of the ``mapping-error`` variants."""

    def __init__(self, error: MappingError):
        super().__init__(getattr(error, "value", error))
        self.error = error


def invalid_booking(message: str) -> NoReturn:
    """Stops the mapping: the booking cannot be mapped (e.g. no attendee email)."""
    raise MappingFailure(MappingError_InvalidBooking(message))


def config_error(message: str) -> NoReturn:
    """Stops the mapping: the tenant's configuration is missing or wrong."""
    raise MappingFailure(MappingError_Config(message))


def fail(message: str) -> NoReturn:
    """Stops the mapping with any other reason."""
    raise MappingFailure(MappingError_Other(message))


_T = TypeVar("_T")


def _call(f: Callable[..., _T], *args: Any) -> _T:
    try:
        return f(*args)
    except Err as e:
        raise HostError(e.value) from None


def mapper(body: Callable[[Booking], None]) -> Callable[[Booking], None]:
    """Makes the component's ``map`` export from a function of the booking."""
    import wit_world

    class WitWorld(wit_world.WitWorld):
        def map(self, booking: Booking) -> None:
            try:
                body(booking)
            except MappingFailure as e:
                raise Err(e.error) from None
            except HostError as e:
                raise Err(MappingError_Host(e.detail)) from None
            except Err:
                raise
            except Exception as e:  # anything else would trap the sandbox
                raise Err(MappingError_Other(f"{type(e).__name__}: {e}")) from None

    # componentize-py looks for `WitWorld` in the plugin's module.
    import sys

    setattr(sys.modules[body.__module__], "WitWorld", WitWorld)
    return body


# ---------------------------------------------------------------------------------------------
# Values and records

Settable = Union[str, float, int, bool, None, Date, DateTime, RecordRef, Value]
_VALUES = (Value_Null, Value_Text, Value_Number, Value_Boolean, Value_Date, Value_DateTime, Value_RecordRef)


def value(v: Settable) -> Value:
    """The WIT value of ``v``."""
    if v is None:
        return Value_Null()
    if isinstance(v, bool):
        return Value_Boolean(v)
    if isinstance(v, str):
        return Value_Text(v)
    if isinstance(v, (int, float)):
        return Value_Number(float(v))
    if isinstance(v, DateTime):
        return Value_DateTime(v)
    if isinstance(v, Date):
        return Value_Date(v)
    if isinstance(v, RecordRef):
        return Value_RecordRef(v)
    if isinstance(v, _VALUES):
        return v
    raise TypeError(f"a field cannot be set to {type(v).__name__}")


class RecordBuilder:
    """A record being built: ``record("Lead").set("LastName", "Lovelace")``."""

    def __init__(self, sobject: str):
        self.sobject = sobject
        self.fields: List[FieldValue] = []

    def set(self, name: str, v: Settable) -> "RecordBuilder":
        """Sets a field."""
        self.fields.append(FieldValue(name, value(v)))
        return self

    def set_some(self, name: str, v: Optional[Settable]) -> "RecordBuilder":
        """Sets a field when ``v`` is not None; leaves it out otherwise."""
        return self if v is None else self.set(name, v)

    def build(self) -> NewRecord:
        return NewRecord(self.sobject, list(self.fields))


def record(sobject: str) -> RecordBuilder:
    """Starts a record of ``sobject``."""
    return RecordBuilder(sobject)


def _new(r: Union[RecordBuilder, NewRecord]) -> NewRecord:
    return r.build() if isinstance(r, RecordBuilder) else r


def create(r: Union[RecordBuilder, NewRecord]) -> RecordRef:
    """Stages a record to be created; use the returned reference in lookups (``WhoId``)."""
    return _call(_records.create, _new(r))


def upsert(r: Union[RecordBuilder, NewRecord], key_field: str, key: str) -> RecordRef:
    """Stages an upsert keyed by the external-id field ``key_field`` = ``key``."""
    return _call(_records.upsert, _new(r), key_field, key)


def find(sobject: str, field: str, v: Settable, fields: List[str], limit: int = 1) -> List[Found]:
    """Existing records of ``sobject`` whose ``field`` equals ``v`` (at most ``limit``)."""
    return _call(_records.find, sobject, field, value(v), fields, limit)


def find_one(sobject: str, field: str, v: Settable, fields: Optional[List[str]] = None) -> Optional[Found]:
    """The first record of ``sobject`` whose ``field`` equals ``v``, if any."""
    found = find(sobject, field, v, fields or ["Id"], 1)
    return found[0] if found else None


def found_text(found: Found, name: str) -> Optional[str]:
    """A field of a found record as text, if it is text."""
    for f in found.fields:
        if f.name == name and isinstance(f.value, Value_Text):
            return f.value.value
    return None


def describe(sobject: str) -> SobjectInfo:
    """What the plugin may use of ``sobject`` in the org (granted and visible fields)."""
    return _call(_describe.sobject, sobject)


# ---------------------------------------------------------------------------------------------
# Config and logs


def config(key: str) -> Optional[str]:
    """A setting of the tenant's configuration, if set."""
    return _config.get(key)


def config_or(key: str, default: str) -> str:
    """A setting, or ``default`` when the tenant has not set it."""
    v = _config.get(key)
    return default if v is None else v


def config_required(key: str) -> str:
    """A setting the plugin cannot do without: a clear configuration error when missing."""
    v = _config.get(key)
    return config_error(f"setting `{key}` is not set") if v is None else v


class log:
    """Messages kept with the job."""

    @staticmethod
    def debug(message: str) -> None:
        _log.log(_log.Level.DEBUG, message)

    @staticmethod
    def info(message: str) -> None:
        _log.log(_log.Level.INFO, message)

    @staticmethod
    def warn(message: str) -> None:
        _log.log(_log.Level.WARN, message)

    @staticmethod
    def error(message: str) -> None:
        _log.log(_log.Level.ERROR, message)


# ---------------------------------------------------------------------------------------------
# Text and time


def truncate(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars`` characters (Salesforce counts characters), with an
    ellipsis when it was cut."""
    if len(text) <= max_chars:
        return text
    return text[: max(0, max_chars - 1)] + "…"


# White space as Unicode defines it, as Rust's `char::is_whitespace` does (Python's `isspace`
# also counts U+001C to U+001F), so that the ports split names exactly as the Rust plugins do.
_WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def split_name(name: str) -> Tuple[Optional[str], str]:
    """Splits a display name into (first name, last name): the last word is the last name; a
    one-word name is all last name."""
    name = name.strip(_WHITE_SPACE)
    for i in range(len(name) - 1, -1, -1):
        if name[i] in _WHITE_SPACE:
            return name[:i].strip(_WHITE_SPACE), name[i + 1 :]
    return None, name


def add_seconds(dt: DateTime, seconds: int) -> DateTime:
    """``dt`` moved by ``seconds``."""
    return DateTime(dt.seconds + int(seconds), dt.nanoseconds)


def add_days(dt: DateTime, days: int) -> DateTime:
    """``dt`` moved by whole days."""
    return add_seconds(dt, days * 86_400)


def date_utc(dt: DateTime) -> Date:
    """The calendar date of ``dt`` in UTC."""
    d = _dt.date(1970, 1, 1) + _dt.timedelta(days=dt.seconds // 86_400)
    return Date(d.year, d.month, d.day)


def minutes_until(start: DateTime, later: DateTime) -> int:
    """Whole minutes from ``start`` to ``later``, rounded down."""
    return (later.seconds - start.seconds) // 60


def to_salesforce(dt: DateTime) -> str:
    """The Salesforce REST format of an instant: UTC with milliseconds, ``2026-11-22T14:30:00.000Z``."""
    d = date_utc(dt)
    secs = dt.seconds % 86_400
    return (
        f"{d.year:04}-{d.month:02}-{d.day:02}T{secs // 3600:02}:{secs % 3600 // 60:02}:{secs % 60:02}"
        f".{dt.nanoseconds // 1_000_000:03}Z"
    )


def parse_date(text: str) -> Optional[Date]:
    """Parses ``YYYY-MM-DD`` (a date that exists), or None."""
    import re

    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text, re.ASCII)
    if not m:
        return None
    try:
        d = _dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None
    return Date(d.year, d.month, d.day)


def parse_date_time(text: str) -> Optional[DateTime]:
    """Parses an RFC 3339 timestamp (``2026-11-22T14:30:00Z``, ``…T15:30:00.250+01:00``), or None."""
    import re

    m = re.fullmatch(
        r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})", text, re.ASCII
    )
    if not m:
        return None
    day = parse_date(m[1])
    h, mi, s = int(m[2]), int(m[3]), int(m[4])
    if day is None or h > 23 or mi > 59 or s > 60:
        return None
    zone = m[6]
    offset = 0 if zone in ("Z", "z") else (-1 if zone[0] == "-" else 1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    midnight = (_dt.date(day.year, day.month, day.day) - _dt.date(1970, 1, 1)).days * 86_400
    instant = DateTime(midnight + h * 3600 + mi * 60 + min(s, 59) - offset, int((m[5] or "0").ljust(9, "0")))
    try:
        date_utc(instant)  # only four-digit years can be written back or sent to Salesforce
    except OverflowError:
        return None
    return instant
