"""A vendor placeholder time stamp keeps its line's value, with no time (issue 10).

A stamp of 12 digits (and its S/W letter where the line has one) that is no calendar date,
``632525252525W`` or ``000000000000``, is the meter's "no value", not a damaged line: every decoder
that takes a stamp reads the rest of its line (as dsmr_parser does: value kept, time None) and keeps
the raw line in ``Telegram.notes``; only the Fluvius max-demand history gives ``None`` silently
(docs/p1.md). A stamp that is malformed (too short, letters) stays a problem.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from meterkast.p1.decode import decode_telegram
from meterkast.p1.plan import P1Decoder
from meterkast.p1.telegram import Telegram
from meterkast.p1.timestamps import decode_tst12
from meterkast.p1.values import CapturedValue, GasProfile, PowerFailure, RawValue
from tests.p1.odd_corpus import FLUVIUS, V3, V5, V42, with_crc

PLACEHOLDERS = ["632525252525", "000000000000", "991399999999"]


def _read_alike(good: bytes, odd: bytes) -> Telegram:
    """decode_telegram, a fresh P1Decoder and one that saw ``good`` first give the same telegram."""
    telegram = decode_telegram(odd)
    decoder = P1Decoder()
    decoder.decode(good)
    assert repr(decoder.decode(odd)) == repr(telegram) == repr(P1Decoder().decode(odd))
    assert decode_telegram(odd, lenient=False) == telegram  # a note is no problem
    return telegram


@pytest.mark.parametrize("stamp", PLACEHOLDERS)
def test_dsmr3_gas_profile_keeps_its_value(stamp: str) -> None:
    odd = V3.replace(b"0-1:24.3.0(090212160000)", b"0-1:24.3.0(" + stamp.encode() + b")")
    telegram = _read_alike(V3, odd)
    profile = telegram["0-1:24.3.0"]
    assert isinstance(profile, GasProfile) and profile.time is None and profile.values == (Decimal("1.001"),)
    assert telegram.mbus[1].reading == CapturedValue(None, Decimal("1.001"), "m3")
    assert telegram.errors == ()
    (note,) = telegram.notes
    assert note.text.startswith(f"0-1:24.3.0({stamp})") and f"'{stamp}'" in note.reason


def test_a_dsmr3_profile_stamp_error_names_the_stamp_as_sent() -> None:
    with pytest.raises(ValueError, match="'161399190000' is not a calendar") as caught:
        decode_tst12("161399190000")
    assert "W'" not in str(caught.value)  # no letter was sent: the status byte gives it


@pytest.mark.parametrize("stamp", [s + "W" for s in PLACEHOLDERS] + PLACEHOLDERS)
def test_captured_values_keep_their_value(stamp: str) -> None:
    odd = with_crc(V42.replace(b"0-1:24.2.1(161129200000W)", b"0-1:24.2.1(" + stamp.encode() + b")"))
    telegram = _read_alike(V42, odd)
    assert telegram["0-1:24.2.1"] == CapturedValue(None, Decimal("981.443"), "m3")
    assert (len(telegram.errors), len(telegram.notes)) == (0, 1)


def test_fluvius_gas_and_a_value_first_capture_keep_their_value() -> None:
    odd = with_crc(FLUVIUS.replace(b"0-1:24.2.3(200512134558S)", b"0-1:24.2.3(632525252525W)"))
    telegram = _read_alike(FLUVIUS, odd)
    assert telegram["0-1:24.2.3"] == CapturedValue(None, Decimal("112.384"), "m3")
    reversed_ = with_crc(FLUVIUS.replace(b"1-0:1.6.0(200509134558S)(02.589*kW)", b"1-0:1.6.0(02.589*kW)(632525252525)"))
    telegram = decode_telegram(reversed_)
    assert telegram["1-0:1.6.0"] == CapturedValue(None, Decimal("2.589"), "kW") and telegram.errors == ()


def test_power_failures_and_the_telegram_time() -> None:
    log = with_crc(V42.replace(b"(000101000001W)", b"(000000000000W)"))
    entries = _read_alike(V42, log)["1-0:99.97.0"]
    assert isinstance(entries, tuple) and entries[1] == PowerFailure(None, 2147583646)
    stamp = with_crc(V5.replace(b"0-0:1.0.0(170102192002W)", b"0-0:1.0.0(000000000000W)"))
    assert _read_alike(V5, stamp)["0-0:1.0.0"] == RawValue(("000000000000W",))


def test_a_malformed_stamp_is_still_a_problem() -> None:
    odd = V3.replace(b"0-1:24.3.0(090212160000)", b"0-1:24.3.0(0902121600)")
    telegram = decode_telegram(odd)
    assert "0-1:24.3.0" not in telegram.values and len(telegram.errors) == 1
