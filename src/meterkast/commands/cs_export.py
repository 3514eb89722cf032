"""``meterkast cs export``: the central system's stored readings as CSV or Parquet (issue 13; docs/cs.md).

    meterkast cs export [--store URL] --format csv|parquet [--out FILE] [--from ISO] [--to ISO]
                        [--period interval,daily,monthly]

One row per stored reading (``export.cs_rows``), every connection, ordered by connection, profile,
capture time and gas meter. Consent is that in force now (SYSTEM C2): a connection whose consent no
longer allows a profile has those readings withheld, and each such (connection, profile) is named on
stderr. Exit 0 also when nothing was withheld or nothing matched (an empty table still has its schema).
The store and the exporters are imported when the command runs, not when the parser is built (issue 13).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from meterkast.commands.meter import parse_start
from meterkast.errors import InvalidInput

if TYPE_CHECKING:
    from meterkast.central.model import PeriodType

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], with_store: Any) -> None:
    export = with_store(commands.add_parser("export", help="write the stored readings as CSV or Parquet"))
    export.add_argument("--format", choices=("csv", "parquet"), default="csv", help="csv (default) or parquet")
    export.add_argument("--out", help="output file ('-' or none: stdout, csv only)")
    export.add_argument("--from", dest="from_", metavar="ISO", help="first capture time (default: all)")
    export.add_argument("--to", metavar="ISO", help="last capture time (default: now)")
    export.add_argument("--period", default="interval,daily,monthly",
                        help="profiles, comma-separated (default interval,daily,monthly)")
    export.set_defaults(handler=export_command)


def parse_periods(text: str) -> list[PeriodType]:
    from meterkast.central.model import PeriodType  # noqa: PLC0415 - the command's own (module docstring)

    try:
        periods = [PeriodType(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput(f"--period {text!r}: give interval, daily and/or monthly, comma-separated") from None
    if not periods:
        raise InvalidInput("--period is empty")
    return periods


def export_command(args: argparse.Namespace) -> int:
    from meterkast.clock import SystemClock  # noqa: PLC0415 - the command's own (module docstring)
    from meterkast.commands.cs_run import open_cs_store  # noqa: PLC0415
    from meterkast.export.cs_rows import CS_COLUMNS, reading_row  # noqa: PLC0415
    from meterkast.export.table import open_sink  # noqa: PLC0415

    now = SystemClock().now()
    start = parse_start(args.from_, "--from") if args.from_ else EARLIEST
    end = parse_start(args.to, "--to") if args.to else now
    periods = parse_periods(args.period)
    if args.format == "parquet" and args.out in (None, "-"):
        raise InvalidInput("--format parquet writes a file: give --out FILE")
    store = open_cs_store(args, keys=False)
    try:
        readings, withheld = store.export_readings(periods, start, end, now=now)
    finally:
        store.close()
    sink = open_sink(args.format, CS_COLUMNS, args.out, sys.stdout)
    try:
        sink.write(reading_row(r) for r in readings)
    finally:
        sink.close()
    for connection, period in withheld:
        print(f"meterkast: {period.value} readings of connection {connection} withheld: consent in force now "
              "does not allow them (SYSTEM C2)", file=sys.stderr)
    where = "" if args.out in (None, "-") else f" to {args.out}"
    print(f"meterkast: exported {len(readings)} readings{where}", file=sys.stderr)
    return 0
