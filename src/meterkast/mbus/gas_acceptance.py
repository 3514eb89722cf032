"""What the E-meter accepts from its gas meter over P2: plausibility for the installed device, sans I/O.

Mode 15 (AES-128-CBC, [P2-4.0.7 §5.1]) has no MAC. The 2F 2F check covers only the first two bytes;
the clear frame counter is in the IV, so whoever alters it flips plaintext bytes 8..15 of the first
block at will, and a flipped bit in a later ciphertext block garbles that block. The E-meter's defence
is to accept a frame only when everything in it is plausible for the device it installed, and to store
the frame counter only then (§5.2: the counter of a *validated* frame). The rules, each a ``Rule`` in
``RULES`` (docs/p2-security.md lists them with their reasons):

1. ``sender``: the Short ID of the header is the installed device's [§4.2.2, §8.3]; it also seeds the IV.
   ``header``: the clear parts are exactly as a DSMR gas meter sends them: C = 08h [§4.1 Table 5],
   ST = 0 [§4.2.5], a configuration word with only mode and block count [§4.2.6], and the access number
   at the same offset from the frame counter as before [§3.1.2, §4.2.4, §5.2] (both count the RSP_UDs
   the device sent; an encrypted command advances only the counter, and ``dsmr_commands`` shifts the
   offset for it).
2. ``layout``: the plaintext is exactly the default readout list as the gas meter writes it
   (``gas_reply``, ``gas_records``' table): 2F 2F, status, equipment identifier, hourly value, valve,
   configuration, fillers [§5.1, §6.3]. Checked while reading, before this module.
3. ``equipment``: equipment identifier, volume resolution and meter configuration are the installed
   device's [§6.4.1, §6.4.4, §6.4.9]. The identifier fills plaintext bytes 8..15 of block 1 in the
   default list, so any altered counter is caught here or by rule 2.
4. ``counter``: above the last accepted one [§5.2], and not absurdly far ahead: at most the requests
   this master sent since then, plus ``COUNTER_SLACK``, plus the frames a bus could physically have
   carried in the E-meter time since then (``MAX_FRAMES_PER_S``: another master, an installer's tool or
   a second reader, may poll the meter as often as it likes, and the meter adds exactly 1 per frame
   [§5.2]; a wired slave speaks only when addressed [EN 13757-2]). A meter unreachable for days numbered
   at most what it was asked for, so it is still accepted; a counter near FFFFFFFFh would take decades.
   Without the E-meter's clock (``now`` None) the bound is requests + slack, and a meter that really is
   further ahead is re-synchronised, not locked out: a frame that breaks only this bound becomes the
   candidate, and the next frame that breaks only this bound too and follows on from the candidate is
   accepted. Rule 3 catches every altered counter, so neither opens anything to a forger.
5. ``clock``: the hourly time stamp lies between the E-meter's clock − 1 h − ``CLOCK_TOLERANCE`` and its
   clock + ``CLOCK_TOLERANCE`` (an actual value: within ``CLOCK_TOLERANCE`` of it) [§6.1, §6.2.1, §6.4.3].
6. ``volume``: not below the last accepted value of this device [§6.4.4] (a replaced meter is a new
   installation, which starts over), and not above it by more than ``MAX_FLOW_M3H`` for the resolution
   over the time between the two time stamps plus one hour: a forged high value accepted once would
   make every genuine one "go backwards" and block the channel.

``judge`` checks and changes nothing; ``commit`` stores counter, value and time stamp together, only
after ``judge`` passed. A rejected frame changes nothing but the rejection count (``refused``; and the
access-number candidate, see ``_judge_access``), so no run of rejected frames can block the genuine ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from meterkast.errors import AuthenticationError
from meterkast.mbus.gas_reply import GasReply
from meterkast.mbus.link import C_RSP_UD
from meterkast.mbus.security import ConfigurationWord, FrameCounterGuard, MeterIdentity


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    parameter: str
    clause: str


COUNTER_SLACK = 16
"""Frames a genuine meter may be ahead of the requests this master counted: a bus retry whose reply was
lost on the way counts as an attempt, so the slack only covers frames of another master on the bus (an
installer's tool during service); a handful. Anything beyond is not our meter's next frame."""

CLOCK_TOLERANCE = timedelta(minutes=15)
"""The gas meter's clock is synchronised by the E-meter daily and at every clock change; it flags a
deviation above 60 s [P2-4.0.7 §6.2.1, §6.2.4]. 15 minutes is 15 times that limit, and still well inside
the one-hour period of the stored value, so a stale or future hourly value cannot pass as the current one."""

MAX_FRAMES_PER_S = 3
"""An upper bound on the RSP_UDs a gas meter can send per second on the wired bus: at 2400 baud
(P2-4.0.7 §3.1) an 11-bit character takes 4.6 ms, and a REQ_UD2 (5 bytes) with its reply (over 70
bytes) plus the slave's reply delay (EN 13757-2: at least 11 bit times) takes over 0.35 s."""

HOURLY_PERIOD = timedelta(hours=1)  # the stored value is the last whole hour of the meter's clock [§6.1]

MAX_FLOW_M3H: dict[Decimal, Decimal] = {
    # The largest Qmax per resolution (G6: 10 m³/h at 0.001 m³; G25: 40 m³/h at 0.01 m³) [§6.4.4], EN 1359,
    # doubled: a diaphragm meter still counts above Qmax.
    Decimal("0.001"): Decimal(20),
    Decimal("0.01"): Decimal(80),
}

RULES: tuple[Rule, ...] = (
    Rule("sender", "Short ID = the installed device's", "P2-4.0.7 §4.2.2, §5.2, §8.3"),
    Rule("header", "C = 08h, ST = 0, CW = mode/blocks only, ACC - FC as before", "P2-4.0.7 §3.1.2, §4.2"),
    Rule("layout", "exactly the default readout list, fillers included", "P2-4.0.7 §5.1, §6.3"),
    Rule("equipment", "equipment identifier, resolution, configuration = installed", "P2-4.0.7 §6.4.1/4/9"),
    Rule("counter", f"last < counter <= last + requests + {COUNTER_SLACK} + {MAX_FRAMES_PER_S}/s since then",
         "P2-4.0.7 §3.1, §5.2"),
    Rule("clock", f"time stamp within {CLOCK_TOLERANCE} of the E-meter's last whole hour", "P2-4.0.7 §6.1, §6.2.1"),
    Rule("volume", "last <= value <= last + MAX_FLOW_M3H x (hours + 1)", "P2-4.0.7 §6.4.4, EN 1359"),
)


class ImplausibleFrame(AuthenticationError):
    """A frame that decrypted but is not plausible for the installed device; ``rule`` names the rule."""

    def __init__(self, message: str, *, rule: str, access_offset: int | None = None,
                 counter_candidate: tuple[int, int] | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.access_offset = access_offset  # set when only the access number was off (``_judge_access``)
        self.counter_candidate = counter_candidate  # set when only the counter's lead was off (``_judge_counter``)


@dataclass(slots=True)
class Installed:
    """What the E-meter knows of the device on one channel; the parts learned from the first accepted
    frame are None until then (a device installed without a readable reply at address 0)."""

    meter: MeterIdentity
    guard: FrameCounterGuard
    equipment_identifier: str | None = None
    resolution_m3: Decimal | None = None
    configuration: int | None = None
    last_value_m3: Decimal | None = None
    last_capture: datetime | None = None
    last_access: int | None = None
    access_offset: int | None = None  # ACC − FC (mod 256) of the accepted frames
    access_candidate: int | None = None  # the offset of the last frame refused only for its ACC
    counter_candidate: tuple[int, int] | None = None  # (FC, attempts) of the last frame refused only for its lead
    attempts_at_accept: int = 0
    accepted_at: datetime | None = None  # the E-meter's clock when the last frame was accepted
    accepted: int = 0
    rejected: int = 0

    def learn(self, reply: GasReply) -> None:
        """Take the device data of a plain reply read at installation (no counter, no value kept)."""
        self.equipment_identifier = reply.equipment_identifier
        self.resolution_m3 = reply.resolution_m3
        self.configuration = reply.configuration


def refused(state: Installed, error: Exception) -> None:
    """Count a refused frame; remember its ACC offset if that was all that was wrong (``_judge_access``)."""
    state.rejected += 1
    state.access_candidate = error.access_offset if isinstance(error, ImplausibleFrame) else None
    state.counter_candidate = error.counter_candidate if isinstance(error, ImplausibleFrame) else None


def judge(state: Installed, reply: GasReply, *, attempts: int, now: datetime | None = None) -> None:
    """Raise ``ImplausibleFrame`` naming the first rule ``reply`` breaks; change nothing.

    ``attempts`` is the bus master's count of frames sent so far; ``now`` the E-meter's clock (UTC),
    None for a caller without one (then rule 5 is skipped).
    """
    where = f"gas meter {state.meter.label} on channel {state.guard.channel}"
    if reply.meter != state.meter:
        _reject("sender", f"{where}: the reply names meter {reply.meter.label} (Short ID), not the installed one")
    _judge_header(reply, where)
    for what, got, want in (("equipment identifier", reply.equipment_identifier, state.equipment_identifier),
                            ("resolution", reply.resolution_m3, state.resolution_m3),
                            ("meter configuration", reply.configuration, state.configuration)):
        if want is not None and got != want:
            _reject("equipment", f"{where}: {what} {got} is not the installed {want} [P2-4.0.7 §6.4]")
    too_far_ahead = _judge_counter(state, reply, attempts, now, where)
    if now is not None:
        _judge_clock(reply, now, where)
    _judge_volume(state, reply, where)
    _judge_access(state, reply, where)
    if too_far_ahead is not None:  # checked last: a refusal here means "only the counter's lead is off"
        raise too_far_ahead


def commit(state: Installed, reply: GasReply, *, attempts: int, now: datetime | None = None) -> None:
    """Store counter, value, time stamp and (first time) the device data of a judged frame, together."""
    if reply.frame_counter is not None:
        state.guard.accept(reply.frame_counter)
    if state.equipment_identifier is None:  # the layout rule makes a reply carry all three device fields
        state.learn(reply)
    state.last_value_m3, state.last_capture = reply.value_m3, reply.capture_time
    state.last_access, state.access_candidate, state.counter_candidate = reply.access_number, None, None
    if reply.frame_counter is not None:
        state.access_offset = (reply.access_number - reply.frame_counter) % 256
    state.attempts_at_accept, state.accepted_at = attempts, now
    state.accepted += 1


def _judge_header(reply: GasReply, where: str) -> None:
    word = ConfigurationWord.from_value(reply.configuration_word)
    canonical = ConfigurationWord() if word.mode == 0 else ConfigurationWord(word.mode, word.blocks)
    if reply.control != C_RSP_UD or reply.header_status != 0 or word != canonical:
        _reject("header", f"{where}: C={reply.control:02X}h ST={reply.header_status:02X}h "
                          f"CW={reply.configuration_word:04X}h; a DSMR gas meter sends C=08h, ST=0 and only mode "
                          "and block count in the configuration word [§4.1, §4.2.5, §4.2.6]")


def _judge_access(state: Installed, reply: GasReply, where: str) -> None:
    """ACC and FC both go up by 1 per RSP_UD [§4.2.4, §5.2], so ACC − FC (mod 256) is fixed for a device.

    Checked last, so that a refusal here means "only the access number is off". The offset of the first
    frame after installation is taken on trust, like its counter [§5.2]; if that ACC was altered, the
    next genuine frame shows another offset and is refused, and the one after it, agreeing with it,
    re-learns the offset: an altered ACC never blocks the channel for more than one frame.
    """
    counter = reply.frame_counter
    if counter is None:  # mode 0 has no security [§6.5]: only a repeat of the last frame is refused
        if state.last_access is not None and reply.access_number == state.last_access:
            _reject("header", f"{where}: access number {reply.access_number} repeats the last accepted frame's "
                              "[§3.1.2, §4.2.4]")
        return
    offset = (reply.access_number - counter) % 256
    if state.access_offset is None or offset in (state.access_offset, state.access_candidate):
        return
    raise ImplausibleFrame(f"{where}: access number {reply.access_number} does not move with frame counter {counter} "
                        f"(ACC − FC = {offset}, was {state.access_offset}) [§3.1.2, §4.2.4, §5.2]",
                        rule="header", access_offset=offset)


def _allowance(state: Installed, attempts: int, now: datetime | None) -> int:
    """Frames the device can have sent since the last accepted one: our requests plus the slack, plus what
    a bus can carry in the time since then (when the E-meter's clock is known)."""
    allowed = max(attempts - state.attempts_at_accept, 1) + COUNTER_SLACK
    if now is not None and state.accepted_at is not None:
        allowed += max(int((now - state.accepted_at).total_seconds()), 0) * MAX_FRAMES_PER_S
    return allowed


def _judge_counter(state: Installed, reply: GasReply, attempts: int, now: datetime | None,
                   where: str) -> ImplausibleFrame | None:
    """Raise ``ReplayError`` for a counter not above the last accepted one; return (not raise) the refusal
    for a counter too far ahead, so that ``judge`` can check the other rules first (rule 4)."""
    counter, last = reply.frame_counter, state.guard.last_validated
    if counter is None or last is None:  # mode 0, or the first frame after installation [§5.2]
        return None
    state.guard.check(counter)  # ReplayError: not above the last accepted one
    allowed = last + _allowance(state, attempts, now)
    if counter <= allowed:
        return None
    candidate = state.counter_candidate
    if candidate is not None:
        candidate_counter, candidate_attempts = candidate
        if candidate_counter < counter <= candidate_counter + max(attempts - candidate_attempts, 1) + COUNTER_SLACK:
            return None  # the second plausible frame in a row that follows on from the first: re-synchronise
    return ImplausibleFrame(f"{where}: frame counter {counter} is {counter - last} ahead of the last accepted "
                            f"{last}, more than the {allowed - last} frames the meter can have sent since; "
                            "a next frame that follows on from it re-synchronises [§5.2]",
                            rule="counter", counter_candidate=(counter, attempts))


def _judge_clock(reply: GasReply, now: datetime, where: str) -> None:
    if reply.stored:  # the value of the last whole hour of the gas meter's clock [§6.1]
        earliest, latest = now - HOURLY_PERIOD - CLOCK_TOLERANCE, now + CLOCK_TOLERANCE
    else:  # an actual value, stamped when it was read [§6.4.3]
        earliest, latest = now - CLOCK_TOLERANCE, now + CLOCK_TOLERANCE
    if not earliest <= reply.capture_time <= latest:
        _reject("clock", f"{where}: time stamp {reply.capture_time:%Y-%m-%d %H:%M:%S}Z is outside "
                         f"{earliest:%Y-%m-%d %H:%M}..{latest:%H:%M}Z around the E-meter's clock [§6.1, §6.2.1]")


def _judge_volume(state: Installed, reply: GasReply, where: str) -> None:
    last, since = state.last_value_m3, state.last_capture
    if last is None or since is None:
        return
    if reply.value_m3 < last:
        _reject("volume", f"{where}: volume {reply.value_m3} m³ is below the last accepted {last} m³; a meter "
                          "swap goes through installation [§6.4.4]")
    hours = Decimal(max((reply.capture_time - since).total_seconds(), 0)) / 3600 + 1
    rate = MAX_FLOW_M3H.get(reply.resolution_m3, max(MAX_FLOW_M3H.values()))
    if reply.value_m3 - last > rate * hours:
        _reject("volume", f"{where}: volume rose {reply.value_m3 - last} m³ since the last accepted value, more "
                          f"than {rate} m³/h over {hours:.2f} h can deliver [§6.4.4, EN 1359]")


def _reject(rule: str, message: str) -> None:
    raise ImplausibleFrame(message, rule=rule)
