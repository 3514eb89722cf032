"""What the E-meter's P3 side reports to its shell: past-tense events (STYLE 8).

The association state machine (``server.py``) and the object table return these next to the bytes they
answer with; the E-meter model's own events (a refused valve command, a cleared alarm register, a clock
adjustment) are passed through in ``MeterEventsRaised``. The core makes no callbacks.
"""

from __future__ import annotations

from dataclasses import dataclass

from meterkast.emeter.events import Event
from meterkast.errors import MeterkastError


@dataclass(frozen=True, slots=True)
class AssociationEstablished:
    client: int
    client_system_title: bytes | None


@dataclass(frozen=True, slots=True)
class AssociationRefused:
    """An AARQ was answered with a rejecting AARE, or HLS pass 3 failed; ``error`` says why."""

    client: int
    error: MeterkastError


@dataclass(frozen=True, slots=True)
class AssociationReleased:
    client: int


@dataclass(frozen=True, slots=True)
class AssociationAborted:
    """Released without an answer: "The E-Meter must release the Application Association immediately when
    messages are received with frame counters that are not in sequence" and "shall not send an error"
    (P3 §3.2.3.1)."""

    client: int
    error: MeterkastError


@dataclass(frozen=True, slots=True)
class ApduRefused:
    """An APDU answered with an exception-response (malformed, unexpected, not deciphered, no association)."""

    client: int
    error: MeterkastError


@dataclass(frozen=True, slots=True)
class MbusCommandReceived:
    """A class 72 method for the M-Bus shell to carry out over P2; P3 §3.5: the meter "shall return success
    to the Central System as soon as the command was received successfully" when it cannot act in session."""

    channel: int
    method: str
    parameters: object


@dataclass(frozen=True, slots=True)
class MeterEventsRaised:
    """Events of the E-meter model caused by a SET or ACTION."""

    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class GlobalKeysReplaced:
    """``global_key_transfer`` succeeded: the ACK went out under the old keys and the meter uses the new ones
    from the next APDU on (P3 §5.1 footnote 4). ``key_ids`` are the Blue Book key ids (0 encryption, 2
    authentication); the keys themselves are in ``P3Server.keys`` for a shell that persists them, never here."""

    client: int
    key_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class KeyTransferRefused:
    """``global_key_transfer`` was refused (a key not wrapped under this meter's master key, a key id DSMR does
    not change, malformed key_data); no key changed. DSMR-M 4.4.16 wants an attempt with an incorrect key
    logged: this is the shell's cue."""

    client: int
    error: MeterkastError


P3Event = (
    AssociationEstablished | AssociationRefused | AssociationReleased | AssociationAborted | ApduRefused
    | MbusCommandReceived | MeterEventsRaised | GlobalKeysReplaced | KeyTransferRefused
)
