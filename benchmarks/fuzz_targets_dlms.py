"""DLMS and COSEM decoders for ``bench_fuzz``: APDUs, A-XDR data and date-times, the 62056-47 wrapper,
glo- and general-glo-ciphering, HLS, the meter's APDU entry point and the COSEM value readers.

Seeds are the test suite's known-answer APDUs and A-XDR values and what our encoder makes of the meter
fuzz test's requests (plain, glo-ciphered, general-glo-ciphered, wrapped, and a block transfer)."""

from __future__ import annotations

import contextlib
import random

from tests.cosem.conftest import CS_TITLE, KEYS, make_server, management_session, public_session, two_day_meter
from tests.cosem.test_fuzz import SEEDS as METER_SEEDS
from tests.dlms.test_axdr import DATA_VECTORS
from tests.dlms.vectors import GB_KEYS, GB_SYSTEM_TITLE, VECTORS

from benchmarks.fuzz_targets import Target, bytes_maker, chunked
from meterkast.cosem.access import Client
from meterkast.cosem.keys import accept_key_data
from meterkast.cosem.replies import listed_results
from meterkast.cosem.server import P3Server, ServerAssociation, ServerState
from meterkast.cosem.values import read_date_time, read_scaler_unit
from meterkast.dlms import (
    Array,
    CaptureObject,
    CipheredApdu,
    CosemDateTime,
    EntryDescriptor,
    GeneralGloCiphering,
    OctetString,
    RangeDescriptor,
    WrapperFrame,
    WrapperFramer,
    cipher_apdu,
    decipher_apdu,
    decode_apdu,
    decode_data,
    decode_wrapper,
    encode_data,
    encode_wrapper,
    split_into_blocks,
    verify_hls_gmac_response,
)
from meterkast.dlms.security import general_glo_cipher, general_glo_decipher
from meterkast.errors import MeterkastError

KEK = bytes(range(0x10, 0x20))
PLAIN_REQUESTS = {bytes((tag,)) for tag in (0xC0, 0xC1, 0xC3)}  # get-, set-, action-request


def glo(plain: bytes) -> bytes:
    try:
        return cipher_apdu(plain, system_title=GB_SYSTEM_TITLE, invocation_counter=7, keys=GB_KEYS).encode()
    except MeterkastError:
        return general_glo(plain)


def general_glo(plain: bytes) -> bytes:
    return general_glo_cipher(plain, system_title=GB_SYSTEM_TITLE, invocation_counter=9, keys=GB_KEYS).encode()


def wrapped(apdu: bytes) -> bytes:
    return encode_wrapper(WrapperFrame(0x10, 0x01, apdu[:0xFFFF]))


def seeds() -> tuple[list[bytes], list[bytes]]:
    """APDUs (plain and ciphered) and A-XDR values."""
    plain = [v.raw for v in VECTORS] + [s for s in METER_SEEDS if s[:1] not in (b"\xc8", b"\xc9", b"\xcb")]
    data = [bytes.fromhex(wire) for _, wire in DATA_VECTORS]
    profile = encode_data(Array(tuple(decode_data(d) for d in data[:8])))
    data.append(profile)
    plain += [block.encode() for block in split_into_blocks(profile, 16)]
    apdus = plain + [glo(p) for p in plain[:40]] + [general_glo(p) for p in plain[:20]] + list(METER_SEEDS)
    return apdus, data


def run_decipher(data: bytes) -> None:
    apdu = decode_apdu(data)
    if isinstance(apdu, CipheredApdu):
        decode_apdu(decipher_apdu(apdu, system_title=GB_SYSTEM_TITLE, keys=GB_KEYS))
    elif isinstance(apdu, GeneralGloCiphering):
        decode_apdu(general_glo_decipher(apdu, keys=GB_KEYS))


def run_data(data: bytes) -> None:
    with contextlib.suppress(MeterkastError):
        CosemDateTime.decode(data[2:14] if data[:2] == b"\x09\x0c" else data)
    decode_data(data)


def run_wrapper(data: bytes) -> None:
    framer = WrapperFramer()
    for part in chunked(random.Random(len(data)), data):
        for frame in framer.feed(part):
            decode_apdu(frame.apdu)
    decode_apdu(decode_wrapper(data).apdu)


def run_values(data: bytes) -> None:
    """What the COSEM layer reads out of A-XDR values and list replies (each reader on its own)."""
    value = decode_data(data)
    readers = (read_date_time, read_scaler_unit, CaptureObject.from_data, RangeDescriptor.from_data,
               EntryDescriptor.from_data, lambda v: accept_key_data(v, KEK),
               lambda v: listed_results(v.value if isinstance(v, OctetString) else data))
    for read in readers:
        try:
            read(value)
        except MeterkastError:
            continue


def run_hls(data: bytes) -> None:
    verify_hls_gmac_response(data, b"P6wRJ21F", system_title=GB_SYSTEM_TITLE, keys=GB_KEYS)


class MeterUnderFuzz:
    """The meter's ``receive`` in three states: a fresh association (AARQs), a public one (client 16) and a
    management one after HLS (client 1, glo-ciphered requests with rising counters). An association the
    input ended is opened again, so later inputs still reach the served paths."""

    def __init__(self, server: P3Server) -> None:
        self.server = server
        self.counter = 1_000  # the client's invocation counter: the management request must be fresh
        self.public = public_session(server).link.association
        self.management = self._manage()

    def _manage(self) -> ServerAssociation:
        session = management_session(self.server, counter=self.counter + 1)
        self.counter = session.client.counter.next_value  # the meter wants exactly one more next (P3 §3.2.3.1)
        return session.link.association

    def ciphered(self, plain: bytes) -> bytes:
        try:
            apdu = cipher_apdu(plain, system_title=CS_TITLE, invocation_counter=self.counter, keys=KEYS).encode()
        except MeterkastError:
            return plain
        self.counter += 1
        return apdu

    def run(self, data: bytes) -> None:
        state = len(data) % 3 if data[:1] != b"\x60" else 0
        if state == 0:
            self.server.association().receive(1 + 15 * (len(data) & 1), data)
            return
        if state == 1:
            if self.public.state is ServerState.IDLE:
                self.public = public_session(self.server).link.association
            self.public.receive(Client.PUBLIC, data)
            return
        if self.management.state is not ServerState.ASSOCIATED:
            self.management = self._manage()
        if data[:1] in PLAIN_REQUESTS:  # ciphered here, with the next counter, so the meter serves it
            data = self.ciphered(data)
        self.management.receive(Client.MANAGEMENT, data)


def meter_target(server: P3Server) -> Target:
    meter = MeterUnderFuzz(server)
    return Target("cosem P3Server.receive", bytes_maker(list(METER_SEEDS)), meter.run)


def dlms_targets() -> list[Target]:
    apdus, data = seeds()
    plain = [a for a in apdus if a[:1] not in (b"\xdb", b"\xc8", b"\xc9", b"\xcb", b"\xcc", b"\xcd")]
    return [
        Target("dlms decode_apdu", bytes_maker(apdus), decode_apdu),
        Target("dlms A-XDR decode_data+date-time", bytes_maker(data), run_data),
        Target("dlms wrapper+framer", bytes_maker([wrapped(a) for a in apdus], wrapped, apdus), run_wrapper),
        Target("dlms glo/general-glo decipher", bytes_maker(apdus, glo, plain), run_decipher),
        Target("dlms HLS GMAC verify", bytes_maker([a[-17:] for a in apdus]), run_hls),
        Target("cosem value readers", bytes_maker(data + apdus), run_values),
        meter_target(make_server(two_day_meter())),
    ]
