"""Issue 10 item 6: the central system never stamps an alarm or a reading before its cause.

``meterkast run --scenario meter-swap --speed max --cs``: the world runs on while the CS reads it over P3,
so a contact ends many simulated hours after the round began. The seal alarm used to carry the round's
start, 29 h before the seal was broken. Here every CS alarm is held to the ground truth of the run (the
installation's own events in the run's store). Every hourly reading is held to the index the gas meter
really had at the hour it is stamped with.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from meterkast.cli import main
from meterkast.live.store import DATABASE_NAME

HOUR = timedelta(hours=1)
# The installation's events that cause each CS alarm kind (SYSTEM G10, G11, M3).
CAUSES = {
    "M-Bus fraud attempt": ("SealBroken",),
    "M-Bus replace battery": ("BatteryLow",),
    "new M-Bus device": ("DeviceCoupled", "DeviceReplaced"),
}
# The E-meter logs an M-Bus event within minutes of its cause; an alarm stamped later than this read late.
SOON = HOUR


def rows(database: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(database)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def moment(text: object) -> datetime:
    return datetime.fromisoformat(str(text))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    where = tmp_path_factory.mktemp("meter-swap")
    code = main(["run", "--scenario", "meter-swap", "--speed", "max", "--cs", "--cs-consent", "detailed",
                 "--no-p1", "--no-http", "--p3-port", "0", "--data", str(where),
                 "--until", "2025-02-06T00:00:00Z", "--stop"])
    assert code == 0
    yield where


def test_every_alarm_is_stamped_at_or_after_its_cause(data: Path) -> None:
    alarms = rows(data / "cs.sqlite", "SELECT kind, channel, raised_at FROM alarms ORDER BY alarm_id")
    events = rows(data / DATABASE_NAME, "SELECT at, kind, detail FROM events")
    assert {kind for kind, _, _ in alarms} >= set(CAUSES), "the scenario raises each kind it is about"
    for kind, channel, raised_at in alarms:
        if kind not in CAUSES:
            continue
        causes = sorted(moment(at) for at, event, detail in events
                        if event in CAUSES[str(kind)] and json.loads(str(detail)).get("channel") == channel)
        assert causes, f"a {kind} alarm on channel {channel} with no cause in the run"
        stamped = moment(raised_at)
        assert stamped >= causes[0], f"{kind} stamped {stamped}, before its cause at {causes[0]}"
        assert stamped - causes[0] <= SOON, f"{kind} stamped {stamped}, long after its cause at {causes[0]}"


def test_hourly_readings_carry_the_hour_they_measure(data: Path) -> None:
    truth = {moment(hour) + HOUR: Decimal(str(index))  # the index at the hour's end
             for hour, index in rows(data / DATABASE_NAME, "SELECT hour, index_m3 FROM hours")}
    swapped = datetime.fromisoformat("2025-02-05T09:20:00+00:00")  # the scenario's replace-gas-meter
    readings = rows(data / "cs.sqlite",
                    "SELECT gas_meter, capture_time, value_m3, log_time FROM readings WHERE period_type = 'interval'")
    checked = 0
    for gas_meter, capture_time, value, log_time in readings:
        captured = moment(capture_time)
        assert moment(log_time) >= captured, f"a reading for {captured} logged before it, at {log_time}"
        # The run's truth starts with its first whole hour and follows the meter on the channel.
        if captured in truth and abs(captured - swapped) > 2 * HOUR:
            assert Decimal(str(value)) == truth[captured], (gas_meter, captured, value, truth[captured])
            checked += 1
    assert checked > 48
