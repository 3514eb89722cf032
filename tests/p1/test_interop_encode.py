"""Telegrams meterkast encodes parse with dsmr_parser (CRC checked) and give the values put in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.p1.data import MbusChannel, TelegramData
from meterkast.p1.encode import encode_telegram
from tests.p1.dsmr_compare import parser_for
from tests.p1.strategies import telegram_data
from tests.p1.test_encode import SAMPLE

SPEC = {"4": "V4", "4.2": "V4", "5": "V5", "2.2": "V2_2"}
SUMMER = datetime(2024, 7, 15, 13, 0, tzinfo=UTC)  # 15:00 S
WINTER = datetime(2024, 1, 15, 13, 0, tzinfo=UTC)  # 14:00 W


def _gas(version: str, captured: datetime) -> TelegramData:
    gas = MbusChannel(1, 3, "G0019340315370616", Decimal("1091.352"), captured, valve=1 if version == "2.2" else None)
    data = replace(SAMPLE, mbus=(gas,), timestamp=captured)
    if version == "5":
        data = replace(data, text_code=None, voltage_v=(Decimal("229.0"),) * 3)
    if version == "2.2":
        data = replace(
            data,
            timestamp=None,
            power_failures=None,
            long_power_failures=None,
            power_failure_log=None,
            voltage_sags=(),
            voltage_swells=(),
            current_a=(),
            power_import_phase_kw=(),
            power_export_phase_kw=(),
            limiter_threshold_kw=Decimal("999"),
            breaker_state=1,
            power_import_kw=Decimal("1.19"),
            import_t1_kwh=Decimal("12345.678"),
            import_t2_kwh=Decimal("1.5"),
            export_t1_kwh=Decimal(0),
            export_t2_kwh=Decimal("0.001"),
        )
    return data


def _reading(telegram: object, version: str) -> tuple[datetime, Decimal]:
    if version == "2.2":
        obj = telegram.GAS_METER_READING  # type: ignore[attr-defined]
    elif version == "5":
        obj = telegram.get_mbus_device_by_channel(1).MBUS_METER_READING  # type: ignore[attr-defined]
    else:
        obj = telegram.HOURLY_GAS_METER_READING  # type: ignore[attr-defined]
    return obj.datetime, obj.value


@pytest.mark.parametrize("version", SPEC)
@pytest.mark.parametrize("captured", [SUMMER, WINTER], ids=["summer", "winter"])
def test_dsmr_parser_reads_our_telegram(version: str, captured: datetime) -> None:
    data = _gas(version, captured)
    telegram = parser_for(SPEC[version]).parse(encode_telegram(data, version).decode("ascii"))
    assert telegram.ELECTRICITY_USED_TARIFF_1.value == data.import_t1_kwh
    assert telegram.ELECTRICITY_USED_TARIFF_1.unit == "kWh"
    assert telegram.CURRENT_ELECTRICITY_USAGE.value == data.power_import_kw
    assert telegram.ELECTRICITY_ACTIVE_TARIFF.value == "0002"
    assert bytes.fromhex(telegram.EQUIPMENT_IDENTIFIER.value).decode() == data.equipment_id
    when, value = _reading(telegram, version)
    assert when == captured and value == Decimal("1091.352")
    if version != "2.2":
        assert telegram.P1_MESSAGE_TIMESTAMP.value == captured
        log = telegram.POWER_EVENT_FAILURE_LOG.buffer
        assert [(e.datetime, e.value) for e in log] == [(p.end, p.duration_s) for p in data.power_failure_log or ()]


@pytest.mark.parametrize("version", SPEC)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_generated_telegrams_pass_dsmr_parser_crc(version: str, data: st.DataObject) -> None:
    generated = data.draw(telegram_data(version))
    telegram = parser_for(SPEC[version]).parse(encode_telegram(generated, version).decode("latin-1"))
    assert telegram.ELECTRICITY_USED_TARIFF_1.value == generated.import_t1_kwh
    assert telegram.CURRENT_ELECTRICITY_DELIVERY.value == generated.power_export_kw
