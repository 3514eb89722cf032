"""The live session's P1 output stage: the telegram the port sends at an instant, with the faults asked
for, and the gas value each telegram showed (issue 5; SYSTEM P1, E3, G5; P1-5.0.2 §6, DSMR-M 4.5.5).

``P1Output(world, port).make(moment)`` encodes the installation's telegram of ``moment`` for the port's
DSMR version, spoils it as the fault chances say (a CRC error, a truncated telegram, a dropped one), wraps
it in the scenario's AES-GCM frame if there is one, and keeps it numbered for polling (``recent``).

Rules this module keeps:
- the faults draw only from the world's ``fault_rng``, never from the installation's generator, so P1
  faults never change what the installation does (and a replay draws the same faults again);
- a fault window of a scenario and the fault set on the control surface add up to the larger chance;
- only a telegram a reader would accept (right CRC, whole) counts as "shown": its gas value is noted in
  ``world.p1_seen`` by capture hour, as a reader decodes it, for the hour records beside the ground truth;
- while the session replays (``record=False``), nothing is numbered or kept: those telegrams were shown
  before the crash.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from meterkast.errors import CodecError
from meterkast.live.control import JSON
from meterkast.p1.data import TelegramData
from meterkast.p1.decode import decode_telegram
from meterkast.p1.encode import encode_telegram
from meterkast.p1.values import CapturedValue
from meterkast.sim.p1_source import P1Port, telegram_data
from meterkast.sim.scenario import P1FaultKind

if TYPE_CHECKING:
    from meterkast.live.session import World

TELEGRAM_WINDOW = 200  # telegrams kept for polling
# (instant, the telegram's values or None when nothing was sent, the bytes sent, fault or None): a watcher of
# every telegram instant made while recording (``run --situation --truth``, conformance/live.py)
Watch = Callable[[datetime, TelegramData | None, bytes | None, str | None], None]


class P1Output:
    def __init__(self, world: World, port: P1Port) -> None:
        self.world = world
        self.port = port
        self.made = 0
        self.dropped = 0
        self.recent: deque[JSON] = deque(maxlen=TELEGRAM_WINDOW)
        self._seq = 0
        self.watch: Watch | None = None

    def make(self, moment: datetime, *, record: bool = True) -> bytes | None:
        """The telegram the port sends at ``moment`` (None: the E-meter is off, or a fault dropped it)."""
        world = self.world
        installation = world.installation
        watch = self.watch if record else None
        if not installation.emeter.powered:
            if watch is not None:
                watch(moment, None, None, None)
            return None
        crc_p, truncate_p, drop_p = self.fault_chances(moment)
        rng = world.fault_rng
        if drop_p and rng.random() < drop_p:
            self.dropped += 1
            if watch is not None:
                watch(moment, None, None, "dropped")
            return None
        values = telegram_data(installation, self.port.spec)
        plain = encode_telegram(values, self.port.spec)
        bad_crc = bool(crc_p) and rng.random() < crc_p
        truncated = bool(truncate_p) and rng.random() < truncate_p
        if bad_crc:
            crc = int(plain[-6:-2], 16) ^ (1 + rng.randrange(0xFFFF))
            plain = plain[:-6] + f"{crc:04X}".encode() + b"\r\n"
        elif not truncated:
            self._saw(plain)
        data = plain if world.cipher is None else world.cipher.wrap(plain)
        if truncated:
            data = data[: rng.randrange(1, len(data) - 1)]
            plain = plain if world.cipher is not None else data
        fault = "truncated" if truncated else "crc" if bad_crc else None
        self.made += 1
        if record:
            self._seq += 1
            self.recent.append({
                "seq": self._seq, "at": moment.isoformat(), "text": plain.decode("ascii", errors="replace"),
                "crc_ok": None if fault == "truncated" else fault is None, "fault": fault,
                "encrypted": world.cipher is not None,
            })
        if watch is not None:
            watch(moment, values, data, fault)
        return data

    def fault_chances(self, moment: datetime) -> tuple[float, float, float]:
        """(CRC error, truncation, drop) probabilities for a telegram at ``moment``."""
        faults = self.world.p1_faults
        chances = {P1FaultKind.CRC_ERROR: faults.crc_error, P1FaultKind.TRUNCATE: faults.truncate,
                   P1FaultKind.DROP: 0.0}
        for window in self.world.p1_windows:
            if window.at <= moment < window.until:
                chances[window.kind] = max(chances[window.kind], window.probability)
        return chances[P1FaultKind.CRC_ERROR], chances[P1FaultKind.TRUNCATE], chances[P1FaultKind.DROP]

    def _saw(self, data: bytes) -> None:
        """Note the gas value this telegram shows, by capture hour, as a reader would decode it."""
        installation = self.world.installation
        channel = installation.gas_channel
        if channel is None:
            return
        try:
            device = decode_telegram(data, lenient=False).mbus.get(channel)  # every line must read back
        except CodecError as exc:  # our own encoder's output: failing to read it back is a bug
            raise AssertionError(f"a telegram meterkast made does not decode: {exc}") from exc
        reading = None if device is None else device.reading
        if isinstance(reading, CapturedValue) and reading.time is not None:
            captured = reading.time.astimezone(installation.now.tzinfo)
            if captured.minute == 0 and captured.second == 0:
                self.world.p1_seen.setdefault(captured, reading.value)
