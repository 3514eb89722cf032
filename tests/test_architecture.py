"""The sans-I/O core imports no I/O, clock, randomness, logging or asyncio (STYLE 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "meterkast"
# The sans-I/O core: codecs and device models. Adapters (io/, cli) and clock.py live at the edge.
CORE = [
    "errors.py", "units.py", "randomness.py", "timeutil.py", "jsonable.py",
    "gasmeter", "mbus", "p1", "sim", "emeter", "dlms", "cosem", "supplier", "mqtt",
    # the central system's sans-I/O part; cs/service.py (with key_change.py, filing.py, status.py), cs/fleet_serve.py
    # and cs/keyfile.py are its shell
    "cs/__init__.py", "cs/schedule.py", "cs/collect.py", "cs/alarms.py", "cs/journal.py", "cs/inventory.py",
    "cs/fleet.py", "cs/loopback.py",
]
FORBIDDEN = {
    "socket", "serial", "asyncio", "logging", "random", "time", "os", "io", "pty", "select",
    "selectors", "subprocess", "threading", "sqlite3", "urllib", "http", "secrets", "tty", "termios",
    "meterkast.clock", "meterkast.io", "meterkast.cli",
}
# Modules that may import a forbidden name for a stated reason.
ALLOWED: dict[str, set[str]] = {
    # threading.local only: decode_telegram keeps one P1Decoder per thread, because a P1Decoder's line
    # state changes with every telegram and must not be shared (issue 14); no thread is started or waited on.
    "p1/decode.py": {"threading"},
}


def core_files() -> list[Path]:
    files: list[Path] = []
    for entry in CORE:
        path = PACKAGE / entry
        if path.is_dir():
            files.extend(sorted(path.rglob("*.py")))
        elif path.exists():
            files.append(path)
    return files


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def is_forbidden(module: str) -> bool:
    return any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN)


def test_core_is_not_empty() -> None:
    assert len(core_files()) >= 5


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_module_imports_no_io(path: Path) -> None:
    relative = str(path.relative_to(PACKAGE))
    bad = {m for m in imported_modules(path) if is_forbidden(m)} - ALLOWED.get(relative, set())
    assert not bad, f"{relative} imports {sorted(bad)}; the sans-I/O core must take these as arguments"


def test_detector_catches_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import random\nfrom time import monotonic\nfrom meterkast.units import ZERO\n")
    assert {m for m in imported_modules(sample) if is_forbidden(m)} == {"random", "time"}
