"""``p1 check --consumer mqtt mqtt://HOST:PORT``: a live subscription to the consumer's state topics, against a
Mosquitto of the test's own on a free loopback port (tests/mqtt_broker.py; METERKAST_REQUIRE_MQTT makes a
missing broker a failure). The consumer is meterkast's own ``p1 read --mqtt`` reading ``p1 serve --situation``
(docs/conformance.md "MQTT consumers", docs/mqtt.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from meterkast.cli import main
from meterkast.conformance.play import play
from meterkast.conformance.situations import BY_NAME
from tests.mqtt_broker import OwnBroker

DEADLINE_S = 180  # generous: both cores may be busy with other test runs


def meterkast(*argv: str) -> list[str]:
    return [sys.executable, "-m", "meterkast", *argv]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[OwnBroker]:
    own = OwnBroker(tmp_path, persistence=False)
    own.start()
    try:
        yield own
    finally:
        own.stop()


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()  # never leave a process running behind a failed test
        process.communicate()


@pytest.mark.parametrize("name", ["dsmr5-hourly", "crc-and-cut-off"])
def test_a_live_mqtt_check_passes_p1_read_publishing_a_served_situation(
    tmp_path: Path, broker: OwnBroker, name: str
) -> None:
    """Gas device states join their telegram's E-meter state; spoiled telegrams [P1-4.2.2 §5.1] never reach
    MQTT, and the check stops after the intact ones' states."""
    url = f"mqtt://127.0.0.1:{broker.port}"
    prefix = "kast-test"
    telegrams = sum(p.truth is not None for p in play(BY_NAME[name]))
    check = subprocess.Popen(
        meterkast("p1", "check", "--situation", name, "--consumer", "mqtt", url, "--prefix", prefix,
                  "--count", str(telegrams), "--timeout", str(DEADLINE_S)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    serve = subprocess.Popen(
        meterkast("p1", "serve", "--situation", name, "--port", "0", "--speed", "max",
                  "--truth", str(tmp_path / "truth.jsonl")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    try:
        assert check.stderr is not None and serve.stdout is not None
        subscribed = check.stderr.readline()  # the consumer starts only once the check listens
        assert f"subscribed to {prefix}/+/state on {url}" in subscribed, subscribed
        found = re.search(r"tcp://127\.0\.0\.1:(\d+)", serve.stdout.readline())
        assert found
        read = subprocess.run(
            meterkast("p1", "read", f"tcp://127.0.0.1:{found.group(1)}", "--retries", "0", "--mqtt", url,
                      "--mqtt-prefix", prefix),
            capture_output=True, text=True, timeout=DEADLINE_S, check=False, cwd=tmp_path,
        )
        serve.communicate(timeout=DEADLINE_S)
        out, err = check.communicate(timeout=DEADLINE_S)
    finally:
        for process in (check, serve):
            stop(process)
    assert "closed the connection" in read.stderr
    assert check.returncode == 0, err + out
    assert out.strip() == f"PASS {name} ({telegrams} telegrams)"


def test_a_live_mqtt_check_fails_when_the_consumer_published_nothing(
    tmp_path: Path, broker: OwnBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"mqtt://127.0.0.1:{broker.port}"
    assert main(["p1", "check", "--situation", "dst-autumn", "--consumer", "mqtt", url, "--timeout", "0.5"]) == 1
    captured = capsys.readouterr()
    assert "subscribed to meterkast/+/state" in captured.err
    assert captured.out.startswith("FAIL dst-autumn: telegram 2025-10-26T00:20:00+00:00: intact, but the consumer "
                                   "reported nothing for it")


@pytest.mark.parametrize(("argv", "message"), [
    (["--situation", "dst-autumn", "--situation", "dst-spring"], "give exactly one --situation"),
    (["--situation", "dst-autumn", "--count", "0"], "--count 0 must be at least 1"),
    (["--situation", "dst-autumn", "--timeout", "0"], "--timeout 0.0 must be above 0 seconds"),
])  # fmt: skip
def test_a_live_mqtt_check_refuses_bad_options(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["p1", "check", "--consumer", "mqtt", "mqtt://127.0.0.1:1", *argv]) == 2
    assert message in capsys.readouterr().err


def test_an_unreachable_broker_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.mqtt_broker import free_port  # noqa: PLC0415

    port = free_port()  # nobody listens there
    assert main(["p1", "check", "--situation", "dst-autumn", "--consumer", "mqtt", f"mqtt://127.0.0.1:{port}",
                 "--timeout", "5"]) == 2
    assert f"MQTT broker mqtt://127.0.0.1:{port}" in capsys.readouterr().err
