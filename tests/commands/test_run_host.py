"""``meterkast run --host``: reachable from the home network, controlled only by its owner (issue 15).

``meterkast run`` in a subprocess, on loopback addresses only (never this machine's network addresses):
a web app bound to 127.0.0.2 or to every interface (0.0.0.0, ``::``; reached at 127.0.0.1) counts as
beyond loopback: it refuses control calls without the token (401) and takes them with it; the token
is printed on the first start only, and ``--show-token`` shows it again. dsmr_parser's own TCP reader
(what Home Assistant's DSMR integration runs on) reads P1 from the port bound to every interface. On the
default 127.0.0.1 nothing changes: no token, no token file.
"""

from __future__ import annotations

import json
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest
from dsmr_parser import telegram_specifications
from dsmr_parser.clients.socket_ import SocketReader

from meterkast.cli import main

START = "2026-01-12T06:00:00+00:00"
GENEROUS_S = 60.0


def pump(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


@contextmanager
def meterkast_run(data: Path, *extra: str) -> Iterator[list[str]]:
    """``meterkast run`` with P1 and the web app on free ports; yields its stdout lines up to the web line(s)."""
    command = [sys.executable, "-m", "meterkast.cli", "run", "--data", str(data), "--p1-port", "0",
               "--http-port", "0", "--speed", "600", "--start", START, *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=data.parent)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=pump, args=(process.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        while not any(line.startswith("web token") for line in seen):
            try:
                seen.append(lines.get(timeout=GENEROUS_S).rstrip("\n"))
            except queue.Empty:
                process.kill()
                raise AssertionError(f"no web token line: {seen} {process.communicate(timeout=10)[1]}") from None
        yield seen
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
    assert process.returncode == 0, err


def call(url: str, method: str = "GET", token: str | None = None,
         body: dict[str, Any] | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    data = None if body is None and method == "GET" else json.dumps(body or {}).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=GENEROUS_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def found(pattern: str, lines: list[str]) -> re.Match[str]:
    match = next((m for line in lines if (m := re.search(pattern, line))), None)
    assert match is not None, f"{pattern!r} not in {lines}"
    return match


def test_beyond_loopback_control_needs_the_token_printed_once(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    with meterkast_run(data, "--host", "127.0.0.2") as lines:
        found(r"^P1: tcp://127\.0\.0\.2:\d+ ", lines)
        base = found(r"^web: (http://127\.0\.0\.2:\d+)/ \(log in with the token\)", lines).group(1)
        token = found(r"^web token \(shown this once.*\): (\S+)$", lines).group(1)
        assert call(f"{base}/api/state")[0] == 401
        status, answer = call(f"{base}/api/meter/seal/break", "POST")
        assert status == 401 and token not in json.dumps(answer)
        assert call(f"{base}/api/meter/battery/drain", "POST", "wrong-token", {"fraction": 0.5})[0] == 401
        assert call(f"{base}/api/state", token=token)[1]["gas_meter"]["seal_broken"] is False
        assert call(f"{base}/api/meter/seal/break", "POST", token)[0] == 200
        assert call(f"{base}/api/state", token=token)[1]["gas_meter"]["seal_broken"] is True

    assert (data / "web-token").stat().st_mode & 0o777 == 0o600
    assert main(["run", "--data", str(data), "--show-token"]) == 0
    assert capsys.readouterr().out.strip() == token

    with meterkast_run(data, "--host", "127.0.0.2") as again:  # the next start: the token is not shown again
        assert token not in "\n".join(again)
        found(r"^web token: in .*web-token \(meterkast run --show-token\)$", again)
        base = found(r"^web: (http://127\.0\.0\.2:\d+)/", again).group(1)
        assert call(f"{base}/api/clock/jump", "POST", token, {"seconds": 60})[0] == 200
        assert call(f"{base}/api/clock/jump", "POST", None, {"seconds": 60})[0] == 401


def dual_stack() -> bool:
    if not socket.has_dualstack_ipv6():
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize("host", ["0.0.0.0", pytest.param("::", marks=pytest.mark.skipif(
    not dual_stack(), reason="no dual-stack IPv6 loopback here"))])
def test_every_interface_serves_p1_to_dsmr_parser_and_guards_the_web_app(tmp_path: Path, host: str) -> None:
    with meterkast_run(tmp_path / "data", "--host", host) as lines:
        loopback = "127.0.0.1" if host == "0.0.0.0" else r"\[::1\]"
        p1 = int(found(rf"^P1: .*tcp://{loopback}:(\d+) \(", lines).group(1))
        base = found(rf"^web: .*(http://{loopback}:\d+)/ \(log in with the token\)", lines).group(1)
        token = found(r"^web token \(shown this once.*\): (\S+)$", lines).group(1)

        # Home Assistant's DSMR integration reads with dsmr_parser; its TCP reader speaks IPv4.
        # A fresh run's telegrams before the first gas read (00:01) carry no reading line (issue 11 item 7).
        telegrams = SocketReader("127.0.0.1", p1, telegram_specifications.V4).read()
        with_gas = next(t for t in telegrams if hasattr(t, "HOURLY_GAS_METER_READING"))
        assert with_gas.HOURLY_GAS_METER_READING.value is not None

        assert call(f"{base}/api/faults", "POST", None, {"kind": "p1_crc_error", "value": 0.5})[0] == 401
        assert call(f"{base}/api/faults", "POST", token, {"kind": "p1_crc_error", "value": 0.5})[0] == 200


def test_on_loopback_nothing_changes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    command = [sys.executable, "-m", "meterkast.cli", "run", "--data", str(data), "--no-p1", "--http-port", "0",
               "--speed", "600", "--start", START]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        assert process.stdout is not None
        base = re.search(r"^web: (http://127\.0\.0\.1:\d+)/$", process.stdout.readline())
        assert base, "the web line as before issue 15"
        assert call(f"{base.group(1)}/api/meter/seal/break", "POST")[0] == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert not (data / "web-token").exists()


def test_a_bad_host_exits_2_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--host", "http://0.0.0.0"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "argument --host: 'http://0.0.0.0' is not an address" in err
