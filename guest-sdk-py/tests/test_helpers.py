"""The SDK's helpers under plain CPython: they must give what the Rust SDK's give, so that a port
makes the Rust plugin's requests. Run with the bindings componentize-py generates from the WIT
on the path (the suite's `languages::the_python_sdk_passes_its_own_tests` does)::

    target/py-venv/bin/componentize-py -d wit -w mapper bindings target/py-bindings
    PYTHONPATH=target/py-bindings:guest-sdk-py python3 -m unittest discover -s guest-sdk-py/tests

Outside a component the generated imports raise ``NotImplementedError``; the tests that need a
host answer replace the one import they call.
"""

from __future__ import annotations

import unittest
from typing import Any, Callable, Iterator, List
from contextlib import contextmanager

import portico_plugin as sdk
from componentize_py_types import Err
from wit_world.imports import config as host_config
from wit_world.imports import describe as host_describe
from wit_world.imports import records as host_records
from wit_world.imports.types import (
    Date,
    DateTime,
    Error,
    ErrorKind,
    FieldValue,
    Found,
    MappingError_Config,
    MappingError_Host,
    MappingError_InvalidBooking,
    MappingError_Other,
    RecordRef,
    Value_Boolean,
    Value_Date,
    Value_DateTime,
    Value_Null,
    Value_Number,
    Value_RecordRef,
    Value_Text,
)


@contextmanager
def host(module: Any, name: str, answer: Callable[..., Any]) -> Iterator[List[Any]]:
    """Replaces one generated import for the block; yields the calls it received."""
    calls: List[Any] = []
    original = getattr(module, name)

    def fake(*args: Any) -> Any:
        calls.append(args)
        return answer(*args)

    setattr(module, name, fake)
    try:
        yield calls
    finally:
        setattr(module, name, original)


def refused(*_: Any) -> Any:
    raise Err(Error(ErrorKind.NOT_GRANTED, "Lead.Email is not granted", "Lead", "Email"))


class Text(unittest.TestCase):
    def test_truncate_counts_characters(self) -> None:
        self.assertEqual(sdk.truncate("héllo", 5), "héllo")
        self.assertEqual(sdk.truncate("héllo world", 5), "héll…")
        self.assertEqual(sdk.truncate("", 0), "")
        self.assertEqual(sdk.truncate("ab", 0), "…")
        self.assertEqual(sdk.truncate("ab", 1), "…")
        self.assertEqual(sdk.truncate("ab", 2), "ab")
        emoji = "😀😁😂🤣"
        self.assertEqual(sdk.truncate(emoji, 4), emoji)
        self.assertEqual(sdk.truncate(emoji, 3), "😀😁…")
        self.assertEqual(sdk.truncate("a😀b😁c", 3), "a😀…")
        self.assertEqual(sdk.truncate("x" * 40_000, 32_000), "x" * 31_999 + "…")

    def test_split_name_splits_at_the_last_white_space_as_rust_has_it(self) -> None:
        self.assertEqual(sdk.split_name("Ada King Lovelace"), ("Ada King", "Lovelace"))
        self.assertEqual(sdk.split_name(" Cher "), (None, "Cher"))
        self.assertEqual(sdk.split_name(""), (None, ""))
        self.assertEqual(sdk.split_name("Ada \t Lovelace"), ("Ada", "Lovelace"))
        self.assertEqual(sdk.split_name("Ada\u00a0Lovelace"), ("Ada", "Lovelace"))
        self.assertEqual(sdk.split_name("Ada\u0085Lovelace"), ("Ada", "Lovelace"))
        self.assertEqual(sdk.split_name("Ada\u3000Lovelace\n"), ("Ada", "Lovelace"))
        # White space to Python's isspace() and strip(), not to Unicode (nor Rust).
        self.assertEqual(sdk.split_name("Ada\u001fLovelace"), (None, "Ada\u001fLovelace"))
        self.assertEqual(sdk.split_name("\u001cCher\u001f"), (None, "\u001cCher\u001f"))
        self.assertEqual(sdk.split_name("Ada\ufeffLovelace"), (None, "Ada\ufeffLovelace"))
        self.assertEqual(sdk.split_name("José 😀Núñez"), ("José", "😀Núñez"))


