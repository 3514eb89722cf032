"""EN 13757-3:2013 value information tables as data (clause 6.4, Tables 10–15).

- ``PRIMARY``: the primary VIF table (Table 10), keyed by VIF without the extension bit;
- ``EXTENSION_FD``: the main extension table after VIF FDh (Table 14), also used by DSMR P2 (FD 08 frame
  counter, FD 0C.. versions, FD 17 status, FD 19 key, FD 1A valve, FD 67 configuration);
- ``EXTENSION_FB``: the alternate extension table after VIF FBh (Table 12);
- ``COMBINABLE``: the orthogonal VIFE table (Table 15) that may follow any VIF; its multiplicative
  correction factors (E111 0nnn, E111 1101) change the exponent, the rest name a modifier.

Every table is total over 0x00–0x7F: unassigned codes map to a ``reserved`` entry, so a lookup never
fails and the decoder never branches on the code. Scale families (E000 0nnn…) are written as one row
each and expanded by ``_family``; values are ``raw × 10**exponent`` in the unit named, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class VifInfo:
    """What a VIF (or VIF extension code) means: quantity, unit and the power of ten of one raw step."""

    quantity: str
    unit: str = ""
    exponent: int = 0
    time_point: bool = False  # the data is an Annex A date/time; its type follows from the data length


@dataclass(frozen=True, slots=True)
class VifeInfo:
    """A combinable (orthogonal) VIFE: its name and the exponent it adds (multiplicative correction)."""

    name: str
    exponent: int = 0


RESERVED = VifInfo("reserved")
DURATION_UNITS = ("s", "min", "h", "d")
LONG_DURATION_UNITS = ("h", "d", "month", "year")


def _family(first: int, count: int, quantity: str, unit: str, exponent0: int) -> dict[int, VifInfo]:
    return {first + n: VifInfo(quantity, unit, exponent0 + n) for n in range(count)}


def _durations(first: int, quantity: str, units: tuple[str, ...] = DURATION_UNITS) -> dict[int, VifInfo]:
    return {first + n: VifInfo(quantity, unit) for n, unit in enumerate(units)}


def _total(entries: dict[int, VifInfo]) -> dict[int, VifInfo]:
    return {code: entries.get(code, RESERVED) for code in range(0x80)}


PRIMARY: dict[int, VifInfo] = _total({
    **_family(0x00, 8, "energy", "Wh", -3),
    **_family(0x08, 8, "energy", "J", 0),
    **_family(0x10, 8, "volume", "m³", -6),
    **_family(0x18, 8, "mass", "kg", -3),
    **_durations(0x20, "on time"),
    **_durations(0x24, "operating time"),
    **_family(0x28, 8, "power", "W", -3),
    **_family(0x30, 8, "power", "J/h", 0),
    **_family(0x38, 8, "volume flow", "m³/h", -6),
    **_family(0x40, 8, "volume flow", "m³/min", -7),
    **_family(0x48, 8, "volume flow", "m³/s", -9),
    **_family(0x50, 8, "mass flow", "kg/h", -3),
    **_family(0x58, 4, "flow temperature", "°C", -3),
    **_family(0x5C, 4, "return temperature", "°C", -3),
    **_family(0x60, 4, "temperature difference", "K", -3),
    **_family(0x64, 4, "external temperature", "°C", -3),
    **_family(0x68, 4, "pressure", "bar", -3),
    0x6C: VifInfo("time point (date)", time_point=True),
    0x6D: VifInfo("time point (date and time)", time_point=True),
    0x6E: VifInfo("heat cost allocator units", "HCA"),
    **_durations(0x70, "averaging duration"),
    **_durations(0x74, "actuality duration"),
    0x78: VifInfo("fabrication number"),
    0x79: VifInfo("enhanced identification"),
    0x7A: VifInfo("bus address"),
    0x7B: VifInfo("extension FB"),
    0x7C: VifInfo("plain text VIF"),
    0x7D: VifInfo("extension FD"),
    0x7E: VifInfo("any VIF"),
    0x7F: VifInfo("manufacturer specific"),
})

EXTENSION_FD: dict[int, VifInfo] = _total({
    **_family(0x00, 4, "credit", "currency units", -3),
    **_family(0x04, 4, "debit", "currency units", -3),
    0x08: VifInfo("access number"),  # DSMR P2 §5.2: the frame counter
    0x09: VifInfo("medium"),
    0x0A: VifInfo("manufacturer"),
    0x0B: VifInfo("parameter set identification"),
    0x0C: VifInfo("model / version"),
    0x0D: VifInfo("hardware version"),
    0x0E: VifInfo("firmware version"),
    0x0F: VifInfo("software version"),
    0x10: VifInfo("customer location"),
    0x11: VifInfo("customer"),
    0x12: VifInfo("access code user"),
    0x13: VifInfo("access code operator"),
    0x14: VifInfo("access code system operator"),
    0x15: VifInfo("access code developer"),
    0x16: VifInfo("password"),
    0x17: VifInfo("error flags"),  # DSMR P2 §6.3.3: the status byte
    0x18: VifInfo("error mask"),
    0x19: VifInfo("reserved (DSMR P2 §6.5.1: encrypted user key)"),
    0x1A: VifInfo("digital output"),  # DSMR 4.0 P2 §6.4.5: valve status
    0x1B: VifInfo("digital input"),
    0x1C: VifInfo("baud rate", "Bd"),
    0x1D: VifInfo("response delay time", "bit times"),
    0x1E: VifInfo("retry"),
    0x1F: VifInfo("remote control"),
    0x20: VifInfo("first storage number for cyclic storage"),
    0x21: VifInfo("last storage number for cyclic storage"),
    0x22: VifInfo("size of storage block"),
    **_durations(0x24, "storage interval"),
    0x28: VifInfo("storage interval", "month"),
    0x29: VifInfo("storage interval", "year"),
    **_durations(0x2C, "duration since last readout"),
    0x30: VifInfo("start of tariff", time_point=True),
    **{0x31 + n: VifInfo("duration of tariff", unit) for n, unit in enumerate(("min", "h", "d"))},
    **_durations(0x34, "period of tariff"),
    0x38: VifInfo("period of tariff", "month"),
    0x39: VifInfo("period of tariff", "year"),
    0x3A: VifInfo("dimensionless"),
    **_family(0x40, 16, "voltage", "V", -9),
    **_family(0x50, 16, "current", "A", -12),
    0x60: VifInfo("reset counter"),
    0x61: VifInfo("cumulation counter"),
    0x62: VifInfo("control signal"),
    0x63: VifInfo("day of week"),
    0x64: VifInfo("week number"),
    0x65: VifInfo("time point of day change"),
    0x66: VifInfo("state of parameter activation"),
    0x67: VifInfo("special supplier information"),  # DSMR P2 §6.4.9: meter configuration
    **_durations(0x68, "duration since last cumulation", LONG_DURATION_UNITS),
    **_durations(0x6C, "operating time battery", LONG_DURATION_UNITS),
    0x70: VifInfo("date and time of battery change", time_point=True),
    0x71: VifInfo("RF level", "dBm"),
    0x72: VifInfo("daylight saving"),
    0x73: VifInfo("listening window management"),
    0x74: VifInfo("remaining battery life time", "d"),
    0x75: VifInfo("number of times the meter was stopped"),
})

EXTENSION_FB: dict[int, VifInfo] = _total({
    **_family(0x00, 2, "energy", "Wh", 5),
    **_family(0x08, 2, "energy", "J", 8),
    **_family(0x10, 2, "volume", "m³", 2),
    **_family(0x18, 2, "mass", "kg", 5),
    0x21: VifInfo("volume", "ft³", -1),
    **_family(0x22, 2, "volume", "US gal", -1),
    0x24: VifInfo("volume flow", "US gal/min", -3),
    0x25: VifInfo("volume flow", "US gal/min", 0),
    0x26: VifInfo("volume flow", "US gal/h", 0),
    **_family(0x28, 2, "power", "W", 5),
    **_family(0x30, 2, "power", "J/h", 8),
    **_family(0x58, 4, "flow temperature", "°F", -3),
    **_family(0x5C, 4, "return temperature", "°F", -3),
    **_family(0x60, 4, "temperature difference", "°F", -3),
    **_family(0x64, 4, "external temperature", "°F", -3),
    **_family(0x70, 4, "cold / warm temperature limit", "°F", -3),
    **_family(0x74, 4, "cold / warm temperature limit", "°C", -3),
    **_family(0x78, 8, "cumulative count max power", "W", -3),
})

_RECORD_ERRORS = {
    0x00: "no error", 0x01: "too many DIFEs", 0x02: "storage number not implemented",
    0x03: "unit number not implemented", 0x04: "tariff number not implemented",
    0x05: "function not implemented", 0x06: "data class not implemented", 0x07: "data size not implemented",
    0x0B: "too many VIFEs", 0x0C: "illegal VIF group", 0x0D: "illegal VIF exponent",
    0x0E: "VIF/DIF mismatch", 0x0F: "unimplemented action", 0x15: "no data available",
    0x16: "data overflow", 0x17: "data underflow", 0x18: "data error", 0x1C: "premature end of record",
}
_PER = ("second", "minute", "hour", "day", "week", "month", "year", "revolution / measurement")
_LIMIT_DATES = {0x42: "lower limit, first begin", 0x43: "lower limit, first end", 0x46: "lower limit, last begin",
                0x47: "lower limit, last end", 0x4A: "upper limit, first begin", 0x4B: "upper limit, first end",
                0x4E: "upper limit, last begin", 0x4F: "upper limit, last end"}
_COMBINABLE_NAMES: dict[int, str] = {
    **{code: f"record error: {text}" for code, text in _RECORD_ERRORS.items()},
    **{0x20 + n: f"per {unit}" for n, unit in enumerate(_PER)},
    0x28: "increment per input pulse on input channel 0", 0x29: "increment per input pulse on input channel 1",
    0x2A: "increment per output pulse on output channel 0", 0x2B: "increment per output pulse on output channel 1",
    0x2C: "per litre", 0x2D: "per m³", 0x2E: "per kg", 0x2F: "per K", 0x30: "per kWh", 0x31: "per GJ",
    0x32: "per kW", 0x33: "per K·l", 0x34: "per V", 0x35: "per A", 0x36: "multiplied by s",
    0x37: "multiplied by s/V", 0x38: "multiplied by s/A", 0x39: "start date(/time) of",
    0x3A: "uncorrected unit", 0x3B: "accumulation only if positive contributions",
    0x3C: "accumulation of absolute value only if negative contributions",
    0x40: "lower limit value", 0x41: "number of exceeds of lower limit", 0x48: "upper limit value",
    0x49: "number of exceeds of upper limit",
    **{code: f"date(/time) of {text}" for code, text in _LIMIT_DATES.items()},
    **{0x50 + n: f"duration of limit exceed ({'upper' if n & 8 else 'lower'}, {'last' if n & 4 else 'first'}, "
       f"{DURATION_UNITS[n & 3]})" for n in range(16)},
    **{0x60 + n: f"duration of ({'last' if n & 4 else 'first'}, {DURATION_UNITS[n & 3]})" for n in range(8)},
    0x68: "value during lower limit exceed", 0x6C: "value during upper limit exceed",
    0x6A: "date(/time) of first begin", 0x6B: "date(/time) of first end",
    0x6E: "date(/time) of last begin", 0x6F: "date(/time) of last end",
    **{0x78 + n: f"additive correction constant 10^{n - 3} × unit of VIF" for n in range(4)},
    0x7E: "future value", 0x7F: "manufacturer specific VIFEs and data follow",
}
COMBINABLE: dict[int, VifeInfo] = {
    **{code: VifeInfo(_COMBINABLE_NAMES.get(code, "reserved")) for code in range(0x80)},
    **{0x70 + n: VifeInfo(f"multiplicative correction factor 10^{n - 6}", n - 6) for n in range(8)},
    0x7D: VifeInfo("multiplicative correction factor 10^3", 3),
}
MANUFACTURER_VIFE = 0x7F
