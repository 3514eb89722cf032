"""``--format jsonl|csv|parquet`` and ``--out`` for ``p1 read`` and ``p1 parse`` (issue 13; docs/p1.md).

``jsonl`` is the JSON object per telegram that ``--json`` prints; ``csv`` and ``parquet`` are one row per
telegram in the flat schema of ``export.p1_rows`` (exact decimals, UTC instants). CSV goes to stdout or
``--out FILE``; Parquet needs ``--out FILE`` and is complete once the command ends (``--count``, end of
input, or Ctrl-C: the file is closed in every case). The exporters are imported only when a table is asked
for, so that building the parser stays quick (issue 13 item 6).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from meterkast.errors import InvalidInput

if TYPE_CHECKING:
    from meterkast.export.table import RowSink
    from meterkast.p1.telegram import Telegram

__all__ = ["add_format_arguments", "table_sink", "write_row"]


def add_format_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "jsonl", "csv", "parquet"), default=None,
                        help="text (default), jsonl (= --json), csv or parquet: one row per telegram (docs/p1.md)")
    parser.add_argument("--out", metavar="FILE", help="write csv/parquet there (csv default: stdout)")


def table_sink(args: argparse.Namespace) -> RowSink | None:
    """The CSV/Parquet sink the arguments ask for, or None for text/JSON lines (``args.json`` set for jsonl)."""
    fmt = getattr(args, "format", None)
    if fmt == "jsonl":
        args.json = True
    if fmt not in ("csv", "parquet"):
        if getattr(args, "out", None):
            raise InvalidInput("--out goes with --format csv or parquet; redirect stdout for text or jsonl")
        return None
    from meterkast.export.p1_rows import P1_COLUMNS  # noqa: PLC0415 - only for a table (module docstring)
    from meterkast.export.table import open_sink  # noqa: PLC0415

    return open_sink(fmt, P1_COLUMNS, args.out, sys.stdout)


def write_row(sink: RowSink, telegram: Telegram) -> None:
    from meterkast.export.p1_rows import telegram_row  # noqa: PLC0415 - only for a table (module docstring)

    sink.write([telegram_row(telegram)])
