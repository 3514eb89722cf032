"""The central system's side of P3 for ``bench_fuzz``: a management client reading a gas profile, told lies.

A genuine conversation (AARQ/AARE, HLS5, capture objects, scaler_unit, a block-transferred buffer) is
recorded once against the meter. Each input replays it with one reply bent: either the bytes on the wire,
or the plaintext under a valid glo-cipher with the reply's own counter, so the bent bytes reach the
client's APDU decoder and the COSEM readers (``cosem.readings``) behind the tag check.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from tests.cosem.conftest import KEYS, METER_TITLE, make_server, management_client, two_day_meter

from benchmarks.fuzz_mutate import byte_input
from benchmarks.fuzz_targets import Target
from meterkast.cosem.loopback import run
from meterkast.cosem.readings import read_profile
from meterkast.dlms import CipheredApdu, ObisCode, cipher_apdu, decipher_apdu, decode_apdu
from meterkast.errors import NoReply

HOURLY = ObisCode.parse("0-1:24.3.0.255")


@dataclass(frozen=True)
class Bent:
    """Reply number ``step`` of the recorded conversation replaced by ``data`` (ciphered first if asked)."""

    step: int
    data: bytes
    cipher: bool


@dataclass(frozen=True)
class Reply:
    wire: bytes
    plain: bytes | None  # the deciphered APDU of a glo-ciphered reply
    counter: int | None


def record() -> list[Reply]:
    server = make_server(two_day_meter())
    association = server.association()
    replies: list[Reply] = []

    def exchange(request: bytes) -> bytes:
        reply = association.receive(1, request).reply
        if reply is None:
            raise NoReply("the meter refused the recorded conversation")
        apdu = decode_apdu(reply)
        if isinstance(apdu, CipheredApdu):
            plain = decipher_apdu(apdu, system_title=METER_TITLE, keys=KEYS)
            replies.append(Reply(reply, plain, apdu.invocation_counter))
        else:
            replies.append(Reply(reply, None, None))
        return reply

    client = management_client()
    run(client.associate(), exchange)
    run(read_profile(client, HOURLY), exchange)
    return replies


def conversation(replies: list[Reply]) -> Callable[[Bent], None]:
    def play(bent: Bent) -> None:
        original = replies[bent.step]
        data = bent.data
        if bent.cipher and original.counter is not None:
            data = cipher_apdu(data, system_title=METER_TITLE, invocation_counter=original.counter,
                               keys=KEYS).encode()
        answers = [r.wire for r in replies]
        answers[bent.step] = data
        feed = iter(answers)

        def exchange(_request: bytes) -> bytes:
            answer = next(feed, None)
            if answer is None:  # the bent reply changed the course; the meter would say no more
                raise NoReply("end of the recorded conversation")
            return answer

        client = management_client()
        run(client.associate(), exchange)
        run(read_profile(client, HOURLY), exchange)
    return play


def client_target() -> Target:
    replies = record()
    wires = [r.wire for r in replies]
    plains = [r.plain for r in replies if r.plain is not None]

    def make(rng: random.Random) -> Bent:
        step = rng.randrange(len(replies))
        if replies[step].plain is not None and rng.random() < 0.6:
            return Bent(step, byte_input(rng, [replies[step].plain or b"", *plains]), cipher=True)
        return Bent(step, byte_input(rng, [wires[step], *wires]), cipher=False)

    play = conversation(replies)

    def play_safely(bent: Bent) -> None:
        try:
            play(bent)
        except NoReply:
            return  # not a decoder outcome: the client asked for more than the recording holds
    return Target("cosem P3Client read_profile", make, play_safely,
                  lambda bent: f"reply {bent.step} {'plaintext' if bent.cipher else 'wire'} {bent.data.hex()}")

