"""TST ``YYMMDDhhmmssX`` in Europe/Amsterdam, the autumn fold and DSMR 2.2 stamps ([P1-4.2.2 §5.4])."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given

from meterkast.errors import ClockError, RecordError
from meterkast.p1.timestamps import (
    AMSTERDAM,
    EMPTY_TST,
    EPOCH,
    decode_tst,
    decode_tst12,
    decode_tst_or_none,
    encode_tst,
    encode_tst12,
)
from tests.p1.strategies import moments


def test_summer_and_winter() -> None:
    assert decode_tst("190905214003S") == datetime(2019, 9, 5, 19, 40, 3, tzinfo=UTC)
    assert decode_tst("171105201324W") == datetime(2017, 11, 5, 19, 13, 24, tzinfo=UTC)
    assert decode_tst("190905214003S").tzinfo is AMSTERDAM


def test_the_repeated_autumn_hour_follows_the_letter() -> None:
    # 2023-10-29: 02:30 happens twice, first in CEST (S), then in CET (W).
    # Compare in UTC: Python never calls an instant in the repeated hour equal across zones (PEP 495).
    assert decode_tst("231029023000S").astimezone(UTC) == datetime(2023, 10, 29, 0, 30, tzinfo=UTC)
    assert decode_tst("231029023000W").astimezone(UTC) == datetime(2023, 10, 29, 1, 30, tzinfo=UTC)
    assert encode_tst(datetime(2023, 10, 29, 0, 30, tzinfo=UTC)) == "231029023000S"
    assert encode_tst(datetime(2023, 10, 29, 1, 30, tzinfo=UTC)) == "231029023000W"


def test_empty_channel_stamp_is_the_epoch() -> None:
    assert decode_tst(EMPTY_TST) == EPOCH


@given(moments(1970, 2067))
def test_round_trip(moment: datetime) -> None:
    assert decode_tst(encode_tst(moment)).astimezone(UTC) == moment.astimezone(UTC)
    stamp, status = encode_tst12(moment)
    assert decode_tst12(stamp, status).astimezone(UTC) == moment.astimezone(UTC)


@pytest.mark.parametrize(
    "bad", ["", "19090521400S", "190905214003X", "1909052140031", "19O905214003S", "+19905214003S"]
)
def test_malformed(bad: str) -> None:
    with pytest.raises(RecordError):
        decode_tst(bad)


def test_not_a_date() -> None:
    with pytest.raises(RecordError, match="calendar"):
        decode_tst("632525252525W")
    assert decode_tst_or_none("632525252525W") is None  # Fluvius "no value"
    with pytest.raises(RecordError):
        decode_tst_or_none("6325252525W")


def test_dsmr22_stamp_uses_the_status_dst_bit() -> None:
    assert decode_tst12("120517020000", 0x08) == datetime(2012, 5, 17, 0, 0, tzinfo=UTC)
    assert decode_tst12("211122210000", 0x00) == datetime(2021, 11, 22, 20, 0, tzinfo=UTC)
    with pytest.raises(RecordError):
        decode_tst12("21112221000")


def test_naive_and_out_of_range_times_are_refused() -> None:
    with pytest.raises(ClockError):
        encode_tst(datetime(2020, 1, 1))
    with pytest.raises(RecordError):
        encode_tst(datetime(2070, 1, 1, tzinfo=UTC))
