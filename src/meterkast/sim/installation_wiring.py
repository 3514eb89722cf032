"""The installation's meters and their wiring: what its commands do to the gas meters, the E-meter and the
M-Bus/P2 link between them, and the E-meter's reads over that link (SYSTEM G5, E3, M3; DSMR-M 4.5.5;
P2-4.0.7 §6.5.1). ``Wiring`` is a part of ``sim.installation.Installation``, which keeps the world and its
time (households, hours, scheduled commands) and provides what ``Wiring`` declares.

Rules this module keeps:
- a command the devices cannot carry out raises ``CommandRefused`` with what was wrong and what to do
  (``Installation`` turns it into a ``CommandFailed`` event when it was scheduled);
- a gas meter is coupled, replaced and decoupled on the E-meter and on the link together, so the two
  never disagree about which meter is on a channel; a replacement keeps the channel and the flow;
- a wrong P2 key (``SetP2WrongKey``) is undone exactly: the E-meter's real key is kept aside until then,
  and a replacement, a decoupling or a new key from the central system forgets it;
- nothing is stored here: the state lives in ``Installation``, so it still pickles as one object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from meterkast.emeter.emeter import EMeter
from meterkast.emeter.gas_clock import GasCommand, SyncReason
from meterkast.emeter.readings import MbusDeviceIdentity
from meterkast.errors import CommandRefused, LinkError
from meterkast.gasmeter import commands as gas_commands
from meterkast.gasmeter.events import Event as GasEvent
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import MeterType
from meterkast.gasmeter.variant import GasMeterVariant
from meterkast.mbus.keys import KEY_SIZE
from meterkast.randomness import RandomSource
from meterkast.sim.gaslink import GasLink, GasMeterEvent
from meterkast.sim.household import FlowStep
from meterkast.sim.installation_commands import (
    AddGasMeter,
    CoupleGasMeter,
    DecoupleGasMeter,
    DriftGasMeterClock,
    OperateGasMeter,
    PowerDown,
    PowerUp,
    ReplaceGasMeter,
    SendValveCommand,
    SetMbusUserKey,
    SetP2Fault,
    SetP2WrongKey,
    SetTextMessage,
    ShiftEMeterClock,
    SynchronizeGasMeterClock,
    TransferMbusKey,
)
from meterkast.sim.installation_devices import AddSubMeter, DecoupleSubMeter
from meterkast.sim.p2_link import P2GasLink, RefusedFrame

if TYPE_CHECKING:
    from meterkast.sim.installation import Command, Event, GasSupply


class Wiring:
    """The meters of an ``Installation`` and the link between them (module docstring)."""

    emeter: EMeter
    link: GasLink
    supplies: list[GasSupply]
    _rng: RandomSource
    _now: datetime
    _saved_keys: dict[int, bytes]  # channel → the E-meter's real P2 key while a wrong one is injected
    # Issue 11 item 9: the generation of the gas meters the installation gets (a replacement keeps the old
    # meter's). Class-level default, so installations pickled before it existed stay DSMR 4.
    gas_variant: GasMeterVariant = GasMeterVariant.DSMR4

    if TYPE_CHECKING:  # Installation's: a new gas line with its household, and the gas temperature in force
        def _add(self, command: AddGasMeter) -> list[Event]: ...

        def _gas_temp(self, step: FlowStep) -> Decimal: ...

        def _add_sub_meter(self, command: AddSubMeter) -> list[Event]: ...

        def _decouple_sub_meter(self, command: DecoupleSubMeter) -> list[Event]: ...

    # -- the E-meter's reads over the link (DSMR-M 4.5.5) ----------------------------------------------

    def _emeter_clock(self) -> datetime:
        return self.emeter.meter_time().astimezone(UTC)

    def _read(self, channel: int) -> list[Event]:
        events: list[Event] = []
        try:
            reading = self.link.read(self._now, channel)
        except LinkError as exc:  # a RefusedFrame arrived whole and was refused: the E-meter counts it
            events += self.link.take_events()
            rejected = isinstance(exc, RefusedFrame)
            events += self.emeter.record_read_failure(self._now, channel, str(exc), rejected=rejected)
            if isinstance(exc, RefusedFrame) and exc.clock_only:
                self.emeter.mbus.clock_off(channel)  # synced at once (_gas_commands_at_once)
            return events
        events += self.link.take_events()
        events += self.emeter.record_reading(self._now, channel, reading)
        return events + self._gas_commands(channel, self.emeter.mbus.after_read(channel))

    def _gas_commands_at_once(self) -> list[Event]:
        """Clock syncs due now, not after a read: the E-meter's clock changed (emeter.gas_clock)."""
        if not self.emeter.powered:
            return []
        events: list[Event] = []
        for channel in self.emeter.mbus.syncs_at_once():
            events += self._gas_commands(channel, [GasCommand.SYNC_CLOCK])
        return events

    def _gas_commands(self, channel: int, commands: Sequence[GasCommand]) -> list[Event]:
        """Send the E-meter's clock sync / status clear over the link [P2-4.0.7 §6.2.1, §6.2.4]."""
        events: list[Event] = []
        for command in commands:
            failure: str | None = None
            try:
                if command is GasCommand.SYNC_CLOCK:
                    self.link.synchronize_clock(self._now, channel, self._emeter_clock())
                else:
                    self.link.clear_status(self._now, channel)
            except LinkError as exc:
                failure = str(exc)
            events += self.link.take_events()
            events += self.emeter.record_gas_command(self._now, channel, command, failure)
        return events

    def _wrap(self, supply: GasSupply, gas_events: Sequence[GasEvent]) -> list[Event]:
        meter, channel = supply.meter, supply.channel
        assert meter is not None and channel is not None
        number = str(meter.meter_number)
        return [GasMeterEvent(event.at, channel, number, event) for event in gas_events]

    # -- commands ----------------------------------------------------------------------------------------

    def _apply(self, command: Command) -> list[Event]:  # noqa: PLR0911 -- one dispatch per command type
        match command:
            case ReplaceGasMeter():
                return self._replace(command)
            case DecoupleGasMeter():
                return self._decouple(self._supply_for(command.channel, "decouple"))
            case CoupleGasMeter():
                supply = self.supplies[0]
                self._refuse_if_coupled(supply)
                meter = self._manufacture(
                    supply, command.meter_type, command.meter_number, command.initial_index_m3, command.default_key
                )
                return self._couple(supply, meter)
            case AddGasMeter():
                return self._add(command)
            case AddSubMeter():
                return self._add_sub_meter(command)
            case DecoupleSubMeter():
                return self._decouple_sub_meter(command)
            case OperateGasMeter():
                supply = self._supply_for(command.channel, "operate")
                return self._wrap(supply, self._meter(supply).handle(self._now, command.command))
            case _:
                return self._apply_to_e_meter(command)

    def _apply_to_e_meter(self, command: Command) -> list[Event]:  # noqa: PLR0911 -- one dispatch per command type
        match command:
            case SendValveCommand():
                channel = self._channel(self._supply_for(command.channel, "send a valve command to"))
                return list(self.emeter.command_valve(self._now, channel, command.action))
            case PowerDown():
                return list(self.emeter.power_down(self._now))
            case PowerUp():
                return list(self.emeter.power_up(self._now))
            case ShiftEMeterClock():
                target = self.emeter.meter_time() + timedelta(seconds=command.seconds)
                return list(self.emeter.adjust_clock(self._now, target))
            case DriftGasMeterClock():
                meter = self._meter(self._supply_for(command.channel, "drift the clock of"))
                meter.clock_offset += timedelta(seconds=command.seconds)
                return []
            case SynchronizeGasMeterClock():  # over the link, as the E-meter's own syncs [P2-4.0.7 §6.2.1]
                channel = self._channel(self._supply_for(command.channel, "synchronise the clock of"))
                if not self.emeter.powered:
                    raise CommandRefused("clock synchronisation refused: the E-meter is powered down")
                self.emeter.mbus.channels[channel].clock.trigger(SyncReason.REQUESTED, at_once=True)
                return self._gas_commands(channel, [GasCommand.SYNC_CLOCK])
            case SetTextMessage():
                return list(self.emeter.set_text_message(self._now, command.text, command.code))
            case SetP2Fault():
                link = self._p2_link("inject a P2 fault")
                value: Any = command.probability > 0 if command.kind == "echo" else command.probability
                link.bus.faults = replace(link.bus.faults, **{command.kind: value})
                return []
            case SetP2WrongKey():
                return self._wrong_key(command)
            case TransferMbusKey() | SetMbusUserKey():
                return self._key_change(command)
        raise AssertionError(f"unhandled installation command {command!r}")

    def _manufacture(
        self, supply: GasSupply, meter_type: MeterType, number: str, index_m3: Decimal, key: bytes | None
    ) -> GasMeter:
        meter = GasMeter.manufacture(
            meter_type, number, self._now, self._rng, initial_index_m3=index_m3, default_key=key
        )
        meter.variant = self.gas_variant
        if supply.flow is not None:
            meter.handle(self._now, gas_commands.SetFlow(supply.flow.flow_m3h, self._gas_temp(supply.flow)))
        return meter

    def _refuse_if_coupled(self, supply: GasSupply) -> None:
        if supply.meter is not None:
            raise CommandRefused(
                f"gas meter {supply.meter.meter_number} is still coupled on channel {supply.channel}; "
                "replace or decouple it first"
            )

    def _couple(self, supply: GasSupply, meter: GasMeter) -> list[Event]:
        self._refuse_if_coupled(supply)
        meter.advance(self._now)
        identity = MbusDeviceIdentity.for_meter_number(str(meter.meter_number))
        channel, events = self.emeter.couple(self._now, identity, read_period=meter.variant.value_period)
        supply.meter, supply.channel = meter, channel
        self.link.attach(channel, meter)
        return list(events)

    def _replace(self, command: ReplaceGasMeter) -> list[Event]:
        supply = self._supply_for(command.channel, "replace")
        old, channel = self._meter(supply), self._channel(supply)
        meter_type = command.meter_type if command.meter_type is not None else old.meter_type
        new = self._manufacture(supply, meter_type, command.meter_number, command.initial_index_m3, command.default_key)
        new.variant = old.variant  # set before the new meter first advances (it runs from the next step on)
        identity = MbusDeviceIdentity.for_meter_number(str(new.meter_number))
        events: list[Event] = []
        events += self.emeter.replace(self._now, channel, identity, read_period=new.variant.value_period)
        self.link.detach(channel)
        self._saved_keys.pop(channel, None)
        supply.meter = new
        self.link.attach(channel, new)
        return events

    def _decouple(self, supply: GasSupply) -> list[Event]:
        channel = self._channel(supply)
        events: list[Event] = []
        events += self.emeter.decouple(self._now, channel)
        self.link.detach(channel)
        self._saved_keys.pop(channel, None)
        supply.meter, supply.channel = None, None
        return events

    def _wrong_key(self, command: SetP2WrongKey) -> list[Event]:
        link = self._p2_link("give the E-meter a wrong P2 key")
        channel = self._channel(self._supply_for(command.channel, "corrupt the P2 key of"))
        device = link.device(channel)
        if device is None:
            raise CommandRefused(f"no P2 device is installed on channel {channel}")
        if command.wrong and channel not in self._saved_keys:
            self._saved_keys[channel] = device.user_key
            device.user_key = bytes(b ^ 0x5A for b in device.user_key)
        elif not command.wrong and channel in self._saved_keys:
            device.user_key = self._saved_keys.pop(channel)
        return []

    def _key_change(self, command: TransferMbusKey | SetMbusUserKey) -> list[Event]:
        """A P2 key change the central system asked for over P3. A lost relay is refused here (the device keeps
        its old key); a key wrapped with the wrong default key is taken by the device all the same and shows
        as failed reads from then on (P2-4.0.7 §6.5.1 has no check value)."""
        link = self._p2_link("change a P2 key")
        channel = command.channel
        key = command.user_key if isinstance(command, SetMbusUserKey) else command.wrapped
        if len(key) != KEY_SIZE:
            raise CommandRefused(f"cannot change the P2 key on channel {channel}: the key is {len(key)} bytes, "
                                 f"not {KEY_SIZE} (AES-128)")
        if link.device(channel) is None:
            raise CommandRefused(f"cannot change the P2 key on channel {channel}: no P2 device is installed there")
        if isinstance(command, SetMbusUserKey):
            self._saved_keys.pop(channel, None)  # an injected wrong key is overtaken by the new key
            link.set_user_key(channel, command.user_key)
            return []
        if not self.emeter.powered:
            raise CommandRefused(f"cannot relay the new P2 key to channel {channel}: the E-meter is powered down")
        try:
            link.transfer_key(self._now, channel, command.wrapped)
        except LinkError as exc:  # the gas meter's events stay in the link for the next read to hand over
            raise CommandRefused(f"the new P2 key did not reach the gas meter on channel {channel}: {exc}") from exc
        return list(link.take_events())

    def _p2_link(self, what: str) -> P2GasLink:
        if not isinstance(self.link, P2GasLink):
            raise CommandRefused(f"cannot {what}: the installation reads its gas meters directly, not over P2")
        return self.link

    def _supply_for(self, channel: int | None, what: str) -> GasSupply:
        if channel is None:
            supply = self.supplies[0]
            if supply.meter is None:
                raise CommandRefused(f"cannot {what} the gas meter: none is coupled; couple one first")
            return supply
        for supply in self.supplies:
            if supply.meter is not None and supply.channel == channel:
                return supply
        raise CommandRefused(f"cannot {what} the gas meter on channel {channel}: no gas meter is coupled there")

    @staticmethod
    def _meter(supply: GasSupply) -> GasMeter:
        assert supply.meter is not None, "_supply_for only returns supplies with a meter"
        return supply.meter

    @staticmethod
    def _channel(supply: GasSupply) -> int:
        assert supply.channel is not None, "a coupled meter has a channel"
        return supply.channel
