"""``meterkast cs supplier EAN``: the supplier's view from the CS store (SYSTEM G4; manual §9 Drukaanpassing).

The store holds the central tests' installation (tests/central/helpers): detailed consent from
2025-01-01 local midnight, the register growing 0.123 m³ an hour from 100.000 m³. A day is 24 × 0.123 =
2.952 m³ → × 1043.5/1041.25 (ACM 2015 air pressure) = 2.958 m³(n) → × 35.17 = 104.046 MJ = 28.902 kWh.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meterkast.central.model import ConsentLevel, PeriodType
from meterkast.central.store_sql import open_store
from meterkast.cli import main
from tests.central.helpers import CONN, DAY, T0, hourly, install, reading


def store_args(tmp_path: Path) -> list[str]:
    return ["--store", f"sqlite:///{tmp_path / 'cs.db'}", "--master-key-file", str(tmp_path / "cs.key")]


@pytest.fixture
def args(tmp_path: Path) -> list[str]:
    store = open_store(f"sqlite:///{tmp_path / 'cs.db'}")
    try:
        install(store, consent=ConsentLevel.DETAILED)
        store.store_readings(hourly(T0, 49))
        store.store_readings([reading(T0 + n * DAY, v, PeriodType.MONTHLY) for n, v in ((0, "100.000"),)])
    finally:
        store.close()
    return store_args(tmp_path)


SPAN = ["--from", T0.isoformat(), "--to", (T0 + 2 * DAY).isoformat()]


def test_hourly_readings_per_day_as_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cs", "supplier", CONN.ean, "--scope", "hourly", "--by", "day", "--json", *SPAN, *args]) == 0
    view = json.loads(capsys.readouterr().out)
    assert (view["connection"], view["scope"], view["granularity"]) == (CONN.ean, "hourly", "day")
    assert [(p["metered_m3"], p["corrected_m3"], p["energy_mj"], p["energy_kwh"]) for p in view["periods"]] == [
        ("2.952", "2.958", "104.046", "28.902")] * 2
    assert view["total"]["metered_m3"] == "5.904" and view["total"]["periods"] == 2
    assert {p["name"] for p in view["parameters"]} >= {"pressure_factor", "calorific_value", "atmospheric_pressure"}


def test_the_text_table_cites_its_parameters(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cs", "supplier", CONN.ean, "--scope", "hourly", "--by", "day", *SPAN, *args]) == 0
    out = capsys.readouterr().out
    assert "49 hourly readings" in out and "periods per day" in out
    total = next(line for line in out.splitlines() if line.startswith("total"))
    assert total.split()[-4:] == ["5.904", "5.917", "208.092", "57.803"]  # the total has no single factor
    assert "ACM Codebesluit Administratieve Volumeherleiding" in out and "35.17" in out and "rounding:" in out


def test_a_given_calorific_value_is_used_and_cited(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cs", "supplier", CONN.ean, "--scope", "hourly", "--by", "day", "--calorific-value", "31.65",
                 "--json", *SPAN, *args]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["periods"][0]["energy_mj"] == "93.633"  # 2.952 × 4174/4165 × 31.65 = 93.6327
    [hs] = [p for p in view["parameters"] if p["name"] == "calorific_value"]
    assert hs["value"] == "31.65" and "--calorific-value" in hs["source"]


def test_a_single_monthly_reading_has_no_period(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cs", "supplier", CONN.ean, "--from", T0.isoformat(), "--to", (T0 + DAY).isoformat(), *args]) == 0
    assert "no period" in capsys.readouterr().out


@pytest.mark.parametrize(("extra", "words"), [
    (["--by", "week"], "--by 'week' is not one of reading, day, month"),
    (["--calorific-value", "9.77"], "--calorific-value '9.77' MJ/m³(n) lies outside 20–60"),
    (["--from", "yesterday"], "--from 'yesterday' is not an ISO 8601 instant"),
])
def test_bad_options_are_named_and_exit_2(
    args: list[str], capsys: pytest.CaptureFixture[str], extra: list[str], words: str
) -> None:
    assert main(["cs", "supplier", CONN.ean, *extra, *args]) == 2
    assert words in capsys.readouterr().err


def test_consent_still_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'cs.db'}")
    try:
        install(store, consent=ConsentLevel.STANDARD)
    finally:
        store.close()
    assert main(["cs", "supplier", CONN.ean, "--scope", "hourly", *SPAN, *store_args(tmp_path)]) == 2
    assert "consent" in capsys.readouterr().err
