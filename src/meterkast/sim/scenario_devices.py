"""Scenario keys for the water and heat meters on the E-meter's M-Bus (Liander manual §8; SYSTEM M3).

``[[mbus_device]]`` tables install a device at the start, and the timeline kind ``add-mbus-device`` one
later (on the first free channel); ``decouple-mbus-device`` (``channel``) decouples one. Keys (``docs/scenarios.md``):

- ``kind``: ``"water"`` or ``"heat"``; ``number``: the 17-character equipment identifier
  [P2-4.2.2 §6.4.1];
- ``channel`` (start only): the channel it must land on; the installer fits the devices in channel order,
  the house's gas meter on the first channel nobody claimed [P1-4.2.2 §6.3–6.5];
- ``initial``: the register at installation (m³ for water, GJ for heat); ``persons`` (water),
  ``annual_gj`` (heat); ``manufacturer`` (3-letter FLAG id); ``default_key`` (32 hex digits).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from meterkast.errors import InvalidInput
from meterkast.sim.installation import Command
from meterkast.sim.installation_devices import AddSubMeter, DecoupleSubMeter, install_order
from meterkast.sim.scenario_schema import Table

MAX_MBUS_DEVICES = 4  # SYSTEM M3


def sub_meter(t: Table, *, at_start: bool) -> AddSubMeter:
    """One device from its table (``[[mbus_device]]`` or a timeline item); the table is not closed here."""
    kind = t.choice("kind", ("water", "heat"))
    number = t.text("number")
    if len(number) != 17 or not number[5:15].isdigit():
        raise t.fail("number", f"{number!r} must be 17 characters with a 10-digit serial at 6–15 "
                               "(P2-4.2.2 §6.4.1)")
    channel = t.integer("channel", None, low=1, high=MAX_MBUS_DEVICES) if at_start else None
    manufacturer = t.text("manufacturer", None)
    if manufacturer is not None and not (len(manufacturer) == 3 and manufacturer.isascii()
                                         and manufacturer.isalpha() and manufacturer.isupper()):
        raise t.fail("manufacturer", f"{manufacturer!r} must be 3 capital letters (a FLAG id)")
    try:
        return AddSubMeter(
            kind, number, channel,
            initial=t.decimal("initial", Decimal(0)),
            persons=t.decimal("persons", Decimal("2.1")),
            annual_gj=t.decimal("annual_gj", Decimal("25")),
            manufacturer=manufacturer,
            default_key=t.key16("default_key"),
        )  # fmt: skip
    except InvalidInput as exc:
        raise t.fail(None, str(exc)) from exc


def mbus_devices(top: Table, gas_meters: int) -> tuple[AddSubMeter, ...]:
    """The ``[[mbus_device]]`` tables, checked against the gas meters for channels (at most 4 devices)."""
    tables = top.tables("mbus_device")
    devices = []
    for t in tables:
        devices.append(sub_meter(t, at_start=True))
        t.done()
    if len(devices) + gas_meters > MAX_MBUS_DEVICES:
        raise top.fail("mbus_device", f"at most {MAX_MBUS_DEVICES} M-Bus devices per E-meter, gas meters included "
                                      "(SYSTEM M3)")
    numbers = [d.equipment_id for d in devices]
    if len(set(numbers)) != len(numbers):
        raise top.fail("mbus_device", "two M-Bus devices have the same number")
    _check_channels(top, devices, gas_meters)
    return tuple(devices)


def _check_channels(top: Table, devices: Sequence[AddSubMeter], gas_meters: int) -> None:
    try:
        order = install_order(devices, gas=True)
    except InvalidInput as exc:
        raise top.fail("mbus_device", str(exc)) from exc
    # The further gas meters follow on the channels left after the start.
    if len(order) + gas_meters - 1 > MAX_MBUS_DEVICES:
        raise top.fail("mbus_device", "the gas meters do not fit on the channels the devices leave")


def add_device(t: Table, at: datetime, _: datetime | None) -> tuple[list[tuple[datetime, Command]], None]:
    """Timeline ``add-mbus-device``: a water or heat meter coupled on the first free channel."""
    return [(at, sub_meter(t, at_start=False))], None


def decouple_device(t: Table, at: datetime, _: datetime | None) -> tuple[list[tuple[datetime, Command]], None]:
    """Timeline ``decouple-mbus-device``: the water or heat meter on ``channel`` is decoupled."""
    return [(at, DecoupleSubMeter(t.integer("channel", low=1, high=MAX_MBUS_DEVICES)))], None
