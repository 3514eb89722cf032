"""Acceptance (issue 5): SIGKILL mid-run loses at most the hour in progress and never corrupts the store.

A real ``meterkast run --speed max`` runs in a subprocess; once its store holds a few snapshots (and many
hourly commits after the newest one, since snapshots are taken every 50 ms of real time, not every hour)
it is killed with SIGKILL. Then:
- the database opens, and ``PRAGMA integrity_check`` says ok;
- a restart resumes at the last committed whole hour (replaying from the newest snapshot) and runs on;
- the result is exactly the result of the same run never interrupted: the same hours (no hour lost, none
  twice, the index going on), the same numbered events.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from meterkast.cli import main
from meterkast.live.store import DATABASE_NAME, integrity

RUN = ["run", "--no-p1", "--no-http", "--speed", "max", "--seed", "3", "--start", "2026-02-01T00:00:00+00:00"]


def snapshot_state(database: Path) -> tuple[int, int]:
    """(newest snapshot id, hours stored), read while the run writes (WAL lets a reader in)."""
    try:
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1)
        try:
            snapshots = db.execute("SELECT coalesce(max(id), 0) FROM snapshots").fetchone()[0]
            hours = db.execute("SELECT count(*) FROM hours").fetchone()[0]
        finally:
            db.close()
    except sqlite3.OperationalError:  # not created yet
        return 0, 0
    return int(snapshots), int(hours)


def enough_progress(snapshots: int, hours: int) -> bool:
    return snapshots >= 4 and hours >= 48


def table(database: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(database)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_sigkill_loses_at_most_the_hour_in_progress(tmp_path: Path) -> None:
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    database = killed / DATABASE_NAME
    argv = [sys.executable, "-m", "meterkast.cli", *RUN, "--data", str(killed), "--until", "2027-01-01T00:00:00+00:00",
            "--stop", "--snapshot-interval", "0.05"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        # Both conditions, each on its own (a tuple comparison would stop at the first field): at least 4
        # snapshots and more than two days of hours, so the restart has something to replay and the
        # comparison below has more than 48 hours. A loaded machine only makes this slower: generous deadline.
        deadline = time.monotonic() + 120
        while not enough_progress(*snapshot_state(database)):
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, f"the run made too little progress: {snapshot_state(database)}"
            time.sleep(0.02)  # a poll interval, not a guess at how far the run gets
    finally:
        process.kill()  # SIGKILL
        process.wait()
    assert process.returncode == -9

    assert integrity(database) == "ok"
    through = datetime.fromisoformat(str(table(database, "SELECT value FROM meta WHERE key = 'through'")[0][0]))
    assert through.minute == through.second == 0, "commits are whole hours"
    (snapshot_at,) = table(database, "SELECT max(at) FROM snapshots")[0]
    assert datetime.fromisoformat(str(snapshot_at)) <= through

    until = (through + timedelta(hours=24)).isoformat()
    restart = subprocess.run(
        [sys.executable, "-m", "meterkast.cli", "run", "--no-p1", "--no-http", "--speed", "max", "--data", str(killed),
         "--until", until, "--stop"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False,
    )
    assert restart.returncode == 0, restart.stderr
    assert f"resumed at {through.isoformat()}" in restart.stderr

    assert main([*RUN, "--data", str(reference), "--until", until, "--stop"]) == 0
    hours_sql = "SELECT hour, consumed_m3, index_m3, p1_value_m3 FROM hours ORDER BY hour"
    events_sql = "SELECT seq, at, source, kind, detail FROM events ORDER BY seq"
    got, want = table(database, hours_sql), table(reference / DATABASE_NAME, hours_sql)
    assert len(got) == len(want) > 48
    assert got == want, "no hour lost, none twice, the index goes on as if nothing happened"
    assert table(database, events_sql) == table(reference / DATABASE_NAME, events_sql)
