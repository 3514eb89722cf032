"""Water and heat meters in scenarios: channels by installing order, P1 lines read back by dsmr_parser.

[P1-4.2.2 §6.3–6.5]: "The OBIS reference Channel number (n) will be defined by the installing order of the
M-Bus devices. So a water meter can be installed on channel 1, 2, 3 or 4"; 0-n:24.1.0 device type,
0-n:96.1.0 equipment identifier, 0-n:24.2.1 the last hourly value in 0.001 m³ (water) or 0.01 GJ (heat)
[Table 5-3]. Liander manual §8 (Apparatuur).
"""

from __future__ import annotations

import pickle
import random
from datetime import timedelta
from decimal import Decimal

import pytest
from dsmr_parser import telegram_specifications
from dsmr_parser.parsers import TelegramParser

from meterkast.errors import CommandRefused, InvalidInput
from meterkast.p1.decode import decode_telegram
from meterkast.scenario_files import load_scenario
from meterkast.sim.gaslink import DirectGasLink
from meterkast.sim.installation import AddSubMeter, CommandFailed, Installation
from meterkast.sim.installation_devices import install_order
from meterkast.sim.p1_source import telegram_bytes
from meterkast.sim.scenario import Scenario, parse_scenario
from meterkast.sim.weather import DE_BILT_1991_2020

NAMES = {"5": ("MBUS_DEVICE_TYPE", "MBUS_EQUIPMENT_IDENTIFIER", "MBUS_METER_READING"),
         "4.2": ("DEVICE_TYPE", "EQUIPMENT_IDENTIFIER_GAS", "HOURLY_GAS_METER_READING")}
HEAD = "[scenario]\nstart = 2025-01-13T00:00:00Z\n"
WATER = "[[mbus_device]]\nkind = 'water'\nnumber = 'W0001987654321024'\n"
HEAT = "[[mbus_device]]\nkind = 'heat'\nnumber = 'T0001876543210024'\n"


def build(scenario: Scenario) -> Installation:
    return scenario.build(random.Random(scenario.seed), DE_BILT_1991_2020)


def parse_p1(installation: Installation, version: str) -> object:
    spec = telegram_specifications.V5 if version == "5" else telegram_specifications.V4
    text = telegram_bytes(installation, version).decode("ascii")
    return TelegramParser(spec, apply_checksum_validation=True).parse(text)


@pytest.mark.parametrize("version", ["5", "4.2"])
def test_water_heat_scenario_p1_shows_each_device_on_its_channel(version: str) -> None:
    """water-heat.toml: water on 0-1, gas on 0-2, heat on 0-3, each with its device type and unit."""
    scenario = load_scenario("water-heat")
    installation = build(scenario)
    events = installation.advance(scenario.start + timedelta(days=1, hours=3, minutes=30))
    assert not [e for e in events if isinstance(e, CommandFailed)]
    water, heat = installation.sub_meters[1], installation.sub_meters[3]
    assert installation.gas_channel == 2
    telegram = parse_p1(installation, "5" if version == "5" else "4.2")
    expected = {
        1: (7, water.last_hour, "m3"),
        3: (4, heat.last_hour, "GJ"),
    }
    # dsmr_parser names the per-channel objects MBUS_* in its V5 spec and, gas-minded, *_GAS in V4.
    kind, ident, value = NAMES[version]
    for channel, (device_type, last, unit) in expected.items():
        device = telegram.get_mbus_device_by_channel(channel)  # type: ignore[attr-defined]
        assert last is not None
        assert getattr(device, kind).value == device_type
        reading = getattr(device, value)
        assert (reading.datetime, reading.value, reading.unit) == (last[0], last[1], unit)
    gas = telegram.get_mbus_device_by_channel(2)  # type: ignore[attr-defined]
    stored = installation.gas_meter.hourly_value if installation.gas_meter else None
    assert stored is not None
    assert (getattr(gas, kind).value, getattr(gas, value).value) == (3, stored.index_m3)
    first = telegram.get_mbus_device_by_channel(1)  # type: ignore[attr-defined]
    assert bytes.fromhex(getattr(first, ident).value).decode() == water.equipment_id


def test_a_gas_minded_p1_reader_takes_the_wrong_device() -> None:
    """Why the channel layout matters: dsmr_parser's V4 telegram-level HOURLY_GAS_METER_READING is whatever
    0-n:24.2.1 line its regex met, here the heat meter's GJ, not the gas on 0-2. A reader must pick the
    channel whose 0-n:24.1.0 says 003 [P1-4.2.2 §5.13: "the OBIS codes for a heat/cold meter might be sent
    before the OBIS codes of a Gas meter"]."""
    scenario = load_scenario("water-heat")
    installation = build(scenario)
    installation.advance(scenario.start + timedelta(hours=5, minutes=30))
    telegram = parse_p1(installation, "4.2")
    assert telegram.HOURLY_GAS_METER_READING.unit != "m3" or telegram.DEVICE_TYPE.value != 3  # type: ignore[attr-defined]
    gas = [d for d in telegram.MBUS_DEVICES if d.DEVICE_TYPE.value == 3]  # type: ignore[attr-defined]
    assert [d.channel_id for d in gas] == [2]


def test_the_sub_meters_are_read_over_encrypted_p2() -> None:
    scenario = load_scenario("water-heat")
    installation = build(scenario)
    installation.advance(scenario.start + timedelta(hours=5, minutes=30))
    link = installation.link
    devices = link.p2.devices  # type: ignore[attr-defined]
    assert [(c, devices[c].meter.medium) for c in (1, 2, 3)] == [(1, 0x07), (2, 0x03), (3, 0x04)]
    assert all(devices[c].user_key != bytes(16) and devices[c].guard.last_validated >= 5 for c in (1, 3))


