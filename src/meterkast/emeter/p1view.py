"""What a P1 telegram needs from the E-meter, as one frozen, typed value (SYSTEM P1, E3).

[P1-4.2.2 Table 5-3]; DSMR-M 4.5.37 (power quality every 10 s). The P1 encoder lives elsewhere; this
view holds Decimals and aware local datetimes only, already at the resolutions P1 shows.

Rules this module keeps:
- gas values reach P1 whatever the customer agreed for P3 (SYSTEM E3): every channel that ever had a
  device is listed, in channel order;
- a decoupled channel is shown as real meters show an emptied channel (Iskra AM550:
  ``0-1:96.1.0()`` and ``0-1:24.2.1(700101010000W)(00000000)``): device type kept, equipment identifier
  empty, value and capture time ``None`` (the encoder writes the empty form). ``DecoupledStyle.STALE``
  instead keeps showing the last identifier and value (SYSTEM M3: "may still show stale data");
- a channel whose device has sent no value yet (a fresh installation, a new or replacing device) shows
  its device type and identifier and no 0-n:24.2.1 line (``awaiting_first``): P1 "transfers … the latest
  received 5-minute value & timestamp" [P1-5.0.2 §7.3] ("hourly", [P1-4.2.2 §6.3]), and before the first
  one there is none to transfer; the value has no empty form in [P1-5.0.2 Table 6-3]. The emptied form's
  ``(700101010000W)(00000000)`` would be read as 0 without a unit at 1970-01-01 (dsmr_parser), or as a
  future 2070 stamp (dsmr-reader issues #361, #470), so it stays reserved for decoupled channels;
- an SMR 5 device's channel also carries its latest whole-hour value: P1 5.0 shows "the latest received
  5-minute value" [P1-5.0.2 §7.3], P1 4.x and older "the latest received hourly value" [P1-4.2.2 §6.3];
- the power failure log is listed most recent first, as the example telegram of [P1-4.2.2 §5.13] does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING

from meterkast.emeter.power import PowerFailureRecord

if TYPE_CHECKING:
    from meterkast.emeter.emeter import EMeter


class DecoupledStyle(Enum):
    EMPTIED = "emptied"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class P1MbusChannel:
    channel: int
    device_type: int  # 0-n:24.1.0
    equipment_id: str  # 0-n:96.1.0, plain text (the encoder hex-encodes it); "" when emptied
    value_m3: Decimal | None  # 0-n:24.2.1 value; None: the emptied form
    capture_time: datetime | None  # 0-n:24.2.1 capture time, local (S/W from its DST)
    resolution_m3: Decimal  # F8(3,3) for 0.001, F8(2,2) for 0.01
    coupled: bool
    awaiting_first: bool = False  # device shown, no value received yet: no 0-n:24.2.1 line
    # A device that stores a value every 5 minutes (SMR 5): its latest whole-hour value, which a telegram of
    # DSMR 4.x or older shows instead of the 5-minute one ("latest received hourly value" [P1-4.2.2 §6.3]).
    five_minute: bool = False
    hourly_value_m3: Decimal | None = None
    hourly_capture_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class P1View:
    p1_version: str  # 1-3:0.2.8
    timestamp: datetime  # 0-0:1.0.0, local, whole seconds
    equipment_id: str  # 0-0:96.1.1
    import_kwh: tuple[Decimal, Decimal]  # 1-0:1.8.1, 1-0:1.8.2
    export_kwh: tuple[Decimal, Decimal]  # 1-0:2.8.1, 1-0:2.8.2
    tariff: int  # 0-0:96.14.0: 1 low, 2 normal
    power_import_kw: Decimal  # 1-0:1.7.0
    power_export_kw: Decimal  # 1-0:2.7.0
    power_failures: int  # 0-0:96.7.21
    long_power_failures: int  # 0-0:96.7.9
    power_failure_log: tuple[PowerFailureRecord, ...]  # 1-0:99.97.0, most recent first
    voltage_sags: tuple[int, ...]  # 1-0:32.32.0, 52.32.0, 72.32.0
    voltage_swells: tuple[int, ...]  # 1-0:32.36.0, 52.36.0, 72.36.0
    text_code: str  # 0-0:96.13.1
    text_message: str  # 0-0:96.13.0
    voltage_v: tuple[Decimal, ...]  # 1-0:32.7.0 … (DSMR 5 shows them)
    current_a: tuple[int, ...]  # 1-0:31.7.0 …
    phase_import_kw: tuple[Decimal, ...]  # 1-0:21.7.0, 41.7.0, 61.7.0
    phase_export_kw: tuple[Decimal, ...]  # 1-0:22.7.0, 42.7.0, 62.7.0
    mbus: tuple[P1MbusChannel, ...]


def build_p1_view(meter: EMeter) -> P1View:
    load = meter.load
    net_import = load.net_w if load.net_w > 0 else Decimal(0)
    net_export = -load.net_w if load.net_w < 0 else Decimal(0)
    channels: list[P1MbusChannel] = []
    for state in meter.mbus.channels.values():
        identity = state.identity
        if identity is None:
            continue
        master = state.master
        resolution = master.resolution_m3 if master is not None else Decimal("0.001")
        show = state.coupled or meter.decoupled_style is DecoupledStyle.STALE
        channels.append(
            P1MbusChannel(
                state.number,
                identity.device_type,
                identity.equipment_identifier if show else "",
                master.value_m3 if show and master is not None else None,
                master.capture_time if show and master is not None else None,
                resolution,
                state.coupled,
                awaiting_first=show and master is None,
                five_minute=state.per_slot,
                hourly_value_m3=state.hourly.value_m3 if show and state.hourly is not None else None,
                hourly_capture_time=state.hourly.capture_time if show and state.hourly is not None else None,
            )
        )
    kw = Decimal("0.001")
    return P1View(
        p1_version=meter.p1_version,
        timestamp=meter.meter_time().replace(microsecond=0),
        equipment_id=meter.equipment_id,
        import_kwh=meter.registers.import_kwh(),
        export_kwh=meter.registers.export_kwh(),
        tariff=int(meter.tariff),
        power_import_kw=(net_import / 1000).quantize(kw),
        power_export_kw=(net_export / 1000).quantize(kw),
        power_failures=meter.power.short_count,
        long_power_failures=meter.power.long_count,
        power_failure_log=tuple(reversed(meter.power.log)),
        voltage_sags=tuple(q.sags for q in meter.quality),
        voltage_swells=tuple(q.swells for q in meter.quality),
        text_code=meter.text_code,
        text_message=meter.text_message,
        voltage_v=load.voltages(),
        current_a=load.currents_a(),
        phase_import_kw=load.phase_import_kw(),
        phase_export_kw=load.phase_export_kw(),
        mbus=tuple(channels),
    )
