"""``p1 read --mqtt`` and ``run --mqtt`` end to end: the command in a process of its own, a Mosquitto of the
test's own, a subscriber that waits for what it must receive (docs/mqtt.md)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from meterkast.cli import main
from meterkast.p1.decode import decode_telegram
from tests.commands.test_p1_cli import capture
from tests.io.test_mqtt_publisher import DEADLINE_S, subscribed
from tests.mqtt_broker import OwnBroker

ROOT = Path(__file__).resolve().parents[2]
GAS = "meterkast_G0001123456789012"


async def meterkast(*argv: str) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "meterkast.cli", *argv, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(DEADLINE_S * 2):
        out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


def test_p1_read_mqtt_publishes_every_telegram_with_discovery(tmp_path: Path) -> None:
    """Three DSMR 5 telegrams from a TCP port (as from a P1 dongle): three states per device, configs once."""
    telegrams = capture("5", 3, after=timedelta(hours=2))  # past the first gas read: a gas value to publish
    readings = [decode_telegram(t).decimal("1-0:1.8.1") for t in telegrams]

    async def scenario() -> None:
        broker = OwnBroker(tmp_path)
        await asyncio.to_thread(broker.start)

        async def meter(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"".join(telegrams))
            await writer.drain()
            await reader.read()  # until the reader hangs up
            writer.close()

        server = await asyncio.start_server(meter, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with subscribed(broker.port, "p1r/#", "p1ha/#") as sub:
                code, out = await meterkast("p1", "read", f"tcp://127.0.0.1:{port}", "--count", "3", "--mqtt",
                                            f"mqtt://127.0.0.1:{broker.port}", "--mqtt-prefix", "p1r",
                                            "--mqtt-discovery-prefix", "p1ha")
                assert code == 0, out
                await sub.until(lambda: sub.payloads("p1r/status")[-1:] == [b"offline"], "offline at the end")
                states = [(t, json.loads(p, parse_float=Decimal)) for t, p, _ in sub.received if t.endswith("/state")]
                emeter = [v for t, v in states if t != f"p1r/{GAS}/state"]
                assert [v["import_t1"] for v in emeter] == readings
                gas = [v for t, v in states if t == f"p1r/{GAS}/state"]
                assert len(gas) == 3 and gas[0]["device_type"] == 3
                configs = [t for t, _, _ in sub.received if t.endswith("/config")]
                assert len(configs) == len(set(configs)) and f"p1ha/sensor/{GAS}/reading/config" in configs
                assert sub.payloads("p1r/status")[0] == b"online"
        finally:
            server.close()
            await server.wait_closed()
            await asyncio.to_thread(broker.stop)

    asyncio.run(scenario())


def test_run_mqtt_publishes_the_installation_with_the_gas_meters_state(tmp_path: Path) -> None:
    """``run --speed max --until`` makes the telegram of each whole hour: each reaches the broker."""

    async def scenario() -> None:
        broker = OwnBroker(tmp_path)
        await asyncio.to_thread(broker.start)
        try:
            async with subscribed(broker.port, "live/#", "liveha/#") as sub:
                code, out = await meterkast(
                    "run", "--data", str(tmp_path / "data"), "--no-http", "--no-p1", "--speed", "max",
                    "--start", "2026-01-01T00:00:00Z", "--until", "2026-01-01T04:00:00Z", "--stop",
                    "--mqtt", f"mqtt://127.0.0.1:{broker.port}", "--mqtt-prefix", "live",
                    "--mqtt-discovery-prefix", "liveha",
                )
                assert code == 0, out
                assert f"MQTT: mqtt://127.0.0.1:{broker.port}" in out
                await sub.until(lambda: sub.payloads("live/status")[-1:] == [b"offline"], "offline at the end")
                gas = [json.loads(p, parse_float=Decimal) for p in sub.payloads(f"live/{GAS}/state")]
                assert len(gas) == 4  # the telegrams of 01:00 ... 04:00
                captured = [g["captured"] for g in gas]
                assert captured == sorted(set(captured)), captured  # a new reading in each telegram
                assert all(g["reading"] >= 0 for g in gas) and gas == sorted(gas, key=lambda g: g["reading"])
                assert gas[-1]["valve_state"] == "open" and gas[-1]["battery"] > 0
                battery = json.loads(sub.payloads(f"liveha/sensor/{GAS}/battery/config")[0])
                assert (battery["device_class"], battery["unit_of_measurement"]) == ("battery", "%")
        finally:
            await asyncio.to_thread(broker.stop)

    asyncio.run(scenario())


def test_a_bad_broker_url_exits_2_before_anything_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["p1", "read", "tcp://127.0.0.1:1", "--mqtt", "mqtts://broker.lan"]) == 2
    assert "TLS, mqtts://, is not supported yet" in capsys.readouterr().err
    run = ["run", "--data", str(tmp_path), "--no-http", "--no-p1", "--speed", "max", "--until", "2026-01-02", "--stop"]
    assert main([*run, "--mqtt", "mqtt://b", "--mqtt-prefix", "a/#"]) == 2
    assert "MQTT prefix 'a/#'" in capsys.readouterr().err
