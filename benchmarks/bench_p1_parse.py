"""Parse P1 telegrams with meterkast and with dsmr_parser, CRC checked in both (issue 4).

Both go all the way to values: dsmr_parser's ``TelegramParser.parse`` builds Decimal, int, str and
UTC datetimes; meterkast builds Decimal quantities, ints, strs and Europe/Amsterdam datetimes for
every line, M-Bus devices by channel and the CRC status. Inputs are the 13 real telegrams in
``../shared/testdata/p1-dsmr_parser`` (each with the spec dsmr_parser's own tests use; the Sagemcom
telegram in plaintext, with its spec's decryption switched off). Three inputs, each parsed by every
decoder in one run (``stream`` below says how the streams change; docs/p1.md, Benchmark):

- **household stream** (the claim): per corpus telegram, ``STREAM`` successive telegrams of that
  meter as a household at night makes them (time stamp +10 s, active import registers grow, import-
  side instantaneous values move by up to 2 %, the M-Bus reading every ``GAS_EVERY`` telegrams);
- **stress stream**: every energy, power, voltage, current, power factor and frequency number changes
  in every telegram;
- **corpus**: the 13 telegrams, ``ITERATIONS`` passes. Every line repeats: this flatters
  ``P1Decoder`` and is not a claim.

The CRC is recomputed for every generated telegram. Each timing starts fresh ``P1Decoder``s, shows
each the telegram before its stream once (untimed), and never shows a decoder a telegram twice.

``decode_telegram`` is stateless (every telegram decoded as if seen first); ``P1Decoder`` is how a
reader runs (one per meter, plan.py). Target: meterkast ≥ 30× faster on the stream.
Run: ``python -m benchmarks p1_parse``.
"""

from __future__ import annotations

import copy
import logging
import random
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from dsmr_parser import telegram_specifications
from dsmr_parser.parsers import TelegramParser

import benchmarks
from meterkast import environment
from meterkast.p1 import crc
from meterkast.p1.crc import crc16
from meterkast.p1.decode import decode_telegram
from meterkast.p1.plan import P1Decoder

CORPUS = Path(environment.get("METERKAST_SHARED") or (Path(__file__).resolve().parents[2] / "shared"))
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
STREAM = 100  # telegrams per meter in the stream
GAS_EVERY = 30  # telegrams between M-Bus readings in the stream (DSMR 5: every 5 min at 10 s)
REPEATS = 3  # best of, per meter
_COMPILED = crc._ARC  # the fastcrc function when installed, else None

# Electricity lines (1-0:C.D.E): D = 8 energy registers, D = 7 instantaneous values, 1.4.0/2.4.0
# the Fluvius quarter-hour average demand. The number is the first (only) group, optional *unit.
_CHANGING = re.compile(
    rb"^(1-0:(?:\d+\.[78]\.\d+|[12]\.4\.0)(?:\*255)?)\((\d+)(?:\.(\d+))?((?:\*\w+)?\))",
    re.MULTILINE,
)
_TIMESTAMP = re.compile(rb"^(0-0:1\.0\.0)\((\d{12})([SW])\)", re.MULTILINE)
_MBUS = re.compile(rb"^(0-\d:24\.2\.[13])\((\d{12})([SW])\)\((\d+)\.(\d+)(\*\w+\))", re.MULTILINE)


def load() -> list[tuple[str, bytes]]:
    return [(p.stem, p.read_bytes()) for p in sorted(TELEGRAMS.glob("*.txt"))]


def _digits(whole: int, decimals: int, value: int) -> bytes:
    text = f"{value % 10 ** (whole + decimals):0{whole + decimals}d}"
    return (text[:whole] + ("." + text[whole:] if decimals else "")).encode()


def _stamp(match: re.Match[bytes], step: timedelta) -> bytes:
    moment = datetime.strptime(match.group(2).decode(), "%y%m%d%H%M%S") + step
    return moment.strftime("%y%m%d%H%M%S").encode()


