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


P3Event = (
    AssociationEstablished | AssociationRefused | AssociationReleased | AssociationAborted | ApduRefused
    | MbusCommandReceived | MeterEventsRaised
)
