"""The decoders ``bench_fuzz`` drives, each with real seeds (issue 10, item 2).

Seeds: the libmbus frames in ``../shared/testdata/mbus-libmbus``, the DSMR P2 Appendix B RSP_UD (mode 15,
App. B key) and its plaintext as mode 0, the dsmr_parser telegrams in ``../shared/testdata/p1-dsmr_parser``
and their AES-GCM frames, the DLMS known-answer APDUs and A-XDR values of the tests, our encoder's
glo-ciphered, block-transfer and 62056-47 wrapped APDUs, and the requests the meter's fuzz test sends.

A target that *wraps* its input (re-frames an M-Bus body, encrypts plaintext) does so for half of its
inputs, so mutations reach the layer under a checksum, CRC, MAC or cipher.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.fuzz_mutate import byte_input, mutate_json
from meterkast import environment

SHARED = Path(environment.get("METERKAST_SHARED") or (Path(__file__).resolve().parents[2] / "shared"))


@dataclass(frozen=True)
class Target:
    """One decoder: how to make an input and how to feed it."""

    name: str
    make: Callable[[random.Random], Any]
    run: Callable[[Any], object]
    show: Callable[[Any], str] = lambda data: bytes(data).hex()


def bytes_maker(seeds: Sequence[bytes], wrap: Callable[[bytes], bytes] | None = None,
                inner: Sequence[bytes] | None = None) -> Callable[[random.Random], bytes]:
    """Mutated seeds; with ``wrap``, half the inputs are mutated ``inner`` seeds put through ``wrap``."""
    inner_seeds = list(inner or seeds)

    def make(rng: random.Random) -> bytes:
        if wrap is not None and rng.random() < 0.5:
            return wrap(byte_input(rng, inner_seeds))
        return byte_input(rng, seeds)
    return make


def chunked(rng: random.Random, data: bytes) -> list[bytes]:
    """A stream cut at random places, as a serial port delivers it."""
    cuts = sorted(rng.randrange(len(data) + 1) for _ in range(rng.randrange(4)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def read_hex(path: Path) -> bytes:
    return bytes(int(token, 16) for token in path.read_text().split())


def targets() -> list[Target]:
    from benchmarks.fuzz_targets_cosem import client_target  # noqa: PLC0415 - one import per family, on demand
    from benchmarks.fuzz_targets_dlms import dlms_targets  # noqa: PLC0415
    from benchmarks.fuzz_targets_mbus import mbus_targets  # noqa: PLC0415
    from benchmarks.fuzz_targets_p1 import p1_targets  # noqa: PLC0415
    return [*mbus_targets(), *p1_targets(), *dlms_targets(), client_target()]


def json_maker(documents: Sequence[Any]) -> Callable[[random.Random], Any]:
    return lambda rng: mutate_json(rng, rng.choice(documents))
