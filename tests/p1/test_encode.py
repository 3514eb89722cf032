"""Encoding telegrams byte-exact to the companion standards' layout ([P1-4.2.2 §5.2, §5.9–5.13])."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from meterkast.errors import InvalidInput, RecordError
from meterkast.p1.convert import to_telegram_data
from meterkast.p1.data import ABOVE_G6_RESOLUTION, MbusChannel, TelegramData
from meterkast.p1.decode import decode_telegram
from meterkast.p1.encode import encode_telegram
from meterkast.p1.values import PowerFailure
from tests.p1.corpus import by_name, facts_telegrams

# Real telegrams whose layout is exactly a spec's, with the version to re-encode them as.
GOLDEN = {
    "DSMR 4.2 with gas — Landis+Gyr E350": "4.2",
    "DSMR 4.2 — Kaifa MA105/304": "4.2",
    "DSMR 5.0 with gas — Sagemcom XS210 ESMR 5.0 (Enexis)": "5",
    "DSMR 5.0 polyphase, two M-Bus channels (Iskra AM550, 2020)": "5",
}


@pytest.mark.parametrize("name", list(GOLDEN))
def test_real_telegrams_re_encode_byte_for_byte(name: str) -> None:
    data = facts_telegrams()[name]
    assert encode_telegram(to_telegram_data(decode_telegram(data, strict=True)), GOLDEN[name]) == data


def test_corpus_two_mbus_re_encodes_byte_for_byte() -> None:
    data = by_name("v5_two_mbus").data
    assert encode_telegram(to_telegram_data(decode_telegram(data)), "5") == data


WINTER = datetime(2010, 12, 9, 10, 30, 20, tzinfo=UTC)  # 11:30:20 W, the standards' example moment
SAMPLE = TelegramData(
    header="ISk5\\2MT382-1000",
    timestamp=WINTER,
    equipment_id="K8EG004046395507",
    import_t1_kwh=Decimal("123456.789"),
    import_t2_kwh=Decimal("123456.789"),
    export_t1_kwh=Decimal("123456.789"),
    export_t2_kwh=Decimal("123456.789"),
    tariff=2,
    power_import_kw=Decimal("1.193"),
    power_export_kw=Decimal(0),
    power_failures=4,
    long_power_failures=2,
    power_failure_log=(
        PowerFailure(datetime(2010, 12, 8, 14, 24, 15, tzinfo=UTC), 240),
        PowerFailure(datetime(2010, 12, 8, 14, 10, 4, tzinfo=UTC), 301),
    ),
    voltage_sags=(2, 1, 0),
    voltage_swells=(0, 3, 0),
    text_code="01 61 81",
    text_message="0123456789:;<=>?",
    current_a=(Decimal(1), Decimal(2), Decimal(3)),
    power_import_phase_kw=(Decimal("1.111"), Decimal("2.222"), Decimal("3.333")),
    power_export_phase_kw=(Decimal("4.444"), Decimal("5.555"), Decimal("6.666")),
    mbus=(
        MbusChannel(1, 3, "2222ABCD123456789", Decimal("12785.123"), datetime(2010, 12, 9, 10, 0, tzinfo=UTC), "m3"),
    ),
)

# [P1-4.0.7 §5.13] example, with the typesetting artefacts fixed (72:32.0, .255 suffixes, wrapped
# line), the blank line of §5.2, and the CRC recomputed (the printed !EA2C does not verify).
EXPECTED_4 = (
    "/ISk5\\2MT382-1000\r\n\r\n1-3:0.2.8(40)\r\n0-0:1.0.0(101209113020W)\r\n"
    "0-0:96.1.1(4B384547303034303436333935353037)\r\n"
    "1-0:1.8.1(123456.789*kWh)\r\n1-0:1.8.2(123456.789*kWh)\r\n1-0:2.8.1(123456.789*kWh)\r\n"
    "1-0:2.8.2(123456.789*kWh)\r\n0-0:96.14.0(0002)\r\n1-0:1.7.0(01.193*kW)\r\n1-0:2.7.0(00.000*kW)\r\n"
    "0-0:96.7.21(00004)\r\n0-0:96.7.9(00002)\r\n"
    "1-0:99.97.0(2)(0-0:96.7.19)(101208152415W)(0000000240*s)(101208151004W)(0000000301*s)\r\n"
    "1-0:32.32.0(00002)\r\n1-0:52.32.0(00001)\r\n1-0:72.32.0(00000)\r\n1-0:32.36.0(00000)\r\n"
    "1-0:52.36.0(00003)\r\n1-0:72.36.0(00000)\r\n0-0:96.13.1(3031203631203831)\r\n"
    "0-0:96.13.0(303132333435363738393A3B3C3D3E3F)\r\n"
    "1-0:31.7.0(001*A)\r\n1-0:51.7.0(002*A)\r\n1-0:71.7.0(003*A)\r\n1-0:21.7.0(01.111*kW)\r\n"
    "1-0:41.7.0(02.222*kW)\r\n1-0:61.7.0(03.333*kW)\r\n1-0:22.7.0(04.444*kW)\r\n1-0:42.7.0(05.555*kW)\r\n"
    "1-0:62.7.0(06.666*kW)\r\n0-1:24.1.0(003)\r\n0-1:96.1.0(3232323241424344313233343536373839)\r\n"
    "0-1:24.2.1(101209110000W)(12785.123*m3)\r\n!"
)


def test_dsmr4_layout_is_the_standards_example() -> None:
    encoded = encode_telegram(SAMPLE)  # "4" is the default
    assert encoded.startswith(EXPECTED_4.encode())
    assert len(encoded) == len(EXPECTED_4) + 6 and encoded.endswith(b"\r\n")
    assert decode_telegram(encoded, strict=True).crc_ok


def test_dsmr42_only_changes_the_version() -> None:
    assert encode_telegram(SAMPLE, "4.2")[:40] == EXPECTED_4.replace("(40)", "(42)").encode()[:40]


def test_dsmr5_voltages_and_no_text_code() -> None:
    data = replace(SAMPLE, text_code=None, voltage_v=(Decimal("220.1"),))
    text = encode_telegram(data, "5").decode()
    assert "1-3:0.2.8(50)" in text and "96.13.1" not in text
    assert "0-0:96.13.0(303132333435363738393A3B3C3D3E3F)\r\n1-0:32.7.0(220.1*V)\r\n1-0:31.7.0(001*A)" in text


def test_dsmr22_layout() -> None:
    data = TelegramData(
        header="ISk5\\2MT382-1004",
        equipment_id="ZBEV005106844912",
        import_t1_kwh=Decimal("1.001"),
        import_t2_kwh=Decimal("1.001"),
        export_t1_kwh=Decimal("1.001"),
        export_t2_kwh=Decimal("1.001"),
        tariff=1,
        power_import_kw=Decimal("1.01"),
        power_export_kw=Decimal(0),
        limiter_threshold_kw=Decimal("999"),
        breaker_state=1,
        text_code="",
        text_message="",
        mbus=(MbusChannel(1, 3, "", Decimal("1.001"), datetime(2016, 11, 7, 18, tzinfo=UTC), valve=1),),
    )
    assert encode_telegram(data, "2.2") == (
        b"/ISk5\\2MT382-1004\r\n\r\n0-0:96.1.1(5A424556303035313036383434393132)\r\n"
        b"1-0:1.8.1(00001.001*kWh)\r\n1-0:1.8.2(00001.001*kWh)\r\n1-0:2.8.1(00001.001*kWh)\r\n"
        b"1-0:2.8.2(00001.001*kWh)\r\n0-0:96.14.0(0001)\r\n1-0:1.7.0(0001.01*kW)\r\n1-0:2.7.0(0000.00*kW)\r\n"
        b"0-0:17.0.0(0999.00*kW)\r\n0-0:96.3.10(1)\r\n0-0:96.13.1()\r\n0-0:96.13.0()\r\n0-1:24.1.0(3)\r\n"
        b"0-1:96.1.0()\r\n0-1:24.3.0(161107190000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n(00001.001)\r\n"
        b"0-1:24.4.0(1)\r\n!\r\n"
    )


def test_gas_above_g6_uses_f8_2_and_summer_sets_s() -> None:
    summer = datetime(2020, 7, 1, 10, tzinfo=UTC)
    channel = MbusChannel(2, 3, "G", Decimal("1234.5"), summer, resolution=ABOVE_G6_RESOLUTION)
    text = encode_telegram(replace(SAMPLE, mbus=(channel,))).decode()
    assert "0-2:24.2.1(200701120000S)(001234.50*m3)\r\n" in text


def test_emptied_channel() -> None:
    text = encode_telegram(replace(SAMPLE, mbus=(MbusChannel(1),))).decode()
    assert "0-1:24.1.0(003)\r\n0-1:96.1.0()\r\n0-1:24.2.1(700101010000W)(00000000)\r\n!" in text


@pytest.mark.parametrize(
    ("change", "version", "message"),
    [
        ({"voltage_v": (Decimal(230),)}, "4", "no line for voltage_v"),
        ({"limiter_threshold_kw": Decimal(1)}, "4", "no line for limiter_threshold_kw"),
        ({"tariff": None}, "4", "give it a value"),
        ({"import_t1_kwh": Decimal("1.0001")}, "4", r"1-0:1\.8\.1"),
        ({"header": "AB"}, "4", "header"),
        ({"mbus": (MbusChannel(1, valve=1),)}, "4", "valve"),
    ],
)
def test_encode_errors(change: dict[str, object], version: str, message: str) -> None:
    data = replace(SAMPLE, **change)  # type: ignore[arg-type]
    with pytest.raises(RecordError, match=message):
        encode_telegram(data, version)


def test_unknown_version() -> None:
    with pytest.raises(InvalidInput, match="choose one of"):
        encode_telegram(SAMPLE, "6")
