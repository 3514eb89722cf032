"""``meterkast cs export --format csv|parquet`` (issue 13; docs/cs.md "Exports").

A SQLite store with two connections' hourly and daily readings; the export is read back with pyarrow
(Parquet, and CSV with the documented column types) and must hold every reading with its exact Decimal
value and UTC instants; a withdrawn consent withholds that connection's readings and says so (SYSTEM C2).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from meterkast.central.model import ConsentLevel, PeriodType
from meterkast.central.store_sql import open_store
from meterkast.cli import main
from meterkast.export.cs_rows import CS_COLUMNS
from meterkast.export.table import arrow_schema
from tests.central.helpers import CONN, DAY, E_OTHER, OTHER, T0, hourly, install, reading

OTHER_GAS = "G0019340315370721"


def make_store(path: Path, *, withdraw: bool = False) -> str:
    url = f"sqlite:///{path}"
    store = open_store(url)
    try:
        install(store)
        install(store, OTHER, emeter=E_OTHER, gas_meter=OTHER_GAS)
        store.store_readings(hourly(T0, 4))
        store.store_readings(hourly(T0, 2, first_value=5000, connection=OTHER, gas_meter=OTHER_GAS))
        store.store_readings([reading(T0 + DAY, "102.000", PeriodType.DAILY)])
        if withdraw:
            later = T0 + 2 * DAY
            store.set_consent(OTHER, ConsentLevel.NONE, later, later)
    finally:
        store.close()
    return url


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_holds_every_reading_exactly(tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    url = make_store(tmp_path / "cs.db")
    out = tmp_path / f"readings.{fmt}"
    assert main(["cs", "export", "--store", url, "--format", fmt, "--out", str(out)]) == 0
    schema = arrow_schema(CS_COLUMNS)
    if fmt == "parquet":
        table = pq.read_table(out)
        assert table.schema.equals(schema, check_metadata=False)
    else:
        table = pacsv.read_csv(out, convert_options=pacsv.ConvertOptions(column_types=schema))
    rows = table.to_pylist()
    assert "exported 7 readings" in capsys.readouterr().err
    expected = [reading(T0 + DAY, "102.000", PeriodType.DAILY), *hourly(T0, 4),
                *hourly(T0, 2, first_value=5000, connection=OTHER, gas_meter=OTHER_GAS)]  # fmt: skip
    assert [(r["connection"], r["gas_meter"], r["period_type"], r["capture_time"], r["value_m3"]) for r in rows] == [
        (e.connection.ean, e.gas_meter, e.period_type.value, e.capture_time, e.value_m3) for e in expected
    ]
    assert all(isinstance(r["value_m3"], Decimal) for r in rows)
    assert rows[1]["value_m3"] == Decimal("100.000") and rows[2]["value_m3"] == Decimal("100.123")
    assert rows[1]["capture_time"].tzinfo is not None and rows[1]["log_time"] > rows[1]["capture_time"]


def test_csv_text_and_the_from_to_period_filters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = make_store(tmp_path / "cs.db")
    second = hourly(T0, 2)[1].capture_time.isoformat()
    assert main(["cs", "export", "--store", url, "--period", "interval", "--from", second, "--to", second]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ",".join(c.name for c in CS_COLUMNS)
    assert [line.split(",")[0] for line in lines[1:]] == [CONN.ean, OTHER.ean]
    assert lines[1].split(",")[5] == "100.123" and lines[1].split(",")[4].endswith("+00:00")


def test_withdrawn_consent_is_named_and_its_readings_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = make_store(tmp_path / "cs.db", withdraw=True)
    out = tmp_path / "r.parquet"
    assert main(["cs", "export", "--store", url, "--format", "parquet", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"interval readings of connection {OTHER} withheld" in err
    assert {r["connection"] for r in pq.read_table(out).to_pylist()} == {CONN.ean}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "parquet"], "--out FILE"),
        (["--period", "hourly"], "give interval, daily and/or monthly"),
        (["--from", "2026-02-01T00:00:00Z", "--to", "2026-01-01T00:00:00Z"], "before it begins"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    url = make_store(tmp_path / "cs.db")
    assert main(["cs", "export", "--store", url, *args]) == 2
    assert message in capsys.readouterr().err


def test_an_empty_store_gives_the_header_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert main(["cs", "export", "--store", url, "--to", datetime(2026, 1, 1, tzinfo=UTC).isoformat()]) == 0
    assert capsys.readouterr().out.splitlines() == [",".join(c.name for c in CS_COLUMNS)]
