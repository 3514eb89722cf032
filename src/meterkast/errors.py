"""One exception tree for the whole of meterkast (STYLE 9).

::

    MeterkastError
    ├── InvalidInput (ValueError)          a value breaks a rule: names the value and the rule
    │   ├── InvalidIdentity                meter number, certificate, CE marking (SYSTEM G13)
    │   └── UnknownMeterType               not one of G4, G6, G10, G16, G25 (SYSTEM G1)
    ├── CodecError (ValueError)            bytes or text that cannot be decoded or encoded
    │   ├── FrameError                     link-layer framing (EN 13757-2, P1 telegram framing)
    │   │   └── ChecksumError              checksum or CRC mismatch
    │   ├── RecordError                    application-layer record (EN 13757-3 DIF/VIF, OBIS line)
    │   └── AuthenticationError            wrong key, failed integrity check (DSMR P2 §5, P1 AES-GCM)
    │       └── ReplayError                frame counter not above the last accepted one
    ├── CommandRefused                     a device refuses a command, as the standard demands
    │   ├── PortDisabled                   P0 after manufacture
    │   ├── ValveOperationRefused          SYSTEM G12
    │   └── ConsentRefused                 consent (SYSTEM C2) or a P4 authorisation (C3) does not allow it
    ├── ClockError                         time going backwards, naive datetimes
    └── LinkError (ConnectionError)        the other end did not answer or the transport failed
        ├── NoReply                    silence on every attempt
        └── BusCollision               garbage on every attempt (two slaves on one address)

Foreign exceptions are translated at the boundary with ``raise ... from exc``. Messages say what
was wrong, where, and what to do.
"""

from __future__ import annotations


class MeterkastError(Exception):
    """Root of every error meterkast raises on purpose."""


class InvalidInput(MeterkastError, ValueError):
    """A value given to meterkast breaks a rule; the message names the value and the rule."""


class InvalidIdentity(InvalidInput):
    """A meter number, certificate number or CE marking is malformed (SYSTEM G13)."""


class UnknownMeterType(InvalidInput):
    """A gas meter type that meterkast does not model (SYSTEM G1)."""


class CodecError(MeterkastError, ValueError):
    """Bytes or text that cannot be decoded, or a value that cannot be encoded."""

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        self.offset = offset
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{message}{where}")
        self.reason = message


class FrameError(CodecError):
    """Link-layer framing is wrong (start/stop byte, length, frame type)."""


class ChecksumError(FrameError):
    """A checksum or CRC does not match the data it protects."""


class RecordError(CodecError):
    """An application-layer record (DIF/VIF data record, OBIS line) is malformed."""


class AuthenticationError(CodecError):
    """Decryption or authentication failed: wrong key, or the data was altered."""


class ReplayError(AuthenticationError):
    """A frame counter or invocation counter that is not above the last accepted one."""


class CommandRefused(MeterkastError):
    """A device refuses a command because its standard or its state forbids it."""


class PortDisabled(CommandRefused):
    """The factory port P0 has been disabled for good after manufacture."""


class ValveOperationRefused(CommandRefused):
    """Valve operation is disabled (SYSTEM G12)."""


class ClockError(MeterkastError):
    """A clock was asked to go backwards, or was given a naive datetime."""


class LinkError(MeterkastError, ConnectionError):
    """A transport failed or the other end misbehaved."""


class NoReply(LinkError):
    """The other end did not answer in time."""


class BusCollision(LinkError):
    """Bytes came back on every attempt but never a valid frame: two slaves probably share an address."""


class ConsentRefused(CommandRefused):
    """The customer's consent (SYSTEM C2) or a third party's P4 authorisation (SYSTEM C3) forbids this."""
