"""Where the P1 path spends its time: cProfile over the benchmark's streams (docs/performance.md).

Run: ``python -m benchmarks.profile_p1 [household|stress] [P1Decoder|decode_telegram] [rows]``.
It builds the same streams as ``bench_p1_parse`` (same seed), decodes each meter's stream with a fresh
``P1Decoder`` (or with ``decode_telegram``) under cProfile, and prints the functions by own time.
Profiling inflates the cost of small Python calls, so read it for where, not for how much; the
per-stage timings in docs/performance.md come from ``timeit`` runs of each stage.
"""

from __future__ import annotations

import cProfile
import pstats
import random
import sys

from benchmarks.bench_p1_parse import STREAM, load, stream
from meterkast.p1.decode import decode_telegram
from meterkast.p1.plan import P1Decoder


def main(argv: list[str]) -> None:
    which = argv[0] if argv else "household"
    kind = argv[1] if len(argv) > 1 else "P1Decoder"
    rows = int(argv[2]) if len(argv) > 2 else 25
    rng = random.Random(4)
    corpus = load()
    household = [[data, *stream(data, STREAM, rng)] for _, data in corpus]
    streams = household if which == "household" else [
        [data, *stream(data, STREAM, rng, every_value=True)] for _, data in corpus
    ]
    profile = cProfile.Profile()
    for telegrams in streams:
        if kind == "P1Decoder":
            decoder = P1Decoder()
            decoder.decode(telegrams[0], strict=True)
            profile.runcall(lambda d=decoder, t=telegrams: [d.decode(x, strict=True) for x in t[1:]])
        else:
            profile.runcall(lambda t=telegrams: [decode_telegram(x, strict=True) for x in t[1:]])
    pstats.Stats(profile).sort_stats("tottime").print_stats(rows)


if __name__ == "__main__":
    main(sys.argv[1:])
