"""The installation's P1 port, sans-I/O: what telegram it sends, and when (SYSTEM P1, E3).

``telegram_data(installation, version)`` turns the E-meter's ``P1View`` into the codec's
``TelegramData`` for one DSMR version; ``telegram_bytes`` encodes it. ``P1Port`` adds the schedule:
telegrams on a fixed grid of the true time (multiples of the interval since the epoch), each one made by
advancing the installation to its instant, optionally wrapped in an AES-128-GCM frame (``P1Cipher``).

Telegram intervals (the E-meter "automatically initiates" a telegram while the request line is raised):
- DSMR 4.0.x / 4.2.2: every ten seconds, transfer within eight seconds [P1-4.0.7 §4.5, §5],
  [P1-4.2.2 §4.5, §5] ("Data transfer is requested with request line and automatically initiated every
  ten seconds until request line is released");
- DSMR 5.0.2: every second, "the information in the P1 telegram must be updated every second"
  [P1-5.0.2 §6];
- DSMR 2.2 / 3.0: every ten seconds, transfer within eight seconds [P1-3.0 §4.4, §5] (no 2.2 companion
  standard in ``shared/specs``; 3.0 is "2.2 plus fixes").

Rules this module keeps:
- the spec decides which lines exist: every ``TelegramData`` field the version does not carry is left
  out (voltages only in 5, the message code not in 5, no time stamp or power-failure data in 2.2);
- DSMR 2.2 shows power in 10 W steps (F6(2,2)) [P1-3.0 §5.11]: rounded half up from the meter's 1 W;
  it has no emptied-channel form, so an emptied channel is left out of a 2.2 telegram;
- a channel whose device has sent no value yet shows no reading line (``emeter.p1view``);
- gas values are the E-meter's latest reading with the gas meter's own capture time (SYSTEM E1): hourly
  from a DSMR 4 gas meter, every 5 minutes from an SMR 5 one [P1-5.0.2 §7.3] (``gasmeter/variant.py``,
  docs/scenarios.md); a telegram of DSMR 4.x or 2.2 shows an SMR 5 meter's latest whole-hour value
  ("the latest received hourly value" [P1-4.2.2 §6.3]).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from meterkast.emeter.p1view import P1View
from meterkast.errors import InvalidInput
from meterkast.mbus.device_kinds import unit_for_device_type
from meterkast.p1.crypto import KEY_BYTES, SYSTEM_TITLE_BYTES, encrypt_telegram
from meterkast.p1.data import MbusChannel, TelegramData
from meterkast.p1.encode import encode_telegram
from meterkast.p1.specs import FIELDS, TelegramSpec, spec_for
from meterkast.p1.values import PowerFailure
from meterkast.sim.installation import Event, Installation
from meterkast.timeutil import require_utc

DEFAULT_HEADER = "MKS5\\2meterkast-E"  # FLAG id, baud character 5, identification [P1-4.2.2 §5.2]
HEADER_22 = "MKS5\\2meterkast-E22"
TEN_SECONDS = timedelta(seconds=10)
INTERVALS: dict[str, timedelta] = {  # by TelegramSpec name; clauses in the module docstring
    "4": TEN_SECONDS,
    "4.2": TEN_SECONDS,
    "5": timedelta(seconds=1),
    "2.2": TEN_SECONDS,
}
LIMITER_22_KW = Decimal("999.00")  # 0-0:17.0.0: "no limit", as Iskra MT382 meters show it
BREAKER_CLOSED = 1  # 0-0:96.3.10
TEN_WATTS = Decimal("0.01")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def telegram_interval(version: str | TelegramSpec) -> timedelta:
    """How often the P1 port sends a telegram for this DSMR version."""
    return INTERVALS[spec_for(version).name]


def _from_view(view: P1View, spec: TelegramSpec) -> dict[str, Any]:
    """Every field the view can fill, before the version's spec picks its lines."""
    is_22 = spec.name == "2.2"
    power = (view.power_import_kw, view.power_export_kw)
    if is_22:
        power = tuple(p.quantize(TEN_WATTS, rounding=ROUND_HALF_UP) for p in power)  # type: ignore[assignment]
    return {
        "timestamp": view.timestamp,
        "equipment_id": view.equipment_id,
        "import_t1_kwh": view.import_kwh[0],
        "import_t2_kwh": view.import_kwh[1],
        "export_t1_kwh": view.export_kwh[0],
        "export_t2_kwh": view.export_kwh[1],
        "tariff": view.tariff,
        "power_import_kw": power[0],
        "power_export_kw": power[1],
        "limiter_threshold_kw": LIMITER_22_KW,
        "breaker_state": BREAKER_CLOSED,
        "power_failures": view.power_failures,
        "long_power_failures": view.long_power_failures,
        "power_failure_log": tuple(PowerFailure(r.end, r.duration_s) for r in view.power_failure_log),
        "voltage_sags": view.voltage_sags,
        "voltage_swells": view.voltage_swells,
        "text_code": view.text_code,
        "text_message": view.text_message,
        "voltage_v": view.voltage_v,
        "current_a": tuple(Decimal(a) for a in view.current_a),
        "power_import_phase_kw": view.phase_import_kw,
        "power_export_phase_kw": view.phase_export_kw,
    }


