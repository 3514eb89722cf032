"""The kinds of M-Bus device an E-meter serves, as one table (Liander manual §8; P2-4.2.2 §6.3–6.4; P1-4.2.2 §6.3–6.6).

An E-meter's four M-Bus channels take a gas meter, a water meter, a thermal (heat) meter or a slave
E-meter, in any order of installation [P1-4.2.2 §6.3–6.6: "a water meter can be installed on channel 1,
2, 3 or 4"]. What differs between them is small and fixed, so it is a table, and the P2 records, the
E-meter's reading and the P1 lines all look the kind up here instead of assuming gas:

- ``device_type``: the DEV byte of the M-Bus header (EN 13757-3 Table 3 device type / medium, the same
  code the header of every RSP_UD carries [P2-4.2.2 §4.2.2]); P1 shows it as ``0-n:24.1.0(ddd)``
  [P1-4.2.2 Table 5-3]. Codes used in NL: 03 gas, 07 water, 04 heat, 02 electricity (DSMR-FACTS §1.4).
  P2-4.2.2 §6.3 names thermal meters "device type = x0D" (EN 13757-3: heat/cooling load meter) and
  EN 13757-3 has 0Ch for a heat meter at the inlet: both are read as heat meters (``THERMAL_ALIASES``);
  the simulated heat meter says 04h. (P1-4.2.2 §6.4 "Combined Heat and Cold meters are not supported"
  concerns what P1 shows: the heat register, never a cold one.)
- ``registers``: the hourly register's VIF by resolution, read with DIF 4C (8-digit BCD, storage 1):
  gas ``13``/``14`` (0.001/0.01 m³, converted volume) [P2-4.2.2 §6.4.4]; water ``13`` (0.001 m³)
  [§6.4.6]; heat ``0F`` (EN 13757-3 energy E000 1nnn = 10^(nnn) J, so 0Fh = 10^7 J = 0.01 GJ)
  [§6.4.5]; slave E-meter ``03`` (1 Wh = 0.001 kWh) [§6.4.7];
- ``unit``: the unit P1 writes after the value of ``0-n:24.2.1``: m3, GJ, kWh; the P1 value has the
  register's decimals (Fn(3,3) water, Fn(2,2) heat [P1-4.2.2 Table 5-3]).

A register value travels as a ``Decimal`` in the kind's unit at the register's resolution: for heat the
unit is GJ and 0.01 is the step, for water m³ and 0.001.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from meterkast.errors import InvalidInput, RecordError


@dataclass(frozen=True, slots=True)
class DeviceKind:
    """One kind of M-Bus device: what its header, its hourly register and its P1 lines say."""

    name: str
    device_type: int  # EN 13757-3 DEV byte; P1 0-n:24.1.0
    unit: str  # P1 unit of 0-n:24.2.1
    registers: tuple[tuple[Decimal, int], ...]  # (resolution in ``unit``, VIF of the hourly register)
    clause: str  # where the P2 companion standard defines the register
    wire_exponent: int = 0  # the VIF counts 10^this of ``unit``: J per GJ (9), Wh per kWh (3)

    def to_wire(self, value: Decimal) -> Decimal:
        """``value`` in ``unit`` as the record carries it, in the VIF's unit (EN 13757-3 Table 10)."""
        return value.scaleb(self.wire_exponent)

    def from_wire(self, value: Decimal, resolution: Decimal) -> Decimal:
        return value.scaleb(-self.wire_exponent).quantize(resolution)

    def vif(self, resolution: Decimal) -> int:
        for step, vif in self.registers:
            if step == resolution:
                return vif
        steps = " or ".join(str(step) for step, _ in self.registers)
        raise RecordError(f"a {self.name} register has no VIF for resolution {resolution} {self.unit}; "
                          f"use {steps} ({self.clause})")

    def resolution(self, vif: int) -> Decimal | None:
        return next((step for step, value in self.registers if value == vif), None)

    @property
    def resolutions(self) -> tuple[Decimal, ...]:
        return tuple(step for step, _ in self.registers)


MILLI, CENTI = Decimal("0.001"), Decimal("0.01")
GAS = DeviceKind("gas", 0x03, "m3", ((MILLI, 0x13), (CENTI, 0x14)), "P2-4.2.2 §6.4.4")
WATER = DeviceKind("water", 0x07, "m3", ((MILLI, 0x13),), "P2-4.2.2 §6.4.6")
HEAT = DeviceKind("heat", 0x04, "GJ", ((CENTI, 0x0F),), "P2-4.2.2 §6.4.5", wire_exponent=9)
ELECTRICITY = DeviceKind("electricity", 0x02, "kWh", ((MILLI, 0x03),), "P2-4.2.2 §6.4.7", wire_exponent=3)

KINDS: tuple[DeviceKind, ...] = (GAS, WATER, HEAT, ELECTRICITY)
# Other DEV bytes of a heat meter, read with the heat register: 0Dh is the device type P2-4.2.2 §6.3 gives
# thermal meters ("Thermal meters (device type =x0D) will send … Hourly meter reading heat"), 0Ch the EN
# 13757-3 heat meter measuring at the inlet. P1 shows the byte the device sent [P1-4.2.2 Table 5-3].
THERMAL_ALIASES: dict[int, DeviceKind] = {0x0C: HEAT, 0x0D: HEAT}
BY_DEVICE_TYPE: dict[int, DeviceKind] = {kind.device_type: kind for kind in KINDS} | THERMAL_ALIASES
BY_NAME: dict[str, DeviceKind] = {kind.name: kind for kind in KINDS}


def kind_for_device_type(device_type: int) -> DeviceKind:
    """The kind whose DEV byte is ``device_type``; ``RecordError`` for a device no E-meter here serves."""
    kind = BY_DEVICE_TYPE.get(device_type)
    if kind is None:
        known = ", ".join(f"{k.device_type:02X}h {k.name}" for k in KINDS)
        raise RecordError(f"M-Bus device type {device_type:02X}h is not one this E-meter reads ({known}) "
                          "[EN 13757-3, P2-4.2.2 §6.3]")
    return kind


def kind_named(name: str) -> DeviceKind:
    kind = BY_NAME.get(name)
    if kind is None:
        raise InvalidInput(f"device kind {name!r} is not one of {', '.join(BY_NAME)}")
    return kind


def unit_for_device_type(device_type: int) -> str:
    """The P1 unit of ``0-n:24.2.1`` for a device type; m³ for a type not in the table (as before)."""
    kind = BY_DEVICE_TYPE.get(device_type)
    return kind.unit if kind is not None else GAS.unit
