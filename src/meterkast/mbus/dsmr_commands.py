"""The E-meter's commands to an installed gas meter: clock synchronisation and status housekeeping.

Sans-I/O builders plus :class:`CommandSender`, which ``DsmrP2Master`` uses to put them on the bus:

- *Set date and time* [P2-4.0.7 §6.2.1]: SND_UD C=53h, CI=6Ch with the long header carrying the target's
  Short ID and the E-meter's access number [§4.3.4]; the body is ``2F 2F | 00 | time type I (UTC) |
  00 00 00 | 2F…``. The day of week is filled in, the daylight-saving fields are 0 (§6.2.1 footnote 6).
- *Clear the status byte* [§6.2.4]: ``01 FD 97 06 mm`` with mask 73h (bits 0, 1, 4, 5, 6: the
  non-permanent errors), sent "after each time a non-permanent error is retrieved".

Both go encrypted (mode 15) once the user key is set, and plain only while it is zero [§4.3.4, §6.5]: the
clear command then as CI 51h, else as CI 5Ah with the short header [§4.3.3, Table 5]. An encrypted command
carries the last validated frame counter + 1 [§5.2, Figure 4]; the gas meter adopts it, which moves its
counter without its access number (ACC − FC of the next reply is one less). The E-meter learns both only
from an accepted reply, so with a key set and no reply accepted yet it refuses to send (§5.2 note: it
must first "issue a REQ_UD2, to establish the current value of the frame counter"); a reply refused only
for its time stamp (a gas clock that is off: what the sync is for) is genuine and tells the counter too.
When the E5 does not come back the command may still have been carried out (a lost acknowledgement):
the counter is then not taken as validated, and the shifted access offset is allowed once, so the next
genuine reply reads either way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from meterkast.errors import CommandRefused
from meterkast.mbus.datatypes import encode_datetime_i
from meterkast.mbus.header import LongHeader, ShortHeader, encode_long_header, encode_short_header
from meterkast.mbus.keys import NO_USER_KEY
from meterkast.mbus.master import CI_UNENCRYPTED, BusMaster
from meterkast.mbus.security import VERIFICATION, encrypt_payload

if TYPE_CHECKING:
    from meterkast.mbus.dsmr_master import InstalledDevice

CI_CONTROL = 0x5A  # encrypted command, short header [§4.3.3]
CI_CLOCK_SYNC = 0x6C  # time sync to device, long header [§4.3.4]
SET_TIME = 0x00  # TC "set time" [§6.2.1]
CLEAR_NON_PERMANENT = 0x73  # "Mask 73h 01110011" [§6.2.4]
PERMANENT_BITS = 0x8C  # power low (2), permanent error (3), valve alarm (7): never cleared [§6.2.4]
FILLER = b"\x2f"


def clock_sync_body(e_meter_utc: datetime) -> bytes:
    """TC 00, the time in type I used for UTC, three reserved bytes [§6.2.1] (no 2F 2F: the caller's)."""
    when = e_meter_utc.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    encoded = bytearray(encode_datetime_i(when))
    encoded[2] |= when.isoweekday() << 5  # "Day of Week" (1 = Monday) with the UTC date, per footnote 6
    return bytes((SET_TIME,)) + bytes(encoded) + bytes(3)


def clear_status_records(mask: int = CLEAR_NON_PERMANENT) -> bytes:
    """``01 FD 97 06 mm``: DIF 8 bit, VIF FD, VIFE 97h error flags, 06h "clear the bits", mask [§6.2.4]."""
    if not 0 <= mask <= 0xFF:
        raise CommandRefused(f"status clear mask {mask} is not one byte (DSMR P2 §6.2.4)")
    return bytes((0x01, 0xFD, 0x97, 0x06, mask))


def needs_housekeeping(status: int) -> bool:
    """A status with a non-permanent error bit set: the E-meter clears it after taking it over [§6.2.4]."""
    return bool(status & CLEAR_NON_PERMANENT)


class CommandSender:
    """Sends §6.2.1 and §6.2.4 to installed devices over one bus master; keeps the E-meter's access number."""

    def __init__(self, master: BusMaster) -> None:
        self.master = master
        self.access = 0  # "Access Counter (of E-meter)" [§4.3.4]

    async def synchronize_clock(self, device: InstalledDevice, e_meter_utc: datetime) -> None:
        body = clock_sync_body(e_meter_utc)
        counter = self._counter(device, "synchronise the clock of")
        if counter is None:
            configuration, payload = 0, VERIFICATION + body + FILLER * 4
        else:
            secured = encrypt_payload(body, user_key=device.user_key, meter=device.meter, frame_counter=counter)
            configuration, payload = secured.configuration.value, secured.payload
        who = device.meter
        header = LongHeader(who.ident, who.manufacturer, who.version, who.medium, self._next_access(), 0,
                            configuration)
        await self._send(device, CI_CLOCK_SYNC, encode_long_header(header) + payload, counter)

    async def clear_status(self, device: InstalledDevice, mask: int = CLEAR_NON_PERMANENT) -> None:
        records = clear_status_records(mask)
        counter = self._counter(device, "clear the status of")
        if counter is None:
            await self._send(device, CI_UNENCRYPTED, records, None)
            return
        secured = encrypt_payload(records, user_key=device.user_key, meter=device.meter, frame_counter=counter)
        header = ShortHeader(self._next_access(), 0, secured.configuration.value)
        await self._send(device, CI_CONTROL, encode_short_header(header) + secured.payload, counter)

    def _next_access(self) -> int:
        self.access = (self.access + 1) % 256
        return self.access

    @staticmethod
    def _counter(device: InstalledDevice, what: str) -> int | None:
        """The frame counter the command carries; None: plain, the user key is zero [§6.5]."""
        if device.user_key == NO_USER_KEY:
            return None
        last = device.guard.last_validated
        if device.clock_refused_counter is not None:  # a genuine reply refused only for its clock
            last = max(last or 0, device.clock_refused_counter)
        if last is None:
            raise CommandRefused(f"cannot {what} the device on channel {device.channel}: no encrypted reply was "
                                 "accepted yet, so its frame counter is unknown (DSMR P2 §5.2); read it first")
        return last + 1

    async def _send(self, device: InstalledDevice, ci: int, data: bytes, counter: int | None) -> None:
        state = device.state
        try:
            await self.master.send_data(device.address, ci, data)
        except Exception:
            if counter is not None and state.access_offset is not None:
                state.access_candidate = (state.access_offset - 1) % 256  # it may have been carried out
            raise
        if counter is not None:
            device.guard.accept(counter)
            device.clock_refused, device.clock_refused_counter = False, None
            if state.access_offset is not None:
                state.access_offset = (state.access_offset - 1) % 256