class Records(unittest.TestCase):
    def test_records_carry_their_fields_in_order_as_wit_values(self) -> None:
        r = (
            sdk.record("Lead")
            .set("LastName", "Lovelace")
            .set_some("FirstName", None)
            .set("NumberOfEmployees", 12)
            .set("Email", None)
            .build()
        )
        self.assertEqual(r.sobject, "Lead")
        self.assertEqual(
            r.fields,
            [
                FieldValue("LastName", Value_Text("Lovelace")),
                FieldValue("NumberOfEmployees", Value_Number(12.0)),
                FieldValue("Email", Value_Null()),
            ],
        )

    def test_values_by_type(self) -> None:
        self.assertEqual(sdk.value(True), Value_Boolean(True))  # not a number
        self.assertEqual(sdk.value(Date(2026, 12, 1)), Value_Date(Date(2026, 12, 1)))
        self.assertEqual(sdk.value(DateTime(5, 0)), Value_DateTime(DateTime(5, 0)))
        ref = RecordRef("Lead_1", "Lead")
        self.assertEqual(sdk.value(ref), Value_RecordRef(ref))
        self.assertEqual(sdk.value(Value_Text("as is")), Value_Text("as is"))
        with self.assertRaisesRegex(TypeError, "cannot be set to dict"):
            sdk.value({})  # type: ignore[arg-type]

    def test_create_passes_the_record_and_a_refusal_becomes_a_host_error(self) -> None:
        ref = RecordRef("Lead_1", "Lead")
        with host(host_records, "create", lambda _: ref) as calls:
            self.assertEqual(sdk.create(sdk.record("Lead").set("LastName", "Lovelace")), ref)
        self.assertEqual(calls[0][0].fields, [FieldValue("LastName", Value_Text("Lovelace"))])
        with host(host_records, "create", refused):
            with self.assertRaises(sdk.HostError) as raised:
                sdk.create(sdk.record("Lead"))
        self.assertEqual(raised.exception.kind, ErrorKind.NOT_GRANTED)
        self.assertEqual(str(raised.exception), "Lead.Email is not granted")

    def test_find_one_asks_for_one_record_and_reads_its_text(self) -> None:
        lead = Found("00Q000000000001AAA", [FieldValue("Email", Value_Text("ada@example.com"))])
        with host(host_records, "find", lambda *_: [lead]) as calls:
            found = sdk.find_one("Lead", "Email", "ada@example.com", ["Id", "Email"])
        self.assertEqual(calls, [("Lead", "Email", Value_Text("ada@example.com"), ["Id", "Email"], 1)])
        assert found is not None
        self.assertEqual(sdk.found_text(found, "Email"), "ada@example.com")
        self.assertIsNone(sdk.found_text(found, "Company"))
        with host(host_records, "find", lambda *_: []) as calls:
            self.assertIsNone(sdk.find_one("Lead", "Email", "nobody@example.com"))
        self.assertEqual(calls[0][3], ["Id"])


class Config(unittest.TestCase):
    def test_settings_with_defaults_and_required_ones(self) -> None:
        settings = {"lead_source": "Web"}
        with host(host_config, "get", settings.get):
            self.assertEqual(sdk.config("lead_source"), "Web")
            self.assertIsNone(sdk.config("owner"))
            self.assertEqual(sdk.config_or("owner", "queue"), "queue")
            self.assertEqual(sdk.config_required("lead_source"), "Web")
            with self.assertRaises(sdk.MappingFailure) as raised:
                sdk.config_required("owner")
        self.assertEqual(raised.exception.error, MappingError_Config("setting `owner` is not set"))


