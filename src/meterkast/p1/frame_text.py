"""Locate one telegram in its input: header, body, CRC ([P1-4.2.2 §5.2], [P1-3.0 §5.2]).

``frame_telegram`` is the first step of ``decode_telegram`` and ``P1Decoder``: it finds the ``/``,
the header line, the ``!`` and the CRC after it, checks the CRC over the octets, and lists what is
around the lines (text before ``/``, after the CRC; a missing ``!``) as problems beside them
(docs/p1.md, "What the decoder tolerates"). Bytes are bytes: the input is read as Latin-1.
"""

from __future__ import annotations

import re
from functools import partial
from typing import NamedTuple

from meterkast.errors import ChecksumError, FrameError
from meterkast.p1.crc import crc16, parse_crc
from meterkast.p1.telegram import LineError

_CRC_TEXT = re.compile(r"[0-9A-Fa-f]{1,4}", re.ASCII)
_OBIS_LINE = re.compile(r"^[ \t]*\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}", re.MULTILINE | re.ASCII)
# The lines that say a telegram is DSMR 4 or later (P1 version 40, 42, 50; Fluvius e-MUCS version).
_VERSION = re.compile(rb"^[ \t\0]*(?:1-3:0\.2\.8\([ \t]*(\d{1,3})[ \t]*\)|0-0:96\.1\.4\()", re.MULTILINE)
_BLANK = " \t\0"


def crc_required(raw: bytes | bytearray) -> bool:
    """Whether the telegram says it must carry a CRC: DSMR 4 and later ([P1-4.2.2 §5.2], [P1-5.0.2 §6.2])
    send one always; only DSMR 2.2/3 telegrams ([P1-3.0 §5.2]) end with a bare ``!``.

    The version line ``1-3:0.2.8`` (40, 42, 50; DSMR 4.0 introduced it) or the Fluvius e-MUCS version
    ``0-0:96.1.4`` says which; a telegram without either is taken for a dialect without CRC (2.2/3,
    EasyMeter, E.ON Hungary send no version line). dsmr_parser's V4/V5 specs refuse such a telegram too.
    """
    return any(found.group(1) is None or int(found.group(1)) >= 40 for found in _VERSION.finditer(raw))


class Framed(NamedTuple):
    """A telegram located in its input: header, body and CRC status (shared with ``P1Decoder``)."""

    text: str
    start: int  # index of "/"
    header: str  # after "/", without CR LF
    body_start: int
    body: str  # after the header line, up to (not including) "!"
    crc: int | None
    crc_ok: bool | None
    problems: tuple[LineError, ...]  # around the lines: text before "/", after the CRC
    notes: tuple[LineError, ...]  # tolerated: a header shorter than /XXX5


def shown_text(text: str) -> str:
    """A problem's raw text as reported: at most 60 characters."""
    return text if len(text) <= 60 else text[:57] + "..."


def _as_text(data: bytes | bytearray | memoryview | str) -> tuple[bytes, str]:
    """(octets, Latin-1 text): bytes are bytes, so every octet is one character and none is refused."""
    if type(data) is bytes:  # the common case first: no copy
        return data, data.decode("latin-1")
    if isinstance(data, str):
        try:
            return data.encode("latin-1"), data
        except UnicodeEncodeError:
            # Text beyond Latin-1 (a T211 sent full-width parentheses) came as UTF-8 octets: those
            # octets are the telegram (and its CRC); the lines holding them become problems.
            raw = data.encode("utf-8", "surrogatepass")
            return raw, raw.decode("latin-1")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise FrameError(f"a telegram is bytes or text, not {type(data).__name__}")
    raw = bytes(data)
    return raw, raw.decode("latin-1")


def frame_telegram(data: bytes | bytearray | memoryview | str, *, strict: bool = False) -> Framed:
    """Find header, body and CRC of one telegram; FrameError/ChecksumError if it has none."""
    raw, text = _as_text(data)
    start = text.find("/")
    if start < 0:
        return _without_header(raw, text, strict=strict)
    problems: tuple[LineError, ...] = ()
    if start and text[:start].strip():
        garbage = text[:start].strip()
        problems = (LineError(0, shown_text(garbage), f"{start} bytes before the telegram's '/' ignored"),)
    bang = text.find("!", start)
    if bang < 0:
        if strict or (header_end := text.find("\n", start)) < 0:
            raise FrameError("telegram has no '!' end marker; it is truncated", offset=len(text))
        return _without_end(text, start, header_end, problems)
    header_end = text.find("\n", start, bang)
    if header_end < 0:
        raise FrameError("telegram has no line after its header", offset=start)
    crc, crc_ok, problems = _read_crc(raw, text, start, bang, problems, strict=strict)
    header = text[start + 1 : header_end].rstrip("\r")
    notes = () if len(header) >= 4 else (LineError(1, shown_text("/" + header), "header shorter than /XXX5"),)
    # tuple.__new__ skips the NamedTuple's Python-level __new__: this runs for every telegram.
    return _new_framed((text, start, header, header_end + 1, text[header_end + 1 : bang], crc, crc_ok, problems, notes))


