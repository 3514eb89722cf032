"""Profiles over P3 after simulated days: selective access returns exactly the E-meter's entries (P3 §6.3,
§7.4, §5.5; DSMR-M 4.5.10/4.5.23/4.5.26)."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from meterkast.cosem.readings import GasProfileRow, read_profile
from meterkast.cosem.values import CLOCK_COLUMN, date_time
from meterkast.dlms import (
    Array,
    AttributeDescriptor,
    CaptureObject,
    DataAccessResult,
    DoubleLongUnsigned,
    EntryDescriptor,
    ObisCode,
    RangeDescriptor,
    RawAccess,
    Structure,
    Unsigned,
)
from meterkast.emeter import EMeter
from meterkast.emeter.events import LogId
from meterkast.errors import CommandRefused
from tests.cosem.conftest import NOW, START, make_server, management_session, public_session
from tests.emeter.conftest import drive, local, new_meter, utc

HOURLY = ObisCode.parse("0-1:24.3.0.255")
DAILY = ObisCode.parse("1-0:99.2.0.255")
MONTHLY = ObisCode.parse("0-0:98.1.0.255")


def rows(entries: list) -> list[tuple]:  # type: ignore[type-arg]
    """Comparable rows: instants in UTC (an aware datetime in the repeated autumn hour never equals one in
    another zone, Python's rule for ambiguous times)."""
    return [(e.clock.astimezone(UTC), e.status, e.value_m3, e.capture_time.astimezone(UTC)) for e in entries]


def got_rows(got: list[GasProfileRow]) -> list[tuple]:  # type: ignore[type-arg]
    return rows(got)


def test_hourly_profile_range_is_exactly_the_meters_entries(meter: EMeter) -> None:
    session = management_session(make_server(meter))
    from_, to = local(2024, 3, 1, 10), local(2024, 3, 2, 18)
    got = session.run(read_profile(session.client, HOURLY, from_, to))
    expected = rows(meter.hourly_profile(1).entries(from_, to))
    assert got_rows(got) == expected and len(got) == 33
    assert all(g.clock.utcoffset() == timedelta(hours=1) for g in got)  # local time, CET
    everything = session.run(read_profile(session.client, HOURLY))  # open range: the whole buffer
    assert got_rows(everything) == rows(list(meter.hourly_profile(1))) and len(everything) == 54
    assert session.run(read_profile(session.client, HOURLY, utc(2030, 1, 1))) == []  # DSMR-M 4.5.23


def test_daily_and_monthly_profiles_give_the_gas_columns_of_a_channel() -> None:
    meter = new_meter(utc(2024, 2, 28))
    drive(meter, utc(2024, 3, 2, 1))
    session = management_session(make_server(meter))
    daily = session.run(read_profile(session.client, DAILY, channel=1))
    assert [(r.clock, r.status, r.value_m3, r.capture_time) for r in daily] == [
        (e.clock, e.status, e.channel(1).value_m3, e.channel(1).capture_time) for e in meter.daily_profile]
    monthly = session.run(read_profile(session.client, MONTHLY, channel=1))
    assert [r.clock for r in monthly] == [local(2024, 3, 1)]
    assert monthly[0].status is None  # 0-0:98.1.0 has no status column (P3 §5.5)
    assert monthly[0].value_m3 == meter.monthly_profile[0].channel(1).value_m3
    empty = session.run(read_profile(session.client, DAILY, channel=2))
    assert {(r.value_m3, r.capture_time) for r in empty} == {(None, None)}  # null-data: channel 2 never used


def test_the_autumn_hour_is_read_twice_by_its_deviation() -> None:
    meter = new_meter(utc(2024, 10, 26, 12))
    drive(meter, utc(2024, 10, 27, 6))
    session = management_session(make_server(meter))
    got = session.run(read_profile(session.client, HOURLY, local(2024, 10, 27, 1), local(2024, 10, 27, 3)))
    assert [(r.clock.hour, r.clock.utcoffset()) for r in got] == [
        (1, timedelta(hours=2)), (2, timedelta(hours=2)), (2, timedelta(hours=1)), (3, timedelta(hours=1))]
    assert got_rows(got) == rows(meter.hourly_profile(1).entries(local(2024, 10, 27, 1), local(2024, 10, 27, 3)))


def _buffer(session, ln: ObisCode, access):  # type: ignore[no-untyped-def]
    return session.run(session.client.get(AttributeDescriptor(7, ln, 2), access))


def test_entry_descriptor_and_selected_columns(meter: EMeter) -> None:
    session = management_session(make_server(meter))
    got = _buffer(session, HOURLY, EntryDescriptor(3, 5, 2, 3))
    entries = list(meter.hourly_profile(1))[2:5]
    assert got == Array(tuple(Structure((Unsigned(int(e.status)), DoubleLongUnsigned(int(e.value_m3 * 1000))))
                              for e in entries))  # entries 3..5, columns 2..3 (status, value)
    last = _buffer(session, HOURLY, EntryDescriptor(54, 0, 1, 0))
    assert len(last.items) == 1 and len(last.items[0].items) == 4
    value = CaptureObject(4, ObisCode.parse("0-1:24.2.1.255"), 2)
    only = _buffer(session, HOURLY, RangeDescriptor(CLOCK_COLUMN, date_time(local(2024, 3, 2, 1)),
                                                    date_time(local(2024, 3, 2, 2)), (value,)))
    assert [len(row.items) for row in only.items] == [1, 1]


@pytest.mark.parametrize(("access", "result"), [
    (RangeDescriptor(CLOCK_COLUMN, date_time(local(2024, 3, 2)), date_time(local(2024, 3, 1))),
     DataAccessResult.SCOPE_OF_ACCESS_VIOLATED),  # end before begin: a logical error (DSMR-M 4.5.26)
    (RangeDescriptor(CaptureObject(1, ObisCode.parse("0-1:96.10.3.255"), 2), Unsigned(0), Unsigned(9)),
     DataAccessResult.OTHER_REASON),  # DSMR profiles are restricted on the clock only
    (RangeDescriptor(CLOCK_COLUMN, Unsigned(0), Unsigned(9)), DataAccessResult.TYPE_UNMATCHED),
    (EntryDescriptor(5, 3), DataAccessResult.SCOPE_OF_ACCESS_VIOLATED),
    (RawAccess(3, Unsigned(1)), DataAccessResult.OTHER_REASON),
])
def test_selective_access_refusals(meter: EMeter, access, result: DataAccessResult) -> None:  # type: ignore[no-untyped-def]
    session = management_session(make_server(meter))
    assert _buffer(session, HOURLY, access) is result


def test_event_logs_and_power_failures() -> None:
    meter = new_meter(START)
    drive(meter, START + timedelta(hours=3))
    meter.power_down(START + timedelta(hours=3))
    meter.power_up(START + timedelta(hours=3, minutes=10))
    session = management_session(make_server(meter))
    standard = _buffer(session, ObisCode.parse("0-0:99.98.0.255"), None)
    assert [row.items[1].value for row in standard.items] == [e.code for e in meter.event_log(LogId.STANDARD)]
    failures = _buffer(session, ObisCode.parse("1-0:99.97.0.255"), None)
    assert [row.items[1].value for row in failures.items] == [600]  # a long failure of 600 s (P3 §5.9)
    mbus = _buffer(session, ObisCode.parse("0-0:99.98.3.255"), None)
    assert mbus.items[0].items[1] == Unsigned(105)  # new M-Bus device on channel 1


def test_the_public_client_reads_no_profile(meter: EMeter) -> None:
    session = public_session(make_server(meter))
    with pytest.raises(CommandRefused, match="read-write-denied"):
        session.run(read_profile(session.client, HOURLY))
    assert NOW > START
