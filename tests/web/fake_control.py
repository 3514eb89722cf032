"""A small ``Control`` for the web tests: the REAL gas meter model behind a simulated clock.

The gas meter (LCD frames, button, seal, valve refusal, battery) is ``meterkast.gasmeter.meter.GasMeter``
itself, so the dashboard's LCD and button are tested against the model's real behaviour. The E-meter side
is a stand-in: hourly/daily/monthly profiles filed from the meter's hourly values, a DSMR 4.2 style P1
telegram every 10 simulated seconds with a real CRC-16/ARC (``meterkast.p1.crc``), and the ground truth
per hour from the register's ``true_m3``. The central system is a stand-in too (``FakeCentralSystem``): a
round per filed hour, reads or refusals by consent as ``central.rules.REQUIRED_CONSENT`` says, and a fraud
alarm for a broken seal. The live session (``meterkast.live.session``) is the real one.
"""

from __future__ import annotations

import random
from collections import deque
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from meterkast.central.model import ConsentLevel
from meterkast.central.rules import REQUIRED_CONSENT, consent_allows
from meterkast.clock import SimClock
from meterkast.emeter.profiles import PeriodType
from meterkast.errors import CommandRefused, InvalidInput
from meterkast.gasmeter import commands as cmd
from meterkast.gasmeter.battery import CAPACITY_NAH
from meterkast.gasmeter.events import Event, HourlyValueStored, ReadingChanged, ValveAction
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import MeterType
from meterkast.jsonable import to_jsonable
from meterkast.p1.crc import crc16, format_crc

JSON = dict[str, Any]
ZONE = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
METER_NUMBER = "G0001123456789012"
E_METER_ID = "E0031003239456716"
# A day of a Dutch household's gas by local hour (m³/h): heating in the morning and evening, little at night.
DAY_FLOW_M3H = (0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.9, 1.4, 1.0, 0.5, 0.35, 0.3,
                0.3, 0.25, 0.25, 0.3, 0.45, 0.8, 1.2, 1.1, 0.9, 0.7, 0.4, 0.2)
HOUSEHOLD_TEMP_C = Decimal(12)
TELEGRAM_EVERY = timedelta(seconds=10)
FAULTS = {"p2_no_reply", "p2_flip_bit", "p2_wrong_key", "p1_crc_error", "p1_truncate"}
QUIET = (ReadingChanged, HourlyValueStored)  # every hour and every litre: too many for an event list
CONNECTION = "871687140012345678"


class FakeCentralSystem:
    """What ``meterkast run --cs`` shows, in the shape of ``live.cs_link.CsLink.status()``, without P3."""

    def __init__(self, start: datetime, consent: ConsentLevel) -> None:
        self.history: list[tuple[datetime, ConsentLevel]] = [(start, consent)]
        self.reads: list[JSON] = []
        self.refused: dict[tuple[PeriodType, ConsentLevel], JSON] = {}
        self.alarms: list[JSON] = []
        self.stats = {"contacts": 0, "failures": 0, "profile_reads": 0, "rows_stored": 0, "refusals": 0}
        self.now = start

    def level_at(self, moment: datetime) -> ConsentLevel:
        return [level for since, level in self.history if since <= moment][-1]

    def round(self, now: datetime, filed: dict[PeriodType, JSON | None], seal_broken: bool) -> None:
        """One contact at ``now``: read what was filed if consent allows it then and now, refuse the rest."""
        self.now = now
        self.stats["contacts"] += 1
        level = self.level_at(now)
        for period, entry in filed.items():
            if not consent_allows(level, period):
                self.stats["refusals"] += 1
                key = (period, level)
                refusal = self.refused.pop(key, None) or {
                    "connection": CONNECTION, "emeter": E_METER_ID, "period_type": period.value,
                    "consent": level.value, "required": REQUIRED_CONSENT[period].value, "first_at": now.isoformat(),
                    "times": 0}
                self.refused[key] = refusal | {"last_at": now.isoformat(), "times": refusal["times"] + 1}
            elif entry is not None and consent_allows(self.level_at(datetime.fromisoformat(entry["clock"])), period):
                self.stats["profile_reads"] += 1
                self.stats["rows_stored"] += 1
                self.reads.append({"at": now.isoformat(), "emeter": E_METER_ID, "connection": CONNECTION,
                                   "period_type": period.value, "channel": 1, "gas_meter": METER_NUMBER,
                                   "first": entry["clock"], "last": entry["clock"], "planned": 1, "stored": 1,
                                   "repeated": 0, "unavailable": 0})
        if seal_broken and not self.alarms:
            self.alarms.append({"id": 1, "emeter": E_METER_ID, "channel": 1, "kind": "M-Bus fraud attempt",
                                "raised_at": now.isoformat(), "acknowledged_at": None})

    def set_consent(self, level: ConsentLevel, now: datetime) -> JSON:
        if now < self.history[-1][0]:
            raise InvalidInput("the consent history is append-only")
        self.history.append((now, level))
        return {"connection": CONNECTION, "level": level.value, "valid_from": now.isoformat()}

    def status(self, now: datetime) -> JSON:
        return {
            "enabled": True, "p3": "tcp://127.0.0.1:4059", "store": "memory", "emeter": E_METER_ID,
            "connection": CONNECTION, "consent": self.level_at(now).value,
            "consent_history": [{"level": level.value, "valid_from": since.isoformat()}
                                for since, level in self.history],
            "now": self.now.isoformat(), "next_round": (self.now + timedelta(hours=1)).isoformat(),
            "stats": dict(self.stats),
            "last_reads": list(reversed(self.reads[-20:])),
            "refused": list(reversed(self.refused.values())),
            "refused_total": self.stats["refusals"],
            "open_alarms": list(self.alarms),
            "p3_server": {"connections": self.stats["contacts"], "apdus": 0, "replies": 0},
            "last_filing_error": None,
        }


