"""The ``meterkast`` console script: the composition root (STYLE 11).

Argument parsing is a pure function (``parse_args``); ``main`` is the only place that turns errors into
exit codes: 0 success, 2 bad input or a refused command (message on stderr naming what and where),
130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence

from meterkast import __version__
from meterkast.errors import MeterkastError

# Each names a module in meterkast.commands with register(subparsers) -> None.
COMMAND_MODULES: tuple[str, ...] = ("meter", "mbus", "p1", "run", "cs")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meterkast",
        description="The Dutch smart gas metering chain: gas meter, P2 M-Bus, E-meter, P1, P3, P4.",
    )
    parser.add_argument("--version", action="version", version=f"meterkast {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"meterkast.commands.{name}").register(sub)
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # A shell starts background jobs with SIGINT ignored, and Python then installs no KeyboardInterrupt
    # handler; a long-running command must still stop cleanly on SIGINT (``kill -INT``, a test harness).
    if argv is None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result: int = args.handler(args)
    except MeterkastError as exc:
        print(f"meterkast: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
