"""CRC-16/ARC of a P1 telegram ([P1-4.2.2 §5.2], [P1-5.0.2 §6.2], SYSTEM P1).

"CRC is a CRC16 value calculated over the preceding characters in the data message (from “/” to
“!” using the polynomial: x16+x15+x2+1). CRC16 uses no XOR in, no XOR out and is computed with
least significant bit first. The value is represented as 4 hexadecimal characters (MSB first)."
That is CRC-16/ARC: reflected polynomial 0xA001, initial value 0, no final XOR, check value
``crc16(b"123456789") == 0xBB3D``. ``binascii.crc_hqx`` is CRC-16/XMODEM (0x1021, not reflected):
a different polynomial, so it cannot be used, not even with bit reversal.

Rules this module keeps:
- the checksum covers ``/`` through ``!`` inclusive; the caller slices, this module only hashes;
- emit exactly 4 uppercase hex digits; accept 1–4 hex digits of either case when reading (a real
  ``/NWA-WARMTELINK`` device sends ``!B9F``);
- pure Python by default; when the optional ``fastcrc`` package (MIT licence, a compiled extension)
  is importable, ``crc16`` uses its ``crc16.arc`` instead, which gives the same value 25× faster.
  Both are tested against the bit-by-bit definition (tests/p1/test_crc.py, test_crc_backends.py).

Why the pure-Python path is fast: with init 0 and no final XOR the register is ``M(x)·x^16 mod P(x)``
(bits reflected), with M the message read as a polynomial over GF(2). P = x^16+x^15+x^2+1 factors as
(x+1)·F with F = x^15+x+1, a trinomial, so by the Chinese remainder theorem the CRC follows from
``M mod (x+1)`` (the parity of the message: one ``bit_count``) and ``M mod F``. For a trinomial,
``x^(15·2^k) ≡ x^(2^k) + 1 (mod F)`` (squaring is linear over GF(2)), so the high part H of M above
bit ``s = 15·2^k`` folds down as ``H·x^(2^k) + H``: three big-int operations that halve the number,
all in C. About 15 folds take a 1 kB telegram to 15 bits, and a 65 536-entry table does the CRT,
``·x^16`` and the bit reflection at once: ~5 µs, against ~12 µs for 16 masked parities (the method
used before) and ~60 µs for the classic 256-entry table (benchmarks/bench_p1_parse.py).
"""

from __future__ import annotations

import importlib
from array import array
from collections.abc import Callable
from functools import lru_cache

from meterkast.errors import ChecksumError

POLY_REFLECTED = 0xA001
CHECK_VALUE = 0xBB3D  # CRC-16/ARC of b"123456789" (the catalogue's check value)
MASK_BYTES = 8192  # fold schedules of inputs up to this size are cached (telegrams are a few kB)
_F = (1 << 15) | 0b11  # x^15 + x + 1; P = (x + 1)·F
_REVERSE8 = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _byte_table() -> tuple[int, ...]:
    table = []
    for index in range(256):
        crc = index
        for _ in range(8):
            crc = (crc >> 1) ^ POLY_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


TABLE = _byte_table()


def crc16_table(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-16/ARC with the classic 256-entry table; ``crc`` continues an earlier computation."""
    table = TABLE
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def _poly_mod(a: int, m: int) -> int:
    top = m.bit_length()
    while a.bit_length() >= top:
        a ^= m << (a.bit_length() - top)
    return a


def _final_table() -> array[int]:
    """Entry ``a | p << 15`` (a = M mod F, p = M mod (x+1)): the reflected ``M·x^16 mod P``.

    The map is linear over GF(2), so the table is the XOR span of its 16 basis values.
    """
    basis = []
    for bit in range(16):
        a, parity = (1 << bit, 0) if bit < 15 else (0, 1)
        register = _poly_mod(a << 16, _F)  # M·x^16 mod F
        if register.bit_count() & 1 != parity:  # F(1) = 1: adding F flips the residue mod (x+1)
            register ^= _F
        basis.append(int(f"{register:016b}"[::-1], 2))  # the CRC is sent bit-reflected
    low = [0]
    for value in basis[:8]:
        low += [entry ^ value for entry in low]
    high = [0]
    for value in basis[8:]:
        high += [entry ^ value for entry in high]
    return array("H", [h ^ lo for h in high for lo in low])


_FINAL = _final_table()


def _schedule(size: int) -> tuple[tuple[int, int, int], ...]:
    """The folds (s, t, 2^s - 1) that bring any ``size``-byte message below 2^15 (see docstring)."""
    bits = 8 * size
    steps = []
    while bits > 15:
        k = max(((bits - 1) // 15).bit_length() - 1, 0)
        s, t = 15 << k, 1 << k
        steps.append((s, t, (1 << s) - 1))
        bits = max(s, bits - s + t + 1)  # L below 2^s; H·x^t + H below 2^(bits - s + t + 1)
    return tuple(steps)


_cached_schedule = lru_cache(maxsize=64)(_schedule)


def crc16_python(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/ARC of ``data`` in pure Python (the polynomial folding of the module docstring)."""
    m = int.from_bytes(bytes(data).translate(_REVERSE8), "big")  # bit i = coefficient of x^i
    parity = m.bit_count() & 1
    size = len(data)
    for s, t, mask in _cached_schedule(size) if size <= MASK_BYTES else _schedule(size):
        high = m >> s
        m = (m & mask) ^ (high << t) ^ high
    return _FINAL[m | parity << 15]


def _compiled() -> Callable[[bytes], int] | None:
    try:  # by name: the optional package has no stubs to check when it is not installed
        module = importlib.import_module("fastcrc.crc16")
    except ImportError:
        return None
    arc: Callable[[bytes], int] = module.arc
    return arc if arc(b"123456789") == CHECK_VALUE else None


_ARC = _compiled()
BACKEND = "fastcrc" if _ARC is not None else "python"  # what crc16 runs on (shown by the benchmark)


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/ARC of ``data`` (the telegram from ``/`` through ``!``)."""
    if _ARC is not None:
        return _ARC(bytes(data))
    return crc16_python(data)


def format_crc(crc: int) -> str:
    """The CRC as the telegram shows it: 4 uppercase hex digits, MSB first."""
    if not 0 <= crc <= 0xFFFF:
        raise ValueError(f"CRC {crc} does not fit in 16 bits")
    return f"{crc:04X}"


_HEX = frozenset("0123456789abcdefABCDEF")


def parse_crc(text: str) -> int:
    """Read the 1–4 hex digits after ``!``; raise ChecksumError naming the text otherwise."""
    if not 1 <= len(text) <= 4 or not _HEX.issuperset(text):
        raise ChecksumError(f"CRC {text!r} is not 1 to 4 hex digits; expected e.g. '!6EEE'")
    return int(text, 16)


def check_crc(covered: bytes | bytearray | memoryview, transmitted: int) -> None:
    """Raise ChecksumError when ``covered`` (``/`` through ``!``) does not hash to ``transmitted``."""
    computed = crc16(covered)
    if computed != transmitted:
        raise ChecksumError(
            f"telegram CRC is {computed:04X} but the telegram says {transmitted:04X}; "
            "the telegram was damaged on the line"
        )