def tst(moment: datetime) -> str:
    """A P1 timestamp: local YYMMDDhhmmss and S (summer) or W (winter)."""
    local = moment.astimezone(ZONE)
    return local.strftime("%y%m%d%H%M%S") + ("S" if local.dst() else "W")


class FakeControl:
    def __init__(self, start: datetime = T0, speed: float = 1.0, seed: int = 7,
                 cs: ConsentLevel | None = ConsentLevel.STANDARD) -> None:
        """``cs``: the consent the stand-in CS starts with; None: no CS (``meterkast run`` without --cs)."""
        self.cs = None if cs is None else FakeCentralSystem(start, cs)
        self.clock = SimClock(start, speed=speed)
        self.max_speed = False
        self.rng = random.Random(seed)
        self.meter = GasMeter.manufacture(
            MeterType.G4, METER_NUMBER, start, random.Random(seed), initial_index_m3=Decimal("4521.318")
        )
        self.gas_temp_c: Decimal | None = None  # None: the household's
        self.meter.handle(start, cmd.SetFlow(self._hour_flow(start), HOUSEHOLD_TEMP_C))
        self.faults: dict[str, float | bool] = {}
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._events: list[JSON] = []
        self._telegrams: deque[JSON] = deque(maxlen=30)
        self._truth: list[JSON] = []
        self._profiles: dict[str, list[JSON]] = {"hourly": [], "daily": [], "monthly": []}
        self._true_at_hour = self.meter.register.true_m3
        self._last_telegram = start - TELEGRAM_EVERY
        self._seq = 0
        self._telegram_seq = 0
        self._advance()

    # -- reading ---------------------------------------------------------------------------------------
    def state(self) -> JSON:
        now = self._advance()
        m = self.meter
        frame = m.frame(now)
        last = self._truth[-1] if self._truth else None
        latest = self._telegrams[-1] if self._telegrams else None
        hourly = self._profiles["hourly"]
        return {
            "clock": {"now": now.isoformat(), "local": now.astimezone(ZONE).isoformat(),
                      "speed": None if self.max_speed else self.clock.speed},
            "gas_meter": {
                "meter_number": str(m.meter_number), "type": m.meter_type.value, "index_m3": str(m.index_m3),
                "lcd": {"text": frame.text(), "cells": frame.cells, "dots": sorted(frame.dots),
                        "segments": {"arrow": frame.arrow, "triangle": frame.triangle, "unit_m3": frame.unit_m3,
                                     "lit": frame.lit}},
                "display_state": m.display_state.value,
                "battery": {"fraction": m.battery.remaining_percent / 100, "low": m.battery.is_low,
                            "empty": m.battery.is_empty},
                "seal_broken": m.seal_broken, "valve": m.valve.name.lower(), "alarm": m.alarm,
                "flowing": m.flowing, "flow_m3h": str(m.flow_m3h), "gas_temp_c": str(m.gas_temp_c),
                "firmware": {"legal": {"version": m.legal_firmware.version, "checksum": m.legal_firmware.checksum},
                             "functional": {"version": m.functional_firmware.version}},
                "nameplate": {**to_jsonable(m.nameplate), "lines": m.nameplate.lines()},
                "identity": m.meter_number.to_json(),
            },
            "emeter": {
                "id": E_METER_ID,
                "channels": [{"channel": 1, "equipment_id": str(m.meter_number),
                              "value_m3": hourly[-1]["value_m3"] if hourly else None,
                              "capture_time": hourly[-1]["capture_time"] if hourly else None}],
                "power_kw": "0.420",
            },
            "p1": {"version": "4.2", "port": None, "last_telegram": latest["text"] if latest else None,
                   "crc_ok": latest["crc_ok"] if latest else None},
            "truth": {"last_hour": {"hour": last["hour"], "consumed_m3": last["consumed_m3"]} if last else None,
                      "total_m3": str(m.register.true_m3)},
            "events": list(reversed(self._events[-50:])),
        }

    def profile(self, kind: str, channel: int = 1) -> list[JSON]:
        if kind not in self._profiles:
            raise InvalidInput(f"profile {kind!r} is not hourly, daily or monthly")
        self._advance()
        return list(self._profiles[kind]) if channel == 1 else []

    def events(self, after_seq: int = 0) -> list[JSON]:
        self._advance()
        return [e for e in self._events if e["seq"] > after_seq]

    def telegrams(self, after_seq: int = 0) -> list[JSON]:
        self._advance()
        return [t for t in self._telegrams if t["seq"] > after_seq]

    def truth(self, hours: int = 48) -> list[JSON]:
        self._advance()
        return self._truth[-hours:]

    def cs_status(self) -> JSON:
        now = self._advance()
        return {"enabled": False} if self.cs is None else self.cs.status(now)

    def set_consent(self, level: str) -> JSON:
        self.calls.append(("set_consent", (level,)))
        try:
            consent = ConsentLevel(level)
        except ValueError:
            raise InvalidInput(f"consent level {level!r} is not none, standard or detailed") from None
        if self.cs is None:
            raise CommandRefused("no central system runs; start it with meterkast run --cs")
        return self.cs.set_consent(consent, self._advance())

    # -- acting ----------------------------------------------------------------------------------------
    def press_button(self, hold_s: float) -> JSON:
        return self._do("press_button", cmd.PressButton(Decimal(str(hold_s))), hold_s)

    def break_seal(self) -> JSON:
        return self._do("break_seal", cmd.BreakSeal())

    def reseal(self, operator: str) -> JSON:
        return self._do("reseal", cmd.Reseal(operator), operator)

    def command_valve(self, action: str) -> JSON:
        result = self._do("command_valve", cmd.CommandValve(ValveAction(action)), action)
        refused = [e for e in result["events"] if e["kind"] == "ValveCommandRefused"]
        return {"refused": True, "action": action, "reason": refused[-1]["detail"]["reason"]}

    def set_gas_temperature(self, celsius: float | None) -> JSON:
        self.gas_temp_c = None if celsius is None else Decimal(str(celsius))
        temp = self.gas_temp_c if self.gas_temp_c is not None else HOUSEHOLD_TEMP_C
        return self._do("set_gas_temperature", cmd.SetFlow(self.meter.flow_m3h, temp), celsius)

    def drain_battery(self, fraction: float) -> JSON:
        if not 0 <= fraction <= 1:
            raise InvalidInput(f"battery drain {fraction} is not a fraction between 0 and 1")
        return self._do("drain_battery", cmd.DrainBattery(int(fraction * CAPACITY_NAH)), fraction)

    def set_speed(self, speed: float | None) -> JSON:
        self.calls.append(("set_speed", (speed,)))
        self._advance()
        self.max_speed = speed is None
        self.clock.speed = 86_400.0 if speed is None else speed
        return {"speed": speed}

    def jump_clock(self, seconds: float) -> JSON:
        self.calls.append(("jump_clock", (seconds,)))
        if seconds < 0:
            raise InvalidInput(f"jump of {seconds} s goes backwards; simulated time only moves forward")
        self.clock.jump(timedelta(seconds=seconds))
        return {"now": self._advance().isoformat()}

    def inject_fault(self, kind: str, value: float | bool = True) -> JSON:
        self.calls.append(("inject_fault", (kind, value)))
        if kind not in FAULTS:
            raise InvalidInput(f"fault {kind!r} is unknown; known: {', '.join(sorted(FAULTS))}")
        if value:
            self.faults[kind] = value
        else:
            self.faults.pop(kind, None)
        return {"faults": dict(self.faults)}

    # -- inside ----------------------------------------------------------------------------------------
    def _do(self, name: str, command: cmd.Command, *args: Any) -> JSON:
        self.calls.append((name, args))
        now = self._advance()
        recorded = self._record(self.meter.handle(now, command))
        return {"events": recorded}

    def _advance(self) -> datetime:
        now = self.clock.now()
        hour = self.meter.now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        while hour <= now:
            self._record(self.meter.advance(hour))
            self._file_hour(hour)
            temp = self.gas_temp_c if self.gas_temp_c is not None else HOUSEHOLD_TEMP_C
            self.meter.handle(hour, cmd.SetFlow(self._hour_flow(hour), temp))
            hour += timedelta(hours=1)
        self._record(self.meter.advance(now))
        if now - self._last_telegram >= TELEGRAM_EVERY:
            self._last_telegram = now
            self._emit_telegram(now)
        return now

    def _hour_flow(self, moment: datetime) -> Decimal:
        base = DAY_FLOW_M3H[moment.astimezone(ZONE).hour]
        return Decimal(str(round(base * self.rng.uniform(0.6, 1.4), 3)))

    def _record(self, events: list[Event]) -> list[JSON]:
        out = []
        for event in events:
            if isinstance(event, QUIET):
                continue
            self._seq += 1
            detail = {k: v for k, v in to_jsonable(event).items() if k not in ("type", "at", "frame")}
            out.append({"seq": self._seq, "at": event.at.isoformat(), "source": "gas meter",
                        "kind": type(event).__name__, "detail": detail})
        self._events.extend(out)
        return out

    def _file_hour(self, hour: datetime) -> None:
        true_now = self.meter.register.true_m3
        index = str(self.meter.index_m3)
        p1_ok = not self.faults.get("p2_no_reply")
        entry = {"clock": hour.isoformat(), "capture_time": hour.isoformat(), "value_m3": index, "status": []}
        self._profiles["hourly"] = [*self._profiles["hourly"], entry][-240:]
        local = hour.astimezone(ZONE)
        filed: dict[PeriodType, JSON | None] = {PeriodType.MONTHLY: None, PeriodType.DAILY: None,
                                                PeriodType.INTERVAL: entry}
        if local.hour == 0:
            self._profiles["daily"] = [*self._profiles["daily"], entry][-40:]
            filed[PeriodType.DAILY] = entry
            if local.day == 1:
                self._profiles["monthly"] = [*self._profiles["monthly"], entry][-13:]
                filed[PeriodType.MONTHLY] = entry
        if self.cs is not None:
            self.cs.round(hour, filed, self.meter.seal_broken)
        self._truth.append({"hour": (hour - timedelta(hours=1)).isoformat(),
                            "consumed_m3": str(true_now - self._true_at_hour), "index_m3": index,
                            "p1_value_m3": index if p1_ok else None})
        del self._truth[:-24 * 400]
        self._true_at_hour = true_now

    def _emit_telegram(self, now: datetime) -> None:
        hourly = self._profiles["hourly"]
        gas = "()()"
        if hourly:
            gas = f"({tst(datetime.fromisoformat(hourly[-1]['clock']))})({hourly[-1]['value_m3']:0>9}*m3)"
        body = "\r\n".join([
            "/ISK5\\2M550T-1012", "", "1-3:0.2.8(42)", f"0-0:1.0.0({tst(now)})",
            f"0-0:96.1.1({E_METER_ID.encode().hex().upper()})", "1-0:1.8.1(001581.123*kWh)",
            "1-0:1.8.2(001327.441*kWh)", "0-0:96.14.0(0002)", "1-0:1.7.0(00.420*kW)", "1-0:2.7.0(00.000*kW)",
            "0-1:24.1.0(003)", f"0-1:96.1.0({str(self.meter.meter_number).encode().hex().upper()})",
            f"0-1:24.2.1{gas}", "!",
        ])
        crc = crc16(body.encode("ascii"))
        if self.rng.random() < float(self.faults.get("p1_crc_error", 0)):
            crc ^= 0x0100
        text = body + format_crc(crc)
        crc_ok = crc == crc16(body.encode("ascii"))
        if self.rng.random() < float(self.faults.get("p1_truncate", 0)):
            text, crc_ok = text[: len(text) // 2], False
        self._telegram_seq += 1
        self._telegrams.append({"seq": self._telegram_seq, "at": now.isoformat(), "text": text, "crc_ok": crc_ok})
