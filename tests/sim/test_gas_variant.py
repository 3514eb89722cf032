"""Issue 11 item 9: the SMR 5 gas meter (5-minute values) next to the DSMR 4 one (hourly values).

"P1 transfers every second the latest received 5-minute value & timestamp" [P1-5.0.2 §7.3]; the example
telegram sent at 11:30:20 carries the value captured at 11:25:00 [P1-5.0.2 §6.13]. A DSMR 4 gas meter
keeps the last whole hour's value [P2-4.0.7 §6.1], read once an hour (DSMR-M 4.5.5): a DSMR 5 E-meter
shows it as it comes. Either way the hourly profile files whole-hour values (DSMR-M 4.5.6).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from dsmr_parser import telegram_specifications
from dsmr_parser.parsers import TelegramParser
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.cli import parse_args
from meterkast.commands.p1 import _build_port
from meterkast.emeter.events import MbusCode, MbusEventLogged, ReadFailed
from meterkast.emeter.readings import MbusReading
from meterkast.errors import InvalidInput, NoReply
from meterkast.gasmeter.events import HourlyValueStored
from meterkast.gasmeter.variant import FIVE_MINUTES, GasMeterVariant, period_start
from meterkast.p1.decode import decode_telegram
from meterkast.p1.values import CapturedValue
from meterkast.scenario_files import load_scenario
from meterkast.sim.gaslink import DirectGasLink, GasMeterEvent
from meterkast.sim.installation import AddGasMeter, Installation, ReplaceGasMeter
from meterkast.sim.p1_source import P1Port, telegram_bytes
from meterkast.sim.p2_link import P2GasLink
from meterkast.sim.scenario import parse_scenario

START = datetime(2026, 1, 12, 6, 0, tzinfo=UTC)  # 07:00 CET on a January Monday: the heating runs
PARSER = TelegramParser(telegram_specifications.V5)
MINUTE = timedelta(minutes=1)


def build(variant: GasMeterVariant, **kwargs: Any) -> Installation:
    return Installation.build(START, random.Random(3), gas_variant=variant, **kwargs)


@dataclass
class Shown:
    sent_at: datetime  # UTC
    channel: int
    value: Decimal
    unit: str
    captured: datetime  # UTC


def run_p1(installation: Installation, minutes: int, every: timedelta = timedelta(seconds=20)) -> tuple[
    list[Shown], dict[tuple[int, datetime], Decimal]
]:
    """DSMR 5 telegrams as dsmr_parser reads them, and each meter's register at every 5-minute mark."""
    port = P1Port(installation, "5")
    marks: dict[tuple[int, datetime], Decimal] = {}
    shown: list[Shown] = []
    moment = START
    while moment <= START + timedelta(minutes=minutes):
        _, sent = port.telegram(moment)
        assert sent is not None
        if period_start(moment, FIVE_MINUTES) == moment:  # the register the meters store at this mark
            marks.update({(ch, moment): meter.index_m3 for ch, meter in installation.gas_meters().items()})
        parsed = PARSER.parse(sent.decode("ascii"), throw_ex=True)
        for device in parsed.MBUS_DEVICES:
            reading = getattr(device, "MBUS_METER_READING", None)
            if reading is not None:
                stamp = reading.datetime.astimezone(UTC)
                shown.append(Shown(moment, device.channel_id, reading.value, reading.unit, stamp))
        moment += every
    return shown, marks


def test_dsmr_parser_reads_the_5_minute_values_with_their_capture_times() -> None:
    shown, marks = run_p1(build(GasMeterVariant.SMR5), 40)
    first = [s for s in shown if s.channel == 1]
    assert first[0].sent_at == START + MINUTE, "no reading before the first read at xx:01 (issue 11 item 7)"
    captures = sorted({s.captured for s in first})
    assert captures[0] == START + MINUTE  # the first read: the meter's actual value, stamped when read
    assert captures[1:] == [START + FIVE_MINUTES * k for k in range(1, 8)]  # 07:05 … 07:35 CET, 5 min apart
    for s in first:
        if s.captured != START + MINUTE:
            # the latest received value: from 1 minute after its mark until 1 minute after the next
            assert s.captured == period_start(s.sent_at - MINUTE, FIVE_MINUTES)
            assert (s.value, s.unit) == (marks[1, s.captured], "m3")
    values = [marks[1, c] for c in captures[1:]]
    assert values == sorted(values) and values[-1] > values[0], "gas flows on a January morning"


def test_a_dsmr4_gas_meter_on_a_dsmr5_e_meter_shows_hourly_values_as_they_come() -> None:
    shown, marks = run_p1(build(GasMeterVariant.DSMR4), 70, every=timedelta(minutes=1))
    captures = sorted({s.captured for s in shown})
    assert captures == [START + MINUTE, START + timedelta(hours=1)]  # actual value first, then 08:00 CET
    latest = [s for s in shown if s.captured == START + timedelta(hours=1)]
    assert latest[0].sent_at == START + timedelta(hours=1, minutes=1)
    assert all(s.value == marks[1, START + timedelta(hours=1)] for s in latest)


