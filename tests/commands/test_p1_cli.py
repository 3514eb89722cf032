"""``meterkast p1 serve | read | parse`` end to end (argument parsing, exit codes, output)."""

from __future__ import annotations

import io
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from meterkast.cli import main
from meterkast.sim.installation import Installation
from meterkast.sim.p1_source import P1Port
from tests.p1.odd_corpus import ODD
from tests.p1.real_telegrams import REAL

START = datetime(2024, 10, 27, 0, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def capture(version: str = "4", count: int = 3, after: timedelta = timedelta(0)) -> list[bytes]:
    """``count`` telegrams of a fresh installation, from ``after`` past its first (a gas value arrives with
    the E-meter's first read of its gas meter; before it P1 has no 0-n:24.2.1 line [P1-5.0.2 §7.3])."""
    port = P1Port(Installation.build(START, random.Random(0)), version)
    moment, out = port.first_telegram_at() + after, []
    for _ in range(count):
        _, data = port.telegram(moment)
        assert data is not None
        out.append(data)
        moment += port.interval
    return out


def test_parse_reads_every_telegram_in_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p1.log"
    path.write_bytes(b"".join(capture("4") + capture("5") + capture("2.2")))
    assert main(["p1", "parse", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 9
    assert lines[0].startswith("2024-10-27T02:00:00+02:00  +A ")
    assert "G0001123456789012" in lines[0]


def test_parse_reports_bad_telegrams_with_their_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = capture("4", 3)
    bad_crc = good[1].replace(b"1-0:1.8.1(000000.", b"1-0:1.8.1(000009.")
    cut = good[2][:200]
    data = b"noise before\r\n" + good[0] + bad_crc + cut + good[2]
    path = tmp_path / "p1.log"
    path.write_bytes(data)
    assert main(["p1", "parse", str(path), "--json"]) == 1  # some bad, some good
    captured = capsys.readouterr()
    objects = [json.loads(line) for line in captured.out.splitlines()]
    assert [o.get("crc_ok") for o in objects] == [True, False, None, True]  # the cut-off one has no CRC
    assert objects[0]["mbus"]["1"]["equipment_id"] == "G0001123456789012"
    bad_at = len(b"noise before\r\n") + len(good[0])
    assert objects[1]["values"]["1-0:1.8.1"]["value"].startswith("9.")  # shown, flagged as not verified
    assert objects[1]["crc"]["sent"] != objects[1]["crc"]["computed"] and objects[1]["offset"] == bad_at
    cut_off = objects[2]  # its lines up to the cut are read, the cut is a problem: nothing dropped
    assert cut_off["offset"] == bad_at + len(bad_crc) and cut_off["values"]
    assert any("cut off" in p["reason"] for p in cut_off["problems"])
    noise, *errors = captured.err.splitlines()  # the text before the first telegram first (docs/p1.md)
    assert (
        noise
        == f"{path}: telegram at byte 14 (line 2): line 1 'noise before': 14 bytes before the telegram's '/' ignored"
    )
    assert objects[0]["problems"] == [
        {"line": 1, "text": "noise before", "reason": "14 bytes before the telegram's '/' ignored"}
    ]
    bad_line = data[:bad_at].count(b"\n") + 1
    assert errors[0].startswith(f"{path}: telegram at byte {bad_at} (line {bad_line}): CRC mismatch: the telegram says")
    assert "values shown but not verified" in errors[0]
    assert f"byte {bad_at + len(bad_crc)} " in errors[1] and "cut off" in errors[1]
    assert main(["p1", "parse", str(path)]) == 1
    assert "CRC BAD: values not verified" in capsys.readouterr().out


def test_parse_keeps_every_odd_field_telegram(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The field quirks of issue 10, one file: every telegram is shown, problems listed, exit 1."""
    path = tmp_path / "odd.log"
    path.write_bytes(b"".join(o.data for o in ODD if o.name != "text before the '/'"))
    assert main(["p1", "parse", str(path), "--json"]) == 1
    captured = capsys.readouterr()
    objects = [json.loads(line) for line in captured.out.splitlines()]
    assert len(objects) == len(ODD) - 1 and all("values" in o for o in objects)
    problems = [p for o in objects for p in o["problems"]]
    assert problems and all(p["line"] > 0 and p["reason"] for p in problems)
    assert any(p["text"].startswith("1-0:2.8.1()") for p in problems)
    reported = [line for line in captured.err.splitlines() if "1-0:2.8.1()" in line]
    assert reported and ": line " in reported[0]
    notes = [n for o in objects for n in o["notes"]]  # placeholder stamps: kept raw, not a problem
    assert any(n["text"].startswith("0-1:24.2.1(632525252525W)") for n in notes)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"/ISk5\\2MT3\n!3F97\r\n", 0),  # valid CRC, no data lines: clean
        (b"/ISk5\\2MT3\n!3F97", 0),  # end of input ends it
        (b"/ISk5\\2MT3\n!3F98\r\n", 1),  # CRC mismatch: shown, exit 1
        (b"/ISk5\\2MT3\n1-0:1.8.1(x)\r\n!\r\n", 1),  # an unreadable line: shown, exit 1
        (b"/ISk5\\2MT3\n1-0:1.8.1(1", 2),  # cut off: nothing read
    ],
)
def test_parse_exit_codes(tmp_path: Path, data: bytes, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "one.log"
    path.write_bytes(data)
    assert main(["p1", "parse", str(path)]) == code
    out = capsys.readouterr().out
    assert (out != "") == (code != 2)


def test_parse_exits_2_when_nothing_can_be_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "junk.txt"
    path.write_bytes(b"this is no P1 capture\n")
    assert main(["p1", "parse", str(path)]) == 2
    assert "no telegram in" in capsys.readouterr().err
    assert main(["p1", "parse", str(tmp_path / "missing.log")]) == 2


def test_parse_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"".join(capture("5", 2)))))
    assert main(["p1", "parse", "-", "--json"]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["values"]["0-0:1.0.0"] for o in objects] == ["2024-10-27T02:00:00+02:00", "2024-10-27T02:00:01+02:00"]
    assert objects[0]["values"]["1-0:1.8.1"] == {"value": "0.000", "unit": "kWh"}


def test_serve_as_fast_as_possible_until_a_time(capsys: pytest.CaptureFixture[str]) -> None:
    until = (START + timedelta(minutes=1)).isoformat()
    args = ["p1", "serve", "--port", "0", "--speed", "max", "--start", START.isoformat(), "--until", until]
    assert main([*args, "--version", "5"]) == 0
    captured = capsys.readouterr()
    assert "a telegram every 1 s on tcp://127.0.0.1:" in captured.out
    assert "sent 61 telegrams" in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["p1", "serve", "--no-tcp"], "nowhere to send"),
        (["p1", "serve", "--speed", "fast"], "neither a number"),
        (["p1", "read", "http://example.org", "--retries", "0"], "tcp://host:port"),
        (["p1", "read", "tcp://127.0.0.1:1", "--retries", "0"], "cannot reach"),
        (["p1", "read", "tcp://127.0.0.1:1", "--retries", "0"], "(gave up after 0 retries)"),
        (["p1", "read", "tcp://127.0.0.1:1", "--retries", "-1"], "--retries -1 is negative"),
        (["p1", "read", "tcp://127.0.0.1:1", "--key", "xyz"], "not hexadecimal"),
        (["p1", "read", "tcp://127.0.0.1:1", "--key", "0011"], "16 (32 hex digits)"),
        (["p1", "read", "tcp://127.0.0.1:1", "--count", "0"], "at least 1"),
    ],
)
def test_bad_input_exits_2_with_a_message(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_read_from_a_running_server_then_stop_it_with_ctrl_c(capsys: pytest.CaptureFixture[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-m", "meterkast.cli", "p1", "serve", "--port", "0", "--speed", "20",
               "--version", "5", "--start", START.isoformat(), "--key", "00" * 16]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        url = first.rsplit(" ", 1)[-1].strip()
        assert url.startswith("tcp://127.0.0.1:"), first
        assert main(["p1", "read", url, "--count", "3", "--json", "--key", "00" * 16, "--version", "5"]) == 0
        objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert len(objects) == 3
        stamps = [datetime.fromisoformat(o["values"]["0-0:1.0.0"]) for o in objects]
        steps = [b - a for a, b in itertools.pairwise(stamps)]
        assert objects[0]["mbus"]["1"]["equipment_id"] == "G0001123456789012"
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=10)
        assert server.returncode == 0
        assert "stopped" in err
        # DSMR 5: a telegram every second. A server that fell a second of real time behind (a loaded
        # machine) skips to the newest instant by design, so a step may be a whole number of seconds more.
        assert all(step >= timedelta(seconds=1) and step % timedelta(seconds=1) == timedelta(0) for step in steps)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_read_survives_a_hostile_port(capsys: pytest.CaptureFixture[str]) -> None:
    """The telegram that once killed `p1 read` (valid CRC, no data lines), garbage, a bad CRC: it reads on."""
    good = capture("5", 2)
    bad_crc = good[0].replace(b"1-0:1.8.1(000000.", b"1-0:1.8.1(000009.")
    stream = b"/ISk5\\2MT3\n!3F97\r\n" + b"\x00\xab garbage!/\r\n" + bad_crc + good[0] + good[1]
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def serve() -> None:
            connection, _ = server.accept()
            with connection:
                connection.sendall(stream)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        code = main(["p1", "read", f"tcp://127.0.0.1:{port}", "--count", "3", "--json", "--retries", "0"])
        thread.join(timeout=10)
    assert code == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["values"] == {} for o in objects] == [True, False, False]
    assert all(o["crc_ok"] for o in objects)


def test_parse_shows_registers_in_their_own_unit_and_channel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Sagemcom T210 counts in Wh (not kWh); a Sagemcom XT211 writes its registers as 1-1:1.8.1."""
    (t210,) = [r for r in REAL if r.name.startswith("Sagemcom T210 Wh")]
    (xt211,) = [r for r in REAL if r.name.startswith("Sagemcom XT211")]
    path = tmp_path / "two.p1"
    path.write_bytes(t210.data + xt211.data)
    main(["p1", "parse", str(path)])
    first, second = capsys.readouterr().out.splitlines()
    assert "+A 134904 Wh/66378 Wh  -A 317131 Wh/3777 Wh  P 0 W" in first
    assert "+A 1595.070/5216.778 kWh  -A 4478.038/4.648 kWh  P 1.622 kW" in second


def _damaged_crc(telegram: bytes) -> bytes:
    """A value changed and the CRC's first digit garbled to 'Q' ("!Q002" where "!1002" was sent)."""
    changed = telegram.replace(b"1-0:1.8.1(000000.", b"1-0:1.8.1(000009.", 1)
    assert changed != telegram
    bang = changed.index(b"!")
    return changed[: bang + 1] + b"Q" + changed[bang + 2 :]


@pytest.mark.parametrize("version", ["4", "5"])
@pytest.mark.parametrize("damage", ["garbled", "missing"])
def test_parse_flags_a_damaged_or_missing_crc(
    tmp_path: Path, version: str, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = capture(version, 1)[0]
    bad = _damaged_crc(good) if damage == "garbled" else good[: good.index(b"!") + 1] + b"\r\n"
    path = tmp_path / "p1.log"
    path.write_bytes(bad)
    assert main(["p1", "parse", str(path), "--json"]) == 1
    captured = capsys.readouterr()
    (obj,) = [json.loads(line) for line in captured.out.splitlines()]
    assert obj["crc_ok"] is False and obj["crc"]["sent"] is None
    assert [p["line"] for p in obj["problems"]] == [bad.count(b"\n")]
    assert "CRC" in captured.err and "not verified" in captured.err
    assert main(["p1", "parse", str(path)]) == 1
    assert "not verified" in capsys.readouterr().out


# The file line of the text, from the telegram's line count n.
AROUND: dict[str, tuple[Callable[[int], int], str]] = {
    "lead": (lambda n: 1, "9 bytes before the telegram's '/' ignored"),
    "after the CRC": (lambda n: n, "text after the CRC ignored"),
    "between": (lambda n: n + 1, "bytes before the telegram's '/' ignored"),
    "trailing": (lambda n: 2 * n + 1, "bytes after the last telegram ignored"),
}


@pytest.mark.parametrize("shape", AROUND)
def test_parse_lists_text_around_the_telegrams(tmp_path: Path, shape: str, capsys: pytest.CaptureFixture[str]) -> None:
    """docs/p1.md: text before '/' and after the CRC is skipped, listed as a problem, and exits 1."""
    one, two = capture("4", 2)
    data = {
        "lead": b"garbage\0\xff" + one + two,
        "after the CRC": one.rstrip(b"\r\n") + b" junk\r\n" + two,
        "between": one + b"\x00\xffline noise\r\n" + two,
        "trailing": one + two + b"trailing text\r\n",
    }[shape]
    where, reason = AROUND[shape]
    line = where(one.count(b"\n"))
    path = tmp_path / "p1.log"
    path.write_bytes(data)
    assert main(["p1", "parse", "--json", str(path)]) == 1
    captured = capsys.readouterr()
    objects = [json.loads(text) for text in captured.out.splitlines()]
    assert len(objects) == 2 and all(o["crc_ok"] for o in objects)
    problems = [p for o in objects for p in o["problems"]]
    assert [p["line"] for p in problems] == [line] and reason in problems[0]["reason"]
    assert f"line {line} " in captured.err and reason in captured.err


@pytest.mark.parametrize("between", [b"\r\n", b"\0", b"\r\n\r\n  \t\r\n", b""])
def test_parse_takes_blank_line_ends_and_nul_padding_for_nothing(
    tmp_path: Path, between: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two = capture("5", 2)
    path = tmp_path / "p1.log"
    path.write_bytes(between + one.rstrip(b"\r\n") + b"\0\r\n" + between + two + between)
    assert main(["p1", "parse", str(path)]) == 0
    assert capsys.readouterr().err == ""
