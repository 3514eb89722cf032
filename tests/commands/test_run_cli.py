"""``meterkast run``: catch up and stop, carry on after a restart, refuse bad options, stop cleanly on Ctrl-C.

(Replaces the old ``run`` test in test_meter_cli.py: "fast-forwards and stops, one JSON object per hour".)
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from meterkast.cli import main
from meterkast.live.store import DATABASE_NAME, Store, integrity

HOUR = timedelta(hours=1)
START = datetime(2026, 1, 1, tzinfo=UTC)
QUIET = ["--no-p1", "--no-http", "--speed", "max"]


def run(capsys: pytest.CaptureFixture[str], data: Path, *argv: str) -> tuple[int, list[dict[str, Any]], str]:
    code = main(["run", "--data", str(data), *argv])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")], err


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_run_fast_forwards_to_until_and_stops_one_json_object_per_hour(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, rows, err = run(capsys, tmp_path, *QUIET, "--start", START.isoformat(), "--until", "2026-01-02T00:00:00Z",
                          "--stop", "--json")
    assert code == 0
    # Every hour up to --until, the one that ends at it too (issue 10). The P1 port shows an hour's value
    # only after that hour, so the last one is written provisionally: its truth, no P1 value yet.
    assert [row["hour"] for row in rows] == [(START + i * HOUR).isoformat() for i in range(24)]
    assert rows[-1]["end"] == "2026-01-02T00:00:00+00:00"
    assert all(row["p1_value_m3"] == row["index_m3"] for row in rows[:-1])
    assert rows[-1]["p1_value_m3"] is None and rows[-1]["index_m3"] is not None
    assert "catching up" in err and "stopped at 2026-01-02T00:00:00+00:00" in err


def test_the_next_run_carries_on_without_losing_or_repeating_an_hour(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run(capsys, tmp_path, *QUIET, "--start", START.isoformat(), "--until", "2026-01-01T12:00:00Z", "--stop",
                "--json")
    second = run(capsys, tmp_path, *QUIET, "--until", "2026-01-02T00:00:00Z", "--stop", "--json")
    assert first[0] == second[0] == 0
    assert "resumed at 2026-01-01T12:00:00+00:00" in second[2]
    # The hour that ended at the first stop (11:00) was provisional; the second run gives it again, final.
    assert [row["hour"] for row in first[1]] == [(START + i * HOUR).isoformat() for i in range(12)]
    assert [row["hour"] for row in second[1]] == [(START + i * HOUR).isoformat() for i in range(11, 24)]
    assert first[1][-1]["p1_value_m3"] is None and second[1][0]["p1_value_m3"] == second[1][0]["index_m3"]
    store = Store.open(tmp_path)
    seqs = [e.seq for e in store.recent_events(1_000_000)]
    stored = store.hours()
    store.close()
    assert seqs == list(range(1, len(seqs) + 1))
    assert [h.hour for h in stored] == [START + i * HOUR for i in range(24)], "none lost, none twice"
    assert stored[11].p1_value_m3 == stored[11].index_m3


def test_until_records_the_hour_that_ends_at_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two days from midnight: 48 hours in the store, the last one ending exactly at --until."""
    code, _, _ = run(capsys, tmp_path, *QUIET, "--start", START.isoformat(), "--until", "2026-01-03T00:00:00Z",
                     "--stop")
    assert code == 0
    store = Store.open(tmp_path)
    hours = store.hours()
    store.close()
    assert len(hours) == 48
    assert [h.hour for h in hours] == [START + i * HOUR for i in range(48)]
    assert hours[-1].hour + HOUR == datetime(2026, 1, 3, tzinfo=UTC)
    assert all(h.consumed_m3 is not None and h.index_m3 is not None for h in hours)


def test_until_before_the_stored_state_says_there_is_nothing_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(capsys, tmp_path, *QUIET, "--start", START.isoformat(), "--until", "2026-01-02T00:00:00Z",
                     "--stop")
    assert code == 0
    code, _, err = run(capsys, tmp_path, *QUIET, "--until", "2026-01-01T12:00:00Z", "--stop")
    assert code == 0
    assert "nothing to catch up" in err and "2026-01-02T00:00:00+00:00" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--stop"], "--stop needs --until"),
        (["--speed", "0"], "must be above 0"),
        (["--speed", "fast"], "neither a number nor 'max'"),
        (["--scenario", "faults", "--start", "2026-01-01T00:00:00Z"], "timeline"),
        (["--scenario", "no-such-scenario"], "no-such-scenario"),
        (["--until", "tomorrow"], "--until 'tomorrow' is not an ISO 8601 instant"),
    ],
)
def test_bad_options_exit_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, tmp_path, *QUIET, *argv)
    assert code == 2 and message in err


