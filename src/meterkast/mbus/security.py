"""DSMR P2 encryption layer, sans I/O (DSMR 4.0.7 P2 companion standard §4.2.6, §5, App. B1.5).

* Configuration word (§4.2.6, §5.1): ``B A S 0 MMMM NNNN CC HH``, two bytes LSB first. Mode 0 is no
  encryption, mode 15 is "AES128 CBC Mode 15"; NNNN is the number of encrypted 16-byte blocks.
* Mode 15 (§5.1): plaintext = ``2F 2F`` + records, padded with 2Fh fillers to 16·NNNN bytes ("an extra
  data block shall be added when necessary"); "Both master and slave shall check the presence of these
  filler bytes before further processing the message".
* IV (§5.2, example §5.2.1): ``MAN(2) | ID(4) | VER | MEDIUM | FC(4) | FC(4)``, all low byte first, taken
  from the M-Bus device in both directions.
* Frame counter (§5.2): record ``04 FD 08`` + 4 bytes LSB first, unencrypted, between the encrypted blocks
  and the checksum. The receiver accepts a frame only if its counter is above the last validated one, the
  frame is well formed and the fillers decrypt; then it stores that counter. The sender adds exactly 1.
  Only the gas meter owns the counter and it "is never reset during the life time of the G-meter".

Rules this module keeps:

* Bytes in, bytes out: no clock, no randomness, no logging. Keys are in ``meterkast.mbus.keys``.
* ``decrypt_payload`` only *checks* the counter against a guard and never stores it: the receiver commits
  the counter (``FrameCounterGuard.accept``) after it has validated the whole frame, records included
  (for the E-meter: ``meterkast.mbus.gas_acceptance``). A frame that fails any later check therefore
  leaves the guard where it was, and a forged frame with counter FFFFFFFFh cannot block the genuine ones
  that follow. A guard never moves backwards.
* Errors name the meter (MAN + ID) and the channel, never key bytes.
* Mode 15 has no MAC. The 2F 2F check only covers the first block: a changed bit in a later ciphertext block
  garbles that block and flips one bit in the next, and a changed frame counter (IV bytes 8..15) only
  alters plaintext bytes 8..15 of the first block. Record parsing and the E-meter's plausibility checks are
  the only defence against those; this module does not claim more.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from meterkast.errors import AuthenticationError, CodecError, InvalidInput, ReplayError
from meterkast.mbus.keys import NO_USER_KEY, check_key

BLOCK_SIZE = 16
FILLER = 0x2F
VERIFICATION = bytes((FILLER, FILLER))
MAX_BLOCKS = 15  # NNNN is four bits
MAX_FRAME_COUNTER = 0xFFFF_FFFF
FRAME_COUNTER_DIB_VIB = bytes((0x04, 0xFD, 0x08))
FRAME_COUNTER_RECORD_SIZE = 7
_KEY_HINT = "check the user key set for this meter through the E-meter (P3 transfer_key, DSMR P2 §6.5.1)"


class EncryptionMode(IntEnum):
    """Encryption method codes of the configuration word that meterkast knows (§5.1)."""

    NONE = 0
    OMS_MODE_5 = 5  # EN 13757-3/OMS AES-CBC with the access number IV: recognised, not DSMR, not implemented
    AES_CBC_MODE_15 = 15


@dataclass(frozen=True, slots=True)
class ConfigurationWord:
    """The configuration word of a data header (§4.2.6, §5.1). On wired P2 only ``mode``/``blocks`` are set."""

    mode: int = 0
    blocks: int = 0
    bidirectional: bool = False
    accessibility: bool = False
    synchronous: bool = False
    content: int = 0
    hop_counter: int = 0

    def __post_init__(self) -> None:
        for name, value, top in (("mode", self.mode, 15), ("blocks", self.blocks, MAX_BLOCKS),
                                 ("content", self.content, 3), ("hop_counter", self.hop_counter, 3)):
            if not 0 <= value <= top:
                raise InvalidInput(f"configuration word {name} {value} must be 0..{top} (DSMR P2 §4.2.6)")

    @classmethod
    def mode15(cls, blocks: int) -> ConfigurationWord:
        """Mode 15 with ``blocks`` encrypted blocks, all other bits 0 as wired P2 demands (§4.2.6)."""
        if blocks < 1:
            raise InvalidInput(f"mode 15 needs at least one encrypted block, got {blocks} (DSMR P2 §5.1)")
        return cls(EncryptionMode.AES_CBC_MODE_15, blocks)

    @property
    def encryption(self) -> EncryptionMode | None:
        """The mode as a known ``EncryptionMode``, or None for a code meterkast does not know."""
        try:
            return EncryptionMode(self.mode)
        except ValueError:
            return None

    @property
    def value(self) -> int:
        """The 16-bit word."""
        flags = (self.bidirectional << 15) | (self.accessibility << 14) | (self.synchronous << 13)
        return flags | (self.mode << 8) | (self.blocks << 4) | (self.content << 2) | self.hop_counter

    @classmethod
    def from_value(cls, word: int) -> ConfigurationWord:
        """Decode the 16-bit word; bit 12 is reserved and must be 0 (§4.2.6)."""
        if not 0 <= word <= 0xFFFF:
            raise CodecError(f"configuration word {word} must be 0..0xFFFF")
        if word & 0x1000:
            raise CodecError(f"configuration word {word:04X}h has reserved bit 12 set (DSMR P2 §4.2.6)")
        return cls(mode=(word >> 8) & 0x0F, blocks=(word >> 4) & 0x0F, bidirectional=bool(word & 0x8000),
                   accessibility=bool(word & 0x4000), synchronous=bool(word & 0x2000),
                   content=(word >> 2) & 0x03, hop_counter=word & 0x03)


def encode_configuration_word(word: ConfigurationWord) -> bytes:
    """The two wire bytes, LSB first: 4 blocks in mode 15 is ``40 0F``."""
    return word.value.to_bytes(2, "little")


def decode_configuration_word(data: bytes) -> ConfigurationWord:
    """The inverse of ``encode_configuration_word``; ``data`` is the last two bytes of a header."""
    if len(data) != 2:
        raise CodecError(f"configuration word must be 2 bytes, got {len(data)}")
    return ConfigurationWord.from_value(int.from_bytes(data, "little"))


@dataclass(frozen=True, slots=True)
class MeterIdentity:
    """The M-Bus device fields that seed the IV (§5.2) and name the meter in errors.

    ``ident`` is the 8-digit identification number as printed (BCD on the wire; nibbles A..F are kept as
    letters so any wire bytes round-trip); ``manufacturer`` the three-letter FLAG id, e.g. ``NET``.
    """

    manufacturer: str
    ident: str
    version: int
    medium: int

    def __post_init__(self) -> None:
        if len(self.manufacturer) != 3 or not all("@" <= c <= "_" for c in self.manufacturer):
            raise InvalidInput(f"manufacturer {self.manufacturer!r} must be three letters A..Z (FLAG id)")
        if len(self.ident) != 8 or not all(c in "0123456789ABCDEF" for c in self.ident):
            raise InvalidInput(f"identification number {self.ident!r} must be 8 BCD digits (DSMR P2 §4.2.2)")
        for name, value in (("version", self.version), ("medium", self.medium)):
            if not 0 <= value <= 0xFF:
                raise InvalidInput(f"{name} {value} must be one byte")

    @property
    def manufacturer_code(self) -> int:
        """The 15-bit MAN field: 'NET' is 38B4h."""
        return sum((ord(c) - 64) << shift for c, shift in zip(self.manufacturer, (10, 5, 0), strict=True))

    @property
    def short_id(self) -> bytes:
        """ID | MAN | VER | DEV as in the long header (§4.2.2)."""
        return bytes.fromhex(self.ident)[::-1] + self.manufacturer_code.to_bytes(2, "little") + bytes(
            (self.version, self.medium))

    @classmethod
    def from_short_id(cls, short_id: bytes) -> MeterIdentity:
        """Read the first 8 bytes of a long header (ID | MAN | VER | DEV)."""
        if len(short_id) != 8:
            raise CodecError(f"Short ID must be 8 bytes (ID, MAN, VER, DEV), got {len(short_id)}")
        code = int.from_bytes(short_id[4:6], "little")
        if code & 0x8000:
            raise CodecError(f"manufacturer code {code:04X}h has bit 15 set; not a FLAG id", offset=4)
        letters = "".join(chr(((code >> shift) & 0x1F) + 64) for shift in (10, 5, 0))
        return cls(letters, short_id[3::-1].hex().upper(), short_id[6], short_id[7])

    @property
    def label(self) -> str:
        """How messages name the meter: ``NET 23456789``."""
        return f"{self.manufacturer} {self.ident}"


def build_iv(meter: MeterIdentity, frame_counter: int) -> bytes:
    """The mode 15 IV (§5.2): MAN | ID | VER | MEDIUM | FC | FC, each low byte first."""
    counter = _counter_bytes(frame_counter)
    return meter.short_id[4:6] + meter.short_id[:4] + meter.short_id[6:8] + counter + counter


def pad_plaintext(records: bytes) -> bytes:
    """``2F 2F`` + records + 2Fh fillers up to a multiple of 16 bytes (§5.1)."""
    plaintext = VERIFICATION + bytes(records)
    return plaintext + bytes((FILLER,)) * (-len(plaintext) % BLOCK_SIZE)


def encrypt_mode15(records: bytes, *, user_key: bytes, meter: MeterIdentity, frame_counter: int) -> bytes:
    """AES-128-CBC of the padded records with the §5.2 IV; 16·NNNN bytes."""
    plaintext = pad_plaintext(records)
    if len(plaintext) > MAX_BLOCKS * BLOCK_SIZE:
        raise InvalidInput(f"{len(records)} record bytes need {len(plaintext) // BLOCK_SIZE} blocks; the "
                           f"configuration word holds at most {MAX_BLOCKS} (DSMR P2 §5.1)")
    cipher = Cipher(algorithms.AES(check_key("user key", user_key)), modes.CBC(build_iv(meter, frame_counter)))
    encryptor = cipher.encryptor()
    return encryptor.update(plaintext) + encryptor.finalize()


def decrypt_mode15(ciphertext: bytes, *, user_key: bytes, meter: MeterIdentity, frame_counter: int,
                   channel: int | None = None) -> bytes:
    """Decrypt and check the leading ``2F 2F`` (§5.1); returns the whole plaintext, fillers included."""
    if not ciphertext or len(ciphertext) % BLOCK_SIZE:
        raise CodecError(f"{_where(meter, channel)}: encrypted part is {len(ciphertext)} bytes, not a "
                         f"positive multiple of {BLOCK_SIZE} (DSMR P2 §5.1)")
    cipher = Cipher(algorithms.AES(check_key("user key", user_key)), modes.CBC(build_iv(meter, frame_counter)))
    decryptor = cipher.decryptor()
    plaintext = decryptor.update(ciphertext) + decryptor.finalize()
    if plaintext[:2] != VERIFICATION:
        raise AuthenticationError(f"{_where(meter, channel)}: decrypted data does not start with the 2F 2F "
                                  f"fillers (DSMR P2 §5.1): wrong user key or altered frame; {_KEY_HINT}")
    return plaintext


def encode_frame_counter_record(frame_counter: int) -> bytes:
    """``04 FD 08`` + the counter, 4 bytes LSB first (§5.2, App. B.1)."""
    return FRAME_COUNTER_DIB_VIB + _counter_bytes(frame_counter)


def decode_frame_counter_record(record: bytes) -> int:
    if len(record) != FRAME_COUNTER_RECORD_SIZE or record[:3] != FRAME_COUNTER_DIB_VIB:
        raise CodecError(f"expected the frame counter record 04 FD 08 + 4 bytes, got {record.hex(' ').upper()} "
                         f"(DSMR P2 §5.2)")
    return int.from_bytes(record[3:], "little")


def join_encrypted_payload(encrypted: bytes, frame_counter: int) -> bytes:
    """Application data after the header: the encrypted blocks, then the plain frame counter record."""
    return bytes(encrypted) + encode_frame_counter_record(frame_counter)


def split_encrypted_payload(payload: bytes, blocks: int) -> tuple[bytes, int]:
    """Split the data after the header into (16·``blocks`` encrypted bytes, frame counter) (§5.2)."""
    size = blocks * BLOCK_SIZE
    if blocks < 1 or len(payload) != size + FRAME_COUNTER_RECORD_SIZE:
        raise CodecError(f"mode 15 data after the header must be {blocks} × 16 encrypted bytes + the 7-byte frame "
                         f"counter record, got {len(payload)} bytes (DSMR P2 §5.1, §5.2)")
    return bytes(payload[:size]), decode_frame_counter_record(payload[size:])


@dataclass(frozen=True, slots=True)
class SecuredPayload:
    """What a sender puts in the header's configuration word and after the header."""

    configuration: ConfigurationWord
    payload: bytes


