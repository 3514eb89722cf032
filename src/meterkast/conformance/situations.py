"""The named field situations of the P1 conformance kit (issue 13 item 2; docs/conformance.md).

Each situation is a short run of telegrams (tens, so a consumer's test suite stays fast) made by the
simulated installation of one or more scenario *segments* (TOML text, ``sim.scenario``). A segment
samples the meter's own telegram grid: from ``first`` on, every ``every`` (a multiple of the port's
interval [P1-4.2.2 §4.5] / [P1-5.0.2 §6], so every telegram is one the meter would send at that instant),
``count`` telegrams. Two segments in a row are two meters behind one P1 cable: the P1 dongle moved
from the old E-meter to its replacement (a meter swap).

``fields`` names what a consumer must get right in this situation (``records.FIELDS``); the checker
compares those, and which telegrams were reported.

Rules: plain frozen data; nothing runs at import time; the table is the single source for
``p1 serve --situation``, ``p1 check`` and the table in docs/conformance.md.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from meterkast.errors import InvalidInput

ELECTRICITY = ("import_t1_kwh", "import_t2_kwh", "export_t1_kwh", "export_t2_kwh", "tariff")
GAS = ("gas_m3", "gas_time", "gas_id")
# A fixed key pair for the encrypted situation (a test key, published here on purpose).
ENCRYPTION_KEY_HEX = "000102030405060708090A0B0C0D0E0F"
SMARTY_AUTHENTICATION_KEY_HEX = "00112233445566778899AABBCCDDEEFF"  # the Luxembourg Smarty public key


@dataclass(frozen=True, slots=True)
class Segment:
    """``count`` telegrams of one scenario's installation, from ``first`` on, one every ``every``."""

    scenario: str  # TOML text (docs/scenarios.md)
    first: datetime
    count: int
    every: timedelta = timedelta(seconds=10)
    stale_decoupled: bool = False  # a decoupled device keeps its last value on P1 (emeter DecoupledStyle.STALE)
    gas_channel: int | None = None  # the live gas meter's channel when it is not the house's first supply


@dataclass(frozen=True, slots=True)
class Situation:
    name: str
    title: str  # the field situation, as people report it
    expect: str  # what a correct consumer reports
    segments: tuple[Segment, ...]
    fields: tuple[str, ...]
    crc_error_rate: float = 0.0  # share of telegrams sent with a wrong CRC [P1-4.2.2 §5.1]
    cut_off_rate: float = 0.0  # share of telegrams cut off before their end
    seed: int = 0  # the fault draws

    @property
    def telegrams(self) -> int:
        return sum(s.count for s in self.segments)

    @property
    def version(self) -> str:
        return _p1_table(self.segments[0].scenario).get("version", "4")

    @property
    def encrypted(self) -> bool:
        return "encryption_key" in _p1_table(self.segments[0].scenario)


def _p1_table(text: str) -> dict[str, str]:
    return dict(tomllib.loads(text).get("p1", {}))


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _scenario(name: str, start: str, version: str, body: str = "", *, p1: str = "", emeter: str = "") -> str:
    """A scenario's TOML text: direct P2 link (values straight from the meter, SYSTEM E1) unless ``body``
    says otherwise."""
    return (
        f'[scenario]\nname = "{name}"\nstart = {start}\nseed = 7\n'
        f'[p1]\nversion = "{version}"\n{p1}'
        f'[p2]\nlink = "direct"\n'
        f'[emeter]\nid = "{emeter or "E0031003239456716"}"\n{body}'
    )


_GAS_1 = '[[gas_meter]]\nnumber = "G0001123456789012"\ninitial_index_m3 = "4512.118"\n'

