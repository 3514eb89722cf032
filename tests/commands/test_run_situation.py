"""``meterkast run --situation NAME --truth FILE``: a conformance situation played live; meterkast's own reader
(``p1 read --json``) sees exactly the telegrams the truth file says (``p1 check``), CRC errors and cut-off
telegrams included [P1-4.2.2 §5.1] (docs/run.md "Playing a conformance situation", docs/conformance.md)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from meterkast.cli import main
from meterkast.conformance.live import live_plan

DEADLINE_S = 180  # generous: both cores may be busy with other test runs


def meterkast(*argv: str) -> list[str]:
    return [sys.executable, "-m", "meterkast", *argv]


def play_live(tmp_path: Path, name: str, *options: str) -> tuple[Path, Path, str]:
    """``run --situation`` and ``p1 read --json`` as separate processes; the run waits for the reader."""
    truth, report = tmp_path / "truth.jsonl", tmp_path / "report.jsonl"
    run = subprocess.Popen(
        meterkast("run", "--situation", name, "--speed", "max", "--stop", "--no-http", "--p1-port", "0",
                  "--data", str(tmp_path / "data"), "--truth", str(truth), *options),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    try:
        assert run.stdout is not None
        found = re.search(r"P1: tcp://127\.0\.0\.1:(\d+)", run.stdout.readline())
        assert found, "the run says where its P1 port listens first"
        assert run.stdout.readline().strip() == f"situation {name}: waiting for a P1 client"
        with report.open("w", encoding="utf-8") as out:
            read = subprocess.run(meterkast("p1", "read", f"tcp://127.0.0.1:{found.group(1)}", "--json",
                                            "--retries", "0"), stdout=out, stderr=subprocess.PIPE, text=True,
                                  timeout=DEADLINE_S, check=False)
        _, err = run.communicate(timeout=DEADLINE_S)
    finally:
        if run.poll() is None:
            run.kill()  # never leave a server running behind a failed test
            run.communicate()
    assert run.returncode == 0, err
    assert "closed the connection" in read.stderr  # the reader ends when the run has played the situation
    return truth, report, err


def test_run_plays_a_situation_and_meterkasts_reader_matches_its_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = live_plan("power-failure")
    truth, report, err = play_live(tmp_path, "power-failure", "--until", plan.last.isoformat())
    rows = [json.loads(line) for line in truth.read_text(encoding="utf-8").splitlines()]
    # every 10 s telegram instant [P1-4.2.2 §4.5] from the situation's first to its last
    first = plan.situation.segments[0].first
    assert rows[0]["at"] == first.isoformat() and rows[-1]["at"] == plan.last.isoformat()
    assert len(rows) == (plan.last - first).total_seconds() / 10 + 1
    off = [r for r in rows if not r["sent"]]
    assert len(off) == 30, "5 minutes without power: no telegram at 30 instants"
    after = next(r["truth"] for r in rows[rows.index(off[-1]) + 1 :] if r["truth"])
    # 300 s is past the 180 s threshold 0-0:96.7.20: one long failure, no short one (DSMR-M 4.5.39-4.5.41)
    assert after["power_failures"] == "0" and after["long_power_failures"] == "1"
    assert f"stopped at {plan.last.isoformat()}" in err
    assert main(["p1", "check", "--situation", "power-failure", "--truth", str(truth), "--consumer", "jsonl",
                 str(report)]) == 0
    assert capsys.readouterr().out.strip() == f"PASS power-failure ({len(rows) - 30} telegrams)"


def test_run_plays_crc_errors_and_cut_offs_and_the_reader_discards_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth, report, _ = play_live(tmp_path, "crc-and-cut-off")  # --stop alone: the situation's last instant
    rows = [json.loads(line) for line in truth.read_text(encoding="utf-8").splitlines()]
    assert rows[-1]["at"] == live_plan("crc-and-cut-off").last.isoformat()
    faults = {r["fault"] for r in rows}
    assert {"crc", "cut-off", None} <= faults
    intact = [r for r in rows if r["truth"] is not None]
    assert 0 < len(intact) < len(rows)
    assert len(report.read_text(encoding="utf-8").splitlines()) == len(intact)
    assert main(["p1", "check", "--situation", "crc-and-cut-off", "--truth", str(truth), "--consumer", "jsonl",
                 str(report)]) == 0
    assert capsys.readouterr().out.strip() == f"PASS crc-and-cut-off ({len(intact)} telegrams)"


@pytest.mark.parametrize(("argv", "message"), [
    (["--situation", "meter-swap"], "run --situation meter-swap: this situation is 2 installations"),
    (["--situation", "nope"], "no situation 'nope'"),
    (["--situation", "dst-autumn", "--scenario", "default"], "leave out --scenario"),
    (["--situation", "dst-autumn", "--start", "2025-01-01T00:00:00Z"], "leave out --start"),
    (["--truth", "t.jsonl"], "--truth needs --situation"),
])  # fmt: skip
def test_run_refuses_what_a_situation_cannot_be(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["run", "--data", str(tmp_path), "--no-p1", "--no-http", "--speed", "max", "--stop", *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_stored_run_of_another_situation_is_not_carried_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quiet = ["run", "--data", str(tmp_path), "--no-p1", "--no-http", "--speed", "max", "--stop"]
    assert main([*quiet, "--situation", "dst-autumn"]) == 0
    assert main([*quiet, "--situation", "dst-spring"]) == 2
    assert "--scenario situation:dst-spring (stored: situation:dst-autumn)" in capsys.readouterr().err
