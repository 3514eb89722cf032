"""Benchmarks: each ``bench_*.py`` runs our code and a peer on the same input and prints the ratio.

``python -m benchmarks --quick`` (``make bench QUICK=1``) runs each on a smaller input, all of them in
under a minute: each benchmark asks ``quick()`` and says in its output what it did instead.
"""

from __future__ import annotations

import os

QUICK_ENV = "METERKAST_BENCH_QUICK"  # set by ``python -m benchmarks --quick``; "1" = quick mode


def quick() -> bool:
    return os.environ.get(QUICK_ENV, "") not in ("", "0")


def scaled(full: int, small: int) -> int:
    """``full`` normally, ``small`` in quick mode."""
    return small if quick() else full
