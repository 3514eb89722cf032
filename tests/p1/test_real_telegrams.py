"""Real telegrams of other projects' suites (tests/p1/real_telegrams.py): meterkast reads every value
dsmr_parser reads, under every dsmr_parser spec, by every path (decode_telegram, P1Decoder, the
framer on a stream, ``p1 parse``); what it cannot read is a listed problem, never a dropped telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import pytest

from meterkast.errors import FrameError, LinkError
from meterkast.io.p1_reader import MemoryTransport, SerialSettings, p1_reader
from meterkast.p1.decode import decode_telegram
from meterkast.p1.framer import P1Framer
from meterkast.p1.plan import P1Decoder
from meterkast.p1.scan import scan_telegrams
from meterkast.p1.telegram import Telegram
from meterkast.p1.timestamps import AMSTERDAM
from meterkast.p1.values import CapturedValue
from tests.p1.dsmr_compare import compare_read
from tests.p1.real_telegrams import REAL, Real

SPECS = (
    "V2_2", "V3", "V4", "V5", "BELGIUM_FLUVIUS", "LUXEMBOURG_SMARTY", "SWEDEN", "Q3D", "EON_HUNGARY",
    "AUSTRIA_ENERGIENETZE_STEIERMARK", "ISKRA_IE", "SAGEMCOM_T210_D_R", "MSN",
)  # fmt: skip
# Lines read differently on purpose: MSN's CT ratio (100*A)(-063*A) is two values; meterkast keeps both raw.
KNOWN = {"1-1:31.4.0"}


def _agreement(sample: Real, spec: str) -> list[tuple[str, str, bool]]:
    try:
        return compare_read(sample.data.decode("latin-1"), spec, decode_telegram(sample.data))
    except IndexError:  # dsmr_parser's own parser fails on the line (Fluvius spec on `0-0:98.1.0(12)`)
        return []


@pytest.mark.parametrize("sample", REAL, ids=lambda r: r.name)
def test_every_value_dsmr_parser_reads_is_read_the_same(sample: Real, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="dsmr_parser")
    telegram = decode_telegram(sample.data)
    assert len(telegram.errors) == sample.problems, telegram.errors
    compared = 0
    for spec in SPECS:
        results = _agreement(sample, spec)
        compared += len(results)
        assert [r for r in results if not r[2] and r[1] not in KNOWN | sample.misread] == [], spec
    assert compared and telegram.values


@pytest.mark.parametrize("sample", REAL, ids=lambda r: r.name)
def test_the_per_meter_decoder_agrees(sample: Real) -> None:
    decoder = P1Decoder()
    expected = repr(decode_telegram(sample.data))
    assert repr(decoder.decode(sample.data)) == expected
    assert repr(decoder.decode(sample.data)) == expected  # the planned path the second time


FRAMED = [r for r in REAL if r.data.startswith(b"/")]  # a stream needs the '/' to find a telegram


def _ended(sample: Real) -> bytes:
    """The telegram as a stream carries it: a capture that stops before '!' gets one."""
    return sample.data if b"!" in sample.data else sample.data + b"!\r\n"


def test_a_stream_of_all_of_them_in_odd_chunks_frames_every_one() -> None:
    ended = [_ended(r) for r in FRAMED]
    stream = b"\x00garbage" + b"junk\r\n".join(ended)  # the last one without CR LF after its CRC
    chunks = random.Random(10).choices(range(1, 40), k=len(stream))
    framer, frames, at = P1Framer(), [], 0
    for size in chunks:
        frames += framer.feed(stream[at : at + size])
        at += size
    frames += framer.flush()
    # A telegram without CRC followed by "junk" on its "!" line: that text stands where a CRC belongs,
    # so it is a damaged CRC (not verified), and its frame keeps the text for the decoder to list.
    ends = [e.rstrip(b"\r\n") for e in ended]
    damaged = [e.endswith(b"!") for e in ended[:-1]] + [False]
    assert [f.data.rstrip(b"\r\n") for f in frames] == [
        e + b"junk" if d else e for e, d in zip(ends, damaged, strict=True)
    ]
    was_bad = [decode_telegram(e).crc_ok is False for e in ended]  # (a Belgian capture ended "!": CRC missing)
    assert [f.crc_ok is False for f in frames] == [d or b for d, b in zip(damaged, was_bad, strict=True)]
    for frame, sample in zip(frames, FRAMED, strict=True):
        assert decode_telegram(frame.data).values == decode_telegram(sample.data).values, sample.name


@pytest.mark.parametrize("ends", [b"\n", b"\r\r\n"], ids=["LF", "CR CR LF"])
def test_other_line_ends_read_the_same_values(ends: bytes) -> None:
    for sample in REAL:
        changed = sample.data.replace(b"\r\n", ends)
        expected = decode_telegram(sample.data)
        assert decode_telegram(changed).values == expected.values, sample.name
        assert len(decode_telegram(changed).errors) == len(expected.errors), sample.name


STREAMS: dict[str, Callable[[list[bytes]], bytes]] = {
    "CR LF": b"".join,
    "LF only": lambda ts: b"".join(t.replace(b"\r\n", b"\n") for t in ts),
    "CR CR LF": lambda ts: b"".join(t.replace(b"\r\n", b"\r\r\n") for t in ts),
    "NUL after the CRC": lambda ts: b"".join(t.rstrip(b"\r\n") + b"\0\r\n" for t in ts),
    "garbage between": b"\xff\0junk".join,
    "nothing after the CRC": lambda ts: b"".join(t.rstrip(b"\r\n") for t in ts),
}


@pytest.mark.parametrize("shape", STREAMS)
def test_the_reader_yields_every_one_whatever_the_stream_looks_like(shape: str) -> None:
    ended = [_ended(r) for r in FRAMED]
    stream = STREAMS[shape](ended)
    sizes = random.Random(shape).choices(range(1, 64), k=len(stream))
    chunks, at = [], 0
    for size in sizes:
        chunks.append(stream[at : at + size])
        at += size

    async def connect(url: str, settings: SerialSettings) -> MemoryTransport:
        return MemoryTransport(chunks)

    async def read_all() -> list[Telegram]:
        got = []
        with contextlib.suppress(LinkError):
            async for telegram in p1_reader("memory", connect=connect, max_reconnects=0, skip_bad_crc=False):
                got.append(telegram)
        return got

    got = asyncio.run(read_all())
    assert [t.values for t in got] == [decode_telegram(e).values for e in ended]


def test_p1_parse_shows_every_one_with_its_problems() -> None:
    scanned = scan_telegrams(b"".join(r.data + b"\r\n" for r in FRAMED))
    assert [s.telegram is not None for s in scanned] == [True] * len(FRAMED)
    assert [len(s.problems) for s in scanned] == [r.problems for r in FRAMED]


def test_lines_whose_header_line_was_lost_are_read_not_verified() -> None:
    """A capture that starts after the '/' line: p1 parse shows its lines; the CRC cannot match."""
    (headless,) = [r for r in REAL if not r.data.startswith(b"/")]
    (scanned,) = scan_telegrams(headless.data)
    assert scanned.telegram is not None and scanned.telegram.crc_ok is False
    assert scanned.telegram.values == decode_telegram(headless.data).values
    assert [p.reason for p in scanned.problems] == ["no '/' header line: the start of the telegram is missing"]
    with pytest.raises(FrameError):
        decode_telegram(headless.data, strict=True)


def test_a_max_demand_sent_value_first_is_read_with_its_time_and_a_note() -> None:
    """dsmr_parser reads 1-0:1.6.0(08.796*kW)(260102010000) as the value 260102010000 without a time."""
    (sample,) = [r for r in REAL if "1-0:1.6.0" in r.misread]
    telegram = decode_telegram(sample.data)
    peak = telegram.values["1-0:1.6.0"]
    assert isinstance(peak, CapturedValue)
    assert (peak.time, peak.value, peak.unit) == (datetime(2026, 1, 2, 1, tzinfo=AMSTERDAM), Decimal("8.796"), "kW")
    assert [n.text for n in telegram.notes] == ["1-0:1.6.0(08.796*kW)(260102010000)"]


def test_a_connection_closing_before_the_last_telegrams_end_is_reported_or_shown() -> None:
    """Not verified (no CRC, may be cut off): shown with the cut as a problem only when asked for."""
    (capture,) = [r for r in REAL if r.name == "Iskra MT382, input ends before '!'"]

    async def connect(url: str, settings: SerialSettings) -> MemoryTransport:
        return MemoryTransport([capture.data[:100], capture.data[100:]])

    async def read_all(skip_bad_crc: bool) -> list[Telegram]:
        got = []
        with contextlib.suppress(LinkError):
            async for telegram in p1_reader("memory", connect=connect, max_reconnects=0, skip_bad_crc=skip_bad_crc):
                got.append(telegram)
        return got

    assert asyncio.run(read_all(skip_bad_crc=True)) == []
    (shown,) = asyncio.run(read_all(skip_bad_crc=False))
    assert shown.values == decode_telegram(capture.data).values
    assert [e.reason for e in shown.errors] == ["no '!' end marker: the telegram is cut off or ended without it"]
