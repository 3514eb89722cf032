"""Acceptance (issue 4, "P1 ports"): dsmr_parser reads our P1 TCP port and gets every value we meant.

dsmr_parser's own ``SocketReader`` (CRC checking on, its V4 and V5 specifications) connects to
``meterkast``'s P1 server on 127.0.0.1 (ephemeral port). The server runs the simulated installation on a
``SimClock`` at high speed over the night the clocks go back (last Sunday of October) and the night they
go forward (last Sunday of March), with a gas meter replacement in between. Every telegram the server
sends must arrive, pass dsmr_parser's CRC check, and carry exactly the values a twin installation (same
seed, same schedule) shows at that telegram's instant: electricity registers, tariff, power, the
E-meter's identifier, and the gas meter's identifier, reading and hourly capture time (S/W resolved).
Between the replacement and the new meter's first value the channel has no reading line, so dsmr_parser
reports no gas reading at all rather than a 1970 one [P1-4.2.2 §6.3] (issue 11 item 7).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from dsmr_parser import telegram_specifications
from dsmr_parser.clients.socket_ import SocketReader

from meterkast.clock import SimClock
from meterkast.io.p1_server import ClockPacer, P1Server
from meterkast.p1.data import TelegramData
from meterkast.sim.installation import Installation, ReplaceGasMeter
from meterkast.sim.p1_source import P1Port, telegram_data

SPEED = 50_000.0  # simulated seconds per real second
OLD_METER = "G0001123456789012"
NEW_METER = "G0001987654321025"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    version: str
    spec: str
    built: datetime  # installation start
    serve_from: datetime  # the installation runs offline until here, then the server takes over
    until: datetime
    replace_at: datetime | None
    gas_captures: tuple[datetime, ...]  # every capture time the gas line must show, in order


CASES = {
    # 2024-10-27: 03:00 CEST becomes 02:00 CET. The meter is replaced at 02:40 CEST, in the first 02:xx.
    "october-dsmr4.2": Case(
        "4.2", "V4", utc(2024, 10, 26, 21, 30), utc(2024, 10, 26, 23, 50), utc(2024, 10, 27, 2, 20),
        utc(2024, 10, 27, 0, 40),
        (utc(2024, 10, 26, 23), utc(2024, 10, 27, 0), utc(2024, 10, 27, 1), utc(2024, 10, 27, 2)),
    ),
    # 2025-03-30: 02:00 CET becomes 03:00 CEST (01:00 UTC); the meter is replaced at 03:30 CEST.
    "march-dsmr4": Case(
        "4", "V4", utc(2025, 3, 29, 22, 30), utc(2025, 3, 29, 23, 40), utc(2025, 3, 30, 2, 10),
        utc(2025, 3, 30, 1, 30),
        (utc(2025, 3, 29, 23), utc(2025, 3, 30, 0), utc(2025, 3, 30, 1), utc(2025, 3, 30, 2)),
    ),
    # DSMR 5 sends every second: five minutes around the change are 301 telegrams.
    "march-dsmr5": Case(
        "5", "V5", utc(2025, 3, 29, 23, 30), utc(2025, 3, 30, 0, 58), utc(2025, 3, 30, 1, 3), None,
        (utc(2025, 3, 30, 0), utc(2025, 3, 30, 1)),
    ),
}  # fmt: skip


def installation_for(case: Case) -> Installation:
    installation = Installation.build(case.built, random.Random(2024))
    if case.replace_at is not None:
        installation.schedule(case.replace_at, ReplaceGasMeter(NEW_METER, initial_index_m3=Decimal("1234.5")))
    return installation


async def serve_to_dsmr_parser(case: Case) -> tuple[list[Any], int]:
    installation = installation_for(case)
    installation.advance(case.serve_from)
    port = P1Port(installation, case.version)
    server = P1Server(port, ClockPacer(SimClock(case.serve_from, speed=SPEED), SPEED), backlog=1_000_000)
    host, bound = await server.start_tcp("127.0.0.1", 0)
    reader = SocketReader(host, bound, getattr(telegram_specifications, case.spec))
    reading = asyncio.create_task(asyncio.to_thread(lambda: list(reader.read())))
    try:
        await asyncio.wait_for(server.wait_for_clients(1), 10)
        await server.run(case.until)
    finally:
        await server.close(flush_timeout_s=30)
    return await asyncio.wait_for(reading, 30), server.stats.telegrams


def gas_of(telegram: Any, spec: str) -> tuple[Any, Any]:
    """The gas identifier and reading dsmr_parser found (reading None: no 0-1:24.2.1 line)."""
    if spec == "V5":
        device = telegram.get_mbus_device_by_channel(1)
        return device.MBUS_EQUIPMENT_IDENTIFIER, getattr(device, "MBUS_METER_READING", None)
    return telegram.EQUIPMENT_IDENTIFIER_GAS, getattr(telegram, "HOURLY_GAS_METER_READING", None)


def check_values(telegram: Any, expected: TelegramData, spec: str) -> None:
    assert telegram.ELECTRICITY_USED_TARIFF_1.value == expected.import_t1_kwh
    assert telegram.ELECTRICITY_USED_TARIFF_2.value == expected.import_t2_kwh
    assert telegram.ELECTRICITY_DELIVERED_TARIFF_1.value == expected.export_t1_kwh
    assert telegram.ELECTRICITY_DELIVERED_TARIFF_2.value == expected.export_t2_kwh
    assert telegram.ELECTRICITY_USED_TARIFF_1.unit == "kWh"
    assert telegram.ELECTRICITY_ACTIVE_TARIFF.value == f"{expected.tariff:04d}"
    assert telegram.CURRENT_ELECTRICITY_USAGE.value == expected.power_import_kw
    assert telegram.CURRENT_ELECTRICITY_DELIVERY.value == expected.power_export_kw
    assert bytes.fromhex(telegram.EQUIPMENT_IDENTIFIER.value).decode() == expected.equipment_id
    (gas,) = expected.mbus
    identifier, reading = gas_of(telegram, spec)
    assert bytes.fromhex(identifier.value).decode() == gas.equipment_id
    if gas.value is None:  # replaced, not read yet: no reading line, no bogus 1970 value
        assert gas.awaiting_first and reading is None
    else:
        assert reading.value == gas.value and reading.unit == "m3"
        assert gas.capture_time is not None
        assert reading.datetime.astimezone(UTC) == gas.capture_time.astimezone(UTC)


@pytest.mark.parametrize("name", list(CASES))
def test_dsmr_parser_reads_every_value_over_tcp(name: str) -> None:
    case = CASES[name]
    received, sent = asyncio.run(serve_to_dsmr_parser(case))
    interval = timedelta(seconds=1 if case.version == "5" else 10)
    assert sent == (case.until - case.serve_from) // interval + 1
    assert len(received) == sent, "every telegram arrives and passes dsmr_parser's CRC check"

    twin = installation_for(case)
    captures: list[datetime] = []
    identifiers: list[str] = []
    previous: datetime | None = None
    for telegram in received:
        moment = telegram.P1_MESSAGE_TIMESTAMP.value.astimezone(UTC)
        if previous is not None:
            assert moment - previous == interval, "no telegram missing, none repeated, across the DST change"
        previous = moment
        twin.advance(moment)
        expected = telegram_data(twin, case.version)
        assert expected.timestamp is not None and expected.timestamp.astimezone(UTC) == moment
        check_values(telegram, expected, case.spec)
        identifier, reading = gas_of(telegram, case.spec)
        stamp = None if reading is None else reading.datetime.astimezone(UTC)
        if stamp is not None and (not captures or captures[-1] != stamp):
            captures.append(stamp)
        text = bytes.fromhex(identifier.value).decode()
        if not identifiers or identifiers[-1] != text:
            identifiers.append(text)
    assert tuple(captures) == case.gas_captures
    assert identifiers == ([OLD_METER, NEW_METER] if case.replace_at else [OLD_METER])