def stream(data: bytes, count: int, rng: random.Random, *, every_value: bool = False) -> list[bytes]:
    """``count`` successive telegrams of the meter that sent ``data`` (see the module docstring).

    ``every_value``: every energy, power, voltage, current, power factor and frequency number changes
    in every telegram (the stress stream). Otherwise a household at night (the realistic stream):
    it imports 0.5–3 kW, so the import registers of the active tariff and the totals grow by the
    energy of each 10 s (shown at their resolution), every import-side instantaneous value that is
    not zero moves by up to 2 % and at least one digit, and export-side lines (C = 2, 4, 6, 7, 8, 22,
    42, 62) stay still.
    """
    tariff = re.search(rb"0-0:96\.14\.0\((\d+)\)", data)
    active = {b"0", b"%d" % int(tariff.group(1))} if tariff else {b"0", b"1"}
    telegrams = []
    current = data
    for index in range(1, count + 1):
        energy_wh = rng.uniform(0.5, 3.0) * 1000 * 10 / 3600

        def changed(match: re.Match[bytes], energy_wh: float = energy_wh) -> bytes:
            code, whole, decimals, tail = match.group(1), match.group(2), match.group(3) or b"", match.group(4)
            width, places = len(whole), len(decimals)
            old = int(whole + decimals)
            c, d, e = code.split(b":")[1].split(b"*")[0].split(b".")  # 1-0:C.D.E
            if every_value:
                new = old + rng.randint(1, 9) if d == b"8" else rng.randrange(10 ** (width + places))
                new += new == old
            elif int(c) in (2, 4, 6, 7, 8, 22, 42, 62) or (d == b"8" and e not in active):
                new = old
            elif d == b"8":
                per_unit = 1 if tail.startswith((b"*W", b"*var")) else 1000  # Wh, varh or kWh, kvarh
                share = 1.0 if c in (b"1", b"15") else 0.2  # reactive energy: a fifth of it
                new = old + round(energy_wh * share / per_unit * 10**places)
            elif old:
                new = round(old * rng.uniform(0.98, 1.02))
                new += rng.choice((-1, 1)) if new == old else 0
            else:
                new = old
            return code + b"(" + _digits(width, places, new) + tail

        def timestamp(match: re.Match[bytes]) -> bytes:
            return match.group(1) + b"(" + _stamp(match, timedelta(seconds=10)) + match.group(3) + b")"

        def mbus(match: re.Match[bytes], index: int = index) -> bytes:
            if index % GAS_EVERY:
                return match.group(0)
            whole, decimals = match.group(4), match.group(5)
            grown = _digits(len(whole), len(decimals), int(whole + decimals) + rng.randint(1, 99))
            moved = _stamp(match, timedelta(minutes=5))
            return match.group(1) + b"(" + moved + match.group(3) + b")(" + grown + match.group(6)

        body = _CHANGING.sub(changed, current)
        body = _TIMESTAMP.sub(timestamp, _MBUS.sub(mbus, body))
        current = body
        bang = body.index(b"!")
        tail = body[bang + 1 :]
        if tail[:1] not in (b"\r", b"\n", b""):  # a CRC follows: write the new one
            end = tail.index(b"\r")
            body = body[: bang + 1] + f"{crc16(body[: bang + 1]):04X}".encode() + tail[end:]
        telegrams.append(body)
    return telegrams


def dsmr_parsers(names: list[str]) -> list[TelegramParser]:
    parsers = []
    for name in names:
        spec = copy.deepcopy(getattr(telegram_specifications, SPECS[name]))
        spec["general_global_cipher"] = False  # parse the plaintext, as meterkast does
        parsers.append(TelegramParser(spec, apply_checksum_validation=True))
    return parsers


def _timed(run: Callable[[], object]) -> float:
    began = time.perf_counter()
    run()
    return time.perf_counter() - began


def _decoders() -> dict[str, Callable[[TelegramParser, list[bytes], list[str]], Callable[[], object]]]:
    """Name → (parser, telegrams, texts) → one timed run over one meter's telegrams."""

    def dsmr(parser: TelegramParser, _: list[bytes], texts: list[str]) -> Callable[[], object]:
        return lambda: [parser.parse(text) for text in texts[1:]]

    def stateless(_: TelegramParser, telegrams: list[bytes], __: list[str]) -> Callable[[], object]:
        return lambda: [decode_telegram(data, strict=True) for data in telegrams[1:]]

    def planned(_: TelegramParser, telegrams: list[bytes], __: list[str]) -> Callable[[], object]:
        decoder = P1Decoder()  # a fresh one every run: it never sees a telegram twice
        decoder.decode(telegrams[0], strict=True)  # the meter's telegram before the timed ones
        return lambda: [decoder.decode(data, strict=True) for data in telegrams[1:]]

    return {"dsmr_parser": dsmr, "decode_telegram": stateless, "P1Decoder": planned}