class Mapper(unittest.TestCase):
    """``mapper`` turns what ``map`` raises into the WIT's mapping errors, never a trap."""

    def failure(self, body: Callable[[Any], None]) -> Any:
        sdk.mapper(body)
        world = globals()["WitWorld"]  # set on the body's module, where componentize-py looks
        with self.assertRaises(Err) as raised:
            world().map(None)
        return raised.exception.value

    def test_each_failure_becomes_its_mapping_error(self) -> None:
        def invalid(_: Any) -> None:
            sdk.invalid_booking("no attendees")

        def misconfigured(_: Any) -> None:
            sdk.config_error("bad owner")

        def refused_by_host(_: Any) -> None:
            with host(host_describe, "sobject", refused):
                sdk.describe("Lead")

        def crashed(_: Any) -> None:
            raise KeyError("email")

        self.assertEqual(self.failure(invalid), MappingError_InvalidBooking("no attendees"))
        self.assertEqual(self.failure(misconfigured), MappingError_Config("bad owner"))
        host_error = self.failure(refused_by_host)
        self.assertIsInstance(host_error, MappingError_Host)
        self.assertEqual(host_error.value.field, "Email")
        self.assertEqual(self.failure(crashed), MappingError_Other("KeyError: 'email'"))
        self.assertEqual(self.failure(lambda _: sdk.fail("stop")), MappingError_Other("stop"))

    def test_a_mapping_that_returns_commits(self) -> None:
        sdk.mapper(lambda _: None)
        self.assertIsNone(globals()["WitWorld"]().map(None))


class Time(unittest.TestCase):
    def test_dates_and_times(self) -> None:
        dt = sdk.parse_date_time("2026-12-01T15:00:00.250+01:00")
        self.assertEqual(dt, DateTime(1_796_133_600, 250_000_000))
        assert dt is not None
        self.assertEqual(sdk.to_salesforce(dt), "2026-12-01T14:00:00.250Z")
        self.assertEqual(sdk.to_salesforce(sdk.add_days(dt, 31)), "2027-01-01T14:00:00.250Z")
        self.assertEqual(sdk.date_utc(sdk.add_seconds(dt, 36_000)), Date(2026, 12, 2))
        self.assertIsNone(sdk.parse_date_time("2026-02-30T10:00:00Z"))
        self.assertIsNone(sdk.parse_date_time("2026-12-01T24:00:00Z"))
        self.assertIsNone(sdk.parse_date_time("2026-12-01"))
        # A leap second is read as the second before it, as the Rust SDK reads it.
        self.assertEqual(sdk.parse_date_time("2016-12-31T23:59:60Z"), DateTime(1_483_228_799, 0))
        # An offset cannot move an instant out of the four-digit years (Salesforce has no others).
        self.assertIsNone(sdk.parse_date_time("9999-12-31T23:30:00-01:00"))
        self.assertIsNone(sdk.parse_date_time("0000-01-01T00:30:00+01:00"))
        self.assertIsNotNone(sdk.parse_date_time("9999-12-31T23:30:00Z"))
        for bad in ["2026-11-22T25:00:00Z", "2026-11-22T10:00:00", "yesterday", "2026-11-22T10:00:00.Z"]:
            self.assertIsNone(sdk.parse_date_time(bad), bad)
        before = sdk.parse_date_time("1969-12-31T23:59:59Z")
        self.assertEqual(before, DateTime(-1, 0))
        assert before is not None
        self.assertEqual(sdk.date_utc(before), Date(1969, 12, 31))
        self.assertEqual(sdk.parse_date("0099-03-01"), Date(99, 3, 1))
        self.assertIsNone(sdk.parse_date("2026-2-01"))
        self.assertIsNone(sdk.parse_date("２０２６-12-01"))  # digits, but not ASCII ones
        self.assertEqual(sdk.minutes_until(dt, DateTime(dt.seconds - 61, 0)), -2)
        self.assertEqual(sdk.minutes_until(dt, sdk.add_seconds(dt, 90)), 1)


if __name__ == "__main__":
    unittest.main()