def _read_crc(
    raw: bytes, text: str, start: int, bang: int, problems: tuple[LineError, ...], *, strict: bool
) -> tuple[int | None, bool | None, tuple[LineError, ...]]:
    """(CRC, whether it matches, problems): the text after ``!`` on its line is the CRC, blank (a
    dialect without CRC, if the telegram's version allows it), or a damaged CRC (not verified)."""
    eol = text.find("\n", bang)
    crc_text = (text[bang + 1 :] if eol < 0 else text[bang + 1 : eol]).rstrip("\r")
    crc: int | None = None
    crc_ok: bool | None = None
    if crc_text:
        if strict:
            crc = parse_crc(crc_text.strip(_BLANK))
        elif found := _CRC_TEXT.match(crc_text):  # "!1Q02": CRC 1, which the check finds wrong
            crc = int(found.group(), 16)
            if crc_text[found.end() :].strip(_BLANK):  # a NUL may follow the CRC, as dsmr_parser allows
                problems += (_crc_problem(text, start, bang, crc_text, "text after the CRC ignored"),)
        elif crc_text.strip(_BLANK):
            # "!Q002" where "!1002" was sent: the CRC was damaged on the line, so the telegram is
            # not verified (crc_ok False), never taken for one of a dialect without CRC.
            problems += (_crc_problem(text, start, bang, crc_text, _GARBLED),)
            crc_ok = False
    if crc is None and crc_ok is None and crc_required(raw[start:bang]):
        problems += (_crc_problem(text, start, bang, crc_text, _MISSING),)
        crc_ok = False
        if strict:
            raise ChecksumError("telegram has no CRC after '!' but its version (DSMR 4 or later) requires one")
    if crc is not None:
        computed = crc16(raw[start : bang + 1])
        crc_ok = computed == crc
        if strict and not crc_ok:
            raise ChecksumError(f"telegram CRC is {computed:04X} but it says {crc_text}", offset=bang)
    return crc, crc_ok, problems


def _without_end(text: str, start: int, header_end: int, problems: tuple[LineError, ...]) -> Framed:
    """A telegram whose input ended before its ``!`` (an Iskra MT382 capture ends so): its lines
    are read, and the missing end is a problem, since the telegram may be cut off ([P1-3.0 §5.2])."""
    end = len(text.rstrip("\r\n \t\x00"))
    reason = "no '!' end marker: the telegram is cut off or ended without it"
    problems += (LineError(text.count("\n", start, end) + 2, "", reason),)
    header = text[start + 1 : header_end].rstrip("\r")
    body = text[header_end + 1 : end] + "\r\n"
    return _new_framed((text, start, header, header_end + 1, body, None, None, problems, ()))


def _without_header(raw: bytes, text: str, *, strict: bool) -> Framed:
    """Lines with no ``/`` header before them (a logger lost the first line, domoticz#4874): they
    are read; the missing start is a problem, and the CRC, over octets that lack the header, cannot
    match ([P1-4.2.2 §5.2]), so the values are flagged as not verified."""
    if strict or (line := _OBIS_LINE.search(text)) is None:
        raise FrameError("a telegram starts with '/'; there is none", offset=0)
    first = line.start()
    problems = (LineError(0, "", "no '/' header line: the start of the telegram is missing"),)
    bang = text.find("!", first)
    if bang < 0:
        return _without_end(text, first, first - 1, problems)
    crc: int | None = None
    crc_ok: bool | None = None
    if found := _CRC_TEXT.match(text, bang + 1):
        crc = int(found.group(), 16)
        crc_ok = crc16(raw[first : bang + 1]) == crc
    return _new_framed((text, first, "", first, text[first:bang], crc, crc_ok, problems, ()))


_GARBLED = "CRC damaged: 1 to 4 hex digits expected after '!'; values not verified"
_MISSING = "no CRC after '!', but the telegram's version (DSMR 4 or later) requires one; values not verified"


def _crc_problem(text: str, start: int, bang: int, crc_text: str, reason: str) -> LineError:
    return LineError(text.count("\n", start, bang) + 1, shown_text("!" + crc_text), reason)


_new_framed = partial(tuple.__new__, Framed)
