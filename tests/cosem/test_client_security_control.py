"""Our P3 client (the central system) takes meter replies only at security control 0x30.

P3 §3.2.3.1 item 2 ("Only 'Message Encryption & Message Authentication'") binds both directions. The
meter's side of this rule was found missing with Gurux (tests/io/test_p3_interop_gurux.py); the client had
the same gap: a glo- reply at 0x00 (no protection, forgeable by anyone on the path) was read as the meter's.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from meterkast.cosem.access import Client
from meterkast.cosem.client import ClientState
from meterkast.cosem.loopback import Loopback, run
from meterkast.cosem.readings import read_clock
from meterkast.cosem.server import P3Server
from meterkast.dlms import AARE, CipheredApdu, SecurityControl, cipher_apdu, decipher_apdu, decode_apdu, encode_apdu
from meterkast.dlms.ciphered import AUTHENTICATED_ONLY, ENCRYPTED_ONLY
from meterkast.errors import AuthenticationError
from tests.cosem.conftest import KEYS, METER_TITLE, management_client, management_session

UNPROTECTED = SecurityControl(authenticated=False, encrypted=False)


@pytest.mark.parametrize("control", [AUTHENTICATED_ONLY, ENCRYPTED_ONLY, UNPROTECTED], ids=["0x10", "0x20", "0x00"])
def test_a_reply_protected_less_than_authenticated_and_encrypted_is_refused(server: P3Server,
                                                                            control: SecurityControl) -> None:
    session = management_session(server)

    def downgraded(request: bytes) -> bytes:
        reply = decode_apdu(session.link.exchange(request))
        assert isinstance(reply, CipheredApdu) and reply.security_control == SecurityControl()
        plain = decipher_apdu(reply, system_title=METER_TITLE, keys=KEYS)
        return cipher_apdu(plain, system_title=METER_TITLE, invocation_counter=reply.invocation_counter,
                           keys=KEYS, control=control).encode()

    with pytest.raises(AuthenticationError, match="0x30"):
        run(read_clock(session.client), downgraded)
    assert session.client.state is ClientState.IDLE and session.client.association is None  # dropped


def test_the_same_reply_at_0x30_is_read(server: P3Server) -> None:
    session = management_session(server)
    assert run(read_clock(session.client), session.link.exchange) is not None


def test_an_aare_whose_initiate_response_is_not_at_0x30_is_refused(server: P3Server) -> None:
    client = management_client()
    link = Loopback(server.association(), Client.MANAGEMENT)

    def downgraded(request: bytes) -> bytes:
        aare = decode_apdu(link.exchange(request))
        assert isinstance(aare, AARE) and isinstance(aare.user_information, CipheredApdu)
        plain = decipher_apdu(aare.user_information, system_title=METER_TITLE, keys=KEYS)
        forged = CipheredApdu(aare.user_information.tag, UNPROTECTED, aare.user_information.invocation_counter,
                              plain)
        return encode_apdu(replace(aare, user_information=forged))

    with pytest.raises(AuthenticationError, match="0x00"):
        run(client.associate(), downgraded)
    assert client.association is None
