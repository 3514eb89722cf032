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