@dataclass(frozen=True, slots=True)
class FrameCounterAccepted:
    """A guard validated ``frame_counter``. ``previous`` is None for the first one after installation:
    then a replay cannot be ruled out and the caller must record the frame's time stamp (§5.2)."""

    frame_counter: int
    previous: int | None

    @property
    def first(self) -> bool:
        return self.previous is None

    @property
    def missed(self) -> int:
        """Frames the sender numbered but this receiver never validated (lost or not addressed to it)."""
        return 0 if self.previous is None else self.frame_counter - self.previous - 1


class FrameCounterGuard:
    """Receiver state for one meter on one channel: the last validated frame counter (§5.2, Figure 4)."""

    def __init__(self, *, meter: MeterIdentity | None = None, channel: int | None = None,
                 last_validated: int | None = None) -> None:
        self.meter = meter
        self.channel = channel
        self._last = None if last_validated is None else _checked_counter(last_validated)

    @property
    def last_validated(self) -> int | None:
        return self._last

    def check(self, frame_counter: int) -> None:
        """Rule 1 of §5.2 without storing anything: raise ``ReplayError`` unless above the last one."""
        received = _checked_counter(frame_counter)
        if self._last is not None and received <= self._last:
            raise ReplayError(f"{_where(self.meter, self.channel)}: frame counter {received} is not above the last "
                              f"validated frame counter {self._last} (DSMR P2 §5.2); frame rejected as a replay")

    def accept(self, frame_counter: int) -> FrameCounterAccepted:
        """Store a counter of a frame that passed all three §5.2 rules."""
        self.check(frame_counter)
        event = FrameCounterAccepted(frame_counter, self._last)
        self._last = frame_counter
        return event

    def next_for_sending(self) -> int:
        """E-meter side of Figure 4: a command carries the last validated counter + 1, which becomes validated."""
        following = 1 if self._last is None else self._last + 1
        self._last = _checked_counter(following)
        return following


