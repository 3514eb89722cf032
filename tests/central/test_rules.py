"""The pure rules: EAN check digits, period grids across DST, consent over a span (sans-I/O)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from meterkast.central import rules
from meterkast.central.model import Connection, ConsentLevel, PeriodType, gs1_check_digit
from meterkast.errors import InvalidInput
from tests.central.helpers import DAY, HOUR, T0, local

CENTRAL = Path(__file__).resolve().parents[2] / "src" / "meterkast" / "central"


def test_gs1_check_digit() -> None:
    # GS1's own worked example (GTIN-13 body 629104150021 → 3), and an 18-digit EAN.
    assert gs1_check_digit("629104150021") == 3
    assert Connection.from_body("87168714000000001").ean == "871687140000000019"
    with pytest.raises(InvalidInput, match="18 digits"):
        Connection("8716871400000000")


def test_grids_across_dst() -> None:
    spring = list(rules.grid(PeriodType.DAILY, local(2025, 3, 29), local(2025, 4, 1)))
    assert spring == [local(2025, 3, 29), local(2025, 3, 30), local(2025, 3, 31), local(2025, 4, 1)]
    assert spring[2] - spring[1] == 23 * HOUR  # the short day
    autumn = list(rules.grid(PeriodType.INTERVAL, local(2025, 10, 26), local(2025, 10, 26, 4)))
    assert len(autumn) == 6  # 00:00 … 04:00 local holds 02:00 twice
    months = list(rules.grid(PeriodType.MONTHLY, local(2025, 1, 15), local(2025, 4, 1)))
    assert months == [local(2025, 2, 1), local(2025, 3, 1), local(2025, 4, 1)]
    assert list(rules.grid(PeriodType.INTERVAL, T0 + HOUR / 2, T0 + HOUR)) == [T0 + HOUR]
    assert all(rules.on_grid(PeriodType.DAILY, d) for d in spring)
    assert not rules.on_grid(PeriodType.MONTHLY, local(2025, 3, 2))


def test_consent_refusal_over_a_span() -> None:
    history = [(T0, ConsentLevel.STANDARD), (T0 + 5 * DAY, ConsentLevel.DETAILED), (T0 + 9 * DAY, ConsentLevel.NONE)]
    hourly, monthly = PeriodType.INTERVAL, PeriodType.MONTHLY
    assert rules.consent_refusal(history, hourly, T0 + 5 * DAY, T0 + 8 * DAY) is None
    assert rules.consent_refusal(history, hourly, T0, T0 + 6 * DAY) == (T0, ConsentLevel.STANDARD)
    assert rules.consent_refusal(history, hourly, T0 + 6 * DAY, T0 + 10 * DAY) == (T0 + 9 * DAY, ConsentLevel.NONE)
    assert rules.consent_refusal(history, monthly, T0, T0 + 8 * DAY) is None
    assert rules.consent_refusal(history, monthly, T0 - DAY, T0) == (T0 - DAY, ConsentLevel.NONE)


def test_consent_table_follows_system_c2() -> None:
    allowed = {level: {p for p in PeriodType if rules.consent_allows(level, p)} for level in ConsentLevel}
    assert allowed == {
        ConsentLevel.NONE: set(),
        ConsentLevel.STANDARD: {PeriodType.MONTHLY},
        ConsentLevel.DETAILED: set(PeriodType),
    }


@pytest.mark.parametrize("module", ["model.py", "rules.py", "keys_at_rest.py"])
def test_pure_modules_import_no_io(module: str) -> None:
    """model, rules and keys_at_rest are sans-I/O (STYLE 1); only the store_sql* adapters touch a database."""
    tree = ast.parse((CENTRAL / module).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    forbidden = {"sqlite3", "pg8000", "os", "random", "secrets", "time", "threading", "socket", "logging"}
    assert not {m for m in imported if m.split(".")[0] in forbidden}
    assert not {m for m in imported if m.startswith("meterkast.central.store")}
