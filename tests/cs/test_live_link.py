"""``meterkast run --cs`` (live/cs_link.py): the CS next to the live installation reads its E-meter over P3 TCP.

Without consent nothing is stored and a refusal is recorded, while the installation's P1 port keeps sending
the gas value (SYSTEM E3): both sides in one test. With consent the dashboard's JSON shows what was read.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from meterkast.central.model import ConsentLevel
from meterkast.cli import main as cli_main
from meterkast.live.cs_link import CsLink, CsOptions, start_cs_link
from meterkast.live.session import LiveSession
from meterkast.p1.decode import decode_telegram
from meterkast.p1.values import CapturedValue
from tests.live.helpers import START, make_session

HOUR = timedelta(hours=1)


async def _run(session: LiveSession, link: CsLink, hours: int) -> list[bytes]:
    """Advance the installation hour by hour (a telegram at each whole hour) and let the CS do what is due."""
    telegrams: list[bytes] = []
    for _ in range(hours):
        telegrams += session.step(session.now + HOUR, telegram=True)
        link.sync_couplings()
        await link.cs.step(session.now)
    return telegrams


def _gas_values(telegrams: list[bytes]) -> list[Decimal]:
    values = []
    for data in telegrams:
        device = decode_telegram(data).mbus.get(1)
        reading = None if device is None else device.reading
        if isinstance(reading, CapturedValue):
            values.append(reading.value)
    return values


def _kept(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM readings").fetchone()[0])


def test_without_consent_nothing_is_stored_while_p1_keeps_sending(tmp_path: Path) -> None:
    session = make_session()
    assert session.cs_status() == {"enabled": False}
    options = CsOptions.in_data_dir(tmp_path, p3_port=0, consent=ConsentLevel.NONE)

    async def main() -> tuple[list[bytes], dict[str, object]]:
        link = await start_cs_link(session, options)
        try:
            telegrams = await _run(session, link, 30)
            return telegrams, session.cs_status()
        finally:
            await link.close()

    telegrams, status = asyncio.run(main())
    values = _gas_values(telegrams)
    assert len(values) == 30 and values == sorted(values) and values[-1] > values[0]  # P1 at home: as ever
    assert _kept(tmp_path / "cs.sqlite") == 0
    assert status["enabled"] is True and status["consent"] == "none"
    refused = status["refused"]
    assert isinstance(refused, list)
    assert {r["period_type"] for r in refused} == {"interval", "daily", "monthly"}
    assert all(r["consent"] == "none" and r["times"] >= 1 for r in refused)
    assert status["last_reads"] == [] and status["stats"]["contacts"] >= 1  # type: ignore[index]
    assert status["p3_server"]["connections"] >= 1  # type: ignore[index]  # the CS did reach the meter: alarms


def test_with_consent_the_dashboard_shows_what_the_cs_read_and_a_withdrawal_stops_it(tmp_path: Path) -> None:
    session = make_session()
    options = CsOptions.in_data_dir(tmp_path, p3_port=0, consent=ConsentLevel.DETAILED)

    async def main() -> tuple[dict[str, object], dict[str, object], int, int]:
        link = await start_cs_link(session, options)
        try:
            await _run(session, link, 26)
            first = session.cs_status()
            kept = _kept(tmp_path / "cs.sqlite")
            assert link.set_consent(ConsentLevel.NONE)["level"] == "none"
            await _run(session, link, 5)
            return first, session.cs_status(), kept, _kept(tmp_path / "cs.sqlite")

        finally:
            await link.close()

    first, after, kept, kept_after = asyncio.run(main())
    assert first["consent"] == "detailed" and first["refused"] == []
    reads = first["last_reads"]
    assert isinstance(reads, list) and reads
    assert {r["period_type"] for r in reads} >= {"interval", "daily"}
    assert first["stats"]["rows_stored"] == kept == 26 + 1  # type: ignore[index]  # 25 h from 00:00, 1 day
    assert kept_after == kept  # withdrawn: nothing more is collected
    assert after["consent"] == "none" and {r["consent"] for r in after["refused"]} == {"none"}  # type: ignore[union-attr]
    assert [c["level"] for c in after["consent_history"]] == ["detailed", "none"]  # type: ignore[union-attr]
    assert str(after["emeter"]).startswith("E") and str(after["p3"]).startswith("tcp://127.0.0.1:")


def test_a_restarted_link_keeps_its_keys_inventory_and_readings(tmp_path: Path) -> None:
    options = CsOptions.in_data_dir(tmp_path, p3_port=0, consent=ConsentLevel.DETAILED)
    session = make_session()

    async def twice() -> tuple[int, int]:
        link = await start_cs_link(session, options)
        await _run(session, link, 5)
        await link.close()
        first = _kept(tmp_path / "cs.sqlite")
        link = await start_cs_link(session, options)  # the same store, master key and E-meter keys
        try:
            await _run(session, link, 5)
            assert link.cs.stats.failures == 0
        finally:
            await link.close()
        return first, _kept(tmp_path / "cs.sqlite")

    first, second = asyncio.run(twice())
    assert 0 < first < second
    with sqlite3.connect(tmp_path / "cs.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM gas_couplings").fetchone()[0] == 1
        assert db.execute("SELECT COUNT(*) FROM meter_keys WHERE kind LIKE 'p3-%'").fetchone()[0] == 2
        assert db.execute("SELECT COUNT(*) FROM meter_keys WHERE kind = 'p2-default'").fetchone()[0] == 1
        assert db.execute("SELECT COUNT(*) FROM consents").fetchone()[0] == 1


def test_meterkast_run_cs_reads_the_run_to_its_end(tmp_path: Path) -> None:
    data = tmp_path / "run"
    code = cli_main(["run", "--data", str(data), "--cs", "--cs-consent", "detailed", "--speed", "max",
                     "--until", (START + 30 * HOUR).isoformat(), "--stop", "--no-http", "--no-p1",
                     "--p3-port", "0", "--start", START.isoformat()])
    assert code == 0
    with sqlite3.connect(data / "cs.sqlite") as db:
        counts = dict(db.execute("SELECT period_type, COUNT(*) FROM readings GROUP BY period_type").fetchall())
    assert counts == {"interval": 30, "daily": 1}


def test_water_and_heat_meters_do_not_stop_the_cs_reading_the_gas_meter(tmp_path: Path) -> None:
    """water-heat.toml: water on channel 1, gas on 2, heat on 3 [P1-4.2.2 §6.3–6.5]. The CS inventory holds
    gas meters (SYSTEM C1, M3): it files the gas meter on channel 2 only, so its reads of 0-2:24.3.0 succeed
    and no P3 read of a water (m³, unit 13) or heat (J) register stops the contact [P3-4.2.2 §7.3.1]."""
    session = make_session(scenario="water-heat")
    options = CsOptions.in_data_dir(tmp_path, p3_port=0, consent=ConsentLevel.DETAILED)

    async def main() -> tuple[int, int]:
        link = await start_cs_link(session, options)
        try:
            await _run(session, link, 26)
            return link.cs.stats.failures, _kept(tmp_path / "cs.sqlite")
        finally:
            await link.close()

    failures, kept = asyncio.run(main())
    assert failures == 0
    assert kept > 0
    with sqlite3.connect(tmp_path / "cs.sqlite") as db:
        couplings = db.execute("SELECT channel, gas_meter FROM gas_couplings").fetchall()
        meters = {row[0] for row in db.execute("SELECT DISTINCT gas_meter FROM readings")}
    assert couplings == [(2, "G0001123456789012")]
    assert meters == {"G0001123456789012"}
