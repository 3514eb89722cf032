from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from meterkast.emeter.amr import AmrStatus, entry_status
from meterkast.emeter.profiles import HourlyEntry, Profile, hourly_spec
from meterkast.errors import ClockError, InvalidInput
from tests.emeter.conftest import local, utc


def entry(clock_utc_hour: int) -> HourlyEntry:
    clock = (utc(2024, 10, 26, 22) + timedelta(hours=clock_utc_hour)).astimezone(local(2024, 1, 1).tzinfo)
    return HourlyEntry(clock, AmrStatus(0), Decimal(clock_utc_hour), clock)


def test_ring_buffer_keeps_the_newest_capacity_entries() -> None:
    profile = Profile[HourlyEntry](hourly_spec(2))
    assert profile.obis == "0-2:24.3.0.255" and profile.capacity == 240
    for hour in range(300):
        assert profile.append(entry(hour))
    assert len(profile) == 240
    assert profile[0].value_m3 == 60 and profile[-1].value_m3 == 299


def test_monotonic_filling_refuses_repeats_but_not_the_second_autumn_hour() -> None:
    profile = Profile[HourlyEntry](hourly_spec(1))
    # 2024-10-27: 00:00 UTC is 02:00 CEST, 01:00 UTC is 02:00 CET (fold=1)
    first, second = entry(2), entry(3)
    assert (first.clock.hour, second.clock.hour) == (2, 2)
    assert profile.append(first) and profile.append(second)
    assert not profile.append(entry(3))
    assert not profile.append(entry(1))


def test_selective_access_by_range() -> None:
    profile = Profile[HourlyEntry](hourly_spec(1))
    for hour in range(10):
        profile.append(entry(hour))
    got = profile.entries(local(2024, 10, 27, 2, fold=1), local(2024, 10, 27, 4))
    assert [e.value_m3 for e in got] == [3, 4, 5]
    assert len(profile.entries(to=local(2024, 10, 27, 2, fold=0))) == 3
    assert [e.value_m3 for e in profile.entries(from_=utc(2024, 10, 27, 5))] == [7, 8, 9]
    assert profile.entries(utc(2030, 1, 1), utc(2030, 1, 2)) == []  # partly/no data: no error
    with pytest.raises(InvalidInput, match="logical error"):
        profile.entries(utc(2024, 10, 27, 5), utc(2024, 10, 27, 4))
    with pytest.raises(ClockError):
        profile.entries(utc(2024, 1, 1).replace(tzinfo=None))


def test_amr_status_implies_dnv_and_dst() -> None:
    summer, winter = local(2024, 7, 1), local(2024, 1, 1)
    assert entry_status(AmrStatus.CAD, winter) == AmrStatus.CAD | AmrStatus.DNV
    assert entry_status(AmrStatus.CIV, summer) == AmrStatus.CIV | AmrStatus.DNV | AmrStatus.DST
    assert entry_status(AmrStatus.PDN, winter) == AmrStatus.PDN
    assert int(AmrStatus.PDN | AmrStatus.DST) == 0x88