class FrameCounter:
    """The gas meter's own counter (§5.2): +1 per frame sent, adopts validated higher counters, never reset."""

    def __init__(self, value: int = 0, *, meter: MeterIdentity | None = None) -> None:
        self._value = _checked_counter(value)
        self.meter = meter

    @property
    def value(self) -> int:
        """The counter of the last frame sent or validated; 0 before the first frame (App. B starts at 1)."""
        return self._value

    def advance(self) -> int:
        """The counter for the next frame: exactly 1 more (§5.2)."""
        if self._value == MAX_FRAME_COUNTER:
            raise InvalidInput(f"{_where(self.meter, None)}: frame counter is at its 32-bit maximum and may never be "
                               f"reset (DSMR P2 §5.2); this meter cannot send encrypted frames any more")
        self._value += 1
        return self._value

    def accept(self, frame_counter: int) -> None:
        """A received command's counter that passed §5.2: it must be higher, and becomes the counter."""
        FrameCounterGuard(meter=self.meter, last_validated=self._value).check(frame_counter)
        self._value = frame_counter


@dataclass(frozen=True, slots=True)
class DecryptedPayload:
    """Plaintext records (fillers included) and, for mode 15, the frame counter: checked, not yet stored."""

    records: bytes
    frame_counter: int | None = None


