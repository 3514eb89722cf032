"""The sample capture under docs/examples parses, with exactly the command the README's tour shows.

``docs/examples/p1-capture.txt`` holds four DSMR 4.2 telegrams as a P1 port sends them (CR LF, CRC-16
over ``/`` … ``!`` [P1-4.2.2 §5.2]); the gas meter's hourly value changes between the second and third
(docs/examples/README.md). The command is read from README.md, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from meterkast.cli import main

ROOT = Path(__file__).resolve().parents[2]


def tour_command(prefix: str) -> list[str]:
    """The README tour's line that starts with ``prefix``, without its comment, as argv after ``meterkast``."""
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith(prefix):
            argv = shlex.split(line.split("#", 1)[0])
            assert argv[0] == "meterkast"
            return argv[1:]
    raise AssertionError(f"README.md has no tour line starting with {prefix!r}")


def test_the_readme_tour_parses_the_sample_capture(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = tour_command("meterkast p1 parse docs/examples/")
    monkeypatch.chdir(ROOT)  # the tour runs from the repository's root
    assert main(argv) == 0  # every telegram clean: CRCs intact (.gitattributes keeps the CR LF)
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert captured.err == ""
    assert len(lines) == 4
    assert lines[0].startswith("2026-01-15T08:00:40+01:00  +A ")
    assert "G0001123456789012 11.419 m3 @ 2026-01-15T07:00:00+01:00" in lines[1]
    assert "G0001123456789012 11.953 m3 @ 2026-01-15T08:00:00+01:00" in lines[2]


def test_the_sample_capture_is_raw_p1_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    data = (ROOT / "docs" / "examples" / "p1-capture.txt").read_bytes()
    assert data.startswith(b"/") and data.count(b"\r\n!") == 4 and b"\n" not in data.replace(b"\r\n", b"")
    assert main(["p1", "parse", str(ROOT / "docs" / "examples" / "p1-capture.txt"), "--json"]) == 0
    telegrams = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [t["crc_ok"] for t in telegrams] == [True] * 4
    assert [t["mbus"]["1"]["device_type"] for t in telegrams] == [3] * 4  # M-Bus device type 3: gas
