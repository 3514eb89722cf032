"""`meterkast meter identify|simulate` and `meterkast run` through the real console entry point."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from meterkast.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_identify_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "meter", "identify", "G0019340315370616", "--json")
    assert code == 0
    assert json.loads(out) == {
        "meter_number": "G0019340315370616", "kiwa_code": "G0019", "serial": "3403153706",
        "year": 2016, "mbus_identification": "03153706",
        "parts": [
            {"part": "KIWA code", "characters": "1-5", "value": "G0019",
             "holds": "upper-case letters A–Z and digits 0–9, right-aligned with leading spaces"},
            {"part": "serial number", "characters": "6-15", "value": "3403153706",
             "holds": "10 digits, padded with leading zeroes"},
            {"part": "year of manufacture", "characters": "16-17", "value": "16",
             "holds": "2 digits, the year of century (20yy)"},
        ],
    }


def test_identify_text_names_each_part_of_the_manuals_format(capsys: pytest.CaptureFixture[str]) -> None:
    # seed §10 item 1: 5 characters KIWA code, 10 digits serial, 2 digits year of manufacture.
    code, out, _ = run(capsys, "meter", "identify", " ZABF001551772711")
    assert code == 0
    assert "KIWA code              ' ZABF'        characters  1–5" in out
    assert "'0015517727'" in out and "manufactured in        2011" in out


@pytest.mark.parametrize(
    ("number", "accepted"),
    [("X0019340315370616", True), ("g0019340315370616", False), ("G0019340315370616", True)],
)
def test_identify_treats_letters_by_one_rule(capsys: pytest.CaptureFixture[str], number: str, accepted: bool) -> None:
    # Issue 11 item 8: any upper-case letter is a KIWA code character (DSMR-M 4.6.2, P2 App. B 'XXXXX');
    # lower case is refused with the upper-case number proposed, never folded silently.
    code, _, err = run(capsys, "meter", "identify", number)
    assert (code == 0) is accepted
    if not accepted:
        assert "lower-case letter 'g'" in err and "did you mean 'G0019340315370616'" in err


@pytest.mark.parametrize(
    ("number", "part"),
    [("G001934031537061", "16 characters"), ("G0019340X15370616", "serial"), ("G00193403153706XX", "year")],
)
def test_identify_bad_number_exits_2_naming_the_part(
    capsys: pytest.CaptureFixture[str], number: str, part: str
) -> None:
    code, out, err = run(capsys, "meter", "identify", number)
    assert code == 2 and out == ""
    assert part in err and number in err


def test_simulate_json_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("meter", "simulate", "--type", "G4", "--hours", "48", "--seed", "11", "--json")
    _, first, _ = run(capsys, *args)
    _, second, _ = run(capsys, *args)
    assert first == second
    rows = [json.loads(line) for line in first.splitlines()]
    assert len(rows) == 48
    assert {"end", "index_m3", "vm_m3", "vb_m3", "battery_percent", "events"} <= set(rows[0])
    indexes = [Decimal(row["index_m3"]) for row in rows]
    assert indexes == sorted(indexes) and indexes[-1] > 0


def test_simulate_constant_flow(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "meter", "simulate", "--hours", "2", "--flow", "1.5", "--gas-temp", "10", "--json")
    assert code == 0
    last = json.loads(out.splitlines()[-1])
    assert last["index_m3"] == "2.972"  # 2 h × 1.5 m³/h, −0.03 % meter error, whole 1.2 dm³ cycles, ×0.99134


def test_simulate_below_qmin_counts(capsys: pytest.CaptureFixture[str]) -> None:
    # Issue 11 item 3 / SYSTEM G1, EN 1359 §5.3: 0.03 m³/h lies below Qmin (0.04) but above Qstart (0.003).
    code, out, _ = run(capsys, "meter", "simulate", "--hours", "2", "--flow", "0.03", "--json")
    assert code == 0
    assert json.loads(out.splitlines()[-1])["index_m3"] == "0.058"


def test_simulate_profile_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "profile.csv"
    profile.write_text("flow_m3h,gas_temp_c\n0,15\n2,15  # heating\n")
    code, out, _ = run(capsys, "meter", "simulate", "--hours", "4", "--profile", str(profile), "--json")
    assert code == 0
    indexes = [Decimal(json.loads(line)["index_m3"]) for line in out.splitlines()]
    assert indexes[0] == 0 < indexes[1] == indexes[2] < indexes[3]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--flow", "-1"], "negative"),
        (["--type", "G5"], "G4, G6, G10, G16, G25"),
        (["--flow", "abc"], "--flow"),
        (["--start", "yesterday"], "ISO 8601"),
    ],
)
def test_simulate_bad_input_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, _, err = run(capsys, "meter", "simulate", "--hours", "1", *argv)
    assert code == 2 and message in err


def test_bad_profile_row_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "p.csv"
    profile.write_text("1,15\n1,x\n")
    code, _, err = run(capsys, "meter", "simulate", "--hours", "1", "--profile", str(profile))
    assert code == 2 and "line 2" in err
