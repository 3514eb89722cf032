"""Columns and the CSV / Parquet writers every export uses.

Rules it keeps:
- a column has one kind: ``text``, ``int``, ``bool``, ``decimal`` (fixed scale) or ``time`` (an instant
  in UTC); a cell of the wrong kind is an ``ExportError`` naming the column, never a silent cast;
- decimals stay exact: Parquet stores ``decimal128(precision, scale)``, CSV the digits as they came
  (``112.384``, not padded to the scale);
  a value with more decimals than the column's scale is refused, not rounded (no float anywhere);
- instants are written in UTC: Parquet ``timestamp[us, tz=UTC]``, CSV ISO 8601 with ``+00:00``;
- pyarrow is imported only by the Parquet writer, with a message that says how to install it.
"""

from __future__ import annotations

import csv
import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from meterkast.errors import InvalidInput

Kind = Literal["text", "int", "bool", "decimal", "time"]
FORMATS = ("jsonl", "csv", "parquet")
Row = Mapping[str, Any]


class ExportError(InvalidInput):
    """A value that does not fit its export column (kind, scale, precision)."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    doc: str
    precision: int = 12  # decimal only: digits in all
    scale: int = 3  # decimal only: digits after the point

    def cell(self, value: object) -> object:
        """The value checked for this column (None stays None: an empty cell)."""
        if value is None:
            return None
        if self.kind == "decimal":
            return self._decimal(value)
        if self.kind == "time":
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise ExportError(f"column {self.name}: {value!r} is not an aware instant")
            return value.astimezone(UTC)
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ExportError(f"column {self.name}: {value!r} is not true/false")
            return value
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ExportError(f"column {self.name}: {value!r} is not an integer")
            return value
        if not isinstance(value, str):
            raise ExportError(f"column {self.name}: {value!r} is not text")
        return value

    def _decimal(self, value: object) -> Decimal:
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ExportError(f"column {self.name}: {value!r} is not a finite Decimal (never a float)")
        step = Decimal(1).scaleb(-self.scale)
        try:
            exact = value.quantize(step)
        except InvalidOperation as exc:
            raise ExportError(
                f"column {self.name}: {value} does not fit decimal({self.precision},{self.scale})"
            ) from exc
        if exact != value:
            raise ExportError(f"column {self.name}: {value} has more than {self.scale} decimals; not rounded")
        if len(exact.as_tuple().digits) > self.precision:
            raise ExportError(f"column {self.name}: {value} has more than {self.precision} digits")
        return exact

    def text(self, value: object) -> str:
        """The CSV form of a checked cell."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)


def check_row(columns: Sequence[Column], row: Row) -> list[object]:
    unknown = set(row) - {c.name for c in columns}
    if unknown:
        raise ExportError(f"row has columns the schema does not: {sorted(unknown)}")
    return [column.cell(row.get(column.name)) for column in columns]


class RowSink(Protocol):
    def write(self, rows: Iterable[Row]) -> None: ...

    def close(self) -> None: ...


class CsvSink:
    """One header line, then one line per row; flushed per batch so ``p1 read`` streams."""

    def __init__(self, columns: Sequence[Column], out: IO[str], *, owns: bool = False) -> None:
        self._columns = tuple(columns)
        self._out = out
        self._owns = owns  # a file this sink opened and closes
        self._writer = csv.writer(out, lineterminator="\n")
        self._writer.writerow([c.name for c in self._columns])

    def write(self, rows: Iterable[Row]) -> None:
        for row in rows:
            cells = check_row(self._columns, row)  # checked; a decimal is written with the digits it came with
            shown = [row.get(c.name) if c.kind == "decimal" else v for c, v in zip(self._columns, cells, strict=True)]
            self._writer.writerow([c.text(v) for c, v in zip(self._columns, shown, strict=True)])
        self._out.flush()

    def close(self) -> None:
        self._out.flush()
        if self._owns:
            self._out.close()


def _pyarrow() -> tuple[Any, Any]:
    try:
        return importlib.import_module("pyarrow"), importlib.import_module("pyarrow.parquet")
    except ImportError as exc:  # pragma: no cover - pyarrow is in the install the README sets up
        raise InvalidInput(
            "--format parquet needs pyarrow: pip install 'meterkast[parquet]' (make run/test install it)"
        ) from exc


def arrow_schema(columns: Sequence[Column]) -> Any:
    pa, _ = _pyarrow()
    types = {
        "text": pa.string(), "int": pa.int64(), "bool": pa.bool_(), "time": pa.timestamp("us", tz="UTC"),
    }
    fields = []
    for c in columns:
        kind = pa.decimal128(c.precision, c.scale) if c.kind == "decimal" else types[c.kind]
        fields.append(pa.field(c.name, kind, nullable=True, metadata={"doc": c.doc}))
    return pa.schema(fields)


class ParquetSink:
    """Rows gathered into row groups of ``group_rows``; the file is complete once ``close`` has run."""

    def __init__(self, columns: Sequence[Column], path: Path, group_rows: int = 10_000) -> None:
        pa, pq = _pyarrow()
        self._pa = pa
        self._columns = tuple(columns)
        self._schema = arrow_schema(columns)
        self._group_rows = group_rows
        self._pending: list[list[object]] = []
        try:
            self._writer = pq.ParquetWriter(str(path), self._schema)
        except OSError as exc:
            raise InvalidInput(f"cannot write {path}: {exc}") from exc

    def write(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self._pending.append(check_row(self._columns, row))
            if len(self._pending) >= self._group_rows:
                self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        arrays = [list(column) for column in zip(*self._pending, strict=True)]
        table = self._pa.Table.from_arrays(
            [self._pa.array(a, type=f.type) for a, f in zip(arrays, self._schema, strict=True)], schema=self._schema
        )
        self._writer.write_table(table)
        self._pending.clear()

    def close(self) -> None:
        self._flush()
        self._writer.close()


def open_sink(fmt: str, columns: Sequence[Column], out: str | None, stdout: IO[str]) -> RowSink:
    """A CSV or Parquet sink on ``out`` ('-' or None: stdout, CSV only); ``close`` finishes the file."""
    if fmt == "parquet":
        if out in (None, "-"):
            raise InvalidInput("--format parquet writes a file: give --out FILE")
        return ParquetSink(columns, Path(str(out)))
    if fmt != "csv":
        raise InvalidInput(f"--format {fmt!r}: a table is written as csv or parquet")
    if out in (None, "-"):
        return CsvSink(columns, stdout)
    try:
        handle = Path(str(out)).open("w", newline="", encoding="utf-8")  # noqa: SIM115 - the sink closes it
    except OSError as exc:
        raise InvalidInput(f"cannot write {out}: {exc.strerror or exc}") from exc
    return CsvSink(columns, handle, owns=True)
