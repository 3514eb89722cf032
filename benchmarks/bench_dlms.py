"""Read a DSMR hourly gas profile over P3 with meterkast and with dlms-cosem, side by side (issue 6).

The workload is what a central system does for one meter per day and channel: a glo-get-response
(security suite 0, AES-128-GCM) carrying the buffer of 0-1:24.3.0.255, 240 rows of {clock octet-string,
AMR status unsigned, value double-long-unsigned, capture time octet-string} (DSMR P3 §7.4); decipher it,
decode the APDU and the A-XDR buffer to values. dlms-cosem does the same with its ``decrypt``,
``GetResponseFactory`` and ``DlmsDataParser``. Run: ``python -m benchmarks dlms``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from dlms_cosem import dlms_data as their_data
from dlms_cosem import security as their_security
from dlms_cosem.protocol import xdlms as their_xdlms

import benchmarks
from meterkast.dlms import (
    Array,
    CosemDateTime,
    DoubleLongUnsigned,
    GetResponseNormal,
    OctetString,
    SecurityKeys,
    Structure,
    Unsigned,
    cipher_apdu,
    decipher_apdu,
    decode_apdu,
    encode_apdu,
)
from meterkast.dlms.ciphered import CipheredApdu

KEYS = SecurityKeys(bytes(range(16)), bytes(range(0xD0, 0xE0)))
METER = bytes.fromhex("4D4D4D0000BC614E")
ROUNDS = 50


def hourly_profile() -> Array:
    start = dt.datetime(2026, 11, 19, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    rows = []
    for hour in range(240):
        stamp = OctetString(CosemDateTime.from_datetime(start + dt.timedelta(hours=hour)).encode())
        rows.append(Structure((stamp, Unsigned(0), DoubleLongUnsigned(1_234_567 + 37 * hour), stamp)))
    return Array(tuple(rows))


def ours(wire: bytes) -> int:
    apdu = decode_apdu(wire)
    assert isinstance(apdu, CipheredApdu)
    response = decode_apdu(decipher_apdu(apdu, system_title=METER, keys=KEYS))
    assert isinstance(response, GetResponseNormal) and isinstance(response.result, Array)
    return len(response.result.items)


def theirs(wire: bytes) -> int:
    control = their_security.SecurityControlField.from_bytes(wire[4:5])  # CC 82 len len | SC | IC | payload
    counter = int.from_bytes(wire[5:9], "big")
    plain = their_security.decrypt(control, METER, counter, KEYS.encryption_key, wire[9:], KEYS.authentication_key)
    response = their_xdlms.GetResponseFactory.from_bytes(plain)
    return len(their_data.DlmsDataParser().parse(response.data)[0].to_python())


def best_of(function: Callable[[bytes], int], wire: bytes, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        began = time.perf_counter()
        assert function(wire) == 240
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    plain = encode_apdu(GetResponseNormal(hourly_profile()))
    wire = cipher_apdu(plain, system_title=METER, invocation_counter=42, keys=KEYS).encode()
    assert wire[1] == 0x82, "the benchmark slices a two-octet long-form length"
    rounds = benchmarks.scaled(ROUNDS, 5)
    ours_s, theirs_s = best_of(ours, wire, rounds), best_of(theirs, wire, rounds)
    print(f"glo-get-response       {len(wire)} bytes, 240 profile rows")
    print(f"meterkast              {ours_s * 1e3:8.2f} ms (decipher + APDU + Data)")
    print(f"dlms-cosem             {theirs_s * 1e3:8.2f} ms (decrypt + GetResponseFactory + DlmsDataParser)")
    print(f"ratio                  {theirs_s / ours_s:8.1f}× {'faster' if ours_s < theirs_s else 'slower'}")
