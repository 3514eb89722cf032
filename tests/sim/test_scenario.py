"""Scenario files: the shipped examples run, every rule broken is named, the timeline acts on the world."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from meterkast.emeter.amr import AmrStatus
from meterkast.emeter.events import (
    ClockAdjusted,
    DaylightSavingChanged,
    DeviceCoupled,
    DeviceDecoupled,
    DeviceReplaced,
    LogId,
    PoweredDown,
    PoweredUp,
    ReadFailed,
    ValveCommandRefused,
)
from meterkast.emeter.gas_clock import GasClockSynchronized, GasStatusCleared, SyncReason
from meterkast.errors import InvalidInput
from meterkast.gasmeter.events import BatteryLow, ClockSynchronized
from meterkast.scenario_files import builtin_scenarios, load_scenario, load_weather
from meterkast.sim.gaslink import GasMeterEvent
from meterkast.sim.installation import AddGasMeter, CommandFailed, Event, Installation, ReplaceGasMeter
from meterkast.sim.p1_source import telegram_bytes
from meterkast.sim.p2_link import P2GasLink
from meterkast.sim.scenario import P1FaultKind, Scenario, parse_scenario
from meterkast.sim.weather import DE_BILT_1991_2020

HEAD = '[scenario]\nstart = 2025-01-13T00:00:00Z\n'


def run(scenario: Scenario, days: float) -> tuple[Installation, list[Event]]:
    installation = scenario.build(random.Random(scenario.seed), DE_BILT_1991_2020)
    return installation, installation.advance(scenario.start + timedelta(days=days))


def of(kind: type, events: list[Event]) -> list[object]:
    return [e for e in events if isinstance(e, kind)]


def gas_events(kind: type, events: list[Event]) -> list[GasMeterEvent]:
    return [e for e in events if isinstance(e, GasMeterEvent) and isinstance(e.event, kind)]


def test_the_shipped_scenarios_all_run_without_refusals() -> None:
    assert set(builtin_scenarios()) >= {"default", "dst-autumn", "meter-swap", "faults", "second-device"}
    for name in builtin_scenarios():
        scenario = load_scenario(name)
        _, events = run(scenario, 3)
        assert not of(CommandFailed, events), name
        assert scenario.name == name


def test_the_default_scenario_is_what_meterkast_run_uses() -> None:
    scenario = load_scenario(None)
    assert (scenario.start, scenario.speed, scenario.seed) == (datetime(2026, 1, 1, tzinfo=UTC), 3600.0, 0)
    assert (scenario.p1_version, scenario.encrypted_p2, scenario.timeline, scenario.p1_faults) == ("4", True, (), ())
    assert scenario.household.annual_m3 == 1200 and scenario.gas_meters[0].number == "G0001123456789012"
    installation = scenario.build(random.Random(0), load_weather())
    assert isinstance(installation.link, P2GasLink)


def test_a_minimal_file_gets_the_defaults() -> None:
    minimal = parse_scenario(HEAD, source="minimal.toml")
    default = load_scenario("default")
    for name in ("speed", "seed", "p1_version", "p2_link", "p2_encrypted", "emeter_id", "phases", "household",
                 "annual_kwh", "solar_kwp", "gas_meters"):  # fmt: skip
        assert getattr(minimal, name) == getattr(default, name), name


def test_same_scenario_same_seed_same_bytes() -> None:
    scenario = load_scenario("faults")
    first, _ = run(scenario, 1.5)
    again, _ = run(scenario, 1.5)
    assert telegram_bytes(first, "5") == telegram_bytes(again, "5")
    assert first.truth.hours() == again.truth.hours()


def test_faults_scenario_p2_silence_wrong_key_power_and_clocks() -> None:
    scenario = load_scenario("faults")
    installation, events = run(scenario, 1.25)
    start = scenario.start
    failed = [e for e in of(ReadFailed, events) if isinstance(e, ReadFailed)]
    silent = [e for e in failed if "no answer" in e.reason]
    wrong_key = [e for e in failed if "2F 2F" in e.reason]
    assert silent and all(start + timedelta(hours=2) <= e.at < start + timedelta(hours=5) for e in silent)
    assert wrong_key and all(start + timedelta(hours=13) <= e.at < start + timedelta(hours=17) for e in wrong_key)
    last = list(installation.emeter.hourly_profile(1))[-1]
    assert not last.status & AmrStatus.DNV  # the bus and the key are fine again
    downs = [e.at for e in of(PoweredDown, events)]  # type: ignore[attr-defined]
    ups = [e.at for e in of(PoweredUp, events)]  # type: ignore[attr-defined]
    assert downs == [start + timedelta(hours=18), start + timedelta(hours=20)]
    assert ups == [start + timedelta(hours=18, seconds=40), start + timedelta(hours=20, minutes=25)]
    assert of(ClockAdjusted, events)  # 95 s is beyond the 60 s shift limit
    # The E-meter syncs the gas meter over P2 at once when its own clock moves 95 s (DSMR-M 4.5.89), and
    # again when asked after the gas clock fell 150 s behind: both beyond the 60 s limit [P2-4.0.7 §6.2.1].
    synced = [e.event for e in gas_events(ClockSynchronized, events)]
    beyond = [(round(e.offset_s), e.out_of_sync) for e in synced if abs(e.offset_s) > 1]  # type: ignore[attr-defined]
    assert beyond == [(95, True), (150, True)]
    reasons = [e.reason for e in of(GasClockSynchronized, events)]  # type: ignore[attr-defined]
    assert reasons[0] is SyncReason.INSTALLATION and SyncReason.CLOCK_CHANGE in reasons
    assert SyncReason.DAILY in reasons and reasons[-1] is SyncReason.REQUESTED
    # Each bit 5 is taken over (event 104, CAD) and then cleared by the housekeeping command [§6.2.4].
    assert [e.status for e in of(GasStatusCleared, events)] == [0x20, 0x20]  # type: ignore[attr-defined]
    assert [e.code for e in installation.emeter.event_log(LogId.MBUS)].count(104) == 2
    assert not installation.gas_meter.clock_sync_error  # type: ignore[union-attr]
    kinds = [(w.kind, w.probability) for w in scenario.p1_faults]
    assert kinds == [(P1FaultKind.CRC_ERROR, 0.1), (P1FaultKind.TRUNCATE, 0.05), (P1FaultKind.DROP, 0.2)]
    assert all(w.until - w.at == timedelta(hours=2) for w in scenario.p1_faults)


def test_meter_swap_scenario() -> None:
    installation, events = run(load_scenario("meter-swap"), 3)
    assert gas_events(BatteryLow, events)
    assert of(ValveCommandRefused, events)
    replaced = [e for e in of(DeviceReplaced, events) if isinstance(e, DeviceReplaced)]
    assert [e.new.equipment_identifier for e in replaced] == ["G0001987654321025"]
    assert installation.gas_meter is not None and str(installation.gas_meter.meter_number) == "G0001987654321025"
    rows = installation.truth.hours()
    assert {r.meter_number for r in rows} == {"G0001123456789012", "G0001987654321025"}


def test_second_device_scenario_couples_channel_two_with_its_own_household() -> None:
    scenario = load_scenario("second-device")
    installation, events = run(scenario, 3)
    coupled = [e for e in of(DeviceCoupled, events) if isinstance(e, DeviceCoupled)]
    assert [e.channel for e in coupled] == [1, 2]
    assert [e.channel for e in of(DeviceDecoupled, events)] == [2]  # type: ignore[attr-defined]
    workshop = installation.truth.hours(2)
    assert workshop[0].hour == scenario.start + timedelta(days=1)
    assert sum(r.consumed_m3 for r in workshop) > 0
    assert workshop[-1].index_m3 is None  # decoupled at +2d; its gas use goes on in the truth
    assert len(list(installation.emeter.hourly_profile(2))) >= 20


def test_dst_autumn_scenario_crosses_the_change() -> None:
    _, events = run(load_scenario("dst-autumn"), 1)
    assert of(DaylightSavingChanged, events)


def test_a_refused_scheduled_command_is_an_event_not_a_crash() -> None:
    installation = load_scenario(None).build(random.Random(0), DE_BILT_1991_2020)
    start = installation.now
    installation.schedule(start + timedelta(hours=1), ReplaceGasMeter("G0001987654321025", channel=3))
    for n in range(4):
        installation.schedule(start + timedelta(hours=2), AddGasMeter(f"G000155555555552{n}"))
    events = installation.advance(start + timedelta(hours=3))
    failed = [e for e in of(CommandFailed, events) if isinstance(e, CommandFailed)]
    assert [e.at - start for e in failed] == [timedelta(hours=1), timedelta(hours=2)]
    assert "channel 3" in failed[0].reason
    assert sorted(installation.gas_meters()) == [1, 2, 3, 4]  # the fifth device found no channel (SYSTEM M3)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("[scenario]\nstart = 2025-01-13T00:00:00\n", "scenario.start: .* no offset"),
        ("[scenario]\n", "scenario.start: is required"),
        (HEAD + "colour = 'blue'\n", r"scenario.colour: unknown key"),
        (HEAD + "speed = 0\n", "scenario.speed"),
        (HEAD + "[p1]\nversion = '6'\n", "p1.version"),
        (HEAD + "[p1]\nencryption_key = '00112233445566778899aabbccddeeff'\n", "authentication_key"),
        (HEAD + "[household]\nannual_m3 = 9000\n", "household.annual_m3"),
        (HEAD + "[household]\nnight_setpoint_c = 22\n", "night_setpoint_c"),
        (HEAD + "[[gas_meter]]\nnumber = 'G42'\n", r"gas_meter\[0\].number"),
        (HEAD + "[[gas_meter]]\nnumber = 'G0001123456789012'\ntype = 'G5'\n", r"gas_meter\[0\].type"),
        (HEAD + "[[gas_meter]]\nnumber = 'G0001123456789012'\nannual_m3 = 300\n", "set its use in"),
        (HEAD + "".join(f"[[gas_meter]]\nnumber = 'G000112345678901{n}'\n" for n in range(5)), "at most 4"),
        (HEAD + "[[timeline]]\nat = '+1h'\ndo = 'dance'\n", r"timeline\[0\].do: 'dance' is not one of"),
        (HEAD + "[[timeline]]\nat = '+1h'\ndo = 'break-seal'\nforce = 3\n", r"timeline\[0\].force: unknown"),
        (HEAD + "[[timeline]]\nat = 2025-01-12T00:00:00Z\ndo = 'break-seal'\n", "before the scenario's start"),
        (HEAD + "[[timeline]]\nat = '+1x'\ndo = 'break-seal'\n", r"timeline\[0\].at: duration"),
        (HEAD + "[[timeline]]\nat = '+1h'\ndo = 'power-failure'\n", "exactly one of 'for'"),
        (HEAD + "[[timeline]]\nat = '+1h'\ndo = 'p1-fault'\nfault = 'crc-error'\nprobability = 2\nfor = '1h'\n",
         r"timeline\[0\].probability"),
        (HEAD + "[p2]\nlink = 'direct'\n[[timeline]]\nat = '+1h'\ndo = 'p2-wrong-key'\nfor = '1h'\n", 'link = "p2"'),
        (HEAD + "[[timeline]]\nat = '+1h'\ndo = 'p2-fault'\nfault = 'no-reply'\nfor = '2h'\n"
         "[[timeline]]\nat = '+2h'\ndo = 'p2-fault'\nfault = 'no-reply'\nfor = '2h'\n", "overlap"),
        (HEAD + "[[timeline]]\nat = '+1h'\ndo = 'drain-battery'\n", r"timeline\[0\].fraction: is required"),
        ("[scenario\n", "not valid TOML"),
    ],
)  # fmt: skip
def test_a_broken_scenario_names_the_file_the_key_and_the_rule(body: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=rf"^my\.toml: .*{words}"):
        parse_scenario(body, source="my.toml")


def test_files_and_names_at_the_edge(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(HEAD + "[[timeline]]\nat = '+1h'\ndo = 'reseal'\nchannel = 7\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=rf"^{path}: timeline\[0\].channel"):
        load_scenario(str(path))
    with pytest.raises(InvalidInput, match="cannot read scenario file"):
        load_scenario(str(tmp_path / "missing.toml"))
    with pytest.raises(InvalidInput, match="builtins: default"):
        load_scenario("no-such-scenario")
    path.write_text(HEAD + "[[timeline]]\nat = '+1h'\ndo = 'reseal'\n", encoding="utf-8")
    assert load_scenario(str(path)).timeline[0].kind == "reseal"


def test_gas_meter_drift_ppm_defaults_to_a_slightly_slow_crystal_and_can_change_on_the_timeline() -> None:
    """``drift_ppm`` (gasmeter.meterclock): -3 ppm by default; a timeline ``clock-drift`` sets a new rate."""
    text = """
[scenario]
start = 2025-01-13T00:00:00Z
[[gas_meter]]
number = "G0001123456789012"
[[gas_meter]]
number = "G0001987654321025"
drift_ppm = 800
[[timeline]]
at = "+2h"
do = "clock-drift"
meter = "gas-meter"
drift_ppm = 12.5
"""
    scenario = parse_scenario(text, source="drift.toml")
    assert [m.drift_ppm for m in scenario.gas_meters] == [Decimal(-3), Decimal(800)]
    installation = scenario.build(random.Random(0), DE_BILT_1991_2020)
    installation.advance(scenario.start + timedelta(hours=3))
    meters = installation.gas_meters()
    assert meters[1].clock.drift_ppm == Decimal("12.5") and meters[2].clock.drift_ppm == 800
    with pytest.raises(InvalidInput, match=r"gas_meter\[0\]\.drift_ppm"):
        parse_scenario(text.replace('"G0001123456789012"', '"G0001123456789012"\ndrift_ppm = 5000'), source="x")
