"""P1 decoders for ``bench_fuzz`` (owned by the P1 part: found crashes are reported, not fixed here):
the stateless decoder, ``P1Decoder``, ``P1Framer``, AES-GCM decryption and the reader's ``CipherFramer``."""

from __future__ import annotations

import random

from benchmarks.fuzz_targets import SHARED, Target, bytes_maker, chunked
from meterkast.io.p1_reader import CipherFramer
from meterkast.p1.convert import to_telegram_data
from meterkast.p1.crc import crc16, format_crc
from meterkast.p1.crypto import decrypt_telegram, encrypt_telegram
from meterkast.p1.decode import decode_telegram
from meterkast.p1.framer import P1Framer
from meterkast.p1.plan import P1Decoder

EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
TITLE = bytes.fromhex("4B464D1020000001")


def with_crc(data: bytes) -> bytes:
    """The CRC line recomputed over everything up to the last ``!``, so a mutation passes the CRC."""
    bang = data.rfind(b"!")
    if bang < 0:
        return data
    return data[: bang + 1] + format_crc(crc16(data[: bang + 1])).encode("ascii") + b"\r\n"


def encrypted(plaintext: bytes) -> bytes:
    return encrypt_telegram(plaintext, encryption_key=EK, authentication_key=AK, system_title=TITLE,
                            invocation_counter=len(plaintext))


def run_stateless(data: bytes) -> None:
    for lenient in (False, True):
        to_telegram_data(decode_telegram(data, lenient=lenient))


def trained_decoder(telegrams: list[bytes]) -> P1Decoder:
    """A decoder that has planned every corpus shape, so mutations also take the planned path."""
    decoder = P1Decoder()
    for telegram in telegrams:
        decoder.decode(telegram)
    return decoder


def run_framer(data: bytes) -> None:
    framer = P1Framer()
    for part in chunked(random.Random(len(data)), data + data):
        framer.feed(part)


def run_gcm(data: bytes) -> None:
    decrypt_telegram(data, encryption_key=EK, authentication_key=AK)


def run_cipher_framer(data: bytes) -> None:
    framer = CipherFramer()
    for part in chunked(random.Random(len(data)), data):
        for frame in framer.feed(part):
            decrypt_telegram(frame, encryption_key=EK, authentication_key=AK)


def p1_targets() -> list[Target]:
    telegrams = [p.read_bytes() for p in sorted((SHARED / "testdata" / "p1-dsmr_parser").glob("*.txt"))]
    ciphered = [encrypted(t) for t in telegrams]
    decoder = trained_decoder(telegrams)

    def run_decoder(data: bytes) -> None:
        for lenient in (False, True):
            decoder.decode(data, lenient=lenient)

    return [
        Target("p1 decode_telegram", bytes_maker(telegrams, with_crc), run_stateless),
        Target("p1 P1Decoder", bytes_maker(telegrams, with_crc), run_decoder),
        Target("p1 P1Framer", bytes_maker(telegrams, with_crc), run_framer),
        Target("p1 GCM decrypt", bytes_maker(ciphered, encrypted, telegrams), run_gcm),
        Target("p1 CipherFramer+decrypt", bytes_maker(ciphered, encrypted, telegrams), run_cipher_framer),
    ]
