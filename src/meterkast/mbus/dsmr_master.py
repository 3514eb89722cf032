"""The E-meter as DSMR P2 master: install gas meters on channels 1–4, change their keys, read them hourly.

Over a :class:`BusMaster` (any transport), following [P2-4.0.7 §8.3] for wired installation:
1. a new device answers at primary address 0; the E-meter resets it (SND_NKE) and reads its Short ID
   with REQ_UD2 (unencrypted: a new meter has no user key [§6.5]);
2. it assigns the lowest free primary address with ``01 7A aa`` (CI 51), accepted only while the user
   key is zero [§6.2];
3. the user key chosen by the central system is sent wrapped with the meter's default key as the two
   set-key records ``07 FD 19`` / ``47 FD 19`` (CI 51) [§6.5.1];
4. from then on every RSP_UD must be mode 15 with a frame counter above the last one accepted for that
   channel [§5.2]; a replay or a wrong key is an :class:`AuthenticationError` naming meter and channel;
5. a reply that decrypts is accepted only when it is plausible for the installed device
   (``gas_acceptance``: sender, strict record layout, equipment, counter bound, clock window, volume);
   only then are its frame counter, value and time stamp stored, together. The plain reply read at
   installation tells the equipment identifier, resolution and configuration; a rejected reply changes
   nothing but the channel's rejection count, so it cannot block the genuine replies after it.

Key change from the central system (P3 class 72, [P2-4.0.7 §6.5.1], [P3-4.2.2 §3.2.3.1]): ``transfer_key``
relays the new user key, wrapped with the device's default key, as the two *Set new key* records (sent
unencrypted, the one command a keyed device accepts so); ``set_user_key`` gives the master the key in
plain. The master keeps the old key beside the new one until a reply decrypts with the new one: the two
P3 methods arrive one by one, a read may fall between them, and a relay lost on the bus leaves the device
on its old key. The device has no check value for an unwrapped key [§6.5.1]: a key wrapped with the wrong
default key is taken as it unwraps, and every later reply fails its 2F 2F check here.

Clock synchronisation [§6.2.1] and status housekeeping [§6.2.4] are ``dsmr_commands``.

Channels are numbered in install order, at most 4 devices [P2-4.0.7 §1.2], [P1-4.2.2 §5.12].
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from meterkast.errors import AuthenticationError, CodecError, CommandRefused, FrameError, InvalidInput, RecordError
from meterkast.mbus.dsmr_commands import CLEAR_NON_PERMANENT, CommandSender
from meterkast.mbus.gas_acceptance import ImplausibleFrame, Installed, commit, judge, refused
from meterkast.mbus.gas_reply import GasReply, read_gas_reply, read_header
from meterkast.mbus.keys import NO_USER_KEY, check_key, encode_set_key_records, wrap_user_key
from meterkast.mbus.link import MAX_PRIMARY, LongFrame
from meterkast.mbus.master import CI_UNENCRYPTED, BusMaster
from meterkast.mbus.security import FrameCounterGuard, MeterIdentity

MAX_CHANNELS = 4
UNCONFIGURED = 0  # a device fresh from the factory listens at primary address 0 [P2-4.0.7 §3.1.3]


@dataclass(slots=True)
class InstalledDevice:
    channel: int
    address: int
    meter: MeterIdentity
    user_key: bytes
    state: Installed
    next_user_key: bytes | None = None  # set by the central system, until a reply decrypts with it
    clock_refused: bool = False  # the last reply was refused only for its time stamp: the clock is off
    clock_refused_counter: int | None = None  # and its frame counter (mode 15)

    @property
    def guard(self) -> FrameCounterGuard:
        """The channel's frame counter guard: moved only by an accepted reply."""
        return self.state.guard

    @property
    def rejected(self) -> int:
        """Replies that arrived whole but were refused (wrong key, replay, implausible)."""
        return self.state.rejected


