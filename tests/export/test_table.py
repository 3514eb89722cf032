"""The export columns and writers: exact decimals, UTC instants, refusals that name the column (issue 13)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.errors import InvalidInput
from meterkast.export.table import Column, CsvSink, ExportError, ParquetSink, open_sink

COLUMNS = (
    Column("t", "time", "an instant"),
    Column("v", "decimal", "a register", 12, 3),
    Column("n", "int", "a count"),
    Column("ok", "bool", "a flag"),
    Column("s", "text", "a name"),
)
CET = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "never a float"),
        (Decimal("1.0005"), "more than 3 decimals; not rounded"),
        (Decimal("NaN"), "finite Decimal"),
        (Decimal("1234567890.123"), "more than 12 digits"),
    ],
)
def test_a_decimal_that_would_need_rounding_or_a_float_is_refused(value: object, message: str) -> None:
    with pytest.raises(ExportError, match=f"column v: .*{message}"):
        COLUMNS[1].cell(value)


@pytest.mark.parametrize(
    ("column", "value"),
    [(0, datetime(2026, 1, 1)), (2, True), (2, "3"), (3, 1), (4, 5)],
)
def test_cells_of_the_wrong_kind_are_refused_by_column_name(column: int, value: object) -> None:
    with pytest.raises(ExportError, match=f"column {COLUMNS[column].name}:"):
        COLUMNS[column].cell(value)


def test_unknown_columns_are_refused() -> None:
    with pytest.raises(ExportError, match="'x'"):
        CsvSink(COLUMNS, io.StringIO()).write([{"x": 1}])


def test_parquet_needs_a_file() -> None:
    with pytest.raises(InvalidInput, match="--out FILE"):
        open_sink("parquet", COLUMNS, None, io.StringIO())


decimals = st.decimals(min_value=0, max_value=Decimal("999999999.999"), places=3, allow_nan=False)
instants = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(CET))


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(instants, decimals, st.integers(0, 2**40), st.booleans()), min_size=1, max_size=8))
def test_csv_and_parquet_give_back_every_value_exactly(tmp_path_factory: pytest.TempPathFactory,
                                                       rows: list[tuple[datetime, Decimal, int, bool]]) -> None:
    dicts = [{"t": t, "v": v, "n": n, "ok": ok, "s": f"m{i}"} for i, (t, v, n, ok) in enumerate(rows)]
    text = io.StringIO()
    sink = CsvSink(COLUMNS, text)
    sink.write(dicts)
    sink.close()
    back = list(csv.DictReader(io.StringIO(text.getvalue())))
    assert [Decimal(r["v"]) for r in back] == [r["v"] for r in dicts]
    assert [datetime.fromisoformat(r["t"]) for r in back] == [r["t"] for r in dicts]
    assert all(r["t"].endswith("+00:00") for r in back)

    path = Path(tmp_path_factory.mktemp("pq")) / "rows.parquet"
    parquet = ParquetSink(COLUMNS, path, group_rows=3)
    parquet.write(dicts)
    parquet.close()
    table = pq.read_table(path)
    assert str(table.schema.field("v").type) == "decimal128(12, 3)"
    assert str(table.schema.field("t").type) == "timestamp[us, tz=UTC]"
    stored = table.to_pylist()
    assert [r["v"] for r in stored] == [r["v"] for r in dicts]  # Decimal out, equal to the Decimal in
    assert all(isinstance(r["v"], Decimal) for r in stored)
    assert [r["t"] for r in stored] == [r["t"].astimezone(UTC) for r in dicts]
    assert [(r["n"], r["ok"], r["s"]) for r in stored] == [(r["n"], r["ok"], r["s"]) for r in dicts]