def encrypt_payload(records: bytes, *, user_key: bytes, meter: MeterIdentity, frame_counter: int) -> SecuredPayload:
    """Sender side: mode 15 with the counter record, or mode 0 and no counter when the user key is zero (§5.1)."""
    if check_key("user key", user_key) == NO_USER_KEY:
        return SecuredPayload(ConfigurationWord(), bytes(records))
    encrypted = encrypt_mode15(records, user_key=user_key, meter=meter, frame_counter=frame_counter)
    return SecuredPayload(ConfigurationWord.mode15(len(encrypted) // BLOCK_SIZE),
                          join_encrypted_payload(encrypted, frame_counter))


def decrypt_payload(payload: bytes, configuration: ConfigurationWord, *, user_key: bytes, meter: MeterIdentity,
                    guard: FrameCounterGuard | None = None, channel: int | None = None) -> DecryptedPayload:
    """Receiver side of §5.2: counter above the guard's, blocks as NNNN says, fillers present.

    ``payload`` is everything after the header (the caller has checked the frame's checksum). The guard
    is only checked: §5.2 stores the counter once the frame is "validated", and mode 15 has no MAC, so
    validation includes the records; the caller calls ``guard.accept(frame_counter)`` after its own
    checks passed. Without a guard the caller does the replay check.
    """
    if channel is None and guard is not None:
        channel = guard.channel
    encrypted_key = check_key("user key", user_key) != NO_USER_KEY
    if configuration.mode == EncryptionMode.NONE:
        if encrypted_key:
            raise AuthenticationError(f"{_where(meter, channel)}: unencrypted data (mode 0) while a user key is set; "
                                      f"only encrypted data is accepted (DSMR P2 §6.5); {_KEY_HINT}")
        return DecryptedPayload(bytes(payload))
    if configuration.mode != EncryptionMode.AES_CBC_MODE_15:
        name = "OMS mode 5" if configuration.mode == EncryptionMode.OMS_MODE_5 else f"mode {configuration.mode}"
        raise CodecError(f"{_where(meter, channel)}: encryption {name} is not DSMR P2, which uses mode 0 or 15 (§5.1)")
    if not encrypted_key:
        raise AuthenticationError(f"{_where(meter, channel)}: encrypted data (mode 15) but no user key is known; "
                                  f"{_KEY_HINT}")
    encrypted, frame_counter = split_encrypted_payload(payload, configuration.blocks)
    if guard is not None:
        guard.check(frame_counter)
    plaintext = decrypt_mode15(encrypted, user_key=user_key, meter=meter, frame_counter=frame_counter, channel=channel)
    return DecryptedPayload(plaintext, frame_counter)


def _checked_counter(frame_counter: int) -> int:
    if not 0 <= frame_counter <= MAX_FRAME_COUNTER:
        raise InvalidInput(f"frame counter {frame_counter} must fit 4 bytes (0..{MAX_FRAME_COUNTER}, DSMR P2 §5.2)")
    return frame_counter


def _counter_bytes(frame_counter: int) -> bytes:
    return _checked_counter(frame_counter).to_bytes(4, "little")


def _where(meter: MeterIdentity | None, channel: int | None) -> str:
    who = f"meter {meter.label}" if meter is not None else "meter (identity not given)"
    return who if channel is None else f"{who} on channel {channel}"
