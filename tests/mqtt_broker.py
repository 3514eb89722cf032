"""Real Mosquitto brokers for the MQTT tests (docs/mqtt.md, "Tests").

- ``shared_broker()``: the machine's broker on 127.0.0.1:1883, for smoke tests; each test uses topics of
  its own (``unique_prefix``) and clears what it retained;
- ``OwnBroker``: a ``mosquitto`` of the test's own on a free loopback port, with persistence in the test's
  temporary folder, which the test may stop and start again (a broker restart).

If no broker answers, or ``mosquitto`` is not installed, a test that needs one is skipped with the reason,
unless METERKAST_REQUIRE_MQTT is set (CI sets it after .ci/start-mosquitto): then it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from meterkast import environment

SHARED = ("127.0.0.1", 1883)  # where .ci/start-mosquitto starts one
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
START_TIMEOUT_S = 20.0


def mqtt_required() -> bool:
    return environment.is_set("METERKAST_REQUIRE_MQTT")


def unavailable(reason: str) -> None:
    if mqtt_required():
        pytest.fail(f"METERKAST_REQUIRE_MQTT is set but {reason}")
    pytest.skip(f"{reason}; set METERKAST_REQUIRE_MQTT=1 to fail instead")


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def shared_broker() -> tuple[str, int]:
    host, port = SHARED
    if not answers(host, port):
        unavailable(f"no MQTT broker answers on {host}:{port} (start one with .ci/start-mosquitto)")
    return host, port


def unique_prefix(name: str) -> str:
    return f"meterkast-test/{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnBroker:
    """``mosquitto -c`` with a tiny config in ``folder``: loopback only, anonymous, persistent sessions."""

    def __init__(self, folder: Path, *, persistence: bool = True) -> None:
        if not Path(MOSQUITTO).exists():
            unavailable(f"{MOSQUITTO} is not installed (apt-get install mosquitto, or .ci/start-mosquitto)")
        self.folder = folder
        self.persistence = persistence
        self.config = folder / "mosquitto.conf"
        self.log = folder / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0
        self._configure(free_port())

    def _configure(self, port: int) -> None:
        self.port = port
        lines = [f"listener {port} 127.0.0.1", "allow_anonymous true",
                 f"persistence {'true' if self.persistence else 'false'}", f"persistence_location {self.folder}/"]
        if os.geteuid() == 0:
            lines.append("user root")  # else mosquitto drops to user mosquitto, who cannot write the folder
        self.config.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        """Start, and wait until it listens. The first start takes another free port if another process took
        the one chosen in between (parallel test workers); a restart keeps its port."""
        for attempt in range(3 if self.started == 0 else 1):
            if attempt:
                self._configure(free_port())
            if self._start_once():
                self.started += 1
                return
        pytest.fail(f"mosquitto exited: {self.log.read_text()[-2000:]}")

    def _start_once(self) -> bool:
        with self.log.open("ab") as log:
            process = self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not answers("127.0.0.1", self.port):  # a condition, polled: not a guessed sleep
            if process.poll() is not None:
                self.process = None
                return False
            if time.monotonic() > deadline:
                pytest.fail(f"mosquitto did not listen on 127.0.0.1:{self.port} within {START_TIMEOUT_S:g} s")
            time.sleep(0.02)
        return True

    def stop(self) -> None:
        """SIGTERM: mosquitto writes its persistence file and closes every connection."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=START_TIMEOUT_S)
        self.process = None
