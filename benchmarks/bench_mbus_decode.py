"""Decode the libmbus corpus to values with meterkast and with pyMeterBus, side by side (issue: M-Bus).

Both decoders go all the way to record values: meterkast ``decode_telegram`` (Decimal, datetime, str),
pyMeterBus ``meterbus.load`` and then every record's ``value``. Frames that pyMeterBus cannot decode
are left out of both runs so the comparison is like for like. Target: meterkast ≥ 10× faster.
Run: ``python -m benchmarks mbus_decode``.
"""

from __future__ import annotations

import time
from pathlib import Path

import meterbus

import benchmarks
from meterkast import environment
from meterkast.mbus.application import VariableData, decode_telegram

CORPUS = Path(environment.get("METERKAST_SHARED") or (Path(__file__).resolve().parents[2] / "shared"))
FRAMES_DIR = CORPUS / "testdata" / "mbus-libmbus" / "test-frames"
ROUNDS = 20


def load_frames() -> list[bytes]:
    return [bytes(int(t, 16) for t in p.read_text().split()) for p in sorted(FRAMES_DIR.glob("*.hex"))]


def meterkast_values(frames: list[bytes]) -> int:
    count = 0
    for raw in frames:
        payload = decode_telegram(raw).payload
        if isinstance(payload, VariableData):
            for item in payload.records:
                count += getattr(item, "value", None) is not None
    return count


def pymeterbus_values(frames: list[bytes]) -> int:
    count = 0
    for raw in frames:
        for record in meterbus.load(raw).records:
            count += record.value is not None
    return count


def pymeterbus_can_decode(raw: bytes) -> bool:
    try:
        pymeterbus_values([raw])
    except Exception:  # a peer's failure modes are not ours to enumerate
        return False
    return True


def best_of(function: object, frames: list[bytes], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        began = time.perf_counter()
        function(frames)  # type: ignore[operator]
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    frames = load_frames()
    usable = [raw for raw in frames if pymeterbus_can_decode(raw)]
    rounds = benchmarks.scaled(ROUNDS, 3)
    ours = best_of(meterkast_values, usable, rounds)
    theirs = best_of(pymeterbus_values, usable, max(3, rounds // 4))
    print(f"frames                {len(usable)} of {len(frames)} (pyMeterBus cannot decode the rest)")
    print(f"meterkast             {ours * 1e3:8.2f} ms per corpus pass ({ours / len(usable) * 1e6:6.1f} µs/frame)")
    print(f"pyMeterBus            {theirs * 1e3:8.2f} ms per corpus pass ({theirs / len(usable) * 1e6:6.1f} µs/frame)")
    print(f"ratio                 {theirs / ours:8.1f}× faster")
    print(f"meterkast, all frames {best_of(meterkast_values, frames, rounds) * 1e3:8.2f} ms for {len(frames)} frames")
