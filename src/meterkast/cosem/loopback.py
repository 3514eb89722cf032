"""The in-memory twin of a P3 connection (STYLE 10) and the blocking driver ``run`` for client procedures.

What a TCP connection with the IEC 62056-47 wrapper carries, minus the wrapper: ``exchange`` hands one APDU
to ``ServerAssociation.receive`` under the client's SAP and returns the reply; the server's events are kept
in ``events``. When the meter answers nothing (an association released for an out-of-sequence counter,
P3 §3.2.3.1) ``exchange`` raises ``NoReply``, as a transport would time out.
"""

from __future__ import annotations

from collections.abc import Callable

from meterkast.cosem.client import Procedure, T
from meterkast.cosem.events import P3Event
from meterkast.cosem.server import ServerAssociation
from meterkast.errors import NoReply


class Loopback:
    def __init__(self, association: ServerAssociation, client_address: int) -> None:
        self.association = association
        self.client_address = client_address
        self.events: list[P3Event] = []

    def exchange(self, apdu: bytes) -> bytes:
        output = self.association.receive(self.client_address, apdu)
        self.events += output.events
        if output.reply is None:
            raise NoReply(f"the meter did not answer client {self.client_address} "
                          f"(association state {self.association.state.value})")
        return output.reply


def run(procedure: Procedure[T], exchange: Callable[[bytes], bytes]) -> T:
    """Drive ``procedure`` with a blocking ``exchange`` (one request APDU in, one reply APDU out)."""
    try:
        request = next(procedure)
        while True:
            request = procedure.send(exchange(request))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
