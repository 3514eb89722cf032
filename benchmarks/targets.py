"""The speed targets the benchmarks claim (issue 14), as ratios against the peer library.

A bench calls ``check`` for each row it has a target for; it prints the verdict beside the row, and
``python -m benchmarks`` lists every verdict again at the end, with the load average, because the
machine may be shared: a ratio is the claim, the µs figures move with the load.
"""

from __future__ import annotations

import os

RESULTS: list[tuple[str, float, float]] = []  # (row, ratio, target) in the order checked


def check(row: str, ratio: float, target: float) -> bool:
    """Record and print whether ``ratio`` (times faster than the peer) meets ``target``."""
    RESULTS.append((row, ratio, target))
    met = ratio >= target
    print(f"  target {row}: {ratio:.1f}× against ≥ {target:g}×: {'met' if met else 'NOT met'}")
    return met


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, or "n/a" where the system has none."""
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def summary() -> None:
    print(f"== targets (load average {load_average()}) ==")
    for row, ratio, target in RESULTS:
        print(f"  {'met    ' if ratio >= target else 'NOT met'} {row}: {ratio:.1f}× (target ≥ {target:g}×)")