def measure(parsers: list[TelegramParser], inputs: list[list[bytes]], backends: list[str]) -> dict[str, float]:
    """Seconds per decoder: per meter the best of REPEATS runs, summed over the meters.

    The decoders take turns within every repeat, so a busy machine slows them alike.
    """
    texts = [[data.decode("latin-1") for data in telegrams] for telegrams in inputs]
    runs = {name: [float("inf")] * len(inputs) for name in ("dsmr_parser", "decode_telegram")}
    runs |= {f"P1Decoder, CRC in {backend}": [float("inf")] * len(inputs) for backend in backends}
    decoders = _decoders()
    for _ in range(REPEATS):
        for meter, (parser, telegrams) in enumerate(zip(parsers, inputs, strict=True)):
            for name in runs:
                kind = name.split(",")[0]
                if kind == "P1Decoder":
                    crc._ARC = _COMPILED if name.endswith("fastcrc") else None  # pick the backend
                run = decoders[kind](parser, telegrams, texts[meter])
                runs[name][meter] = min(runs[name][meter], _timed(run))
    crc._ARC = _COMPILED  # as found
    return {name: sum(best) for name, best in runs.items()}


def report(title: str, count: int, took: dict[str, float]) -> None:
    print(title)
    dsmr = took["dsmr_parser"]
    for name, seconds in took.items():
        ratio = "" if name == "dsmr_parser" else f"  {dsmr / seconds:5.1f}× faster"
        print(f"  {name:28s} {seconds:7.3f} s  {seconds / count * 1e6:7.1f} µs/telegram{ratio}")


def main() -> None:
    logging.getLogger("dsmr_parser").setLevel(logging.ERROR)  # it warns about the Sagemcom spec
    corpus = load()
    parsers = dsmr_parsers([name for name, _ in corpus])
    global STREAM, ITERATIONS, REPEATS
    if benchmarks.quick():
        STREAM, ITERATIONS, REPEATS = 20, 10, 1
        print("quick: 20 telegrams per stream, 10 corpus passes, one run each (python -m benchmarks --quick)")
    rng = random.Random(4)
    # [0] of each stream is the meter's telegram before the timed ones, shown to P1Decoder first.
    household = [[data, *stream(data, STREAM, rng)] for _, data in corpus]
    every_value = [[data, *stream(data, STREAM, rng, every_value=True)] for _, data in corpus]
    repeated = [[data] * (ITERATIONS + 1) for _, data in corpus]
    backends = ["python", "fastcrc"] if _COMPILED is not None else ["python"]

    # Same telegrams, same values: the streams are valid for both, CRC included.
    for parser, telegrams in zip(parsers * 2, household + every_value, strict=True):
        decoder = P1Decoder()
        for data in telegrams:
            parser.parse(data.decode("latin-1"))
            assert decoder.decode(data, strict=True) == decode_telegram(data, strict=True)

    print(f"CRC checked in every parse; per meter best of {REPEATS}, summed; fastcrc installed: {bool(_COMPILED)}")
    count = len(corpus) * STREAM
    report(
        f"household stream: {len(corpus)} meters × {STREAM} successive telegrams = {count} parses (the claim)",
        count,
        measure(parsers, household, backends),
    )
    report(
        f"stress stream: every number changes in every telegram, {count} parses",
        count,
        measure(parsers, every_value, backends),
    )
    count = len(corpus) * ITERATIONS
    report(
        f"corpus: {len(corpus)} telegrams × {ITERATIONS} passes = {count} parses (all repeats: flatters P1Decoder)",
        count,
        measure(parsers, repeated, backends),
    )


if __name__ == "__main__":
    main()
