"""dsmr_parser's outcome per situation: None = pass, else its first difference (test_dsmr_parser.py).

Measured with dsmr_parser 1.11.2 (asyncio TCP reader, CRC checks on). Why each failure happens:
- gas-on-channel-2: dsmr_parser's V5 specification has no gas field, only ``MBUS_DEVICES`` per channel;
  the first gas-type channel is the stale device (the adapter's plain reading; dsmr_parser keeps no
  notion of which device is live);
- gas-meter-decoupled: the emptied channel ``0-1:24.2.1(700101010000W)(00000000)`` comes out as the
  value 0 captured on 1 January 1970, not as "no value";
- water-on-channel-2: the V4 pattern for ``HOURLY_GAS_METER_READING`` is ``\\d-\\d:24.2.1`` on any channel,
  and the last match wins: the water meter's m³ on channel 2 becomes the gas value.
"""

from __future__ import annotations

DSMR_PARSER: dict[str, str | None] = {
    "gas-on-channel-2":
        "telegram 2025-03-10T07:40:00+00:00: gas_m3 should be 18.262, the consumer reported 4512.126",
    "meter-swap": None,
    "gas-meter-replaced": None,
    "gas-meter-decoupled":
        "telegram 2025-11-10T06:33:00+00:00: gas_m3 should be no value, the consumer reported 0",
    "dst-autumn": None,
    "dst-spring": None,
    "power-failure": None,
    "dsmr5-hourly": None,
    "dsmr5-five-minute": None,
    "water-on-channel-2":
        "telegram 2025-01-13T06:42:00+00:00: gas_m3 should be 4512.743, the consumer reported 312.462",
    "crc-and-cut-off": None,
    "encrypted": None,
}  # fmt: skip
