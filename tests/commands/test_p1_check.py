"""``meterkast p1 check``: PASS/FAIL per situation with the first difference, exit 0/1 (docs/conformance.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meterkast.cli import main
from meterkast.conformance.play import play
from meterkast.conformance.serve import truth_line
from meterkast.conformance.situations import BY_NAME


def write_report(path: Path, records: list[dict[str, str]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def test_check_passes_a_faithful_jsonl_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    played = list(play(BY_NAME["crc-and-cut-off"]))
    report = write_report(tmp_path / "r.jsonl", [p.truth for p in played if p.truth is not None])
    truth = tmp_path / "truth.jsonl"
    truth.write_text("".join(truth_line(p) + "\n" for p in played), encoding="utf-8")
    assert main(["p1", "check", "--situation", "crc-and-cut-off", "--consumer", "jsonl", report]) == 0
    assert main(["p1", "check", "--situation", "crc-and-cut-off", "--truth", str(truth),
                 "--consumer", "jsonl", report]) == 0
    assert capsys.readouterr().out.splitlines() == ["PASS crc-and-cut-off (27 telegrams)"] * 2


def test_check_fails_with_the_first_difference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = [p.truth for p in play(BY_NAME["gas-meter-replaced"]) if p.truth is not None]
    for record in records:
        record.setdefault("gas_m3", "0")  # a consumer that shows the emptied channel as 0
    report = write_report(tmp_path / "r.jsonl", records)
    assert main(["p1", "check", "--situation", "gas-meter-replaced", "--consumer", "jsonl", report]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL gas-meter-replaced: telegram 2025-02-03T06:20:00+00:00: gas_m3 should be no value")


def test_check_names_an_unknown_situation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = write_report(tmp_path / "r.jsonl", [])
    assert main(["p1", "check", "--situation", "nope", "--consumer", "jsonl", report]) == 2
    assert "no situation 'nope'" in capsys.readouterr().err


def test_serve_situation_plays_to_a_reader_and_writes_the_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``p1 serve --situation`` waits for a client, sends the situation and stops; what meterkast's reader
    got passes ``p1 check`` against the truth file the server wrote."""
    import asyncio  # noqa: PLC0415 - only this test runs an event loop

    from meterkast.cli import parse_args  # noqa: PLC0415
    from meterkast.commands.p1 import telegram_json  # noqa: PLC0415
    from meterkast.commands.p1_check import serve_situation_command  # noqa: PLC0415
    from meterkast.errors import MeterkastError  # noqa: PLC0415
    from meterkast.io.p1_reader import p1_reader  # noqa: PLC0415

    truth = tmp_path / "truth.jsonl"
    args = parse_args(["p1", "serve", "--situation", "dst-autumn", "--port", "0", "--speed", "max",
                       "--truth", str(truth)])
    lines: list[str] = []

    async def scenario() -> None:
        serving = asyncio.create_task(serve_situation_command(args))
        while "tcp://" not in (out := capsys.readouterr().out):  # the server prints its address first
            await asyncio.sleep(0)
            assert not serving.done()
        port = int(out.split("tcp://", 1)[1].split()[0].rsplit(":", 1)[1])
        reader = p1_reader(f"tcp://127.0.0.1:{port}", version="4.2", max_reconnects=0)
        try:
            async for telegram in reader:
                lines.append(json.dumps(telegram_json(telegram)))
        except MeterkastError:
            pass  # the server stopped after the situation
        finally:
            await reader.aclose()
        await serving

    asyncio.run(scenario())
    report = tmp_path / "r.jsonl"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert len(truth.read_text(encoding="utf-8").splitlines()) == BY_NAME["dst-autumn"].telegrams
    assert main(["p1", "check", "--situation", "dst-autumn", "--truth", str(truth), "--consumer", "jsonl",
                 str(report)]) == 0
    assert capsys.readouterr().out.strip() == "PASS dst-autumn (21 telegrams)"
