"""What a telegram says, as one typed value: the encoder's input and ``to_telegram_data``'s output.

Field ↔ OBIS bindings live in ``specs.FIELDS`` ([P1-4.2.2 Table 5-3], [P1-5.0.2 Table 6-3],
[P1-3.0 §5.11]). Rules:
- readings are ``Decimal`` at the resolution P1 shows (STYLE 13), times are aware datetimes;
- ``None`` (or an empty tuple) means "this line is not in the telegram"; per-phase tuples hold L1 or
  L1–L3 (single-phase meters send only L1);
- identifiers and texts are plain text: the encoder hex-encodes them ([P1-4.2.2 §5.5]);
- an M-Bus channel whose ``value`` is None is shown the way meters show an emptied channel:
  ``0-n:96.1.0()`` and ``0-n:24.2.1(700101010000W)(00000000)`` (Iskra AM550, DSMR-FACTS §1.4);
- a channel with ``awaiting_first`` set has an installed device that has sent no value yet: its
  ``0-n:24.2.1`` line is left out. P1 "transfers … the latest received 5-minute [4.x: hourly] value &
  timestamp" [P1-5.0.2 §7.3], [P1-4.2.2 §6.3]; before the first one there is none, and the table has no
  empty form for the value (F8(3,3)/F8(2,2) with unit m3, [P1-5.0.2 Table 6-3]), while "the number of
  OBIS codes … is not fixed" [P1-5.0.2 §6.13]. Device type and identifier are shown: "only when a M-Bus
  device is installed, its data will be exported" [P1-5.0.2 §6.12].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from meterkast.errors import InvalidInput
from meterkast.p1.values import PowerFailure

GAS = 3  # EN 13757-3 device type codes used in NL (DSMR-FACTS §1.4)
HEAT = 4
WATER = 7
G4_G6_RESOLUTION = Decimal("0.001")  # F8(3,3) [P1-4.2.2 Table 5-3 note 2]
ABOVE_G6_RESOLUTION = Decimal("0.01")  # F8(2,2)


@dataclass(frozen=True, slots=True)
class MbusChannel:
    """One M-Bus device on channel 1–4, numbered in order of installation (SYSTEM M3)."""

    channel: int
    device_type: int = GAS  # 0-n:24.1.0
    equipment_id: str = ""  # 0-n:96.1.0, plain text; "" on an emptied channel
    value: Decimal | None = None  # 0-n:24.2.1 value (2.2/3: 0-n:24.3.0); None: emptied channel
    capture_time: datetime | None = None  # when the device captured ``value`` (SYSTEM E1)
    unit: str = "m3"
    resolution: Decimal = G4_G6_RESOLUTION  # 0.001 → F8(3,3) (G4, G6); 0.01 → F8(2,2) (G10 and up)
    valve: int | None = None  # 0-n:24.4.0, DSMR 2.2/3 only
    awaiting_first: bool = False  # installed, no value received yet: no 0-n:24.2.1 line (module docstring)

    def __post_init__(self) -> None:
        if not 1 <= self.channel <= 9:
            raise InvalidInput(f"M-Bus channel {self.channel} is not 1–9 (P1 shows 0-n with n = 1..4)")
        if (self.value is None) != (self.capture_time is None):
            raise InvalidInput(f"channel {self.channel}: give both value and capture time, or neither")
        if self.awaiting_first and self.value is not None:
            raise InvalidInput(f"channel {self.channel}: a channel awaiting its first value has no value yet")

    @property
    def decimals(self) -> int:
        return -int(self.resolution.as_tuple().exponent)


@dataclass(frozen=True, slots=True)
class TelegramData:
    """The content of one P1 telegram; which lines are written depends on the ``TelegramSpec``."""

    header: str = "ISk5\\2MT382-1000"  # after "/": FLAG id, baud character "5", identification
    timestamp: datetime | None = None  # 0-0:1.0.0 (4.x, 5)
    equipment_id: str | None = None  # 0-0:96.1.1
    import_t1_kwh: Decimal | None = None  # 1-0:1.8.1, tariff 1 = low
    import_t2_kwh: Decimal | None = None  # 1-0:1.8.2, tariff 2 = normal
    export_t1_kwh: Decimal | None = None  # 1-0:2.8.1
    export_t2_kwh: Decimal | None = None  # 1-0:2.8.2
    tariff: int | None = None  # 0-0:96.14.0
    power_import_kw: Decimal | None = None  # 1-0:1.7.0
    power_export_kw: Decimal | None = None  # 1-0:2.7.0
    limiter_threshold_kw: Decimal | None = None  # 0-0:17.0.0 (2.2/3)
    breaker_state: int | None = None  # 0-0:96.3.10 (2.2/3)
    power_failures: int | None = None  # 0-0:96.7.21
    long_power_failures: int | None = None  # 0-0:96.7.9
    power_failure_log: tuple[PowerFailure, ...] | None = None  # 1-0:99.97.0, most recent first
    voltage_sags: tuple[int, ...] = ()  # 1-0:32.32.0, 52.32.0, 72.32.0
    voltage_swells: tuple[int, ...] = ()  # 1-0:32.36.0, 52.36.0, 72.36.0
    text_code: str | None = None  # 0-0:96.13.1 (up to 5.0)
    text_message: str | None = None  # 0-0:96.13.0
    voltage_v: tuple[Decimal, ...] = ()  # 1-0:32.7.0, 52.7.0, 72.7.0 (5.0)
    current_a: tuple[Decimal, ...] = ()  # 1-0:31.7.0, 51.7.0, 71.7.0
    power_import_phase_kw: tuple[Decimal, ...] = ()  # 1-0:21.7.0, 41.7.0, 61.7.0
    power_export_phase_kw: tuple[Decimal, ...] = ()  # 1-0:22.7.0, 42.7.0, 62.7.0
    mbus: tuple[MbusChannel, ...] = ()

    def __post_init__(self) -> None:
        channels = [channel.channel for channel in self.mbus]
        if len(set(channels)) != len(channels):
            raise InvalidInput(f"M-Bus channels {channels} repeat a channel number")
