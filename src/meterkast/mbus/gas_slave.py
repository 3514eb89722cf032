"""The Itron gas meter as a wired M-Bus slave on P2 (SYSTEM M1–M3; DSMR 4.0.7 P2 §3.1, §4, §5, §6).

``GasMeterSlave.on_request(now, frame)`` is the ``BusSlave`` of ``meterkast.mbus.virtual``: one complete
request frame in, the reply bytes out, or None for silence. Sans-I/O: time comes in as ``now``; the
meter's events collect in ``take_events()`` for the shell to dispatch.

Rules this module keeps, and why:
- requests are routed by the table ``ROUTES`` on (C field without FCB, CI) [§4.1 Table 5]; "all
  combinations of C and CI codes that are not described in this section shall be rejected (meaning: no
  further processing of the message)", so anything else is silence;
- the FCB "is ignored" [§3.1.2]: every REQ_UD2 gets a fresh RSP_UD with the next access number and, when
  encrypted, the next frame counter (EN 13757-2's repeat-the-last-reply rule does not apply on P2);
- only the slave's own primary address is answered; "Address values higher than 250 shall be ignored"
  [§3.1.3], so broadcasts (254, 255) and secondary addressing (253) get no reply;
- the slave owns the frame counter [§5.2]: +1 per encrypted RSP_UD; an encrypted command is executed
  only when its counter is higher, it decrypts with the 2F 2F fillers, and then its counter is adopted;
- once a user key is set, the only unencrypted commands accepted are *Set new key* (CI 51h) and REQ_UD2
  [§6.5]; *Set new address* is accepted only while the user key is zero [§6.2.3];
- a command frame is checked whole before any of it is executed, so a bad record changes nothing;
- frames it cannot parse, and refusals, are silence and a count in ``stats``: a slave never raises on
  bus input. Only a ``now`` that goes backwards raises (``ClockError`` from the meter);
- every frame addressed to the meter costs battery (``GasMeter.note_mbus_exchange``); an empty battery
  means silence (SYSTEM G10).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from meterkast.errors import CodecError, CommandRefused, InvalidInput
from meterkast.gasmeter import commands as cmd
from meterkast.gasmeter.events import Event
from meterkast.gasmeter.meter import GasMeter
from meterkast.mbus.datatypes import decode_datetime_i
from meterkast.mbus.gas_records import (
    DEFAULT_READOUT,
    GAS_MEDIUM,
    CommandKind,
    CommandPlan,
    ReadoutItem,
    decode_commands,
    encode_gas_records,
    plan_commands,
    readout_from_meter,
)
from meterkast.mbus.header import LongHeader, decode_long_header, encode_long_header
from meterkast.mbus.keys import NO_USER_KEY, KeyRing
from meterkast.mbus.link import (
    FCB_ACD,
    MAX_PRIMARY,
    ControlFrame,
    Frame,
    LongFrame,
    ShortFrame,
    SingleChar,
    decode_frame,
    encode_frame,
)
from meterkast.mbus.records import encode_records
from meterkast.mbus.security import (
    ConfigurationWord,
    FrameCounter,
    FrameCounterGuard,
    MeterIdentity,
    decrypt_payload,
    encrypt_payload,
)

DSMR_40 = 0x40  # VER: "meters that comply with version 4.0 of the DSMR should use 40h" [§4.2.3]
C_RSP_UD = 0x08
C_RSP_SKE = 0x0B
CI_RSP_UD = 0x72  # long header [§4.3.2]
CI_PLAIN = 0x51  # unencrypted, no header: set address, set key [§4.3.5]
CI_CONTROL = 0x5A  # short header, encrypted: readout list, valve [§4.3.3]
CI_CLOCK = 0x6C  # long header with the target's Short ID [§4.3.4]
ACK = encode_frame(SingleChar())


class Route(Enum):
    """What a request asks for [§4.1 Table 5]."""

    NORMALISE = "SND_NKE: reset link and readout list"
    READ_DATA = "REQ_UD2: meter data"
    CONTROL = "SND_UD CI 5A: readout list, valve (encrypted)"
    CLOCK_SYNC = "SND_UD CI 6C: clock synchronisation"
    PLAIN = "SND_UD CI 51: set address, set key (unencrypted)"
    CLASS_1 = "REQ_UD1: time-critical data (not used)"
    LINK_STATUS = "REQ_SKE: link status (not used)"


# Key: (C field with the FCB cleared, CI; None for a short frame). Table 5 prints REQ_SKE as 59h;
# EN 13757-2 codes it 49h, so both are taken.
ROUTES: dict[tuple[int, int | None], Route] = {
    (0x40, None): Route.NORMALISE,
    (0x5B, None): Route.READ_DATA,
    (0x53, CI_CONTROL): Route.CONTROL,
    (0x53, CI_CLOCK): Route.CLOCK_SYNC,
    (0x53, CI_PLAIN): Route.PLAIN,
    (0x5A, None): Route.CLASS_1,
    (0x49, None): Route.LINK_STATUS,
    (0x59, None): Route.LINK_STATUS,
}


@dataclass(frozen=True, slots=True)
class CommandRule:
    """Where a command may arrive: which CIs, and whether only while the user key is zero."""

    cis: frozenset[int]
    only_without_user_key: bool = False
    plain_with_user_key: bool = False  # the §6.5 exception: accepted unencrypted after a key is set


_ANY_COMMAND_CI = frozenset({CI_PLAIN, CI_CONTROL})
RULES: dict[CommandKind, CommandRule] = {
    CommandKind.SET_KEY_LOW: CommandRule(frozenset({CI_PLAIN}), plain_with_user_key=True),
    CommandKind.SET_KEY_HIGH: CommandRule(frozenset({CI_PLAIN}), plain_with_user_key=True),
    CommandKind.SET_ADDRESS: CommandRule(frozenset({CI_PLAIN}), only_without_user_key=True),
    CommandKind.VALVE: CommandRule(_ANY_COMMAND_CI),
    CommandKind.CLEAR_STATUS: CommandRule(_ANY_COMMAND_CI),
    CommandKind.SELECT: CommandRule(_ANY_COMMAND_CI),
}
SET_TIME = 0x00  # TC "set time" [§6.2.1]


@dataclass(slots=True)
class SlaveStats:
    received: int = 0
    answered: int = 0
    garbage: int = 0  # not one valid frame (framing, checksum)
    not_addressed: int = 0  # another address, a broadcast, or a frame from a slave
    rejected: int = 0  # addressed here but refused: Table 5, §5.2, §6.5, or not understood
    battery_empty: int = 0
    last_rejection: str = ""


def addressed_frame(stats: SlaveStats, request: bytes, address: int) -> ShortFrame | ControlFrame | LongFrame | None:
    """The request as a frame for ``address``, or None (counted in ``stats``): garbage, or another address.

    Every slave on the bus (gas, water, heat) answers only frames addressed to it; its address is at most
    250, so broadcasts (254, 255) and 253 never match [§3.1.3].
    """
    stats.received += 1
    try:
        frame = decode_frame(request)
    except CodecError:
        stats.garbage += 1
        return None
    if isinstance(frame, SingleChar) or frame.address != address:
        stats.not_addressed += 1
        return None
    return frame


def secured_rsp_ud(records: bytes, keys: KeyRing, counter: FrameCounter, who: MeterIdentity, *, access: int,
                   address: int) -> bytes:
    """RSP_UD with the long header and the records, encrypted in mode 15 once a user key is set [§4.2, §5.2].

    The frame counter advances only when encrypted (none in mode 0 [§5.2]); ST is "not used and its value
    is set to 0" [§4.2.5]; CW carries only MMMM/NNNN on wired [§4.2.6]. The caller advances its access
    number, which the device maintains, +1 per RSP_UD [§4.2.4].
    """
    frame_counter = counter.advance() if keys.is_encrypted else counter.value
    secured = encrypt_payload(records, user_key=keys.user_key, meter=who, frame_counter=frame_counter)
    header = LongHeader(who.ident, who.manufacturer, who.version, who.medium, access, 0, secured.configuration.value)
    return encode_frame(LongFrame(C_RSP_UD, address, CI_RSP_UD, encode_long_header(header) + secured.payload))


def default_identity(meter: GasMeter, manufacturer: str = "ITG", version: int = DSMR_40) -> MeterIdentity:
    """The Short ID [§4.2.2]: the last 8 digits of the 10-digit serial in BCD, gas (03h).

    ``ITG`` (Itron Gas) is the most plausible FLAG id for an Itron DSMR meter (DSMR-FACTS §2.3).
    """
    return MeterIdentity(manufacturer, f"{meter.meter_number.mbus_identification:08d}", version, GAS_MEDIUM)


class GasMeterSlave:
    """The gas meter's M-Bus interface: address, keys, frame counter and readout list [§4–§6].

    Per §7.2 all of this survives power outages, so it lives as long as the meter; pass ``user_key``
    and ``frame_counter`` to restore a meter that was already in service.
    """

    def __init__(
        self,
        meter: GasMeter,
        *,
        address: int = 0,
        identity: MeterIdentity | None = None,
        user_key: bytes = NO_USER_KEY,
        frame_counter: int = 0,
    ) -> None:
        if not 0 <= address <= MAX_PRIMARY:
            raise InvalidInput(f"primary address {address} must lie in 0..{MAX_PRIMARY} (DSMR P2 §3.1.3)")
        self.meter = meter
        self.identity = identity if identity is not None else default_identity(meter)
        self.stats = SlaveStats()
        self._address = address
        self._keys = KeyRing(meter.default_key, user_key)
        self._counter = FrameCounter(frame_counter, meter=self.identity)
        self._readout = DEFAULT_READOUT
        self._events: list[Event] = []
        self._routes: dict[Route, Callable[[datetime, Frame], bytes | None]] = {
            Route.NORMALISE: self._normalise,
            Route.READ_DATA: self._read_data,
            Route.CONTROL: self._control,
            Route.CLOCK_SYNC: self._clock_sync,
            Route.PLAIN: self._plain,
            Route.CLASS_1: lambda _now, _frame: ACK,  # "not used, but standard": E5 [Table 5]
            Route.LINK_STATUS: lambda _now, _frame: encode_frame(ShortFrame(C_RSP_SKE, self._address)),
        }

    # -- state -----------------------------------------------------------------------------------------

    @property
    def address(self) -> int:
        return self._address

    @property
    def keys(self) -> KeyRing:
        return self._keys

    @property
    def frame_counter(self) -> int:
        """The counter of the last frame sent or validated (0 before the first) [§5.2]."""
        return self._counter.value

    @property
    def readout(self) -> tuple[ReadoutItem, ...]:
        return self._readout

    def take_events(self) -> list[Event]:
        """The meter events raised while serving requests, oldest first; the list is emptied."""
        events, self._events = self._events, []
        return events

    # -- the bus ---------------------------------------------------------------------------------------

    def on_request(self, now: datetime, request: bytes) -> bytes | None:
        frame = addressed_frame(self.stats, request, self._address)
        if frame is None:
            return None
        self._events.extend(self.meter.advance(now))
        if not self.meter.can_communicate:
            self.stats.battery_empty += 1
            return None
        self._events.extend(self.meter.note_mbus_exchange(now))
        ci = None if isinstance(frame, ShortFrame) else frame.ci
        try:
            route = ROUTES.get((frame.control & ~FCB_ACD, ci))
            if route is None:
                raise CommandRefused(f"C={frame.control:02X} CI={_hex(ci)} is not in DSMR P2 Table 5")
            reply = self._routes[route](now, frame)
        except (CommandRefused, CodecError, InvalidInput) as exc:
            self.stats.rejected += 1
            self.stats.last_rejection = str(exc)
            return None
        self.stats.answered += reply is not None
        return reply

    # -- routes ----------------------------------------------------------------------------------------

    def _normalise(self, _now: datetime, _frame: Frame) -> bytes:
        self._readout = DEFAULT_READOUT  # "The readout list can be reset by sending a SND_NKE" [§6.3.2]
        return ACK

    def _read_data(self, _now: datetime, _frame: Frame) -> bytes:
        records = encode_records(encode_gas_records(readout_from_meter(self.meter, self._readout)))
        access = self.meter.access_number
        reply = secured_rsp_ud(records, self._keys, self._counter, self.identity, access=access, address=self._address)
        self.meter.access_number = (access + 1) % 256  # maintained by the device, +1 per RSP_UD [§4.2.4]
        return reply

    def _control(self, now: datetime, frame: Frame) -> bytes:
        data = _user_data(frame)
        if len(data) < 4:
            raise CommandRefused("CI 5A needs the 4-byte short header (DSMR P2 §4.3.3)")
        configuration = ConfigurationWord.from_value(int.from_bytes(data[2:4], "little"))
        plaintext, counter = self._open(configuration, data[4:])
        reply = self._execute(now, CI_CONTROL, plaintext, encrypted=counter is not None)
        self._adopt(counter)  # only a command that was carried out moves the counter
        return reply

    def _plain(self, now: datetime, frame: Frame) -> bytes:
        return self._execute(now, CI_PLAIN, _user_data(frame), encrypted=False)

    def _clock_sync(self, now: datetime, frame: Frame) -> bytes:
        data = _user_data(frame)
        header = decode_long_header(data)
        if header.short_id != self.identity.short_id:
            raise CommandRefused(f"clock sync for Short ID {header.short_id.hex().upper()}, not this meter "
                                 "(DSMR P2 §4.3.4)")
        configuration = ConfigurationWord.from_value(header.configuration)
        # Unencrypted time sync "only allowed and accepted ... when the User key is not set" [§4.3.4]:
        # decrypt_payload refuses mode 0 while a key is set.
        plaintext, counter = self._open(configuration, data[12:])
        body = plaintext.lstrip(b"\x2f")
        if len(body) < 10 or body[0] != SET_TIME or any(b != 0x2F for b in body[10:]):
            raise CommandRefused("clock sync is not 2F 2F | 00 | type I time | 3 reserved | fillers "
                                 "(DSMR P2 §6.2.1)")
        when = decode_datetime_i(body[1:7])
        if when is None:
            raise CommandRefused(f"clock sync time {body[1:7].hex(' ').upper()} is not a valid type I date")
        self._adopt(counter)
        self._events.extend(self.meter.handle(now, cmd.SynchronizeClock(when.replace(tzinfo=UTC))))
        return ACK

    # -- commands --------------------------------------------------------------------------------------

    def _open(self, configuration: ConfigurationWord, payload: bytes) -> tuple[bytes, int | None]:
        """The §5.2 receiver checks: the records and the command's frame counter (None in mode 0).

        The counter is not adopted here: mode 15 has no MAC, so a frame that decrypts may still be forged
        or garbled; only a command that passed every check and was carried out moves it (``_adopt``), or
        one forged counter near FFFFFFFF would lock out every genuine command after it.
        """
        guard = FrameCounterGuard(meter=self.identity, last_validated=self._counter.value)
        opened = decrypt_payload(payload, configuration, user_key=self._keys.user_key, meter=self.identity,
                                 guard=guard)
        return opened.records, opened.frame_counter

    def _adopt(self, counter: int | None) -> None:
        if counter is not None:
            self._counter.accept(counter)

    def _execute(self, now: datetime, ci: int, user_data: bytes, *, encrypted: bool) -> bytes:
        plan = self._plan(ci, user_data, encrypted=encrypted)
        if plan.key_records is not None:
            self._keys = self._keys.accept_set_key_records(plan.key_records)
        if plan.selection is not None:  # the telegram's selection holds until SND_NKE [§6.3.1, §6.3.2]
            self._readout = plan.selection
        if plan.valve is not None:  # the meter refuses and logs it (SYSTEM G12)
            self._events.extend(self.meter.handle(now, cmd.CommandValve(plan.valve)))
        if plan.clear_mask:  # the E-meter's housekeeping after it took over the status [§6.2.4]
            self._events.extend(self.meter.handle(now, cmd.ClearStatusBits(plan.clear_mask)))
        if plan.new_address is not None:
            self._address = plan.new_address  # E5 still goes out; the new address holds after it
        return ACK

    def _plan(self, ci: int, user_data: bytes, *, encrypted: bool) -> CommandPlan:
        commands = decode_commands(user_data)
        for command in commands:
            self._check_allowed(command.kind, ci, encrypted=encrypted)
        return plan_commands(commands)

    def _check_allowed(self, kind: CommandKind, ci: int, *, encrypted: bool) -> None:
        rule = RULES[kind]
        if ci not in rule.cis:
            raise CommandRefused(f"{kind.value} is not accepted with CI {ci:02X} (DSMR P2 Table 5, §6.5)")
        if rule.only_without_user_key and self._keys.is_encrypted:
            raise CommandRefused(f"{kind.value} is ignored while a user key is set (DSMR P2 §6.2.3)")
        if self._keys.is_encrypted and not encrypted and not rule.plain_with_user_key:
            raise CommandRefused(f"{kind.value} must be encrypted once a user key is set (DSMR P2 §6.5)")


def _user_data(frame: Frame) -> bytes:
    """The data after the CI; a control frame (68 03 03 68 C A CI) has none."""
    return frame.data if isinstance(frame, LongFrame) else b""


def _hex(ci: int | None) -> str:
    return "none" if ci is None else f"{ci:02X}"


