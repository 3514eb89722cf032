"""OBIS identities of the E-meter objects this model keeps [P3-4.2.2 §5–§7], [P1-4.2.2 Table 5-3].

Strings in the ``A-B:C.D.E.F`` form that P3 uses; ``channel_obis`` fills in the M-Bus channel ``x``.
"""

from __future__ import annotations

from meterkast.errors import InvalidInput

CLOCK = "0-0:1.0.0.255"
EQUIPMENT_ID = "0-0:96.1.1.255"
IMPORT_T1 = "1-0:1.8.1.255"  # rate 1 = low tariff [P3-4.2.2 §6.2]
IMPORT_T2 = "1-0:1.8.2.255"  # rate 2 = normal tariff
EXPORT_T1 = "1-0:2.8.1.255"
EXPORT_T2 = "1-0:2.8.2.255"
IMPORT_TOTAL = "1-0:1.8.0.255"
EXPORT_TOTAL = "1-0:2.8.0.255"
TARIFF = "0-0:96.14.0.255"
AMR_STATUS_E = "0-0:96.10.2.255"
LOAD_PROFILE_E = "1-0:99.1.0.255"  # 15 minutes, 960 entries [P3-4.2.2 §6.3]
DAILY_PROFILE = "1-0:99.2.0.255"  # daily combined billing values, 40 entries [P3-4.2.2 §6.3]
MONTHLY_PROFILE = "0-0:98.1.0.255"  # data of billing period 1, 13 entries [P3-4.2.2 §5.5]
POWER_FAILURES = "0-0:96.7.21.255"
LONG_POWER_FAILURES = "0-0:96.7.9.255"
LONG_FAILURE_THRESHOLD = "0-0:96.7.20.255"
LONG_FAILURE_DURATION = "0-0:96.7.19.255"
POWER_FAILURE_LOG = "1-0:99.97.0.255"
STANDARD_LOG = "0-0:99.98.0.255"
FRAUD_LOG = "0-0:99.98.1.255"
MBUS_LOG = "0-0:99.98.3.255"
ERROR_REGISTER = "0-0:97.97.0.255"
ALARM_REGISTER = "0-0:97.98.0.255"
ALARM_FILTER = "0-0:97.98.10.255"
TEXT_MESSAGE = "0-0:96.13.0.255"
TEXT_CODE = "0-0:96.13.1.255"
CLOCK_TIME_SHIFT_LIMIT = "1-0:0.9.11.255"

# Per M-Bus channel, x = 1..4 [P3-4.2.2 §7].
MBUS_CLIENT_SETUP = "0-{x}:24.1.0.255"
MBUS_MASTER_VALUE = "0-{x}:24.2.1.255"
MBUS_HOURLY_PROFILE = "0-{x}:24.3.0.255"
MBUS_EQUIPMENT_ID = "0-{x}:96.1.0.255"
AMR_STATUS_MBUS = "0-{x}:96.10.3.255"

PHASE_VOLTAGE = ("1-0:32.7.0.255", "1-0:52.7.0.255", "1-0:72.7.0.255")
PHASE_CURRENT = ("1-0:31.7.0.255", "1-0:51.7.0.255", "1-0:71.7.0.255")
PHASE_IMPORT_POWER = ("1-0:21.7.0.255", "1-0:41.7.0.255", "1-0:61.7.0.255")
PHASE_EXPORT_POWER = ("1-0:22.7.0.255", "1-0:42.7.0.255", "1-0:62.7.0.255")
VOLTAGE_SAGS = ("1-0:32.32.0.255", "1-0:52.32.0.255", "1-0:72.32.0.255")
VOLTAGE_SWELLS = ("1-0:32.36.0.255", "1-0:52.36.0.255", "1-0:72.36.0.255")

CHANNELS = (1, 2, 3, 4)  # "Up to 4 M-Bus devices" [P2-4.0.7 §1.2]


def channel_obis(template: str, channel: int) -> str:
    """``channel_obis(MBUS_HOURLY_PROFILE, 2) == '0-2:24.3.0.255'``."""
    check_channel(channel)
    return template.format(x=channel)


def check_channel(channel: int) -> int:
    if channel not in CHANNELS:
        raise InvalidInput(f"M-Bus channel {channel} does not exist; an E-meter has channels 1–4 (SYSTEM M3)")
    return channel
