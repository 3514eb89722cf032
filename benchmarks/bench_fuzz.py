"""Every decoder raises only ``MeterkastError``s, on any input (issue 10, item 2): a bounded fuzz run.

For each decoder (``fuzz_targets*``): mutated real seeds and random bytes (``fuzz_mutate``), fed one by one;
an input ends as decoded, as a ``MeterkastError`` (expected for bad input) or as a *foreign* exception (a
bug). Foreign exceptions are grouped by type and the line that raised them; the first input of each group
is printed as hex so it can be replayed. Deterministic: one ``random.Random`` per decoder, from the seed.

Run: ``python -m benchmarks fuzz`` (exit status 1 if any foreign exception). Environment:
``FUZZ_BUDGET`` inputs per decoder (default 100000), ``FUZZ_SEED`` (default 10), ``FUZZ_ONLY`` a
comma-separated list of substrings of decoder names.
"""

from __future__ import annotations

import os
import random
import sys
import time
import traceback
from dataclasses import dataclass, field

import benchmarks
from benchmarks.fuzz_targets import Target, targets
from meterkast.errors import MeterkastError

DEFAULT_BUDGET = 100_000
QUICK_BUDGET = 1_000  # python -m benchmarks --quick
SHOWN = 3  # distinct foreign exceptions printed per decoder


@dataclass
class Tally:
    tried: int = 0
    decoded: int = 0
    refused: int = 0
    foreign: int = 0
    groups: dict[tuple[str, str], tuple[int, str, str]] = field(default_factory=dict)
    seconds: float = 0.0


def where(exc: BaseException) -> str:
    """file:line of the innermost frame: one bug, one place."""
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    return "?" if last is None else f"{os.path.basename(last.filename)}:{last.lineno}"


def show(target: Target, data: object) -> str:
    try:
        return target.show(data)
    except Exception:  # an input the target's printer chokes on is still reported, as its repr
        return repr(data)[:400]


def fuzz(target: Target, budget: int, seed: int) -> Tally:
    rng = random.Random(f"{seed}:{target.name}")
    tally = Tally()
    began = time.perf_counter()
    for _ in range(budget):
        data = target.make(rng)
        tally.tried += 1
        try:
            target.run(data)
        except MeterkastError:
            tally.refused += 1
        except Exception as exc:
            tally.foreign += 1
            key = (type(exc).__name__, where(exc))
            count, text, shown = tally.groups.get(key, (0, f"{type(exc).__name__}: {exc!s:.160}", show(target, data)))
            tally.groups[key] = (count + 1, text, shown)
        else:
            tally.decoded += 1
    tally.seconds = time.perf_counter() - began
    return tally


def report(target: Target, tally: Tally) -> None:
    print(f"{target.name:34} {tally.tried:8} {tally.decoded:8} {tally.refused:8} "
          f"{tally.foreign:7} {tally.seconds:7.1f}", flush=True)
    for (kind, line), (count, text, shown) in list(tally.groups.items())[:SHOWN]:
        print(f"    {count}× {kind} at {line}: {text}")
        print(f"      input: {shown[:400]}")
    if len(tally.groups) > SHOWN:
        print(f"    … and {len(tally.groups) - SHOWN} more distinct foreign exceptions")


def main() -> int:
    budget = int(os.environ.get("FUZZ_BUDGET", str(benchmarks.scaled(DEFAULT_BUDGET, QUICK_BUDGET))))
    seed = int(os.environ.get("FUZZ_SEED", "10"))
    only = [s for s in os.environ.get("FUZZ_ONLY", "").split(",") if s]
    chosen = [t for t in targets() if not only or any(s in t.name for s in only)]
    print(f"budget {budget} inputs per decoder, seed {seed}")
    print(f"{'decoder':34} {'tried':>8} {'decoded':>8} {'refused':>8} {'foreign':>7} {'seconds':>7}")
    total = 0
    began = time.perf_counter()
    for target in chosen:
        tally = fuzz(target, budget, seed)
        report(target, tally)
        total += tally.foreign
    print(f"{len(chosen)} decoders, {total} foreign exceptions, {time.perf_counter() - began:.0f} s")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
