"""The association state machines are data (STYLE 4): both tables are total, and their key rows say what
DSMR P3 §3.2.3.1 asks."""

from __future__ import annotations

import pytest

from meterkast.cosem.client import TRANSITIONS as CLIENT_TRANSITIONS
from meterkast.cosem.client import ClientInput, ClientState
from meterkast.cosem.server import TRANSITIONS, ServerAction, ServerInput, ServerState


def test_server_table_is_total() -> None:
    assert set(TRANSITIONS) == {(s, i) for s in ServerState for i in ServerInput}


def test_client_table_is_total() -> None:
    assert set(CLIENT_TRANSITIONS) == {(s, i) for s in ClientState for i in ClientInput}


@pytest.mark.parametrize(("state", "given", "expected"), [
    (ServerState.IDLE, ServerInput.AARQ_ACCEPTABLE, (ServerState.ASSOCIATED, ServerAction.ACCEPT)),
    (ServerState.IDLE, ServerInput.AARQ_NEEDS_HLS, (ServerState.AWAITING_HLS, ServerAction.CHALLENGE)),
    (ServerState.IDLE, ServerInput.REQUEST, (ServerState.IDLE, ServerAction.REJECT_APDU)),
    (ServerState.AWAITING_HLS, ServerInput.REQUEST, (ServerState.AWAITING_HLS, ServerAction.REJECT_APDU)),
    (ServerState.AWAITING_HLS, ServerInput.HLS_REPLY_VALID, (ServerState.ASSOCIATED, ServerAction.CONFIRM_HLS)),
    (ServerState.AWAITING_HLS, ServerInput.HLS_REPLY_INVALID, (ServerState.IDLE, ServerAction.DENY_HLS)),
    (ServerState.ASSOCIATED, ServerInput.REQUEST, (ServerState.ASSOCIATED, ServerAction.SERVE)),
    (ServerState.ASSOCIATED, ServerInput.AARQ_ACCEPTABLE, (ServerState.ASSOCIATED, ServerAction.REFUSE)),
    (ServerState.ASSOCIATED, ServerInput.NOT_DECIPHERED, (ServerState.ASSOCIATED, ServerAction.REJECT_APDU)),
    (ServerState.ASSOCIATED, ServerInput.RLRQ, (ServerState.IDLE, ServerAction.RELEASE)),
])
def test_server_rows(state: ServerState, given: ServerInput, expected: tuple[ServerState, ServerAction]) -> None:
    assert TRANSITIONS[state, given] == expected


@pytest.mark.parametrize("state", list(ServerState))
def test_an_out_of_sequence_counter_releases_silently_from_every_state(state: ServerState) -> None:
    # "release the Application Association immediately" and "shall not send an error" (P3 §3.2.3.1)
    assert TRANSITIONS[state, ServerInput.REPLAYED] == (ServerState.IDLE, ServerAction.ABORT)


def test_client_refuses_misuse_and_fails_back_to_idle() -> None:
    assert CLIENT_TRANSITIONS[ClientState.IDLE, ClientInput.SEND_REQUEST] is None
    assert CLIENT_TRANSITIONS[ClientState.ASSOCIATED, ClientInput.SEND_AARQ] is None
    assert all(CLIENT_TRANSITIONS[s, ClientInput.FAILED] is ClientState.IDLE for s in ClientState)
