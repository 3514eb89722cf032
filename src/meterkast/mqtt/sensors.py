"""Which P1 objects become Home Assistant sensors, and how (docs/mqtt.md, "Sensors").

One row per sensor (STYLE 5): the key in the device's JSON state, the OBIS code it is read from
([P1-4.2.2 Table 5-3], [P1-5.0.2 Table 6-3]), and the Home Assistant MQTT discovery fields
``device_class``, ``state_class`` and ``unit_of_measurement``. Energy registers only ever go up, so they are
``total_increasing`` (a meter exchange resets them, which that state class allows); instantaneous values
are ``measurement``; counters of events (power failures, sags, swells) are ``total_increasing`` without a
unit. Textual state (the tariff, the valve position) has no state class: it is not a number to plot.

An M-Bus device's reading ([P1-4.2.2 §5.12], ``0-n:24.2.1``) takes its device class from the M-Bus device
type it announces on ``0-n:24.1.0`` (EN 13757-3 Table 3: 3 gas, 4 and 12 heat, 6 warm water, 7 water,
10 cooling, 13 heat/cooling); its unit is the one the line carries, written as Home Assistant spells it.
"""

from __future__ import annotations

from dataclasses import dataclass

TOTAL_INCREASING = "total_increasing"
MEASUREMENT = "measurement"


@dataclass(frozen=True, slots=True)
class Sensor:
    key: str  # the key in the device's state JSON, and the last part of the entity's unique id
    code: str  # OBIS reduced ID it is read from ("0-n:..." for an M-Bus channel object)
    name: str  # the entity name shown under the device
    device_class: str | None = None
    state_class: str | None = None
    unit: str | None = None
    diagnostic: bool = False  # shown under "Diagnostic" rather than as a main sensor

    @property
    def numeric(self) -> bool:
        return self.state_class is not None


def _energy(key: str, code: str, name: str) -> Sensor:
    return Sensor(key, code, name, "energy", TOTAL_INCREASING, "kWh")


def _power(key: str, code: str, name: str) -> Sensor:
    return Sensor(key, code, name, "power", MEASUREMENT, "kW")


def _count(key: str, code: str, name: str) -> Sensor:
    return Sensor(key, code, name, None, TOTAL_INCREASING, None, diagnostic=True)


EMETER_SENSORS: tuple[Sensor, ...] = (
    _energy("import_total", "1-0:1.8.0", "Energy import"),
    _energy("import_t1", "1-0:1.8.1", "Energy import tariff 1"),
    _energy("import_t2", "1-0:1.8.2", "Energy import tariff 2"),
    _energy("export_total", "1-0:2.8.0", "Energy export"),
    _energy("export_t1", "1-0:2.8.1", "Energy export tariff 1"),
    _energy("export_t2", "1-0:2.8.2", "Energy export tariff 2"),
    _power("power_import", "1-0:1.7.0", "Power import"),
    _power("power_export", "1-0:2.7.0", "Power export"),
    *(_power(f"power_import_l{n}", f"1-0:{c}.7.0", f"Power import L{n}") for n, c in ((1, 21), (2, 41), (3, 61))),
    *(_power(f"power_export_l{n}", f"1-0:{c}.7.0", f"Power export L{n}") for n, c in ((1, 22), (2, 42), (3, 62))),
    *(Sensor(f"voltage_l{n}", f"1-0:{c}.7.0", f"Voltage L{n}", "voltage", MEASUREMENT, "V")
      for n, c in ((1, 32), (2, 52), (3, 72))),
    *(Sensor(f"current_l{n}", f"1-0:{c}.7.0", f"Current L{n}", "current", MEASUREMENT, "A")
      for n, c in ((1, 31), (2, 51), (3, 71))),
    # Device state [P1-4.2.2 Table 5-3]: tariff indicator, power quality counters, breaker.
    Sensor("tariff", "0-0:96.14.0", "Tariff", diagnostic=True),
    _count("power_failures", "0-0:96.7.21", "Power failures"),
    _count("long_power_failures", "0-0:96.7.9", "Long power failures"),
    *(_count(f"voltage_sags_l{n}", f"1-0:{c}.32.0", f"Voltage sags L{n}") for n, c in ((1, 32), (2, 52), (3, 72))),
    *(_count(f"voltage_swells_l{n}", f"1-0:{c}.36.0", f"Voltage swells L{n}") for n, c in ((1, 32), (2, 52), (3, 72))),
    Sensor("breaker_state", "0-0:96.3.10", "Breaker state", diagnostic=True),
)

# The M-Bus reading's device class by device type (EN 13757-3 Table 3); other types: no device class.
MEDIUM_CLASS: dict[int, tuple[str, str]] = {  # device type -> (device class, medium word for the name)
    3: ("gas", "Gas"),
    4: ("energy", "Heat"),
    6: ("water", "Warm water"),
    7: ("water", "Water"),
    10: ("energy", "Cooling"),
    12: ("energy", "Heat"),
    13: ("energy", "Heat/cooling"),
}
# The units P1 lines carry, as Home Assistant spells them (its gas and water classes take m³, energy GJ/kWh).
HA_UNIT = {"m3": "m³", "M3": "m³", "GJ": "GJ", "MJ": "MJ", "kWh": "kWh", "KWH": "kWh", "Wh": "Wh", "MWh": "MWh",
           "l": "L", "L": "L"}
# The units Home Assistant allows with each class (its sensor DEVICE_CLASS_UNITS; the metric ones a P1 line
# can carry). Its MQTT sensor schema refuses a discovery config with any other unit for the class, so the
# whole entity would be missing; such a reading is announced without a device class instead.
CLASS_UNITS: dict[str, frozenset[str]] = {
    "gas": frozenset({"m³"}),  # litres only since Home Assistant 2024.x; a P1 gas line says m3
    "water": frozenset({"m³", "L"}),
    "energy": frozenset({"Wh", "kWh", "MWh", "MJ", "GJ"}),
}


def mbus_reading_sensor(device_type: int | None, unit: str | None) -> Sensor:
    """The sensor of an M-Bus device's last reading ([P1-4.2.2 §5.12], ``0-n:24.2.1``)."""
    device_class, medium = MEDIUM_CLASS.get(device_type or -1, (None, "Meter"))
    shown = HA_UNIT.get(unit or "", unit)
    if device_class is not None and shown not in CLASS_UNITS[device_class]:
        device_class = None
    return Sensor("reading", "0-n:24.2.1", f"{medium} reading", device_class, TOTAL_INCREASING, shown)


MBUS_STATE_SENSORS: tuple[Sensor, ...] = (
    Sensor("valve", "0-n:24.4.0", "Valve position", diagnostic=True),  # [P1-3.0 §5.10]: 0 off, 1 on, 2 released
    Sensor("switch_position", "0-n:96.3.10", "Switch position", diagnostic=True),
    Sensor("captured", "0-n:24.2.1", "Reading captured", "timestamp", diagnostic=True),
)
