"""Deterministic input mutation for ``bench_fuzz``: real seeds, bent the way broken links and attackers bend them.

Every choice comes from one ``random.Random`` so a run is the same bytes every time for the same seed.
Mutations (1-4 stacked per input): bit flips, byte replace / insert / delete, truncation, splicing with
another seed, length-field tweaks (a byte that equals the number of bytes after it, moved by ±1 or set to
0x00/0x7F/0x80/0x81/0x82/0xFF) and interesting values; a share of inputs are pure random bytes.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Sequence
from typing import Any

INTERESTING = (0x00, 0x01, 0x02, 0x0F, 0x10, 0x2F, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xF0, 0xFE, 0xFF)
RANDOM_SHARE = 0.08  # pure random bytes: the decoder's first checks must hold on their own
MAX_RANDOM = 300


def flip(rng: random.Random, data: bytearray, _seeds: Sequence[bytes]) -> None:
    if data:
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)


def replace(rng: random.Random, data: bytearray, _seeds: Sequence[bytes]) -> None:
    if data:
        data[rng.randrange(len(data))] = rng.randrange(256)


def interesting(rng: random.Random, data: bytearray, _seeds: Sequence[bytes]) -> None:
    if data:
        data[rng.randrange(len(data))] = rng.choice(INTERESTING)


def insert(rng: random.Random, data: bytearray, _seeds: Sequence[bytes]) -> None:
    at = rng.randrange(len(data) + 1)
    data[at:at] = rng.randbytes(rng.choice((1, 1, 2, 4, 8)))


def delete(rng: random.Random, data: bytearray, _seeds: Sequence[bytes]) -> None:
    if data:
        at = rng.randrange(len(data))
        del data[at : at + rng.choice((1, 1, 2, 4, 8))]


def truncate(rng: random.Random, data: bytearray, _seeds: Sequence[bytes]) -> None:
    if data:
        del data[rng.randrange(len(data)) :]


def splice(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> None:
    other = rng.choice(seeds)
    cut = rng.randrange(len(data) + 1)
    data[cut:] = other[rng.randrange(len(other) + 1) :]


def duplicate(rng: random.Random, data: bytearray, _seeds: Sequence[bytes]) -> None:
    if data:
        start = rng.randrange(len(data))
        chunk = data[start : start + rng.randrange(1, 17)]
        at = rng.randrange(len(data) + 1)
        data[at:at] = chunk


def length_tweak(rng: random.Random, data: bytearray, _seeds: Sequence[bytes]) -> None:
    """Bend a byte that looks like a length (it counts the bytes after it, give or take a header)."""
    size = len(data)
    candidates = [i for i in range(min(size, 64)) if data[i] > 0 and abs(data[i] - (size - i - 1)) <= 16]
    at = rng.choice(candidates) if candidates else (rng.randrange(size) if size else None)
    if at is None:
        return
    data[at] = rng.choice(((data[at] + 1) & 0xFF, (data[at] - 1) & 0xFF, 0x00, 0x7F, 0x80, 0x81, 0x82, 0xFF))


def graft(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> None:
    """Insert a piece of another seed: a whole record or field from elsewhere lands in a new context."""
    other = rng.choice(seeds)
    start = rng.randrange(len(other) + 1)
    at = rng.randrange(len(data) + 1)
    data[at:at] = other[start : start + rng.randrange(1, 13)]


MUTATIONS: tuple[Callable[[random.Random, bytearray, Sequence[bytes]], None], ...] = (
    flip, flip, replace, interesting, insert, delete, truncate, splice, duplicate, graft, length_tweak,
    length_tweak,
)


def mutate(rng: random.Random, seed: bytes, seeds: Sequence[bytes]) -> bytes:
    data = bytearray(seed)
    for _ in range(rng.choice((1, 1, 2, 3, 4))):
        rng.choice(MUTATIONS)(rng, data, seeds)
    return bytes(data)


def random_bytes(rng: random.Random) -> bytes:
    """Mostly short: a decoder's corner cases sit in its first few bytes (a DIF, a tag, a length)."""
    return rng.randbytes(rng.randrange(rng.choice((4, 12, 32, MAX_RANDOM))))



def byte_input(rng: random.Random, seeds: Sequence[bytes]) -> bytes:
    if rng.random() < RANDOM_SHARE:
        return random_bytes(rng)
    return mutate(rng, rng.choice(seeds), seeds)


# -- JSON documents (the CLI's JSON → frame path) -------------------------------------------------------

ODD_VALUES: tuple[Any, ...] = (None, True, 0, -1, 256, 65536, 2**64, 1.5, float("inf"), "", "zz", "0x", "7f",
                               "2F2F", "-1", "NaN", "1e999999", "2024-13-01", [], {}, [1, 2], {"x": 1})


def mutate_json(rng: random.Random, document: Any) -> Any:
    """Replace, drop or retype a few values anywhere in a JSON document (a copy)."""
    copy = json.loads(json.dumps(document))
    for _ in range(rng.choice((1, 1, 2, 3))):
        copy = _bend(rng, copy)
    return copy


def _bend(rng: random.Random, node: Any) -> Any:
    if isinstance(node, dict) and node and rng.random() < 0.75:
        key = rng.choice(sorted(node))
        roll = rng.random()
        if roll < 0.15:
            del node[key]
        else:
            node[key] = _bend(rng, node[key])
        return node
    if isinstance(node, list) and node and rng.random() < 0.75:
        at = rng.randrange(len(node))
        roll = rng.random()
        if roll < 0.15:
            del node[at]
        elif roll < 0.25:
            node.insert(at, copy.deepcopy(node[at]))  # a copy: JSON has no shared nodes, let alone cycles
        else:
            node[at] = _bend(rng, node[at])
        return node
    if isinstance(node, str) and node and rng.random() < 0.5:
        text = bytearray(node.encode("utf-8", "surrogatepass"))
        return mutate(rng, bytes(text), [bytes(text)]).decode("latin-1")
    if isinstance(node, int) and not isinstance(node, bool) and rng.random() < 0.5:
        return node + rng.choice((-1, 1, -256, 256, 2**31, -(2**31)))
    return copy.deepcopy(rng.choice(ODD_VALUES))  # the [] and {} of the table must stay empty
