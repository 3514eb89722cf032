"""Run every benchmark: ``python -m benchmarks [name ...]`` (names without the ``bench_`` prefix)."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks
from benchmarks import targets


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    wanted = [n for n in names if not argv or n.removeprefix("bench_") in argv]
    status = 0
    for name in wanted:
        print(f"== {name} == (load average {targets.load_average()})", flush=True)
        status |= bool(importlib.import_module(f"benchmarks.{name}").main())  # a bench may fail (fuzz)
    if targets.RESULTS:
        targets.summary()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