def test_a_stored_run_with_other_settings_needs_fresh(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    until = ["--until", "2026-01-01T02:00:00Z", "--stop"]
    assert run(capsys, tmp_path, *QUIET, "--start", START.isoformat(), "--seed", "1", *until)[0] == 0
    code, _, err = run(capsys, tmp_path, *QUIET, "--seed", "2", *until)
    assert code == 2 and "--seed 2 (stored: 1)" in err and "--fresh" in err
    code, _, err = run(capsys, tmp_path, *QUIET, "--seed", "2", "--start", START.isoformat(), "--fresh", *until)
    assert code == 0 and "new run" in err


def test_a_scenario_with_faults_runs_through(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, rows, _ = run(capsys, tmp_path, *QUIET, "--scenario", "faults", "--until", "2025-01-14T12:00:00Z", "--stop",
                        "--json")
    assert code == 0 and len(rows) == 36  # 2025-01-13T00:00 to 2025-01-14T12:00
    assert any(row["p1_value_m3"] != row["index_m3"] for row in rows), "P2 silence leaves hours without a value"


def test_ctrl_c_stops_cleanly_with_exit_0_after_serving_p1_and_http(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "meterkast.cli", "run", "--data", str(tmp_path), "--p1-port", "0",
               "--http-port", "0", "--speed", "3600", "--start", START.isoformat()]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        assert process.stdout is not None
        p1 = re.search(r"P1: tcp://127\.0\.0\.1:(\d+)", process.stdout.readline())
        web = re.search(r"web: (http://127\.0\.0\.1:\d+)/", process.stdout.readline())
        assert p1 and web
        with socket.create_connection(("127.0.0.1", int(p1.group(1))), timeout=10) as sock:
            received = b""
            while b"!" not in received[received.find(b"/"):] or received.find(b"/") < 0:
                received += sock.recv(4096)
        # the gas meter's lines; its reading line only from the first read at 00:01 on (issue 11 item 7)
        assert b"0-1:24.1.0(003)" in received, "a DSMR telegram with the gas meter"
        state = get_json(f"{web.group(1)}/api/state")
        assert state["gas_meter"]["meter_number"] == "G0001123456789012"
        assert state["p1"]["port"] == int(p1.group(1))
        # Wait (on the condition, with a generous deadline) until simulated time has moved on.
        deadline = time.monotonic() + 30
        while datetime.fromisoformat(get_json(f"{web.group(1)}/api/state")["clock"]["now"]) <= START + HOUR:
            assert time.monotonic() < deadline, "the simulated clock did not move"
            assert process.poll() is None, "the run ended"
            time.sleep(0.05)  # poll interval
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()  # never leave a server running behind a failed test
            process.communicate()
            raise
    assert process.returncode == 0, err
    assert "stopped at" in err and "Traceback" not in err
    assert integrity(tmp_path / DATABASE_NAME) == "ok"
    store = Store.open(tmp_path)
    saved = store.load()
    store.close()
    assert saved is not None and saved.snapshot_at == saved.through > START, "a final snapshot where it stopped"


def test_json_output_is_only_json_and_the_other_lines_go_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``run --json`` on stdout can be piped into a JSON reader: where P1 and the web app listen is said on
    stderr (issue 13); without --json those lines stay on stdout."""
    code = main(["run", "--data", str(tmp_path / "a"), "--speed", "max", "--p1-port", "0", "--http-port", "0",
                 "--start", START.isoformat(), "--until", "2026-01-01T03:00:00Z", "--stop", "--json"])
    out, err = capsys.readouterr()
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]  # every line: a JSON object, nothing else
    assert len(rows) == 3 and all(isinstance(row, dict) for row in rows)
    assert re.search(r"^P1: tcp://127\.0\.0\.1:\d+ ", err, re.MULTILINE)
    assert re.search(r"^web: http://127\.0\.0\.1:\d+/", err, re.MULTILINE)
    assert main(["run", "--data", str(tmp_path / "b"), "--speed", "max", "--p1-port", "0", "--no-http",
                 "--start", START.isoformat(), "--until", "2026-01-01T01:00:00Z", "--stop"]) == 0
    assert re.search(r"^P1: tcp://127\.0\.0\.1:\d+ ", capsys.readouterr().out, re.MULTILINE)
