"""Parse the P1 corpus with meterkast and with dsmr_parser, CRC checked in both (issue 4).

Both go all the way to values: dsmr_parser's ``TelegramParser.parse`` builds Decimal, int, str and
UTC datetimes; meterkast builds Decimal quantities, ints, strs and Europe/Amsterdam datetimes for
every line, M-Bus devices by channel and the CRC status. Inputs are the 13 real telegrams in
``../shared/testdata/p1-dsmr_parser`` (each with the spec dsmr_parser's own tests use; the Sagemcom
telegram in plaintext, with its spec's decryption switched off). Two meterkast figures:

- ``decode_telegram``: stateless, every telegram decoded as if seen for the first time;
- ``P1Decoder``: how a reader on one meter runs (one decoder per meter): after the first telegram of
  a shape, a compiled plan of that shape finds the values (plan.py); every value is still converted.

Target: meterkast ≥ 30× faster. Run: ``python -m benchmarks p1_parse``.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from dsmr_parser import telegram_specifications
from dsmr_parser.parsers import TelegramParser

from meterkast.p1.decode import decode_telegram
from meterkast.p1.plan import P1Decoder

CORPUS = Path(os.environ.get("MEETERKAST_SHARED", Path(__file__).resolve().parents[2] / "shared"))
TELEGRAMS = CORPUS / "testdata" / "p1-dsmr_parser"
SPECS = {
    "esy5q3da1004_v304": "Q3D",
    "esy5q3db1024_v304": "Q3D",
    "fluvius_v171": "BELGIUM_FLUVIUS",
    "fluvius_v171_alt": "BELGIUM_FLUVIUS",
    "iskra_ie": "ISKRA_IE",
    "sagemcom_t210_d_r": "SAGEMCOM_T210_D_R",
    "unpadded_crc": "V5",
    "v2_2": "V2_2",
    "v3": "V3",
    "v4_2": "V4",
    "v5": "V5",
    "v5_eon_hu": "EON_HUNGARY",
    "v5_two_mbus": "V5",
}
ITERATIONS = 100  # passes over the corpus per timing
REPEATS = 5  # best of


def load() -> list[tuple[str, bytes]]:
    return [(p.stem, p.read_bytes()) for p in sorted(TELEGRAMS.glob("*.txt"))]


def dsmr_parsers(names: list[str]) -> list[TelegramParser]:
    parsers = []
    for name in names:
        spec = copy.deepcopy(getattr(telegram_specifications, SPECS[name]))
        spec["general_global_cipher"] = False  # parse the plaintext, as meterkast does
        parsers.append(TelegramParser(spec, apply_checksum_validation=True))
    return parsers


def best_of(run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        began = time.perf_counter()
        for _ in range(ITERATIONS):
            run()
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    logging.getLogger("dsmr_parser").setLevel(logging.ERROR)  # it warns about the Sagemcom spec
    corpus = load()
    names = [name for name, _ in corpus]
    raw = [data for _, data in corpus]
    texts = [data.decode("latin-1") for data in raw]
    pairs = list(zip(dsmr_parsers(names), texts, strict=True))
    decoders = [P1Decoder() for _ in raw]
    planned = list(zip(decoders, raw, strict=True))
    count = len(raw) * ITERATIONS

    def run_dsmr() -> None:
        for parser, text in pairs:
            parser.parse(text)

    def run_stateless() -> None:
        for data in raw:
            decode_telegram(data, strict=True)

    def run_planned() -> None:
        for decoder, data in planned:
            decoder.decode(data, strict=True)

    dsmr = best_of(run_dsmr)
    stateless = best_of(run_stateless)
    fast = best_of(run_planned)
    print(f"{len(raw)} telegrams × {ITERATIONS} passes = {count} parses, CRC checked, best of {REPEATS}")
    print(f"dsmr_parser                 {dsmr:8.3f} s  {dsmr / count * 1e6:8.1f} µs/telegram")
    print(
        f"meterkast decode_telegram   {stateless:8.3f} s  {stateless / count * 1e6:8.1f} µs/telegram  "
        f"{dsmr / stateless:5.1f}× faster"
    )
    print(
        f"meterkast P1Decoder         {fast:8.3f} s  {fast / count * 1e6:8.1f} µs/telegram  "
        f"{dsmr / fast:5.1f}× faster (target ≥ 30×)"
    )


if __name__ == "__main__":
    main()