SITUATIONS: tuple[Situation, ...] = (
    Situation(
        "gas-on-channel-2",
        "gas on channel 2 while a stale device answers on channel 1",
        "gas from channel 2, the house's meter; channel 1's frozen register is not the gas use",
        (Segment(_scenario("gas-on-channel-2", "2025-03-10T05:00:00Z", "5", _GAS_1 + (
            '[[gas_meter]]\nnumber = "G0001987654321025"\ninitial_index_m3 = "17.305"\nannual_m3 = 1200\n'
            '[[timeline]]\nat = "+5m"\ndo = "decouple-gas-meter"\nchannel = 1\n')),
            _utc("2025-03-10T07:40:00Z"), 20, timedelta(minutes=2), stale_decoupled=True, gas_channel=2),),
        GAS,
    ),
    Situation(
        "meter-swap",
        "the E-meter is swapped: new equipment identifier, registers restart",
        "the new identifier and the new meter's registers from the first telegram of the new meter",
        (
            Segment(_scenario("old-meter", "2025-05-06T08:00:00Z", "4.2", _GAS_1 + (
                '[electricity]\nannual_kwh = 3100\n')), _utc("2025-05-06T08:10:00Z"), 8, timedelta(minutes=1)),
            Segment(_scenario("new-meter", "2025-05-06T08:25:00Z", "4.2", _GAS_1, emeter="E0044007712345620"),
                    _utc("2025-05-06T08:30:00Z"), 8, timedelta(minutes=1)),
        ),
        ("equipment_id", *ELECTRICITY),
    ),
    Situation(
        "gas-meter-replaced",
        "the gas meter is replaced on the same channel: new identifier, index from 0",
        "the new meter's identifier at once, no gas value until its first reading, then its index",
        (Segment(_scenario("gas-meter-replaced", "2025-02-03T05:00:00Z", "4.2", _GAS_1 + (
            '[[timeline]]\nat = 2025-02-03T06:20:00Z\ndo = "replace-gas-meter"\nnumber = "G0001987654321025"\n'
            'initial_index_m3 = "0"\n')), _utc("2025-02-03T06:00:00Z"), 25, timedelta(minutes=5)),),
        GAS,
    ),
    Situation(
        "gas-meter-decoupled",
        "the gas meter is decoupled: the E-meter empties its channel (Iskra AM550 style)",
        "no gas value and no identifier once the channel shows 0-1:96.1.0() and the 1970 placeholder",
        (Segment(_scenario("gas-meter-decoupled", "2025-11-10T05:00:00Z", "4.2", _GAS_1 + (
            '[[timeline]]\nat = 2025-11-10T06:31:00Z\ndo = "decouple-gas-meter"\n')),
            _utc("2025-11-10T06:00:00Z"), 20, timedelta(minutes=3)),),
        GAS,
    ),
    Situation(
        "dst-autumn",
        "summer time ends: 03:00 CEST becomes 02:00 CET (26 October 2025)",
        "the telegram and capture times in UTC by their S/W flag: no hour repeated or lost",
        (Segment(_scenario("dst-autumn", "2025-10-25T23:00:00Z", "4.2", _GAS_1),
                 _utc("2025-10-26T00:20:00Z"), 21, timedelta(minutes=4)),),
        ("timestamp", "gas_m3", "gas_time"),
    ),
    Situation(
        "dst-spring",
        "summer time starts: 02:00 CET becomes 03:00 CEST (30 March 2025)",
        "the telegram and capture times in UTC by their S/W flag",
        (Segment(_scenario("dst-spring", "2025-03-29T23:00:00Z", "4.2", _GAS_1),
                 _utc("2025-03-30T00:20:00Z"), 21, timedelta(minutes=4)),),
        ("timestamp", "gas_m3", "gas_time"),
    ),
    Situation(
        "power-failure",
        "a power failure of 5 minutes: no telegrams, then the failure counters",
        "nothing while the power is off; afterwards the counters of short and long failures as sent",
        (Segment(_scenario("power-failure", "2025-01-20T11:00:00Z", "4.2", _GAS_1 + (
            '[[timeline]]\nat = 2025-01-20T12:04:00Z\ndo = "power-failure"\nfor = "5m"\n')),
            _utc("2025-01-20T12:00:00Z"), 24, timedelta(seconds=30)),),
        ("timestamp", "power_failures", "long_power_failures", *ELECTRICITY),
    ),
    Situation(
        "dsmr5-hourly",
        "a DSMR 5 meter with hourly gas values",
        "the gas value and its capture time from 0-n:24.2.1 of the gas channel",
        (Segment(_scenario("dsmr5-hourly", "2025-01-14T05:00:00Z", "5", _GAS_1),
                 _utc("2025-01-14T06:42:00Z"), 20, timedelta(minutes=2)),),
        ("timestamp", *ELECTRICITY, *GAS),
    ),
    Situation(
        "dsmr5-five-minute",
        "a DSMR 5 meter with an SMR 5 gas meter: 5-minute values, and no gas value line before the first one",
        "no gas value until the first reading, then each 5-minute value with its capture time",
        (Segment(_scenario("dsmr5-five-minute", "2026-01-12T06:00:00Z", "5", (
            '[[gas_meter]]\nnumber = "G0001123456789012"\ninitial_index_m3 = "4512.118"\nvariant = "smr5"\n')),
            _utc("2026-01-12T06:00:00Z"), 20, timedelta(minutes=1)),),
        ("timestamp", *GAS),
    ),
    Situation(
        "water-on-channel-2",
        "a water meter on channel 2 beside the gas meter on channel 1 (DSMR 4.2)",
        "gas from channel 1 (device type 3), water from channel 2 (device type 7)",
        (Segment(_scenario("water-on-channel-2", "2025-01-13T05:00:00Z", "4.2", _GAS_1 + (
            '[[mbus_device]]\nkind = "water"\nnumber = "W0001987654321024"\nchannel = 2\ninitial = "312.456"\n')),
            _utc("2025-01-13T06:42:00Z"), 20, timedelta(minutes=2)),),
        (*GAS, "water_m3", "water_id"),
    ),
    Situation(
        "crc-and-cut-off",
        "CRC errors and cut-off telegrams on the line",
        "every intact telegram, and none of the spoiled ones",
        (Segment(_scenario("crc-and-cut-off", "2025-01-21T09:00:00Z", "4.2", _GAS_1),
                 _utc("2025-01-21T09:30:00Z"), 40),),
        ("timestamp", *ELECTRICITY, "power_import_kw"),
        crc_error_rate=0.15,
        cut_off_rate=0.1,
        seed=5,
    ),
    Situation(
        "encrypted",
        "encrypted P1: AES-128-GCM general-global-cipher frames (Luxembourg Smarty style)",
        "the decrypted telegrams' values",
        (Segment(_scenario("encrypted", "2025-01-22T09:00:00Z", "5", _GAS_1, p1=(
            f'encryption_key = "{ENCRYPTION_KEY_HEX}"\nauthentication_key = "{SMARTY_AUTHENTICATION_KEY_HEX}"\n')),
            _utc("2025-01-22T09:10:00Z"), 12, timedelta(seconds=10)),),
        ("timestamp", *ELECTRICITY, *GAS),
    ),
)

BY_NAME = {s.name: s for s in SITUATIONS}


def situation(name: str) -> Situation:
    """The situation called ``name``; an unknown name lists the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise InvalidInput(f"no situation {name!r}; known: {', '.join(BY_NAME)}") from None
