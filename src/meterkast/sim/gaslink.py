"""How the E-meter's hourly P2 read reaches a gas meter: one small protocol and its direct implementation.

SYSTEM G5, E1, M1–M3; DSMR-M 4.5.5 ("the exchange of meter readings between the E meter and G meter
takes place only once an hour"), [P2-4.0.7 §6.1, §6.4.3].

The installation never talks to a gas meter's P2 port itself: it asks a :class:`GasLink` to ``read`` the
device on a channel and gets back the :class:`~meterkast.emeter.readings.MbusReading` the E-meter's master
would decode, or a :class:`~meterkast.errors.LinkError` (``NoReply`` when nothing answered). Two ways to
build one:
- :class:`DirectGasLink` (here) takes the value straight from the gas meter model: no frames, no keys;
- the P2 path (gas meter M-Bus slave → virtual bus → master → decryption) plugs in behind the same
  protocol: ``attach`` puts a slave on the bus at the channel's primary address, ``read`` runs the
  REQ_UD2 exchange and decrypts, ``take_events`` hands over what the slaves reported.

Rules every link keeps:
- ``read(now, channel)`` is called with the gas meter already advanced to ``now``;
- a meter whose battery is empty does not answer (SYSTEM G10): ``NoReply``;
- each answered read costs the gas meter one M-Bus exchange of battery charge (as ``meter_run`` counts
  it), and the events that causes come back from ``take_events``;
- the reading is the meter's stored hourly value and its UTC time stamp [P2-4.0.7 §6.1]; before the
  first whole hour a meter has none, and then it sends its actual value with the time it was determined
  ("either value will be accompanied with a time stamp of the moment the value is determined",
  [P2-4.0.7 §6.4.3]).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from meterkast.emeter.readings import MbusReading
from meterkast.errors import NoReply
from meterkast.gasmeter.commands import ClearStatusBits, SynchronizeClock
from meterkast.gasmeter.events import Event as GasEvent
from meterkast.gasmeter.meter import GasMeter


@dataclass(frozen=True, slots=True)
class GasMeterEvent:
    """Something a gas meter reported, with the channel it is on and its meter number."""

    at: datetime
    channel: int
    meter_number: str
    event: GasEvent


class GasLink(Protocol):
    def attach(self, channel: int, meter: GasMeter) -> None:
        """A gas meter is now wired to the bus and coupled on ``channel``."""

    def detach(self, channel: int) -> None:
        """The gas meter on ``channel`` is gone (replaced or decoupled)."""

    def read(self, now: datetime, channel: int) -> MbusReading:
        """The hourly value of the device on ``channel``; raises ``LinkError`` (``NoReply``) on failure."""
        ...

    def take_events(self) -> list[GasMeterEvent]:
        """Gas-meter events the reads caused since the last call (battery drain)."""
        ...

    def synchronize_clock(self, now: datetime, channel: int, e_meter_utc: datetime) -> None:
        """Set the device's clock to ``e_meter_utc`` [P2-4.0.7 §6.2.1]; raises ``LinkError`` on failure."""

    def clear_status(self, now: datetime, channel: int) -> None:
        """Clear the device's non-permanent status bits [P2-4.0.7 §6.2.4]; raises ``LinkError`` on failure."""


class DirectGasLink:
    """Reads the gas meter model directly: the value a perfect P2 exchange would deliver."""

    def __init__(self) -> None:
        self._meters: dict[int, GasMeter] = {}
        self._events: list[GasMeterEvent] = []
        self._readers: dict[int, Callable[[datetime], MbusReading]] = {}

    def attach(self, channel: int, meter: GasMeter) -> None:
        self._meters[channel] = meter

    def attach_reader(self, channel: int, reader: Callable[[datetime], MbusReading]) -> None:
        """Another M-Bus device (water, heat: ``sim.installation_devices``) whose reading ``reader`` gives."""
        self._readers[channel] = reader

    def detach(self, channel: int) -> None:
        self._meters.pop(channel, None)
        getattr(self, "_readers", {}).pop(channel, None)

    def read(self, now: datetime, channel: int) -> MbusReading:
        readers: dict[int, Callable[[datetime], MbusReading]] = getattr(self, "_readers", {})  # older pickles
        reader = readers.get(channel)
        if reader is not None:
            return reader(now)
        meter = self._meters.get(channel)
        if meter is None:
            raise NoReply(f"no gas meter answers on M-Bus channel {channel}: nothing is attached there")
        number = str(meter.meter_number)
        if not meter.can_communicate:
            raise NoReply(f"gas meter {number} on channel {channel} does not answer: its battery is empty (SYSTEM G10)")
        self._events += [GasMeterEvent(e.at, channel, number, e) for e in meter.note_mbus_exchange(now)]
        stored = meter.p2_value  # hourly (DSMR 4) or 5-minute (SMR 5) stored value (gasmeter/variant.py)
        if stored is None:
            value, captured = meter.index_m3, meter.meter_time(now).replace(microsecond=0)
        else:
            value, captured = stored.index_m3, stored.captured_at
        return MbusReading(value, captured, meter.status_byte(), meter.metrology.resolution_m3)

    def synchronize_clock(self, now: datetime, channel: int, e_meter_utc: datetime) -> None:
        """What CI 6C does, without the frame: the meter takes the time truncated to the second (type I)."""
        meter = self._answering(channel, "synchronise the clock of")
        when = e_meter_utc.replace(microsecond=0)
        self._events += [GasMeterEvent(e.at, channel, str(meter.meter_number), e)
                         for e in meter.note_mbus_exchange(now) + meter.handle(now, SynchronizeClock(when))]

    def clear_status(self, now: datetime, channel: int) -> None:
        meter = self._answering(channel, "clear the status of")
        self._events += [GasMeterEvent(e.at, channel, str(meter.meter_number), e)
                         for e in meter.note_mbus_exchange(now) + meter.handle(now, ClearStatusBits(0x73))]

    def _answering(self, channel: int, what: str) -> GasMeter:
        meter = self._meters.get(channel)
        if meter is None or not meter.can_communicate:
            raise NoReply(f"cannot {what} the gas meter on channel {channel}: nothing answers there")
        return meter

    def take_events(self) -> list[GasMeterEvent]:
        events, self._events = self._events, []
        return events
