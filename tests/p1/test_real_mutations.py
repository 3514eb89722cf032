"""Field quirks applied to every line of every real telegram: whatever dsmr_parser reads from the
changed telegram, meterkast reads with the same value (under every dsmr_parser spec), and the
per-meter decoder agrees with the general path.

The quirks are those seen on real meters and adapters: NUL padding, blanks and tabs at a line's end
(also before a DSMR 2.2/3 gas profile's continuation line), blanks before "(", unit case, a unit
left out, lowercase or missing DST letters, lowercase hex, a leading "+", more digits, another M-Bus
channel. Not compared: dsmr_parser reads a few things no meter sends that meterkast lists as a
problem (docs/p1.md): "1.", ".5" and "1E0" as numbers, negative counts, a DST letter other than S/W.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest

from meterkast.p1.decode import decode_telegram
from meterkast.p1.plan import P1Decoder
from tests.p1.corpus import samples
from tests.p1.dsmr_compare import compare_read
from tests.p1.real_telegrams import REAL
from tests.p1.test_real_telegrams import KNOWN, SPECS

_STAMP = re.compile(r"(\d{12})([SW])\)")
QUIRKS: dict[str, Callable[[str], str]] = {
    "NUL after the line": lambda line: line + "\0",
    "blanks after the line": lambda line: line + "  ",
    "tab after the line": lambda line: line + "\t",
    "blank before (": lambda line: line.replace("(", " (", 1),
    "unit in lowercase": lambda line: re.sub(r"\*(\w+)", lambda m: "*" + m.group(1).lower(), line),
    "unit in uppercase": lambda line: re.sub(r"\*(\w+)", lambda m: "*" + m.group(1).upper(), line),
    "no unit": lambda line: re.sub(r"\*\w+\)", ")", line, count=1),
    "DST letter in lowercase": lambda line: _STAMP.sub(lambda m: m.group(1) + m.group(2).lower() + ")", line),
    "no DST letter": lambda line: _STAMP.sub(r"\1)", line),
    "hex in lowercase": lambda line: line.lower() if "96.1." in line else line,
    "leading +": lambda line: re.sub(r"\((\d)", r"(+\1", line, count=1),
    "ten more digits": lambda line: re.sub(r"\((\d+\.\d+)\*", r"(0000000000\1*", line, count=1),
    "no decimals": lambda line: re.sub(r"(\d)\.\d+\*", r"\1*", line, count=1),
    "channel 5": lambda line: re.sub(r"^0-1:", "0-5:", line),
}
TELEGRAMS = [(s.name, s.data, frozenset[str]()) for s in samples()] + [(r.name, r.data, r.misread) for r in REAL]


def _changed(data: bytes, quirk: Callable[[str], str]) -> str:
    lines = data.decode("latin-1").split("\r\n")
    return "\r\n".join(quirk(line) if re.match(r"\d+-\d+:", line) else line for line in lines)


@pytest.mark.parametrize("name", QUIRKS)
def test_a_quirk_on_every_line_reads_as_dsmr_parser_reads_it(name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="dsmr_parser")
    for telegram_name, data, misread in TELEGRAMS:
        text = _changed(data, QUIRKS[name])
        ours = decode_telegram(text.encode("latin-1"))
        decoder = P1Decoder()
        assert repr(decoder.decode(text.encode("latin-1"))) == repr(ours)
        assert repr(decoder.decode(text.encode("latin-1"))) == repr(ours), telegram_name
        for spec in SPECS:
            try:
                results = compare_read(text, spec, ours)
            except IndexError:  # dsmr_parser's own parser fails (Fluvius spec on `0-0:98.1.0(12)`)
                continue
            assert [r for r in results if not r[2] and r[1] not in KNOWN | misread] == [], (telegram_name, spec)
