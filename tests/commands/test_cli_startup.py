"""A quick CLI (issue 13 item 6): building the parser, and the quick commands, import no heavy package.

Behaviour, not timing: each check runs a fresh interpreter and looks at ``sys.modules`` after the
command, so it fails the day a commands module imports the web server, a store, MQTT, DLMS or
cryptography at module level again. The time itself is measured by ``benchmarks/bench_cli_startup.py``.
The defaults that the light command modules repeat (so as not to import their owners) must agree with
their owners.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meterkast.central.model import AuthScope, ConsentLevel
from meterkast.cli import parse_args
from meterkast.commands import cs, cs_supplier, mqtt_args, run
from meterkast.commands.mbus import gateway, scan
from meterkast.io import mbus_transport, mqtt_publisher, p1_server
from meterkast.live import runner, store
from meterkast.mqtt import messages
from meterkast.sim import gateway_devices

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"

# Packages that no quick command needs; each costs tens of milliseconds or more to import.
HEAVY = (
    "starlette", "uvicorn", "fastapi", "cryptography", "sqlite3", "pg8000", "aiomqtt", "pyarrow", "hypothesis",
    "serial", "asyncio", "meterkast.dlms", "meterkast.cosem", "meterkast.emeter", "meterkast.central",
    "meterkast.web", "meterkast.p4", "meterkast.live", "meterkast.sim", "meterkast.cs", "meterkast.io.p1_server",
    "meterkast.io.p1_reader", "meterkast.io.mqtt_publisher", "meterkast.mbus.security", "meterkast.export",
    "meterkast.io.mbus_gateway",
)

PROBE = """
import contextlib, io, json, sys
from meterkast.cli import build_parser, main
argv = json.loads(sys.argv[1])
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    status = main(argv) if argv else (build_parser(), 0)[1]
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""


def imported_by(argv: list[str], cwd: Path) -> tuple[int, set[str]]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    return result["status"], set(result["modules"])


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_building_the_parser_imports_no_heavy_package(tmp_path: Path) -> None:
    status, modules = imported_by([], tmp_path)
    assert status == 0
    assert "meterkast.commands.p1" in modules  # the parser did register every command
    assert heavy_in(modules) == []


def _telegram_file(tmp_path: Path) -> Path:
    example = ROOT / "docs" / "examples" / "p1-capture.txt"
    path = tmp_path / "one.p1"
    text = example.read_bytes()
    path.write_bytes(text[: text.index(b"!") + 7])  # the first telegram: up to its CRC and CR LF
    return path


@pytest.mark.parametrize(
    ("name", "argv", "allowed"),
    [
        ("meter identify", ["meter", "identify", "G0001123456789012", "--json"], ()),
        ("mbus decode", ["mbus", "decode", "10 5B 01 5C 16", "--json"], ()),
        ("p1 parse", ["p1", "parse", "one.p1", "--json"], ()),
    ],
)
def test_a_quick_command_imports_no_heavy_package(
    tmp_path: Path, name: str, argv: list[str], allowed: tuple[str, ...]
) -> None:
    _telegram_file(tmp_path)
    status, modules = imported_by(argv, tmp_path)
    assert status == 0, name
    assert [m for m in heavy_in(modules) if m not in allowed] == [], name


def test_the_repeated_defaults_agree_with_their_owners() -> None:
    assert run.DEFAULT_DATA_DIR == store.DEFAULT_DATA_DIR
    assert run.SNAPSHOT_INTERVAL_S == runner.SNAPSHOT_INTERVAL_S
    assert run.DEFAULT_BACKLOG == p1_server.DEFAULT_BACKLOG
    assert mqtt_args.DEFAULT_QUEUE == mqtt_publisher.DEFAULT_QUEUE
    assert mqtt_args.DEFAULT_PREFIX == messages.DEFAULT_PREFIX
    assert mqtt_args.DEFAULT_DISCOVERY_PREFIX == messages.DEFAULT_DISCOVERY_PREFIX
    assert scan.DEFAULT_REPLY_WAIT_S == mbus_transport.DEFAULT_REPLY_WAIT_S
    assert gateway.MAX_GAS_METERS == gateway_devices.MAX_GAS_METERS
    assert [level.value for level in ConsentLevel] == cs.LEVELS
    assert [scope.value for scope in AuthScope] == cs_supplier.SCOPES


def test_a_lazy_handler_runs_the_command_of_its_module() -> None:
    args = parse_args(["run", "--show-token", "--data", "x"])
    assert args.handler.__name__ == "run_command"
    assert args.handler.__module__ == "meterkast.commands.run_live"


def test_python_dash_m_meterkast_is_the_console_script(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-m", "meterkast", "--version"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0
    assert done.stdout.startswith("meterkast ")


@pytest.mark.parametrize("package", ["meterkast.p1", "meterkast.mbus"])
def test_a_lazily_exporting_package_still_gives_every_name_it_lists(package: str) -> None:
    """``meterkast.p1`` and ``meterkast.mbus`` import a submodule on first use of one of its names (PEP 562)."""
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        assert getattr(importlib.import_module(f"{package}.{module._WHERE[name]}"), name) is value
    assert set(module._WHERE) == set(module.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = module.nothing_here
