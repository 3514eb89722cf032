"""The real P2 path behind the :class:`GasLink` protocol: frames, keys and faults, not a shortcut.

Each gas meter is a :class:`GasMeterSlave` on an in-memory :class:`VirtualBus`; the E-meter is a
:class:`DsmrP2Master` over a :class:`BusPort`. Coupling a meter installs it as [P2-4.0.7 §8.3] says
(address 0 → a free primary address, a fresh user key sent wrapped with the meter's default key) and
every hourly read is a REQ_UD2 whose mode 15 reply is decrypted, replay-checked and judged plausible
(``gas_acceptance``) at the simulated instant. Bus faults (``BusFaults``: dropped or flipped bytes, echo,
silence) surface as a :class:`LinkError`; a reply that arrived whole but was refused (wrong key, replay,
implausible records) as a :class:`RefusedFrame`, a ``LinkError`` too, which the E-meter records as a
failed read and also counts as a rejected frame.

Clock synchronisation (CI 6C) and status housekeeping (``01 FD 97 06 73``) go out as real, encrypted
SND_UDs through ``synchronize_clock`` and ``clear_status`` [P2-4.0.7 §6.2.1, §6.2.4].

A key change from the central system (P3 class 72 ``transfer_key`` / ``set_encryption_key``) reaches
the bus through ``transfer_key`` and ``set_user_key`` (``DsmrP2Master``).

Sans-I/O: the master's coroutines never wait on a :class:`BusPort`, so ``run_now`` drives them inline
at the simulated instant.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from meterkast.emeter.readings import MbusReading
from meterkast.errors import AuthenticationError, CodecError, CommandRefused, LinkError
from meterkast.gasmeter.meter import GasMeter
from meterkast.mbus.dsmr_master import DsmrP2Master, InstalledDevice
from meterkast.mbus.gas_slave import GasMeterSlave
from meterkast.mbus.keys import generate_user_key
from meterkast.mbus.master import BusMaster, RetryPolicy
from meterkast.mbus.virtual import BusFaults, BusPort, BusSlave, VirtualBus, run_now
from meterkast.randomness import RandomSource
from meterkast.sim.gaslink import GasMeterEvent


class RefusedFrame(LinkError):
    """The reply arrived whole (checksum right) and the E-meter refused it [P2-4.0.7 §5.2, §6].

    ``clock_only``: refused only for its time stamp, so the gas meter's clock is off (and a sync may help)."""

    clock_only: bool = False


