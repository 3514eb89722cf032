"""Every table-driven state machine is total; the vocabulary tables say what P3 §4.2 says."""

from __future__ import annotations

import itertools
from datetime import time

from meterkast.emeter.channels import COMM_TRANSITIONS, STATUS_EVENTS, CommInput, CommState
from meterkast.emeter.events import EVENT_SPECS, LogId, MbusCode, mbus_code
from meterkast.emeter.logs import ALL_ALARMS
from meterkast.emeter.quality import TRANSITIONS, QualityInput, QualityState
from meterkast.emeter.readings import StatusBit
from meterkast.emeter.tariff import DAY_PROFILES, DayType, Tariff


def test_comm_table_is_total() -> None:
    assert set(COMM_TRANSITIONS) == set(itertools.product(CommState, CommInput))


def test_quality_table_is_total() -> None:
    assert set(TRANSITIONS) == set(itertools.product(QualityState, QualityInput))


def test_tariff_day_profiles_cover_every_day_from_midnight_on_quarter_hours() -> None:
    assert set(DAY_PROFILES) == set(DayType)
    for points in DAY_PROFILES.values():
        assert points[0][0] == time(0, 0)
        assert all(start.minute % 15 == 0 and start.second == 0 for start, _ in points)
    assert {t for points in DAY_PROFILES.values() for _, t in points} == set(Tariff)


def test_mbus_codes_and_register_bits_follow_p3() -> None:
    for channel in (1, 2, 3, 4):
        error = EVENT_SPECS[mbus_code(MbusCode.COMMUNICATION_ERROR, channel)]
        assert error.register_bit == 15 + channel and error.log is LogId.MBUS and error.self_clearing
        assert EVENT_SPECS[mbus_code(MbusCode.FRAUD_ATTEMPT, channel)].register_bit == 19 + channel
        assert EVENT_SPECS[mbus_code(MbusCode.NEW_DEVICE, channel)].register_bit == 23 + channel
    assert mbus_code(MbusCode.COMMUNICATION_ERROR, 4) == 130
    assert EVENT_SPECS[2].register_bit == 2 and EVENT_SPECS[6].register_bit == 0
    bits = {spec.register_bit for spec in EVENT_SPECS.values() if spec.register_bit is not None}
    assert all(ALL_ALARMS >> bit & 1 for bit in bits)


def test_status_bits_map_to_mbus_events() -> None:
    assert STATUS_EVENTS[StatusBit.BATTERY_LOW] is MbusCode.REPLACE_BATTERY
    assert STATUS_EVENTS[StatusBit.FRAUD_ATTEMPT] is MbusCode.FRAUD_ATTEMPT
    assert STATUS_EVENTS[StatusBit.PERMANENT_ERROR] is MbusCode.PERMANENT_ERROR
