"""The telegrams of a situation, with their ground truth, spoiled at the chosen rates (docs/conformance.md).

``play(situation)`` yields one :class:`Played` per telegram instant of the situation's segments: the bytes
the P1 port sends and, for an intact telegram, the record a consumer should report (``records.truth``);
a spoiled telegram has ``truth=None``. Spoiling follows the P1 rules a consumer must enforce:
- a CRC error: the CRC16 after ``!`` does not match the bytes from ``/`` to ``!`` [P1-4.2.2 §5.1],
  [P1-5.0.2 §6.2], so the telegram must be discarded;
- a cut-off telegram: the bytes end before the CRC line (a cable pulled, a buffer overrun); the next
  telegram's ``/`` starts afresh.
An instant at which the E-meter is off (a power failure) sends nothing (``data=None``).

Rules: the fault draws come from their own generator seeded from the situation (never from the
installation's), so the same situation and rates give the same bytes; with the scenario's ``[p1]`` keys a
wrong CRC is made inside the plain telegram before the AES-GCM frame wraps it (the frame is intact, its
content must be refused), and a cut-off cuts the frame itself.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from meterkast.conformance.records import Record, truth
from meterkast.conformance.situations import Situation
from meterkast.emeter.p1view import DecoupledStyle
from meterkast.errors import InvalidInput
from meterkast.p1.encode import encode_telegram
from meterkast.scenario_files import load_weather
from meterkast.sim.p1_source import P1Cipher, P1Port, telegram_data
from meterkast.sim.scenario import parse_scenario

FAULT_SALT = 0x5EED_C0DE


@dataclass(frozen=True, slots=True)
class Played:
    at: datetime
    data: bytes | None  # None: nothing sent (the E-meter is off)
    truth: Record | None  # None: spoiled or not sent; a consumer must report nothing for it
    fault: str | None = None  # "crc" or "cut-off"


def _rate(value: float, what: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise InvalidInput(f"{what} {value} must be between 0 and 1")
    return value


def play(situation: Situation, *, crc_error_rate: float | None = None, cut_off_rate: float | None = None
         ) -> Iterator[Played]:
    """Every telegram instant of ``situation`` in order (rates default to the situation's own)."""
    crc_p = _rate(situation.crc_error_rate if crc_error_rate is None else crc_error_rate, "CRC error rate")
    cut_p = _rate(situation.cut_off_rate if cut_off_rate is None else cut_off_rate, "cut-off rate")
    faults = random.Random(situation.seed ^ FAULT_SALT)
    weather = load_weather()
    for number, segment in enumerate(situation.segments):
        scenario = parse_scenario(segment.scenario, source=f"situation {situation.name} segment {number + 1}")
        installation = scenario.build(random.Random(scenario.seed), weather)
        if segment.stale_decoupled:
            installation.emeter.decoupled_style = DecoupledStyle.STALE
        cipher = None if scenario.p1_keys is None else P1Cipher(*scenario.p1_keys)
        port = P1Port(installation, scenario.p1_version)
        for i in range(segment.count):
            at = segment.first + i * segment.every
            installation.advance(at)
            if not installation.emeter.powered:
                yield Played(at, None, None)
                continue
            data = telegram_data(installation, port.spec)
            plain = encode_telegram(data, port.spec)
            record: Record | None = truth(data, segment.gas_channel or installation.gas_channel)
            fault = None
            if crc_p and faults.random() < crc_p:
                crc = int(plain[-6:-2], 16) ^ (1 + faults.randrange(0xFFFF))
                plain, record, fault = plain[:-6] + f"{crc:04X}".encode() + b"\r\n", None, "crc"
            sent = plain if cipher is None else cipher.wrap(plain)
            if fault is None and cut_p and faults.random() < cut_p:
                sent, record, fault = sent[: faults.randrange(len(sent) // 4, len(sent) - 8)], None, "cut-off"
            yield Played(at, sent, record, fault)
