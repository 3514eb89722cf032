"""The DSMR E-meter as a sans-I/O, time-injected model (SYSTEM E1–E4, M3, P1); see docs/emeter.md.

Build one with ``EMeter(equipment_id, now)``, couple gas meters with ``couple(now, identity)``, ask
``polls_due(now)`` which channels to read over P2, feed ``record_reading`` / ``record_read_failure``,
drive time with ``advance(now)`` / ``next_deadline()``, and read ``p1_view(now)`` and the profiles.
"""

from meterkast.emeter.amr import AmrStatus
from meterkast.emeter.emeter import EMeter
from meterkast.emeter.p1view import DecoupledStyle, P1MbusChannel, P1View
from meterkast.emeter.profiles import BillingEntry, ChannelValue, HourlyEntry, LoadEntry, PeriodType, Profile
from meterkast.emeter.readings import MbusDeviceIdentity, MbusReading, StatusBit, ValveAction

__all__ = [
    "AmrStatus",
    "BillingEntry",
    "ChannelValue",
    "DecoupledStyle",
    "EMeter",
    "HourlyEntry",
    "LoadEntry",
    "MbusDeviceIdentity",
    "MbusReading",
    "P1MbusChannel",
    "P1View",
    "PeriodType",
    "Profile",
    "StatusBit",
    "ValveAction",
]