def test_both_variants_on_one_e_meter() -> None:
    extra = AddGasMeter("G0001555555555525", variant=GasMeterVariant.DSMR4)
    installation = build(GasMeterVariant.SMR5, more_gas_meters=[extra])
    shown, _ = run_p1(installation, 30)
    by_channel = {ch: {s.captured for s in shown if s.channel == ch} for ch in (1, 2)}
    assert len(by_channel[1]) == 6  # 07:01 (actual value), then 07:05 … 07:25 (07:30 is read at 07:31)
    assert by_channel[2] == {START + MINUTE}  # hourly meter: nothing stored yet since its actual value


def test_the_hourly_profile_files_whole_hour_values_of_an_smr5_meter() -> None:
    installation = build(GasMeterVariant.SMR5)
    events = installation.advance(START + timedelta(hours=5, minutes=12))
    stored = {
        e.event.captured_at: e.event.index_m3
        for e in events
        if isinstance(e, GasMeterEvent) and isinstance(e.event, HourlyValueStored)
    }
    entries = list(installation.emeter.hourly_profile(1))
    assert [e.clock.astimezone(UTC) for e in entries] == [START + timedelta(hours=h) for h in range(1, 6)]
    for entry in entries:
        captured = entry.capture_time.astimezone(UTC)
        assert captured == entry.clock.astimezone(UTC), "the xx:00 value, not the xx:10 one"
        assert entry.value_m3 == stored[captured]
    master = installation.emeter.master_value(1)
    assert master is not None and master.capture_time.astimezone(UTC) == START + timedelta(hours=5, minutes=10)


class FailingLink(DirectGasLink):
    """Every read between ``down`` and ``up`` gets no reply."""

    def __init__(self, down: datetime, up: datetime) -> None:
        super().__init__()
        self.down, self.up = down, up

    def read(self, now: datetime, channel: int) -> MbusReading:
        if self.down <= now < self.up:
            raise NoReply(f"channel {channel}: silent")
        return super().read(now, channel)


def test_an_smr5_channel_logs_one_communication_error_per_lost_hour() -> None:
    down, up = START + timedelta(hours=1), START + timedelta(hours=2, minutes=20)
    installation = build(GasMeterVariant.SMR5, link=FailingLink(down, up))
    events = installation.advance(START + timedelta(hours=3))
    failed = [e for e in events if isinstance(e, ReadFailed)]
    assert [e.at for e in failed[:3]] == [down + MINUTE, down + 6 * MINUTE, down + 11 * MINUTE]
    assert failed[0].retry_at == down + 6 * MINUTE  # the next slot's read is the retry
    logged = [(e.at, e.kind) for e in events if isinstance(e, MbusEventLogged)]
    errors = [at for at, kind in logged if kind is MbusCode.COMMUNICATION_ERROR]
    assert errors == [down + 6 * MINUTE], "once, when the hour's last read before xx:11 failed"
    assert (up + MINUTE, MbusCode.COMMUNICATION_OK) in logged


def test_a_replacement_keeps_the_variant() -> None:
    installation = build(GasMeterVariant.SMR5)
    installation.handle(START + timedelta(minutes=30), ReplaceGasMeter("G0001987654321025"))
    installation.advance(START + timedelta(minutes=47))
    meter = installation.gas_meter
    assert meter is not None and meter.variant is GasMeterVariant.SMR5
    master = installation.emeter.master_value(1)
    assert master is not None and master.capture_time.astimezone(UTC) == START + timedelta(minutes=45)


def test_the_default_stays_dsmr4() -> None:
    installation = Installation.build(START, random.Random(3))
    installation.advance(START + timedelta(minutes=20))
    meter = installation.gas_meter
    assert meter is not None and meter.variant is GasMeterVariant.DSMR4 and meter.interval_value is None
    master = installation.emeter.master_value(1)
    assert master is not None and master.capture_time.astimezone(UTC) == START + MINUTE  # only the first read


def test_scenarios_choose_the_variant_per_gas_meter() -> None:
    scenario = load_scenario("smr5")
    assert [m.variant for m in scenario.gas_meters] == [GasMeterVariant.SMR5, GasMeterVariant.DSMR4]
    assert scenario.p1_version == "5"
    head = '[scenario]\nstart = 2026-01-12T06:00:00Z\n[[gas_meter]]\nnumber = "G0001123456789012"\n'
    assert parse_scenario(head).gas_meters[0].variant is GasMeterVariant.DSMR4  # the default
    with pytest.raises(InvalidInput, match=r"x\.toml: gas_meter\[0\]\.variant: 'smr6' is not one of dsmr4, smr5"):
        parse_scenario(head + 'variant = "smr6"\n', source="x.toml")


