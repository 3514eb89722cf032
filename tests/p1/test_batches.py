"""The fast paths of issue 14 give what the uncached general path gives ([P1-4.2.2 §5.12]).

- lines.py's batches: the lines that changed together are read by one pattern; a telegram whose
  changed lines are the batch's but one of them does not fit its slot any more (a character
  damaged, a unit changed, a number widened) must fall back and decode exactly as ``decode_plain``;
- ``decode_telegram`` keeps a per-thread ``P1Decoder``: whatever came before (another meter, a bad
  telegram, text instead of bytes, another thread), its result is ``decode_plain``'s.
"""

from __future__ import annotations

import random
import threading

import pytest
from benchmarks.bench_p1_parse import stream as changing_stream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterkast.p1 import decode, lines
from meterkast.p1.decode import clear_cache, decode_plain, decode_telegram
from meterkast.p1.plan import P1Decoder
from tests.p1.corpus import Sample, samples
from tests.p1.test_lines import outcome, with_crc

_NOISE = b"0123456789.*()SWkVAh-:\r\n!/ x"
_IN_NUMBER = b" +_eE.-x"  # what Decimal() or int() would take, or a line break, where the pattern wants a digit


def _damage_changed_line(before: bytes, after: bytes, rng: random.Random, fresh_crc: bool) -> bytes:
    """``after`` with one octet of one of the lines that differ from ``before`` replaced."""
    old, new = before.split(b"\r\n"), after.split(b"\r\n")
    changed = [i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b and b[:1] not in (b"/", b"!")]
    if not changed:
        return after
    index = rng.choice(changed)
    line = bytearray(new[index])
    digits = [i for i, octet in enumerate(line) if chr(octet).isdigit() and i > line.find(b"(")]
    if digits and rng.random() < 0.5:  # a digit of a value: damage that a lax reader would accept
        line[rng.choice(digits)] = rng.choice(_IN_NUMBER)
    else:
        line[rng.randrange(len(line))] = rng.choice(_NOISE)
    new[index] = bytes(line)
    damaged = b"\r\n".join(new)
    return with_crc(damaged) if fresh_crc else damaged


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=st.sampled_from(samples()),
    seed=st.integers(0, 2**32 - 1),
    at=st.integers(3, 9),
    strict=st.booleans(),
    lenient=st.booleans(),
    fresh_crc=st.booleans(),
)
def test_a_damaged_line_of_a_batch_decodes_as_the_general_path(  # noqa: PLR0917  # hypothesis draws
    sample: Sample, seed: int, at: int, strict: bool, lenient: bool, fresh_crc: bool
) -> None:
    rng = random.Random(seed)
    telegrams = [sample.data, *changing_stream(sample.data, 12, rng, every_value=rng.random() < 0.5)]
    telegrams[at] = _damage_changed_line(telegrams[at - 1], telegrams[at], rng, fresh_crc)
    decoder = P1Decoder()
    for data in telegrams:
        assert outcome(decoder.decode, data, strict, lenient) == outcome(decode_plain, data, strict, lenient)


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s.name)
def test_the_changed_lines_of_a_stream_go_through_a_batch(sample: Sample, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a changing stream the line-by-line loop runs only for sets of lines no batch covers."""
    telegrams = [sample.data, *changing_stream(sample.data, 30, random.Random(sample.name), every_value=True)]
    one_by_one: list[int] = []
    original = lines.LineState._line_by_line

    def counted(state: lines.LineState, new: list[str], changed: tuple[int, ...]) -> object:
        one_by_one.append(len(changed))
        return original(state, new, changed)

    monkeypatch.setattr(lines.LineState, "_line_by_line", counted)
    decoder = P1Decoder()
    for data in telegrams:
        assert repr(decoder.decode(data, strict=True)) == repr(decode_plain(data, strict=True))
    assert decoder.planned == len(telegrams) - 1
    assert len(one_by_one) <= 2  # the M-Bus reading line changes once in 30 (GAS_EVERY): no batch


def test_decode_telegram_gives_the_plain_result_whatever_came_before() -> None:
    """Meters interleaved, bytes and text, a damaged telegram between: each result is decode_plain's."""
    clear_cache()
    rng = random.Random(14)
    streams = [[s.data, *changing_stream(s.data, 8, rng)] for s in samples()]
    for step in range(9):
        for telegrams in streams:
            data = telegrams[step]
            assert repr(decode_telegram(data)) == repr(decode_plain(data))
            assert repr(decode_telegram(data.decode("latin-1"))) == repr(decode_plain(data.decode("latin-1")))
            cut = data[: len(data) // 2]
            assert outcome(decode_telegram, cut, False, True) == outcome(decode_plain, cut, False, True)
            assert outcome(decode_telegram, cut, True, False) == outcome(decode_plain, cut, True, False)


def test_each_thread_has_its_own_decoder() -> None:
    """Two threads decoding at once never share a line state (lines.py mutates it per telegram)."""
    rng = random.Random(15)
    chosen = samples()[:4]
    streams = [[s.data, *changing_stream(s.data, 40, rng, every_value=True)] for s in chosen]
    expected = [[repr(decode_plain(data)) for data in telegrams] for telegrams in streams]
    got: dict[int, list[str]] = {}
    decoders: dict[int, object] = {}
    start = threading.Barrier(len(streams))

    def work(index: int) -> None:
        start.wait()
        got[index] = [repr(decode_telegram(data)) for data in streams[index]]
        decoders[index] = decode._SHARED.decoder

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(streams))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == dict(enumerate(expected))
    assert len({id(decoder) for decoder in decoders.values()}) == len(streams)


def test_clear_cache_starts_afresh() -> None:
    data = samples()[0].data
    decode_telegram(data)
    first = decode._SHARED.decoder
    clear_cache()
    assert repr(decode_telegram(data)) == repr(decode_plain(data))
    assert decode._SHARED.decoder is not first
