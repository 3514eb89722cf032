"""Run the benchmarks: ``python -m benchmarks [--quick] [name ...]`` (names without the ``bench_`` prefix).

It prints its plan first (which benchmarks, and roughly how long each takes on a 2-CPU machine),
then before each one ``[i/n] name`` with the time so far, and after it how long it took. ``--quick``
(``make bench QUICK=1``) runs each on a smaller input (``benchmarks.quick()``), all in under a minute.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time

import benchmarks

# Rough seconds each takes on a 2-CPU machine shared with other work (load average ~4), for the plan only:
# (full, quick). Quick ones as measured; cli_startup full as measured (21 runs a side); the other full ones
# scaled from their quick runs by the size of their input (fuzz: 100x the inputs).
ESTIMATES: dict[str, tuple[float, float]] = {
    "bench_cli_startup": (150, 24),
    "bench_cs_fleet": (60, 4),
    "bench_dlms": (1, 1),
    "bench_fuzz": (400, 4),
    "bench_gasmeter_20y": (45, 2),
    "bench_mbus_decode": (1, 1),
    "bench_p1_parse": (25, 2),
    "bench_run_year": (60, 9),
}
UNKNOWN_S = (30.0, 5.0)


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller inputs: every benchmark in under a minute")
    parser.add_argument("names", nargs="*", metavar="NAME", help="only these (e.g. p1_parse cli_startup)")
    args = parser.parse_args(argv)
    if args.quick:
        os.environ[benchmarks.QUICK_ENV] = "1"
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    wanted = [n for n in names if not args.names or n.removeprefix("bench_") in args.names]
    unknown = sorted(set(args.names) - {n.removeprefix("bench_") for n in names})
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; there are {', '.join(n[6:] for n in names)}")
    column = 1 if benchmarks.quick() else 0
    estimates = {n: ESTIMATES.get(n, UNKNOWN_S)[column] for n in wanted}
    mode = "quick (smaller inputs)" if benchmarks.quick() else "full (make bench QUICK=1 for a quick run)"
    print(f"plan: {len(wanted)} benchmarks, {mode}; about {_minutes(sum(estimates.values()))} on a "
          f"2-CPU machine (load average now {os.getloadavg()[0]:.1f})", flush=True)
    for name in wanted:
        print(f"  {name.removeprefix('bench_'):16} ~{_minutes(estimates[name])}", flush=True)
    status = 0
    began = time.perf_counter()
    for index, name in enumerate(wanted, start=1):
        left = sum(estimates[n] for n in wanted[index - 1:])
        print(f"\n== [{index}/{len(wanted)}] {name} (at {_minutes(time.perf_counter() - began)}; "
              f"~{_minutes(left)} to go) ==", flush=True)
        started = time.perf_counter()
        status |= bool(importlib.import_module(f"benchmarks.{name}").main())  # a bench may fail (fuzz)
        print(f"-- {name}: {time.perf_counter() - started:.1f} s", flush=True)
    print(f"\ndone: {len(wanted)} benchmarks in {_minutes(time.perf_counter() - began)}"
          f"{'' if not status else '; some reported a failure (exit status 1)'}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
