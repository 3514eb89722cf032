"""The meters file (cs/inventory.py): round trip, and errors that name the entry and the key."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from meterkast.central.model import ConsentLevel
from meterkast.cs.fleet import build_fleet
from meterkast.cs.inventory import format_meters, parse_meters, system_title_for
from meterkast.errors import InvalidInput

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def test_a_fleet_file_reads_back_as_written() -> None:
    fleet = build_fleet(3, start=T0, now=T0 + timedelta(hours=2), rng=random.Random(1),
                        consents=[ConsentLevel.DETAILED, ConsentLevel.NONE])
    entries = [m.entry("127.0.0.1", 40000 + m.number) for m in fleet]
    assert parse_meters(format_meters(entries)) == entries
    without = parse_meters(format_meters(entries, with_keys=False))
    assert [e.keys for e in without] == [None] * 3
    assert entries[0].system_title == system_title_for("E0031000000000125") == b"MKE" + (1).to_bytes(5, "big")
    assert [e.consent for e in entries] == [ConsentLevel.DETAILED, ConsentLevel.NONE, ConsentLevel.DETAILED]


@pytest.mark.parametrize(("text", "message"), [
    ("meter = 3", "only \\[\\[meter\\]\\]"),
    ("[[meter]]\nemeter = 'E0031003239456716'", "meter\\[0\\]: 'connection' is missing"),
    ("[[meter]]\nemeter = 'E0031003239456716'\nconnection = '871687140000000017'\ninstalled_at = 2026-01-01T00:00:00Z",
     "check digit"),
    ("[[meter]]\nemeter = 'E0031003239456716'\nconnection = '871687140000000019'\ninstalled_at = 2026-01-01T00:00:00Z"
     "\nconsent = 'maybe'", "consent 'maybe'"),
    ("[[meter]]\nemeter = 'E0031003239456716'\nconnection = '871687140000000019'\ninstalled_at = 2026-01-01T00:00:00"
     "\nconsent = 'none'", "UTC offset"),
    ("[[meter]]\nemeter = 'E0031003239456716'\nconnection = '871687140000000019'\ninstalled_at = 2026-01-01T00:00:00Z"
     "\nencryption_key = 'abc'", "encryption_key: must be 16 bytes"),
    ("[[meter]]\nemeter = 'E0031003239456716'\nconnection = '871687140000000019'\ninstalled_at = 2026-01-01T00:00:00Z"
     "\nport = 70000", "port 70000"),
    ("[[meter]]\nemeter = 'X'\nconnection = '871687140000000019'\ninstalled_at = 2026-01-01T00:00:00Z", "meter\\[0\\]"),
    ("[[meter]\n", "not TOML"),
])
def test_errors_name_the_entry_and_the_key(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_meters(text, "meters.toml")