def test_p1_serve_takes_the_variant() -> None:
    args = parse_args(["p1", "serve", "--version", "5", "--gas-variant", "smr5"])
    port = _build_port(args, START)
    meter = port.installation.gas_meter
    assert meter is not None and meter.variant is GasMeterVariant.SMR5
    default = _build_port(parse_args(["p1", "serve"]), START).installation.gas_meter
    assert default is not None and default.variant is GasMeterVariant.DSMR4
    with pytest.raises(SystemExit):
        parse_args(["p1", "serve", "--gas-variant", "smr6"])


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    start_s=st.integers(0, 86_400 * 60),
    steps=st.lists(st.integers(1, 1_500), min_size=1, max_size=40),
)
def test_smr5_results_do_not_depend_on_how_time_is_sliced(seed: int, start_s: int, steps: list[int]) -> None:
    """Sliced or in one go, the E-meter ends with the same 5-minute value and the same whole-hour entries,
    and every value it received is the meter's register at that 5-minute mark."""
    start = START + timedelta(seconds=start_s)

    def make() -> Installation:
        return Installation.build(start, random.Random(seed), gas_variant=GasMeterVariant.SMR5)

    # end 3 minutes after a mark: the E-meter has read that mark's value (at +1 min), the meter has no newer
    end = period_start(start + timedelta(seconds=sum(steps)) + timedelta(hours=2), FIVE_MINUTES) + 3 * MINUTE
    sliced, whole = make(), make()
    moment = start
    for step in steps:
        moment += timedelta(seconds=step)
        sliced.advance(moment)
    sliced.advance(end)
    whole.advance(end)
    assert sliced.emeter.master_value(1) == whole.emeter.master_value(1)
    assert list(sliced.emeter.hourly_profile(1)) == list(whole.emeter.hourly_profile(1))
    master, meter = whole.emeter.master_value(1), whole.gas_meter
    assert master is not None and meter is not None and meter.interval_value is not None
    latest_mark = period_start(end, FIVE_MINUTES)
    assert master.capture_time.astimezone(UTC) == latest_mark == meter.interval_value.captured_at
    assert master.value_m3 == meter.interval_value.index_m3
    for entry in whole.emeter.hourly_profile(1):
        assert entry.capture_time.minute == 0, "profiles file whole-hour values only"


def test_the_p2_path_carries_the_5_minute_values_and_the_e_meter_accepts_them() -> None:
    """Over encrypted P2 (mode 15) every 5-minute reply passes the E-meter's checks (``gas_acceptance``)."""
    rng = random.Random(4)
    installation = Installation.build(START, rng, link=P2GasLink(rng), gas_variant=GasMeterVariant.SMR5)
    events = installation.advance(START + timedelta(hours=2, minutes=3))
    assert not [e for e in events if isinstance(e, ReadFailed)], "no read refused or lost"
    assert installation.emeter.rejected_frames(1) == 0
    master, meter = installation.emeter.master_value(1), installation.gas_meter
    assert master is not None and meter is not None and meter.interval_value is not None
    assert master.capture_time.astimezone(UTC) == START + timedelta(hours=2) == meter.interval_value.captured_at
    assert master.value_m3 == meter.interval_value.index_m3


@pytest.mark.parametrize("version", ["4", "4.2", "2.2"])
def test_a_dsmr4_telegram_of_an_smr5_meter_shows_the_last_hourly_value(version: str) -> None:
    """P1 4.x "transfers every ten seconds the latest received hourly value & timestamp" [P1-4.2.2 §6.3]
    ("Last hourly value", Table 5-3); only a DSMR 5 telegram shows the 5-minute value [P1-5.0.2 §7.3]. So
    telegrams of an older version show the whole-hour value the hourly profile files, never 09:25."""
    installation = build(GasMeterVariant.SMR5)
    installation.advance(START + timedelta(hours=3, minutes=27))
    hour = START + timedelta(hours=3)
    entry = list(installation.emeter.hourly_profile(1))[-1]
    assert entry.capture_time.astimezone(UTC) == hour
    telegram = decode_telegram(telegram_bytes(installation, version))
    reading = telegram.mbus[1].reading
    assert isinstance(reading, CapturedValue)
    assert (reading.value, reading.time.astimezone(UTC) if reading.time else None) == (entry.value_m3, hour)
    five = decode_telegram(telegram_bytes(installation, "5")).mbus[1].reading
    assert isinstance(five, CapturedValue) and five.time is not None
    assert five.time.astimezone(UTC) == hour + 5 * FIVE_MINUTES


def test_a_dsmr4_telegram_before_the_first_whole_hour_of_an_smr5_meter_has_no_value_line() -> None:
    """Before the first whole-hour value there is no hourly value to transfer [P1-4.2.2 §6.3] (issue 11 item 7)."""
    installation = build(GasMeterVariant.SMR5)
    installation.advance(START + timedelta(minutes=12))
    assert installation.emeter.master_value(1) is not None  # the 5-minute values have come
    assert "0-1:24.2.1" not in telegram_bytes(installation, "4.2").decode("ascii")
    assert "0-1:24.2.1" in telegram_bytes(installation, "5").decode("ascii")
