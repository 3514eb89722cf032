"""Hypothesis strategies: TelegramData that a given DSMR version can carry (specs.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from meterkast.p1.data import ABOVE_G6_RESOLUTION, G4_G6_RESOLUTION, MbusChannel, TelegramData
from meterkast.p1.formats import Fixed
from meterkast.p1.specs import ChannelLine, spec_for
from meterkast.p1.timestamps import AMSTERDAM
from meterkast.p1.values import PowerFailure

LATIN1 = st.characters(min_codepoint=0, max_codepoint=255)


def fixed(fmt: Fixed) -> st.SearchStrategy[Decimal]:
    places = fmt.max_decimals
    return st.integers(0, 10**fmt.digits - 1).map(lambda n: Decimal(n).scaleb(-places))


def moments(low: int = 2000, high: int = 2067) -> st.SearchStrategy[datetime]:
    """Whole-second instants shown in Amsterdam time (folds come out right via astimezone)."""
    naive = st.datetimes(datetime(low, 1, 2), datetime(high, 12, 30)).map(lambda d: d.replace(microsecond=0))
    return naive.map(lambda d: d.replace(tzinfo=UTC).astimezone(AMSTERDAM))


def phases(values: st.SearchStrategy[Any], count: int) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.tuples(*[values] * count)


@st.composite
def mbus_channel(draw: st.DrawFn, channel: int, version: str) -> MbusChannel:
    gas_profile = any(c.line is ChannelLine.GAS_PROFILE for c in spec_for(version).channel)
    emptied = not gas_profile and draw(st.booleans())
    device_type = draw(st.integers(0, 9 if gas_profile else 999))
    valve = draw(st.none() | st.integers(0, 9)) if gas_profile else None
    if emptied:
        return MbusChannel(channel, device_type, draw(st.text(LATIN1, max_size=20)), valve=valve)
    if draw(st.booleans()) and draw(st.booleans()):  # installed, no value yet: no reading line
        return MbusChannel(channel, device_type, draw(st.text(LATIN1, max_size=20)), valve=valve, awaiting_first=True)
    resolution = draw(st.sampled_from([G4_G6_RESOLUTION, ABOVE_G6_RESOLUTION]))
    decimals = -int(resolution.as_tuple().exponent)
    return MbusChannel(
        channel,
        device_type,
        draw(st.text(LATIN1, max_size=48)),
        draw(fixed(Fixed(8, decimals, decimals))),
        draw(moments()),
        draw(st.sampled_from(["m3", "GJ", "kWh"])),
        resolution,
        valve,
    )


@st.composite
def telegram_data(draw: st.DrawFn, version: str = "4") -> TelegramData:
    spec = spec_for(version)
    n = draw(st.sampled_from([1, 3]))
    fields: dict[str, Any] = {}
    for line in spec.lines:
        field = line.field
        if field is None or field.name in fields:
            continue
        fmt = line.fmt
        if field.index is not None:
            element: st.SearchStrategy[Any] = fixed(fmt) if isinstance(fmt, Fixed) else st.integers(0, 99999)
            fields[field.name] = draw(phases(element, n))
        elif field.name == "power_failure_log":
            event = st.builds(PowerFailure, moments(), st.integers(0, 9_999_999_999))
            fields[field.name] = tuple(draw(st.lists(event, max_size=10)))
        elif field.name == "timestamp":
            fields[field.name] = draw(moments())
        elif field.name in ("equipment_id",):
            fields[field.name] = draw(st.text(LATIN1, max_size=48))
        elif field.name == "text_code":
            fields[field.name] = draw(st.text(st.sampled_from("0123456789 "), max_size=8))
        elif field.name == "text_message":
            fields[field.name] = draw(st.text(LATIN1, max_size=80))
        elif isinstance(fmt, Fixed):
            fields[field.name] = draw(fixed(fmt))
        else:  # counts, tariff, breaker: integers of the format's width
            width = {"tariff": 4, "breaker_state": 1}.get(field.name, 5)
            fields[field.name] = draw(st.integers(0, 10**width - 1))
    channels = draw(st.lists(st.integers(1, 4), unique=True, max_size=4))
    mbus = tuple(draw(mbus_channel(c, version)) for c in sorted(channels))
    header = draw(st.from_regex(r"[A-Za-z]{3}5[A-Za-z0-9\\ _.-]{1,24}", fullmatch=True))
    return TelegramData(header=header, mbus=mbus, **fields)


def in_utc(data: TelegramData) -> TelegramData:
    """The same data with every datetime in UTC, so equality compares instants (fold included)."""

    def utc(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.astimezone(UTC)

    log = data.power_failure_log
    return replace(
        data,
        timestamp=utc(data.timestamp),
        power_failure_log=None if log is None else tuple(PowerFailure(utc(e.end), e.duration_s) for e in log),
        mbus=tuple(replace(c, capture_time=utc(c.capture_time)) for c in data.mbus),
    )
