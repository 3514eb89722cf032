"""COSEM date-time (IEC 62056-6-2 §4.1.6.1) and OBIS logical names."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given

from meterkast.dlms import ClockStatus, CosemDate, CosemDateTime, CosemTime, ObisCode
from meterkast.errors import ClockError, CodecError, InvalidInput
from tests.dlms.strategies import cosem_date_times, obis_codes
from tests.dlms.vectors import DATE_TIMES

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(("wire", "moment"), DATE_TIMES)
def test_published_date_times(wire: str, moment: dt.datetime) -> None:
    value = CosemDateTime.decode(bytes.fromhex(wire))
    assert value.to_datetime() == moment
    assert value.clock_status is None  # FF: not specified


def test_dutch_winter_and_summer_time() -> None:
    """DSMR P3 §5.3: time_zone -60; in summer the deviation is -120 and the DST bit is set."""
    winter = CosemDateTime.from_datetime(dt.datetime(2026, 1, 15, 12, 0, tzinfo=AMSTERDAM))
    summer = CosemDateTime.from_datetime(dt.datetime(2026, 7, 15, 12, 0, tzinfo=AMSTERDAM))
    assert winter.encode().hex().upper() == "07EA010F040C000000FFC400"
    assert summer.encode().hex().upper() == "07EA070F030C000000FF8880"
    assert summer.clock_status == ClockStatus.DAYLIGHT_SAVING_ACTIVE
    assert summer.to_datetime() == dt.datetime(2026, 7, 15, 10, 0, tzinfo=dt.UTC)


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ClockError, match="naive"):
        CosemDateTime.from_datetime(dt.datetime(2026, 1, 1))


def test_patterns_do_not_become_datetimes() -> None:
    pattern = CosemDateTime(CosemDate(None, 0xFE, 0xFE, 7), CosemTime(2, 0, 0, 0), None, None)
    assert CosemDateTime.decode(pattern.encode()) == pattern
    with pytest.raises(InvalidInput, match="deviation"):
        pattern.to_datetime()
    with pytest.raises(InvalidInput, match="pattern"):
        CosemDateTime(pattern.date, pattern.time, -60).to_datetime()


@pytest.mark.parametrize(("wire", "offset"), [("07EA0D01FF000000FF800000", 0), ("07EA0101FF180000FF800000", 5),
                                              ("07EA0101FF00000000030000", 9)])
def test_reserved_values_are_rejected_with_offset(wire: str, offset: int) -> None:
    with pytest.raises(CodecError) as caught:
        CosemDateTime.decode(bytes.fromhex(wire))
    assert caught.value.offset == offset


@given(cosem_date_times)
def test_date_time_round_trip(value: CosemDateTime) -> None:
    assert CosemDateTime.decode(value.encode()) == value


@pytest.mark.parametrize(("text", "code"), [("0-1:24.2.1.255", ObisCode(0, 1, 24, 2, 1, 255)),
                                            ("0-1:24.2.1", ObisCode(0, 1, 24, 2, 1, 255)),
                                            ("1.0.99.1.0.255", ObisCode(1, 0, 99, 1, 0, 255)),
                                            (" 0-0:96.1.0.255 ", ObisCode(0, 0, 96, 1, 0, 255))])
def test_obis_parse(text: str, code: ObisCode) -> None:
    assert ObisCode.parse(text) == code


def test_obis_text_and_bytes() -> None:
    code = ObisCode.parse("0-1:24.2.1.255")
    assert str(code) == "0-1:24.2.1.255"
    assert code.to_bytes() == bytes.fromhex("0001180201FF")
    assert ObisCode.from_bytes(code.to_bytes()) == code


@pytest.mark.parametrize("text", ["0-1:24.2", "0-1:256.2.1.255", "a-b:c.d.e.f", "", "0-1:24.2.1.255.0"])
def test_obis_bad_text(text: str) -> None:
    with pytest.raises(InvalidInput, match="OBIS"):
        ObisCode.parse(text)


@given(obis_codes)
def test_obis_round_trip(code: ObisCode) -> None:
    assert ObisCode.parse(str(code)) == code
    assert ObisCode.from_bytes(code.to_bytes()) == code