class DsmrP2Master:
    def __init__(self, master: BusMaster) -> None:
        self.master = master
        self.devices: dict[int, InstalledDevice] = {}
        self.commands = CommandSender(master)

    def free_channel(self) -> int:
        for channel in range(1, MAX_CHANNELS + 1):
            if channel not in self.devices:
                return channel
        raise CommandRefused(f"all {MAX_CHANNELS} M-Bus channels are in use [P2-4.0.7 §1.2]; decouple one first")

    def _free_address(self) -> int:
        used = {d.address for d in self.devices.values()}
        return next(a for a in range(1, MAX_PRIMARY + 1) if a not in used)

    async def install(self, *, default_key: bytes, user_key: bytes, channel: int | None = None) -> InstalledDevice:
        """Find the device at address 0, give it an address and a key; returns the new channel's device."""
        channel = self.free_channel() if channel is None else channel
        if channel in self.devices or not 1 <= channel <= MAX_CHANNELS:
            raise InvalidInput(f"channel {channel} is not a free channel 1..{MAX_CHANNELS}")
        await self.master.reset(UNCONFIGURED)
        first = await self.master.request_data(UNCONFIGURED)
        meter = MeterIdentity.from_short_id(read_header(first).short_id)
        state = Installed(meter, FrameCounterGuard(meter=meter, channel=channel))
        # A new meter has no user key: its reply is plain and names the installed equipment [§6.4.1]. If it is
        # keyed already or unreadable, the equipment is learned from the first accepted reply instead.
        with suppress(CodecError):
            state.learn(read_gas_reply(first, user_key=NO_USER_KEY, channel=channel))
        address = self._free_address()
        await self.master.set_primary_address(UNCONFIGURED, address)
        if user_key != NO_USER_KEY:
            records = encode_set_key_records(wrap_user_key(default_key, user_key))
            await self.master.send_data(address, CI_UNENCRYPTED, records)
        state.attempts_at_accept = self.master.stats.attempts
        device = InstalledDevice(channel, address, meter, user_key, state)
        self.devices[channel] = device
        return device

    def _device(self, channel: int) -> InstalledDevice:
        device = self.devices.get(channel)
        if device is None:
            raise InvalidInput(f"no M-Bus device is installed on channel {channel}")
        return device

    async def read(self, channel: int, *, now: datetime | None = None) -> GasReply:
        """REQ_UD2 to the channel's device: its hourly value, decrypted, replay-checked and judged plausible.

        ``now`` is the E-meter's clock (UTC) for the time-stamp window; without it that rule is skipped.
        With a new user key outstanding the reply is tried with it first, then with the old key; the first
        reply accepted with the new key retires the old one. A reply that arrived whole but is refused
        (``AuthenticationError``: wrong key, replay, or ``ImplausibleFrame`` naming the broken rule; a
        ``RecordError`` becomes ``ImplausibleFrame`` "layout", any other ``CodecError`` of a whole frame but
        ``FrameError`` becomes ``ImplausibleFrame`` "header") is counted in ``InstalledDevice.rejected`` and
        changes nothing else.
        """
        device = self._device(channel)
        frame = await self.master.request_data(device.address)  # link errors are no rejection
        attempts = self.master.stats.attempts
        try:
            reply, key = self._open(device, frame)
            judge(device.state, reply, attempts=attempts, now=now)
        except AuthenticationError as exc:
            refused(device.state, exc)
            if isinstance(exc, ImplausibleFrame) and exc.rule == "clock":
                device.clock_refused = _only_clock(device, reply, attempts)
                device.clock_refused_counter = reply.frame_counter if device.clock_refused else None
            raise
        commit(device.state, reply, attempts=attempts, now=now)
        device.clock_refused, device.clock_refused_counter = False, None
        if key == device.next_user_key:
            device.user_key, device.next_user_key = key, None
        return reply

    def _open(self, device: InstalledDevice, frame: LongFrame) -> tuple[GasReply, bytes]:
        """The reply read with the new user key if one is outstanding, else the current one; a frame that
        arrived whole but does not read is ``ImplausibleFrame`` (``FrameError``, not an RSP_UD at all, and
        ``AuthenticationError`` pass as they are)."""
        try:
            return self._read_with_keys(device, frame)
        except (AuthenticationError, FrameError):
            raise
        except RecordError as exc:  # decrypted (or plain) but not the layout the gas meter writes
            raise ImplausibleFrame(str(exc), rule="layout") from exc
        except CodecError as exc:  # a whole frame with an impossible header (CW, MAN, block count)
            raise ImplausibleFrame(str(exc), rule="header") from exc

    def _read_with_keys(self, device: InstalledDevice, frame: LongFrame) -> tuple[GasReply, bytes]:
        new = device.next_user_key
        if new is not None:
            try:
                return read_gas_reply(frame, user_key=new, guard=device.guard, channel=device.channel), new
            except (AuthenticationError, RecordError):  # not yet (the relay was lost or came later): old key
                pass
        return read_gas_reply(frame, user_key=device.user_key, guard=device.guard, channel=device.channel), \
            device.user_key

    async def transfer_key(self, channel: int, wrapped_lsb_first: bytes) -> None:
        """Relay a user key wrapped with the device's default key as the *Set new key* records [§6.5.1].

        ``wrapped_lsb_first`` is P3 ``transfer_key``'s octet string as the E-meter turned it, LSB first
        [P3-4.2.2 §3.2.3.1]; the records carry it so (DIF 07h the low 64 bits, DIF 47h the high ones).
        """
        device = self._device(channel)
        records = encode_set_key_records(check_key("wrapped user key", wrapped_lsb_first)[::-1])
        await self.master.send_data(device.address, CI_UNENCRYPTED, records)

    def set_user_key(self, channel: int, user_key: bytes) -> None:
        """The user key in plain (P3 ``set_encryption_key``): used from the next read on, beside the old one
        until a reply decrypts with it."""
        device = self._device(channel)
        key = check_key("user key", user_key)
        device.next_user_key = None if key == device.user_key else key

    async def synchronize_clock(self, channel: int, e_meter_utc: datetime) -> None:
        """Set the device's clock to the E-meter's (UTC) with CI 6C [P2-4.0.7 §4.3.4, §6.2.1] (``dsmr_commands``)."""
        await self.commands.synchronize_clock(self._device(channel), e_meter_utc)

    async def clear_status(self, channel: int, mask: int = CLEAR_NON_PERMANENT) -> None:
        """Clear the device's non-permanent status bits, ``01 FD 97 06 73`` [P2-4.0.7 §6.2.4]."""
        await self.commands.clear_status(self._device(channel), mask)

    def decouple(self, channel: int) -> InstalledDevice:
        """Forget the device (P3 ``slave_deinstall``); its channel and address become free."""
        device = self.devices.pop(channel, None)
        if device is None:
            raise InvalidInput(f"no M-Bus device is installed on channel {channel}")
        return device


def _only_clock(device: InstalledDevice, reply: GasReply, attempts: int) -> bool:
    """Whether the time stamp is a reply's only fault: a genuine frame (the equipment rule catches an altered
    counter) from a meter whose clock is off; an encrypted clock sync must carry a counter above its own
    [§5.2 note: the E-meter learns the current counter from a REQ_UD2]."""
    try:
        judge(device.state, reply, attempts=attempts, now=None)
    except AuthenticationError:
        return False
    return True