def test_a_device_added_later_lands_on_the_first_free_channel_and_the_direct_link_reads_it() -> None:
    scenario = parse_scenario(HEAD + "[p2]\nlink = 'direct'\n[[timeline]]\nat = '+2h'\ndo = 'add-mbus-device'\n"
                              "kind = 'heat'\nnumber = 'T0001876543210024'\nannual_gj = 30\n", source="t.toml")
    installation = build(scenario)
    assert isinstance(installation.link, DirectGasLink)
    installation.advance(scenario.start + timedelta(hours=5, minutes=30))
    heat = installation.sub_meters[2]
    state = installation.emeter.mbus.channels[2]
    assert state.identity is not None and state.identity.device_type == 0x04
    assert state.master is not None and heat.last_hour is not None
    assert state.master.value_m3 == heat.last_hour[1]
    with pytest.raises(CommandRefused, match="already coupled"):
        installation.handle(installation.now, AddSubMeter("heat", "T0001876543210024"))
    copy = pickle.loads(pickle.dumps(installation))  # an installation on the direct link pickles
    assert copy.sub_meters[2].register == heat.register


def test_install_order_puts_each_device_on_its_claimed_channel() -> None:
    water, heat = AddSubMeter("water", "W0001987654321024", 1), AddSubMeter("heat", "T0001876543210024", 3)
    assert install_order([heat, water], gas=True) == [water, None, heat]
    assert install_order([AddSubMeter("water", "W0001987654321024")], gas=True)[0] is None  # gas first
    with pytest.raises(InvalidInput, match="channel 1 would stay empty before channel 2"):
        install_order([AddSubMeter("water", "W0001987654321024", 2)], gas=False)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (HEAD + "[[mbus_device]]\nkind = 'cold'\nnumber = 'W0001987654321024'\n", r"mbus_device\[0\].kind"),
        (HEAD + "[[mbus_device]]\nkind = 'water'\nnumber = 'W42'\n", r"mbus_device\[0\].number"),
        (HEAD + WATER + "channel = 3\n", "channel 2 would stay empty before channel 3"),
        (HEAD + WATER + "channel = 1\n" + HEAT + "channel = 1\n", "same channel"),
        (HEAD + WATER + "colour = 'blue'\n", r"mbus_device\[0\].colour: unknown"),
        (HEAD + WATER + HEAT + "".join(f"[[gas_meter]]\nnumber = 'G000112345678901{n}'\n" for n in range(3)),
         "at most 4"),
        (HEAD + WATER + "manufacturer = 'itw'\n", "3 capital letters"),
    ],
)
def test_a_broken_device_table_names_the_key_and_the_rule(body: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        parse_scenario(body, source="my.toml")


def test_decimal_keys_reach_the_meters() -> None:
    scenario = parse_scenario(HEAD + WATER + "initial = '12.5'\npersons = 3\n", source="t.toml")
    (device,) = scenario.mbus_devices
    assert (device.initial, device.persons, device.channel) == (Decimal("12.5"), Decimal(3), None)


@pytest.mark.parametrize("version", ["5", "4.2", "4", "2.2"])
def test_meterkasts_own_p1_reader_sees_the_units_in_every_version(version: str) -> None:
    """[P1-4.2.2 Table 5-3]: water Fn(3,3) m3, heat Fn(2,2) GJ; DSMR 2.2/3 carries the unit in the profile
    line [P1-3.0 §6.4–6.5]."""
    scenario = load_scenario("water-heat")
    installation = build(scenario)
    installation.advance(scenario.start + timedelta(hours=5, minutes=30))
    telegram = decode_telegram(telegram_bytes(installation, version), lenient=False)
    seen = {ch: (d.device_type, d.reading.unit, d.reading.value) for ch, d in telegram.mbus.items()}  # type: ignore[union-attr]
    water, heat = installation.sub_meters[1].last_hour, installation.sub_meters[3].last_hour
    assert water is not None and heat is not None
    assert seen[1] == (7, "m3", water[1]) and seen[3] == (4, "GJ", heat[1]) and seen[2][:2] == (3, "m3")


def test_a_decoupled_water_meter_leaves_its_channel_emptied_on_p1() -> None:
    """Decoupling (P3 slave_deinstall) keeps the device type and empties the rest, as real meters show an
    emptied channel (``emeter.p1view``); the bus no longer carries the meter."""
    scenario = parse_scenario(
        HEAD + WATER + "channel = 1\n[[timeline]]\nat = '+3h'\ndo = 'decouple-mbus-device'\nchannel = 1\n"
        "[[timeline]]\nat = '+4h'\ndo = 'decouple-mbus-device'\nchannel = 1\n", source="t.toml")
    installation = build(scenario)
    events = installation.advance(scenario.start + timedelta(hours=5))
    failed = [e for e in events if isinstance(e, CommandFailed)]
    assert len(failed) == 1 and "no water or heat meter is coupled there" in failed[0].reason  # the second one
    assert 1 not in installation.sub_meters and installation.gas_channel == 2
    telegram = parse_p1(installation, "5")
    water = telegram.get_mbus_device_by_channel(1)  # type: ignore[attr-defined]
    assert water.MBUS_DEVICE_TYPE.value == 7 and water.MBUS_METER_READING.value == 0
    assert 1 not in installation.link.p2.devices  # type: ignore[attr-defined]