def view_to_telegram_data(
    view: P1View, version: str | TelegramSpec = "4", *, header: str | None = None
) -> TelegramData:
    """The ``TelegramData`` a ``P1View`` shows in a telegram of ``version``."""
    spec = spec_for(version)
    values = _from_view(view, spec)
    carried = spec.fields
    empty: dict[str, Any] = {f.name: () if f.index is not None else None for f in FIELDS}
    chosen = {name: (value if name in carried else empty[name]) for name, value in values.items()}
    channels = []
    for channel in view.mbus:
        if spec.name == "2.2" and channel.value_m3 is None and not channel.awaiting_first:
            continue  # DSMR 2.2 has no emptied-channel form
        value, captured, awaiting = channel.value_m3, channel.capture_time, channel.awaiting_first
        if spec.name != "5" and channel.five_minute and value is not None:
            # Before DSMR 5, P1 "transfers … the latest received hourly value" [P1-4.2.2 §6.3]: an SMR 5
            # meter's whole-hour value, and none (no line) before its first one.
            value, captured = channel.hourly_value_m3, channel.hourly_capture_time
            awaiting = value is None
        channels.append(
            MbusChannel(
                channel.channel,
                channel.device_type,
                channel.equipment_id,
                value,
                captured,
                resolution=channel.resolution_m3,
                unit=unit_for_device_type(channel.device_type),  # m3 gas and water, GJ heat [P1-4.2.2 Table 5-3]
                awaiting_first=awaiting,
            )
        )
    default = HEADER_22 if spec.name == "2.2" else DEFAULT_HEADER
    return TelegramData(header=header or default, mbus=tuple(channels), **chosen)


def telegram_data(
    installation: Installation, version: str | TelegramSpec = "4", *, header: str | None = None
) -> TelegramData:
    """What the installation's P1 port shows now (the E-meter must be powered)."""
    return view_to_telegram_data(installation.emeter.p1_view(installation.now), version, header=header)


def telegram_bytes(
    installation: Installation, version: str | TelegramSpec = "4", *, header: str | None = None
) -> bytes:
    return encode_telegram(telegram_data(installation, version, header=header), version)


@dataclass(slots=True)
class P1Cipher:
    """AES-128-GCM general-global-cipher frames around each telegram (Luxembourg Smarty style).

    The invocation counter starts at ``counter`` and goes up by one per telegram: the nonce is
    system title ‖ counter, as the DLMS security suite defines it, never random (STYLE 3). The length is
    always the two-byte form ``82 hi lo``, as a Smarty meter sends it, so that dsmr_parser's ``MSn``
    reader frames every telegram (docs/p1.md, "Encrypted P1").
    """

    encryption_key: bytes
    authentication_key: bytes
    system_title: bytes = b"MKS\x00\x00\x00\x00\x01"
    counter: int = field(default=1)

    def __post_init__(self) -> None:
        for name, key in (("encryption", self.encryption_key), ("authentication", self.authentication_key)):
            if len(key) != KEY_BYTES:
                raise InvalidInput(f"the {name} key must be {KEY_BYTES} bytes (32 hex digits), got {len(key)}")
        if len(self.system_title) != SYSTEM_TITLE_BYTES:
            raise InvalidInput(f"the system title must be {SYSTEM_TITLE_BYTES} bytes")

    def wrap(self, telegram: bytes) -> bytes:
        frame = encrypt_telegram(
            telegram,
            encryption_key=self.encryption_key,
            authentication_key=self.authentication_key,
            system_title=self.system_title,
            invocation_counter=self.counter,
            two_byte_length=True,  # Smarty framing: dsmr_parser's stream buffer reads only this form
        )
        self.counter += 1
        return frame


class P1Port:
    """The E-meter's P1 output: which instants carry a telegram, and the bytes of each."""

    def __init__(
        self,
        installation: Installation,
        version: str = "4",
        *,
        header: str | None = None,
        cipher: P1Cipher | None = None,
    ) -> None:
        self.installation = installation
        self.spec = spec_for(version)
        self.interval = telegram_interval(self.spec)
        self.header = header
        self.cipher = cipher
        self.sent = 0

    def next_telegram_at(self, after: datetime) -> datetime:
        """The first telegram instant strictly after ``after`` (a multiple of the interval since the epoch)."""
        after = require_utc(after, "after")
        periods = (after - _EPOCH) // self.interval + 1
        return _EPOCH + periods * self.interval

    def first_telegram_at(self) -> datetime:
        """The first telegram instant at or after the installation's time."""
        return self.next_telegram_at(self.installation.now - timedelta(microseconds=1))

    def telegram(self, now: datetime) -> tuple[list[Event], bytes | None]:
        """Advance the installation to ``now`` and make its telegram (None while the E-meter is off)."""
        events = self.installation.advance(now)
        if not self.installation.emeter.powered:
            return events, None
        data = telegram_bytes(self.installation, self.spec, header=self.header)
        if self.cipher is not None:
            data = self.cipher.wrap(data)
        self.sent += 1
        return events, data
