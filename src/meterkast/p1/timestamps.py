"""P1 time stamps: TST ``YYMMDDhhmmssX`` and the DSMR 2.2/3 ``YYMMDDhhmmss`` ([P1-4.2.2 §5.4]).

"TST: ASCII presentation of Time stamp with Year, Month, Day, Hour, Minute, Second, and an
indication whether DST is active (X=S) or DST is not active (X=W)" [P1-4.0.7 Table 5-1]. The meter
shows Dutch local time, Europe/Amsterdam.

Rules this module keeps:
- decoding gives an aware datetime in Europe/Amsterdam; ``W`` sets ``fold=1`` so the repeated autumn
  hour resolves to winter time (CET) and ``S`` keeps ``fold=0`` (CEST), as dsmr_parser does;
- encoding takes an aware datetime (naive ones are refused: they would silently mean some zone),
  converts it to Europe/Amsterdam and writes ``S`` when DST is in force at that instant, else ``W``;
- two-digit years follow ``strptime``'s ``%y`` pivot (69–99 → 19xx, 00–68 → 20xx), so the meters'
  "no value" stamp ``700101010000W`` is the Unix epoch, 1970-01-01 00:00 UTC;
- the DST letter is read in either case (``150701190000s`` from the field means summer time): the
  letter's meaning does not depend on its case, and a lowercase one is not a damaged line;
- DSMR 2.2/3 profile stamps carry no letter [P1-3.0 §5.10]; the profile status byte's DST bit (0x08,
  DLMS AMR profile status bit 3) says which side of the autumn fold the stamp is on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from meterkast.errors import ClockError, RecordError

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EMPTY_TST = "700101010000W"  # what meters show on an emptied M-Bus channel (Iskra AM550)
DST_STATUS_BIT = 0x08  # DLMS AMR profile status: daylight saving active
_FOLD = {"S": 0, "W": 1, "s": 0, "w": 1}
_LETTERS = frozenset({"", *_FOLD})  # after the 12 digits: a DST letter, or none
_DIGITS = frozenset("0123456789")


def decode_tst(text: str) -> datetime:
    """``YYMMDDhhmmssX`` → aware datetime in Europe/Amsterdam; RecordError if malformed."""
    fold = _FOLD.get(text[12:])
    if fold is None or len(text) != 13 or not text[:12].isdecimal():
        raise RecordError(f"time stamp {text!r} is not YYMMDDhhmmss followed by S or W")
    # One int() and divmods: the hot path of every telegram (see benchmarks/bench_p1_parse.py).
    rest, second = divmod(int(text[:12]), 100)
    rest, minute = divmod(rest, 100)
    rest, hour = divmod(rest, 100)
    rest, day = divmod(rest, 100)
    year, month = divmod(rest, 100)
    try:
        return datetime(
            year + 2000 if year < 69 else year + 1900, month, day, hour, minute, second, 0, AMSTERDAM, fold=fold
        )
    except ValueError as exc:
        raise RecordError(f"time stamp {text!r} is not a calendar date and time: {exc}") from exc


def decode_tst_or_none(text: str) -> datetime | None:
    """Like ``decode_tst`` but a well-formed stamp that is no calendar date gives None (``is_placeholder``).

    Fluvius meters fill unused max-demand history slots with ``632525252525W`` (month 25); that is
    the meter's "no value", not a damaged line.
    """
    if len(text) == 13 and text[12] in _FOLD and _DIGITS.issuperset(text[:12]):
        try:
            return decode_tst(text)
        except RecordError:
            return None
    return decode_tst(text)  # raises with the reason


def is_placeholder(text: str) -> bool:
    """A well-formed ``YYMMDDhhmmss[X]`` that is no calendar date (``632525252525W``: a vendor's "no value")."""
    if len(text) not in {12, 13} or text[12:] not in _LETTERS or not _DIGITS.issuperset(text[:12]):
        return False
    try:
        decode_tst(text[:12] + "W")
    except RecordError:
        return True
    return False


def encode_tst(moment: datetime) -> str:
    """Aware datetime → ``YYMMDDhhmmssX`` in Europe/Amsterdam (whole seconds, truncated)."""
    local = _local(moment)
    letter = "S" if local.dst() else "W"
    return local.strftime("%y%m%d%H%M%S") + letter


def decode_tst12(text: str, status: int = 0) -> datetime:
    """DSMR 2.2/3 ``YYMMDDhhmmss``; the status byte's DST bit picks the side of the autumn fold."""
    if len(text) != 12 or not _DIGITS.issuperset(text):
        raise RecordError(f"time stamp {text!r} is not YYMMDDhhmmss")
    try:
        return decode_tst(text + ("S" if status & DST_STATUS_BIT else "W"))
    except RecordError as exc:  # name the stamp as sent: the letter came from the status byte
        raise RecordError(f"time stamp {text!r} is not a calendar date and time") from exc


def encode_tst12(moment: datetime) -> tuple[str, int]:
    """Aware datetime → (``YYMMDDhhmmss``, profile status with the DST bit when DST is in force)."""
    local = _local(moment)
    return local.strftime("%y%m%d%H%M%S"), DST_STATUS_BIT if local.dst() else 0


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ClockError(f"time {moment.isoformat()} has no time zone; P1 needs an aware datetime")
    local = moment.astimezone(AMSTERDAM)
    if not 1969 <= local.year <= 2068:
        raise RecordError(f"time {moment.isoformat()} is outside 1969–2068, which YY cannot show")
    return local