class P2GasLink:
    def __init__(
        self,
        rng: RandomSource,
        *,
        faults: BusFaults | None = None,
        policy: RetryPolicy | None = None,
        encrypted: bool = True,
    ) -> None:
        self._rng = rng
        self._encrypted = encrypted
        self.bus = VirtualBus(rng, faults or BusFaults())
        self._now: datetime | None = None
        self.p2 = DsmrP2Master(BusMaster(BusPort(self.bus, self._clock), policy or RetryPolicy()))
        self._slaves: dict[int, tuple[GasMeter, GasMeterSlave]] = {}
        self._others: dict[int, BusSlave] = {}  # water and heat meters (``attach_slave``)
        self._events: list[GasMeterEvent] = []
        # The E-meter's clock (UTC) for the time-stamp window (``gas_acceptance``); the simulated true
        # instant when not set. The installation sets it: the gas meter is synchronised to the E-meter.
        self.emeter_clock: Callable[[], datetime] | None = None

    def _clock(self) -> datetime:
        assert self._now is not None, "P2GasLink used before attach/read set the simulated instant"
        return self._now

    def attach(self, channel: int, meter: GasMeter) -> None:
        """Wire the meter to the bus and install it on ``channel`` (address, then key)."""
        self._now = meter.now
        slave = GasMeterSlave(meter)
        self.bus.attach(slave)
        self._slaves[channel] = (meter, slave)
        user_key = generate_user_key(self._rng) if self._encrypted else bytes(16)
        try:
            run_now(self.p2.install(default_key=meter.default_key, user_key=user_key, channel=channel))
        finally:
            self._collect(channel)

    def attach_slave(self, now: datetime, channel: int, slave: BusSlave, default_key: bytes) -> None:
        """Wire another M-Bus device (a water or heat meter, ``SubMeterSlave``) and install it on ``channel``
        the way ``attach`` installs a gas meter [P2-4.2.2 §8.3]."""
        self._now = now
        self.bus.attach(slave)
        self._others = {**getattr(self, "_others", {}), channel: slave}  # getattr: links pickled before
        user_key = generate_user_key(self._rng) if self._encrypted else bytes(16)
        run_now(self.p2.install(default_key=default_key, user_key=user_key, channel=channel))

    def detach(self, channel: int) -> None:
        other = getattr(self, "_others", {}).pop(channel, None)
        if other is not None:
            self.bus.detach(other)
        entry = self._slaves.pop(channel, None)
        if entry is not None:
            self.bus.detach(entry[1])
        if channel in self.p2.devices:
            self.p2.decouple(channel)

    def read(self, now: datetime, channel: int) -> MbusReading:
        self._now = now
        try:
            clock = now if self.emeter_clock is None else self.emeter_clock()
            reply = run_now(self.p2.read(channel, now=clock))
        except AuthenticationError as exc:  # wrong key, replay, implausible (dsmr_master): refused
            refusal = RefusedFrame(f"P2 read on channel {channel} failed: {exc}")
            device = self.p2.devices.get(channel)
            refusal.clock_only = device is not None and device.clock_refused
            raise refusal from exc
        except CodecError as exc:  # not an RSP_UD (FrameError): a failed read, as on a real E-meter
            raise LinkError(f"P2 read on channel {channel} failed: {exc}") from exc
        finally:
            self._collect(channel)
        return MbusReading(reply.value_m3, reply.capture_time, reply.status, reply.resolution_m3)

    def transfer_key(self, now: datetime, channel: int, wrapped_lsb_first: bytes) -> None:
        """Send the *Set new key* records to the device on ``channel``; a lost or refused frame is a LinkError."""
        self._now = now
        try:
            run_now(self.p2.transfer_key(channel, wrapped_lsb_first))
        except CodecError as exc:
            raise LinkError(f"P2 key transfer on channel {channel} failed: {exc}") from exc
        finally:
            self._collect(channel)

    def synchronize_clock(self, now: datetime, channel: int, e_meter_utc: datetime) -> None:
        """CI 6C to the device on ``channel`` [P2-4.0.7 §4.3.4, §6.2.1]; a lost or refused frame is a LinkError."""
        self._command(now, channel, "clock synchronisation", self.p2.synchronize_clock(channel, e_meter_utc))

    def clear_status(self, now: datetime, channel: int) -> None:
        """``01 FD 97 06 73`` to the device on ``channel`` [P2-4.0.7 §6.2.4]; failure is a LinkError."""
        self._command(now, channel, "status clear", self.p2.clear_status(channel))

    def _command(self, now: datetime, channel: int, what: str, sending: Coroutine[Any, Any, None]) -> None:
        self._now = now
        try:
            run_now(sending)
        except (CodecError, CommandRefused) as exc:
            raise LinkError(f"P2 {what} on channel {channel} failed: {exc}") from exc
        finally:
            self._collect(channel)

    def set_user_key(self, channel: int, user_key: bytes) -> None:
        self.p2.set_user_key(channel, user_key)

    def take_events(self) -> list[GasMeterEvent]:
        events, self._events = self._events, []
        return events

    def device(self, channel: int) -> InstalledDevice | None:
        return self.p2.devices.get(channel)

    def _collect(self, channel: int) -> None:
        entry = self._slaves.get(channel)
        if entry is None:
            return
        meter, slave = entry
        number = str(meter.meter_number)
        self._events += [GasMeterEvent(e.at, channel, number, e) for e in slave.take_events()]
