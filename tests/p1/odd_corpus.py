"""Odd but real-world-shaped telegrams: the quirks seen from meters in the field (issue 10).

Each is a real telegram of the corpus (dsmr_parser's, ../shared/testdata) with one quirk applied and
its CRC recomputed (or deliberately left wrong), so the quirk is the only thing that differs from a
telegram both decoders already agree on. ``crc_ok`` is what the CRC check must say.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from meterkast.p1.crc import crc16
from tests.p1.corpus import by_name


def with_crc(data: bytes, *, case: str = "upper") -> bytes:
    """``data`` with the 4 hex digits after ``!`` recomputed over ``/`` through ``!``."""
    start, bang = data.find(b"/"), data.find(b"!")
    digits = b"%04X" % crc16(data[start : bang + 1])
    return data[: bang + 1] + (digits.lower() if case == "lower" else digits) + data[bang + 5 :]


@dataclass(frozen=True)
class Odd:
    name: str
    data: bytes
    dsmr_spec: str  # dsmr_parser spec to compare with
    crc_ok: bool | None
    problems: int  # lines the decoder must list as problems (placeholder stamps are notes, not problems)


def _sub(data: bytes, pattern: bytes, replacement: bytes, count: int = 1) -> bytes:
    changed, done = re.subn(pattern, replacement, data, count=count)
    assert done, pattern
    return changed


V42 = by_name("v4_2").data  # Kaifa-style DSMR 4.2 with gas on channel 1 (dsmr_parser's test telegram)
V5 = by_name("v5").data
V3 = by_name("v3").data
FLUVIUS = by_name("fluvius_v171").data

Quirk = Callable[[bytes], bytes]


def _odd() -> list[Odd]:
    odd = [
        Odd("no CR LF after the CRC at end of input", V42.rstrip(b"\r\n"), "V4", True, 0),
        Odd("lowercase DST flag", with_crc(_sub(V42, rb"0-0:1\.0\.0\((\d{12})W\)", rb"0-0:1.0.0(\1w)")), "V4", True, 0),
        Odd(
            "lowercase DST flag on the gas reading",
            with_crc(_sub(FLUVIUS, rb"(0-2:24\.2\.1\(\d{12})S", rb"\1s")),
            "BELGIUM_FLUVIUS",
            True,
            0,
        ),
        Odd(
            "placeholder stamp on the gas reading",
            with_crc(_sub(V42, rb"0-1:24\.2\.1\(\d{12}W", b"0-1:24.2.1(632525252525W")),
            "V4",
            True,
            0,
        ),
        Odd(  # dsmr_parser: 1.001 m3 with time None; meterkast: the same, the stamp in a note
            "DSMR 3 gas profile with a vendor placeholder stamp",
            _sub(V3, rb"0-1:24\.3\.0\(\d{12}\)", b"0-1:24.3.0(632525252525)"),
            "V3",
            None,
            0,
        ),
        Odd(
            "DSMR 3 gas profile with an all-zero stamp",
            _sub(V3, rb"0-1:24\.3\.0\(\d{12}\)", b"0-1:24.3.0(000000000000)"),
            "V3",
            None,
            0,
        ),
        Odd(
            "placeholder stamp as the telegram time",
            with_crc(_sub(V5, rb"0-0:1\.0\.0\(\d{12}[SW]", b"0-0:1.0.0(632525252525W")),
            "V5",
            True,
            0,
        ),
        Odd(
            "header byte outside ASCII",
            with_crc(V42.replace(b"/KFM5KAIFA-METER", b"/KFM5KAIFA-\xabMETER")),
            "V4",
            True,
            0,
        ),
        Odd("CRC mismatch", V42.replace(b"001581.123", b"001581.124"), "V4", False, 0),
        Odd("CRC in lowercase hex", with_crc(V5, case="lower"), "V5", True, 0),
        Odd("LF-only line ends", with_crc(V5.replace(b"\r\n", b"\n")), "V5", True, 0),
        Odd("extra blank lines", with_crc(V5.replace(b"\r\n1-0:1.8.2", b"\r\n\r\n  \r\n1-0:1.8.2")), "V5", True, 0),
        Odd(
            "blanks at line ends and before '('",
            with_crc(V5.replace(b"*kWh)\r\n", b"*kWh)  \r\n").replace(b"1-0:1.7.0(", b"1-0:1.7.0 (")),
            "V5",
            True,
            0,
        ),
        Odd(
            "unknown OBIS lines, one long",
            with_crc(V5.replace(b"\r\n!", b"\r\n1-0:99.99.9(12)(ab)\r\n0-0:96.99.8(" + b"41" * 600 + b")\r\n!")),
            "V5",
            True,
            0,
        ),
        Odd("units in odd case", with_crc(V42.replace(b"*kWh)", b"*kwh)").replace(b"*m3)", b"*M3)")), "V4", True, 0),
        Odd(
            "gas reading without unit",
            with_crc(_sub(V42, rb"(0-1:24\.2\.1\(\d{12}W\)\(\d+\.\d+)\*m3\)", rb"\1)")),
            "V4",
            True,
            0,
        ),
        Odd("empty register value", with_crc(_sub(V5, rb"1-0:2\.8\.1\([^)]*\)", b"1-0:2.8.1()")), "V5", True, 1),
        Odd("space inside a value", with_crc(_sub(V5, rb"1-0:2\.8\.2\(0*", b"1-0:2.8.2( ")), "V5", True, 1),
        Odd("'(' inside a text", with_crc(V42.replace(b"0-0:96.13.1()", b"0-0:96.13.1(a(b)")), "V4", True, 1),
        Odd(
            "power failure log with 0 entries",
            with_crc(_sub(V42, rb"1-0:99\.97\.0\([^\r]*", b"1-0:99.97.0(0)(0-0:96.7.19)")),
            "V4",
            True,
            0,
        ),
        Odd("text after the CRC", V5.rstrip(b"\r\n") + b" \x00junk\r\n", "V5", True, 1),
        Odd("text before the '/'", b"\x00\xff\xfegarbage" + V5, "V5", True, 1),
        # DSMR 4 requires a CRC [P1-4.2.2 §5.2]: its absence is a problem, the values not verified (dsmr_parser's
        # V4 spec with its checksum validation refuses the telegram: 'The content or CRC value is missing').
        Odd("no CRC (a DSMR 4 telegram cut to '!')", V42[: V42.index(b"!") + 1] + b"\r\n", "V4", False, 1),
        Odd("DSMR 3 gas with continuation line, LF only", V3.replace(b"\r\n", b"\n"), "V3", None, 0),
        Odd("Fluvius placeholder stamps in the max demand history", FLUVIUS, "BELGIUM_FLUVIUS", True, 0),
        Odd(
            "time stamps without their DST letter",
            with_crc(V42.replace(b"(161113205757W)", b"(161113205757)").replace(b"(161129200000W)", b"(161129200000)")),
            "V4",
            True,
            0,
        ),
        Odd("CR CR LF line ends", with_crc(V5.replace(b")\r\n", b")\r\r\n")), "V5", True, 0),
        Odd("a header shorter than /XXX5", with_crc(V5.replace(b"/ISk5\\2MT382-1000", b"/KAM")), "V5", True, 0),
    ]
    return odd


ODD = _odd()
